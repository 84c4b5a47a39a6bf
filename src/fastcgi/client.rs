//! A synchronous FastCGI client: one request at a time on a connection kept open
//! (`FCGI_KEEP_CONN`), as nginx speaks to php-fpm. No multiplexing: a worker that holds a
//! request is busy, which is what lets the server know whom to kill when it hangs.
//!
//! A request is BEGIN_REQUEST, PARAMS (the environ) ending with an empty PARAMS, STDIN
//! (the body, already read in full by the server) ending with an empty STDIN, in as few
//! writes as possible. The answer is read record by record with [`Connection::next`]:
//! STDOUT and STDERR pieces as they arrive, then END_REQUEST. Every wait has a deadline.
//!
//! Full duplex, as nginx does it: what the socket does not take of the body at once is
//! written while the answer is read, in one `poll` loop, so an app that answers while it
//! reads (a streaming echo of a large upload) never deadlocks against us. An app may end
//! the request before it has read all of STDIN; the connection is then not reused.
//!
//! The system calls themselves, and when a read may wait, are [`super::socket`]'s.
//!
//! Anything after END_REQUEST, or a record for another request id, is a protocol error:
//! the connection is out of step and must not carry another request.

use std::fmt;
use std::io::{self, Read};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use super::record::{
    self, HEADER_LEN, Header, MAX_CONTENT, ProtocolStatus, RecordError, RecordType,
};
use super::socket::Socket;

/// The id of every request: one at a time per connection, so one id is enough.
const REQUEST_ID: u16 = 1;
/// Most STDERR bytes one request may send; past it the worker is misbehaving.
pub const MAX_STDERR: usize = 1024 * 1024;

/// One piece of the answer.
#[derive(Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// Bytes of the CGI response (header block, then body).
    Stdout(&'a [u8]),
    /// Bytes the application wrote to its error stream.
    Stderr(&'a [u8]),
    /// The request is over.
    End {
        app_status: u32,
        protocol_status: ProtocolStatus,
    },
}

/// Why a request on a connection failed; after any of these the connection is unusable.
#[derive(Debug)]
pub enum ClientError {
    /// The worker closed the connection before END_REQUEST.
    Closed,
    /// The deadline passed.
    TimedOut,
    /// Bytes that are not FastCGI.
    Record(RecordError),
    /// A valid record the client did not expect here (another request id, a BEGIN_REQUEST).
    Unexpected(String),
    /// More STDERR than [`MAX_STDERR`].
    Oversized(&'static str),
    Io(io::Error),
}

/// What [`Connection::next_stdout`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum Stdout<'a> {
    Data(&'a [u8]),
    /// END_REQUEST, with the application's exit status.
    End {
        app_status: u32,
    },
}

/// What an idle connection holds, seen without waiting.
#[derive(Debug, PartialEq, Eq)]
pub enum Idle {
    /// Nothing: ready for a request.
    Quiet,
    /// The worker closed it (a program that ignores `FCGI_KEEP_CONN`, or one that died).
    Closed,
    /// Bytes nobody asked for: the worker is out of step.
    Junk,
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Closed => write!(f, "worker closed the connection mid-request"),
            ClientError::TimedOut => write!(f, "worker did not answer in time"),
            ClientError::Record(e) => write!(f, "malformed FastCGI record: {e}"),
            ClientError::Unexpected(what) => write!(f, "unexpected FastCGI record: {what}"),
            ClientError::Oversized(what) => write!(f, "worker sent too much {what}"),
            ClientError::Io(e) => write!(f, "worker connection: {e}"),
        }
    }
}

impl std::error::Error for ClientError {}

impl From<RecordError> for ClientError {
    fn from(e: RecordError) -> ClientError {
        ClientError::Record(e)
    }
}

fn io_error(e: io::Error) -> ClientError {
    match e.kind() {
        // A socket timeout shows as WouldBlock on Linux.
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => ClientError::TimedOut,
        io::ErrorKind::UnexpectedEof
        | io::ErrorKind::ConnectionReset
        | io::ErrorKind::BrokenPipe => ClientError::Closed,
        _ => ClientError::Io(e),
    }
}

/// A connection to one FastCGI application.
pub struct Connection {
    socket: Socket,
    /// Bytes read but not yet consumed: `buf[start..end]`. Big enough for a whole record.
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    stderr_seen: usize,
    /// Bytes of the answer to the current request received so far.
    received: usize,
    /// The rest of the body, not yet made into STDIN records.
    stdin: Option<Box<dyn Read + Send>>,
    /// Records to write: `out[written..]` is still to go.
    out: Vec<u8>,
    written: usize,
    /// The app stopped reading before the whole request went out.
    cut_short: bool,
    /// Buffers for building requests, kept between requests so that a small request
    /// allocates nothing.
    pairs: Vec<u8>,
    chunk: Vec<u8>,
}

