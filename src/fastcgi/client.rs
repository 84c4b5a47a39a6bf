//! A synchronous FastCGI client: one request at a time on a connection kept open
//! (`FCGI_KEEP_CONN`), as nginx speaks to php-fpm. No multiplexing: a worker that holds a
//! request is busy, which is what lets the server know whom to kill when it hangs.
//!
//! A request is BEGIN_REQUEST, PARAMS (the environ) ending with an empty PARAMS, STDIN
//! (the body, already read in full by the server) ending with an empty STDIN, all in as
//! few writes as possible. The answer is read record by record with [`Connection::next`]:
//! STDOUT and STDERR pieces as they arrive, then END_REQUEST. Every read has a deadline.

use std::fmt;
use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use super::record::{
    self, HEADER_LEN, Header, MAX_CONTENT, ProtocolStatus, RecordError, RecordType,
};

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
    stream: UnixStream,
    /// Bytes read but not yet consumed: `buf[start..end]`. Big enough for a whole record.
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    stderr_seen: usize,
    /// Buffers for building requests, kept between requests so that a small request
    /// allocates nothing.
    pairs: Vec<u8>,
    out: Vec<u8>,
    chunk: Vec<u8>,
}

const BUF_LEN: usize = HEADER_LEN + MAX_CONTENT + 255 + 1;

impl Connection {
    pub fn new(stream: UnixStream) -> Connection {
        Connection {
            stream,
            buf: vec![0u8; BUF_LEN].into_boxed_slice(),
            start: 0,
            end: 0,
            stderr_seen: 0,
            pairs: Vec::new(),
            out: Vec::new(),
            chunk: Vec::new(),
        }
    }

    /// True if the other side has closed the connection (or it has failed), seen without
    /// waiting: how an idle worker that died is told from one that is just quiet.
    pub fn peer_closed(&self) -> bool {
        use std::os::fd::AsRawFd;
        let mut byte = 0u8;
        // SAFETY: a one-byte peek into a local buffer.
        let n = unsafe {
            libc::recv(
                self.stream.as_raw_fd(),
                (&mut byte as *mut u8).cast(),
                1,
                libc::MSG_PEEK | libc::MSG_DONTWAIT,
            )
        };
        match n {
            0 => true,
            n if n > 0 => false,
            _ => io::Error::last_os_error().kind() != io::ErrorKind::WouldBlock,
        }
    }

    /// Sends a whole request: BEGIN_REQUEST (responder, keep the connection), the params,
    /// and `stdin_len` bytes of `stdin` (the body).
    pub fn send_request<'p>(
        &mut self,
        params: impl IntoIterator<Item = (&'p [u8], &'p [u8])>,
        stdin: &mut dyn Read,
        deadline: Instant,
    ) -> Result<(), ClientError> {
        self.stderr_seen = 0;
        let mut pairs = std::mem::take(&mut self.pairs);
        let mut out = std::mem::take(&mut self.out);
        let mut chunk = std::mem::take(&mut self.chunk);
        pairs.clear();
        out.clear();
        for (name, value) in params {
            record::push_pair(&mut pairs, name, value);
        }
        record::push_begin_request(
            &mut out,
            REQUEST_ID,
            record::ROLE_RESPONDER,
            record::FLAG_KEEP_CONN,
        );
        record::push_stream(&mut out, RecordType::Params, REQUEST_ID, &pairs);
        record::push_end_of_stream(&mut out, RecordType::Params, REQUEST_ID);
        // The body: small ones go in the same write as the params.
        let result = (|| {
            if chunk.len() < MAX_CONTENT {
                chunk.resize(MAX_CONTENT, 0);
            }
            loop {
                let n = stdin.read(&mut chunk).map_err(ClientError::Io)?;
                if n == 0 {
                    break;
                }
                record::push_record(&mut out, RecordType::Stdin, REQUEST_ID, &chunk[..n]);
                if out.len() >= 4 * MAX_CONTENT {
                    self.write_all(&out, deadline)?;
                    out.clear();
                }
            }
            record::push_end_of_stream(&mut out, RecordType::Stdin, REQUEST_ID);
            self.write_all(&out, deadline)
        })();
        (self.pairs, self.out, self.chunk) = (pairs, out, chunk);
        result
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
        let mut out = Vec::new();
        record::push_record(
            &mut out,
            RecordType::GetValues,
            record::MANAGEMENT_ID,
            &pairs,
        );
        self.write_all(&out, deadline)?;
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
            self.stream
                .set_read_timeout(Some(remaining(deadline)?))
                .map_err(ClientError::Io)?;
            match self.stream.read(&mut self.buf[self.end..]) {
                Ok(0) => return Err(ClientError::Closed),
                Ok(k) => self.end += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(io_error(e)),
            }
        }
        Ok(())
    }

    fn write_all(&mut self, bytes: &[u8], deadline: Instant) -> Result<(), ClientError> {
        self.stream
            .set_write_timeout(Some(remaining(deadline)?))
            .map_err(ClientError::Io)?;
        self.stream.write_all(bytes).map_err(io_error)
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