const BUF_LEN: usize = HEADER_LEN + MAX_CONTENT + 255 + 1;

impl Connection {
    /// A connection on `stream`, left blocking as `connect` made it ([`Socket`]): one
    /// `poll` waits for whichever of reading and writing can go on.
    pub fn new(stream: UnixStream) -> Connection {
        Connection {
            socket: Socket::new(stream),
            buf: vec![0u8; BUF_LEN].into_boxed_slice(),
            start: 0,
            end: 0,
            stderr_seen: 0,
            received: 0,
            stdin: None,
            out: Vec::new(),
            written: 0,
            cut_short: false,
            pairs: Vec::new(),
            chunk: Vec::new(),
        }
    }

    /// What an idle connection holds, seen without waiting: how an idle worker that
    /// closed or died, or one that wrote out of turn, is told from one that is just quiet.
    pub fn idle(&self) -> Idle {
        if self.start < self.end {
            return Idle::Junk;
        }
        let mut byte = [0u8];
        match self
            .socket
            .recv(&mut byte, libc::MSG_PEEK | libc::MSG_DONTWAIT)
        {
            Ok(0) => Idle::Closed,
            Ok(_) => Idle::Junk,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Idle::Quiet,
            Err(_) => Idle::Closed,
        }
    }

    /// True when nothing of the answer to the current request has arrived yet.
    pub fn unanswered(&self) -> bool {
        self.received == 0
    }

    /// True when the connection can carry another request: the whole request went out
    /// and nothing is left over from the answer.
    pub fn reusable(&self) -> bool {
        !self.cut_short
            && self.stdin.is_none()
            && self.written == self.out.len()
            && self.start == self.end
    }

    /// Starts a request: BEGIN_REQUEST (responder, keep the connection), the params, and
    /// the body as STDIN. What the socket takes at once is written now (all of a small
    /// request, in one write); the rest goes out while [`Connection::next`] reads.
    pub fn send_request<'p>(
        &mut self,
        params: impl IntoIterator<Item = (&'p [u8], &'p [u8])>,
        stdin: Box<dyn Read + Send>,
        deadline: Instant,
    ) -> Result<(), ClientError> {
        self.stderr_seen = 0;
        self.received = 0;
        self.cut_short = false;
        let mut pairs = std::mem::take(&mut self.pairs);
        pairs.clear();
        for (name, value) in params {
            record::push_pair(&mut pairs, name, value);
        }
        self.out.clear();
        self.written = 0;
        record::push_begin_request(
            &mut self.out,
            REQUEST_ID,
            record::ROLE_RESPONDER,
            record::FLAG_KEEP_CONN,
        );
        record::push_stream(&mut self.out, RecordType::Params, REQUEST_ID, &pairs);
        record::push_end_of_stream(&mut self.out, RecordType::Params, REQUEST_ID);
        self.pairs = pairs;
        self.stdin = Some(stdin);
        self.stage_stdin()?;
        self.write_some()?;
        remaining(deadline).map(|_| ())
    }

    /// Makes the next pieces of the body into STDIN records behind what is still to be
    /// written (at most four records ahead), and the empty STDIN that ends it.
    fn stage_stdin(&mut self) -> Result<(), ClientError> {
        let Some(stdin) = &mut self.stdin else {
            return Ok(());
        };
        if self.written == self.out.len() {
            self.out.clear();
            self.written = 0;
        }
        if self.chunk.len() < MAX_CONTENT {
            self.chunk.resize(MAX_CONTENT, 0);
        }
        while self.out.len() - self.written < 4 * MAX_CONTENT {
            let n = stdin.read(&mut self.chunk).map_err(ClientError::Io)?;
            if n == 0 {
                record::push_end_of_stream(&mut self.out, RecordType::Stdin, REQUEST_ID);
                self.stdin = None;
                break;
            }
            record::push_record(
                &mut self.out,
                RecordType::Stdin,
                REQUEST_ID,
                &self.chunk[..n],
            );
        }
        Ok(())
    }

    /// Writes what the socket takes now. An app that has stopped reading (it closed its
    /// side, or ended the request early) gets no more; the answer is still read.
    fn write_some(&mut self) -> Result<(), ClientError> {
        while self.written < self.out.len() {
            match self.socket.send_now(&self.out[self.written..]) {
                Ok(n) => {
                    self.written += n;
                    self.stage_stdin()?;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(io_error(e)),
            }
        }
        Ok(())
    }

    /// True while part of the request is still to be written.
    fn sending(&self) -> bool {
        self.written < self.out.len()
    }

    /// Reads the next piece of the answer.
    pub fn next(&mut self, deadline: Instant) -> Result<Event<'_>, ClientError> {
        loop {
            self.fill_record(deadline)?;
            if !self.at_end_of_stream() {
                return self.take_event();
            }
            self.skip_record();
        }
    }

    /// The next piece of STDOUT, or the end of the request; STDERR pieces on the way go
    /// to `stderr`.
    pub fn next_stdout(
        &mut self,
        deadline: Instant,
        stderr: &mut dyn FnMut(&[u8]),
    ) -> Result<Stdout<'_>, ClientError> {
        Ok(match self.wait_stdout(deadline, stderr)? {
            Some(app_status) => Stdout::End { app_status },
            None => Stdout::Data(self.take_stdout()),
        })
    }

    /// Reads until a STDOUT record with data is next ([`Connection::take_stdout`] takes
    /// it: `None`) or END_REQUEST has come (its app status); STDERR pieces on the way go
    /// to `stderr`. Two steps, so a caller can handle an error while it holds no piece.
    pub fn wait_stdout(
        &mut self,
        deadline: Instant,
        stderr: &mut dyn FnMut(&[u8]),
    ) -> Result<Option<u32>, ClientError> {
        loop {
            self.fill_record(deadline)?;
            let header = self.header()?;
            if self.at_end_of_stream() {
                self.skip_record();
                continue;
            }
            if header.kind == RecordType::Stdout && header.request_id == REQUEST_ID {
                return Ok(None);
            }
            match self.take_event()? {
                Event::Stderr(data) => stderr(data),
                Event::End { app_status, .. } => return Ok(Some(app_status)),
                Event::Stdout(_) => unreachable!("left for take_stdout above"),
            }
        }
    }

    /// The STDOUT record [`Connection::wait_stdout`] found.
    pub fn take_stdout(&mut self) -> &[u8] {
        match self.take_event() {
            Ok(Event::Stdout(data)) => data,
            _ => &[],
        }
    }

    /// The next piece of the answer if it has already arrived whole; never waits.
    pub fn next_buffered(&mut self) -> Option<Result<Event<'_>, ClientError>> {
        loop {
            if !self.has_record() {
                return None;
            }
            if !self.at_end_of_stream() {
                return Some(self.take_event());
            }
            self.skip_record();
        }
    }

    /// The header of the record at `start`; its bytes must be buffered.
    fn header(&self) -> Result<Header, RecordError> {
        let bytes: &[u8; HEADER_LEN] = self.buf[self.start..self.start + HEADER_LEN]
            .try_into()
            .expect("eight bytes");
        Header::decode(bytes)
    }

    fn record_len(h: &Header) -> usize {
        HEADER_LEN + h.content_length as usize + h.padding_length as usize
    }

    /// Whether a whole record (or a header that will not decode) is buffered.
    fn has_record(&self) -> bool {
        let have = self.end - self.start;
        have >= HEADER_LEN && self.header().map_or(true, |h| have >= Self::record_len(&h))
    }

    /// The empty STDOUT or STDERR record that ends a stream carries nothing to pass on.
    fn at_end_of_stream(&self) -> bool {
        self.header().is_ok_and(|h| {
            matches!(h.kind, RecordType::Stdout | RecordType::Stderr) && h.content_length == 0
        })
    }

    fn skip_record(&mut self) {
        if let Ok(h) = self.header() {
            self.start += Self::record_len(&h);
        }
    }

    /// Consumes the buffered record at `start` as an event.
    fn take_event(&mut self) -> Result<Event<'_>, ClientError> {
        let header = self.header()?;
        let content = self.start + HEADER_LEN;
        let body = content..content + header.content_length as usize;
        self.start += Self::record_len(&header);
        if header.request_id != REQUEST_ID {
            return Err(ClientError::Unexpected(format!(
                "{:?} for request {}",
                header.kind, header.request_id
            )));
        }
        match header.kind {
            RecordType::Stdout => Ok(Event::Stdout(&self.buf[body])),
            RecordType::Stderr => {
                self.stderr_seen += body.len();
                if self.stderr_seen > MAX_STDERR {
                    return Err(ClientError::Oversized("stderr"));
                }
                Ok(Event::Stderr(&self.buf[body]))
            }
            RecordType::EndRequest => {
                let (app_status, protocol_status) = record::decode_end_request(&self.buf[body])?;
                // Nothing may follow the end in the same answer: a second response, or a
                // record out of turn, would be taken for the next client's.
                if self.start < self.end {
                    return Err(ClientError::Unexpected(format!(
                        "{} bytes after END_REQUEST",
                        self.end - self.start
                    )));
                }
                Ok(Event::End {
                    app_status,
                    protocol_status,
                })
            }
            other => Err(ClientError::Unexpected(format!("{other:?}"))),
        }
    }

    /// Asks the application for its FCGI_GET_VALUES (§4.1) and waits for the answer: a
    /// management record that a FastCGI program answers once it accepts and reads. A
    /// program that does not know the record answers UNKNOWN_TYPE, which counts too.
    pub fn get_values(
        &mut self,
        names: &[&str],
        deadline: Instant,
    ) -> Result<Vec<(String, String)>, ClientError> {
        let mut pairs = Vec::new();
        for name in names {
            record::push_pair(&mut pairs, name.as_bytes(), b"");
        }
        self.out.clear();
        self.written = 0;
        record::push_record(
            &mut self.out,
            RecordType::GetValues,
            record::MANAGEMENT_ID,
            &pairs,
        );
        self.flush(deadline)?;
        self.fill_record(deadline)?;
        let header = self.header()?;
        let content = self.start + HEADER_LEN;
        self.start += Self::record_len(&header);
        let body = &self.buf[content..content + header.content_length as usize];
        match (header.kind, header.request_id) {
            (RecordType::GetValuesResult, record::MANAGEMENT_ID) => Ok(record::decode_pairs(body)?
                .into_iter()
                .map(|(n, v)| {
                    (
                        String::from_utf8_lossy(n).into_owned(),
                        String::from_utf8_lossy(v).into_owned(),
                    )
                })
                .collect()),
            (RecordType::UnknownType, record::MANAGEMENT_ID) => Ok(Vec::new()),
            (kind, id) => Err(ClientError::Unexpected(format!(
                "{kind:?} for request {id} in answer to GET_VALUES"
            ))),
        }
    }

    /// Reads until a whole record is buffered at `start` (or its header is invalid).
    fn fill_record(&mut self, deadline: Instant) -> Result<(), ClientError> {
        self.fill(HEADER_LEN, deadline)?;
        let header = self.header()?;
        self.fill(Self::record_len(&header), deadline)
    }

    /// Makes `n` unread bytes available in `buf[start..]`, reading as needed.
    fn fill(&mut self, n: usize, deadline: Instant) -> Result<(), ClientError> {
        if self.end - self.start >= n {
            return Ok(());
        }
        if self.start + n > self.buf.len() {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        while self.end - self.start < n {
            // A read waits in the kernel only once the whole request is out: until then
            // the wait must watch both ways.
            let flags = if !self.sending() && self.socket.may_block(deadline) {
                0
            } else {
                libc::MSG_DONTWAIT
            };
            match self.socket.recv(&mut self.buf[self.end..], flags) {
                Ok(0) => return Err(ClientError::Closed),
                Ok(k) => {
                    self.end += k;
                    self.received += k;
                    continue;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // Nothing yet, or a blocking read's timeout passed: `poll` waits out the
                // rest, to the deadline exactly.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(io_error(e)),
            }
            if self.sending() {
                match self.write_some() {
                    Ok(()) => {}
                    // It stopped reading: the rest of the body is not wanted, the answer is.
                    Err(ClientError::Closed) => self.stop_sending(),
                    Err(e) => return Err(e),
                }
            }
            self.wait(libc::POLLIN, deadline)?;
        }
        Ok(())
    }

    /// Gives up on the rest of the request; the connection will not be reused.
    fn stop_sending(&mut self) {
        self.stdin = None;
        self.out.clear();
        self.written = 0;
        self.cut_short = true;
    }

    /// Waits until the socket can be read (`events`), or written while the request is
    /// still going out, or the deadline passes.
    fn wait(&mut self, events: libc::c_short, deadline: Instant) -> Result<(), ClientError> {
        let events = if self.sending() {
            events | libc::POLLOUT
        } else {
            events
        };
        if !self.socket.wait(events, remaining(deadline)?) {
            remaining(deadline)?;
        }
        Ok(())
    }

    /// Writes everything staged (a management record), waiting as needed.
    fn flush(&mut self, deadline: Instant) -> Result<(), ClientError> {
        while self.sending() {
            self.write_some()?;
            if self.sending() {
                self.wait(0, deadline)?;
            }
        }
        Ok(())
    }
}

/// Time left before `deadline`, or `TimedOut` (a zero timeout would mean "forever").
fn remaining(deadline: Instant) -> Result<Duration, ClientError> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        Err(ClientError::TimedOut)
    } else {
        Ok(left)
    }
}

#[cfg(test)]
#[path = "client_tests.rs"]
mod tests;
