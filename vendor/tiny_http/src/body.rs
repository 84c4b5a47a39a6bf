//! cgilab patch: reading a request body by its framing, within bounds, and handing the
//! connection back once the handler is done with it.
//!
//! Upstream drained at most 1 MiB of an unread body, never drained a chunked one, read
//! chunk-size lines without a bound and gave bodies no deadline: the rest of a body could
//! be parsed as the next request, and a client could hold a thread by trickling. Here the
//! body reader owns the connection's read side while the handler has the request; when
//! the request is dropped it goes back to the connection's thread, which reads what is
//! left of the body (within [`MAX_DRAIN`]) before it reads another request, or closes.

use std::convert::TryFrom;
use std::io::{self, BufRead, ErrorKind, Read, Write};
use std::sync::mpsc::Sender;
use std::time::{Duration, Instant};

use crate::head::Framing;
use crate::util::{Inbound, RefinedTcpStream};

/// The most of a body the handler did not read that is read and thrown away so the
/// connection can go on; past it the connection closes instead.
pub(crate) const MAX_DRAIN: u64 = 1 << 20;
/// Longest chunk-size line (with its extensions) and longest trailer line.
const MAX_CHUNK_LINE: usize = 4096;
/// Most trailer bytes in all.
const MAX_TRAILERS: usize = 16 * 1024;
/// After its grace period a body must arrive at this rate on average, in bytes a second.
const MIN_RATE: u64 = 1024;

/// Where a body is in its framing.
#[derive(Debug, Clone, Copy)]
enum State {
    /// `n` more bytes of a Content-Length body.
    Length(u64),
    /// A chunk-size line is next.
    Size,
    /// `n` more bytes of the current chunk.
    Data(u64),
    /// The CRLF after a chunk's data.
    DataEnd,
    /// Trailer lines, `n` bytes of them so far.
    Trailers(usize),
    Done,
}

/// The body's progress and its deadline.
pub(crate) struct Framed {
    state: State,
    started: Instant,
    grace: Option<Duration>,
    received: u64,
}

impl Framed {
    /// `grace` is how long the body may take before it must keep up [`MIN_RATE`].
    pub(crate) fn new(framing: Framing, grace: Option<Duration>) -> Framed {
        let state = match framing {
            Framing::None => State::Done,
            Framing::Length(n) => State::Length(n),
            Framing::Chunked => State::Size,
        };
        Framed {
            state,
            started: Instant::now(),
            grace,
            received: 0,
        }
    }

    pub(crate) fn is_done(&self) -> bool {
        matches!(self.state, State::Done)
    }

    /// True if the body has bytes to come and none was read yet.
    pub(crate) fn untouched(&self) -> bool {
        !self.is_done() && self.received == 0 && matches!(self.state, State::Length(_) | State::Size)
    }

    /// The deadline grows by a second for each KiB received, so a large upload at any
    /// reasonable speed is never cut, and a trickle is cut after the grace period.
    fn check_deadline(&self) -> io::Result<()> {
        if let Some(grace) = self.grace {
            let allowed = grace + Duration::from_millis(self.received * 1000 / MIN_RATE);
            if self.started.elapsed() > allowed {
                return Err(io::Error::new(ErrorKind::TimedOut, "request body too slow"));
            }
        }
        Ok(())
    }

    /// Reads body bytes into `out`; 0 at the end of the body.
    pub(crate) fn read(&mut self, src: &mut Inbound, out: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.state {
                State::Done => return Ok(0),
                State::Length(0) => self.state = State::Done,
                State::Length(left) | State::Data(left) if !out.is_empty() => {
                    self.check_deadline()?;
                    let want = out.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                    let n = src.read(&mut out[..want])?;
                    if n == 0 {
                        return Err(io::Error::new(
                            ErrorKind::UnexpectedEof,
                            "the client closed the connection mid-body",
                        ));
                    }
                    self.received += n as u64;
                    let left = left - n as u64;
                    self.state = match self.state {
                        State::Length(_) => State::Length(left),
                        _ if left == 0 => State::DataEnd,
                        _ => State::Data(left),
                    };
                    return Ok(n);
                }
                State::Length(_) | State::Data(_) => return Ok(0),
                State::Size => {
                    let (used, size) = self.chunk_size(src)?;
                    src.consume(used);
                    self.state = if size == 0 {
                        State::Trailers(0)
                    } else {
                        State::Data(size)
                    };
                }
                State::DataEnd => {
                    while src.buffered().len() < 2 {
                        self.more(src)?;
                    }
                    if !src.buffered().starts_with(b"\r\n") {
                        return Err(bad("chunk data not followed by CRLF"));
                    }
                    src.consume(2);
                    self.state = State::Size;
                }
                State::Trailers(seen) => {
                    // RFC 9112 §7.1.2: trailer fields may be discarded; each line and the
                    // whole section are bounded.
                    let line = self.line(src)?;
                    if seen + line > MAX_TRAILERS {
                        return Err(bad("trailer section too large"));
                    }
                    let blank = {
                        let b = &src.buffered()[..line];
                        b == b"\r\n" || b == b"\n"
                    };
                    src.consume(line);
                    self.state = if blank {
                        State::Done
                    } else {
                        State::Trailers(seen + line)
                    };
                }
            }
        }
    }

    /// Reads a chunk-size line (its extensions are ignored); returns its length and the size.
    fn chunk_size(&self, src: &mut Inbound) -> io::Result<(usize, u64)> {
        loop {
            if !src.buffered().is_empty() {
                let window = &src.buffered()[..src.buffered().len().min(MAX_CHUNK_LINE)];
                match chunk_size_line(window).map_err(bad)? {
                    Some(found) => return Ok(found),
                    None if window.len() < MAX_CHUNK_LINE => {}
                    None => return Err(bad("chunk-size line too long")),
                }
            }
            self.more(src)?;
        }
    }

    /// The length of the next line in the buffer (with its LF), reading until it is there.
    fn line(&self, src: &mut Inbound) -> io::Result<usize> {
        loop {
            let buffered = src.buffered();
            if let Some(i) = buffered.iter().position(|&b| b == b'\n') {
                if i + 1 > MAX_CHUNK_LINE {
                    return Err(bad("trailer line too long"));
                }
                return Ok(i + 1);
            }
            if buffered.len() >= MAX_CHUNK_LINE {
                return Err(bad("trailer line too long"));
            }
            self.more(src)?;
        }
    }

    fn more(&self, src: &mut Inbound) -> io::Result<()> {
        self.check_deadline()?;
        match src.fill_more()? {
            0 => Err(io::Error::new(
                ErrorKind::UnexpectedEof,
                "the client closed the connection mid-body",
            )),
            _ => Ok(()),
        }
    }

    /// Reads and discards the rest of the body; true if it ended within [`MAX_DRAIN`].
    pub(crate) fn drain(&mut self, src: &mut Inbound) -> bool {
        let mut scratch = [0u8; 8192];
        let mut drained = 0u64;
        while !self.is_done() {
            match self.read(src, &mut scratch) {
                Ok(0) if self.is_done() => break,
                Ok(0) => return false,
                Ok(n) => drained += n as u64,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return false,
            }
            if drained > MAX_DRAIN {
                return false;
            }
        }
        true
    }
}

/// cgilab patch: a chunk-size line read exactly as RFC 9112 §7.1 writes it:
/// `1*HEXDIG [ BWS ";" chunk-ext ] CRLF`, at most 16 digits. httparse's
/// `parse_chunk_size` also took a size followed by bare whitespace (`5 `), leading
/// whitespace and an empty line, which other parsers read differently (gunicorn refuses
/// them); a line ended by a bare LF, or with a control byte in an extension, is refused
/// too. Returns the line's length and the size, or `None` until the line is complete.
fn chunk_size_line(bytes: &[u8]) -> Result<Option<(usize, u64)>, &'static str> {
    let digits = bytes.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits > 16 {
        return Err("chunk-size line: over 16 hex digits");
    }
    if digits == 0 && !bytes.is_empty() {
        return Err("malformed chunk-size line: no size");
    }
    let Some(lf) = bytes.iter().position(|&b| b == b'\n') else {
        return Ok(None);
    };
    let line = match bytes[..lf].strip_suffix(b"\r") {
        Some(line) => line,
        None => return Err("chunk-size line not ended by CRLF"),
    };
    let rest = &line[digits..];
    let bws = rest.iter().take_while(|&&b| b == b' ' || b == b'\t').count();
    let ext = &rest[bws..];
    if !rest.is_empty() && !ext.starts_with(b";") {
        return Err("malformed chunk-size line: only an extension may follow the size");
    }
    if ext.iter().any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f) {
        return Err("malformed chunk-size line: control byte in an extension");
    }
    let text = std::str::from_utf8(&line[..digits]).map_err(|_| "malformed chunk-size line")?;
    let size = u64::from_str_radix(text, 16).map_err(|_| "malformed chunk-size line")?;
    Ok(Some((lf + 1, size)))
}

fn bad(why: &'static str) -> io::Error {
    io::Error::new(ErrorKind::InvalidData, why)
}

/// What goes back to the connection's thread when a request is done with its body.
pub(crate) type Lent = (Inbound, Framed);

/// The body as the handler reads it.
pub(crate) struct Body {
    lent: Option<Lent>,
    back: Sender<Lent>,
}

impl Body {
    pub(crate) fn new(src: Inbound, framed: Framed, back: Sender<Lent>) -> Body {
        Body {
            lent: Some((src, framed)),
            back,
        }
    }
}

impl Read for Body {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        match &mut self.lent {
            Some((src, framed)) => framed.read(src, out),
            None => Ok(0),
        }
    }
}

impl Drop for Body {
    fn drop(&mut self) {
        if let Some(lent) = self.lent.take() {
            let _ = self.back.send(lent);
        }
    }
}

/// The response writer as the handler holds it; flushed and handed back when dropped,
/// with whether any write failed (a client that stopped reading, past the send timeout):
/// the connection then ends, instead of timing out once more for each request after.
pub(crate) struct Outbound {
    writer: Option<io::BufWriter<RefinedTcpStream>>,
    failed: bool,
    back: Sender<(io::BufWriter<RefinedTcpStream>, bool)>,
}

impl Outbound {
    pub(crate) fn new(
        writer: io::BufWriter<RefinedTcpStream>,
        back: Sender<(io::BufWriter<RefinedTcpStream>, bool)>,
    ) -> Outbound {
        Outbound {
            writer: Some(writer),
            failed: false,
            back,
        }
    }

    fn note<T>(&mut self, result: io::Result<T>) -> io::Result<T> {
        if result.is_err() {
            self.failed = true;
        }
        result
    }
}

impl Write for Outbound {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let result = match &mut self.writer {
            Some(w) => w.write(buf),
            None => Err(ErrorKind::BrokenPipe.into()),
        };
        self.note(result)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        let result = match &mut self.writer {
            Some(w) => w.write_all(buf),
            None => Err(ErrorKind::BrokenPipe.into()),
        };
        self.note(result)
    }

    fn flush(&mut self) -> io::Result<()> {
        let result = match &mut self.writer {
            Some(w) => w.flush(),
            None => Ok(()),
        };
        self.note(result)
    }
}

impl Drop for Outbound {
    fn drop(&mut self) {
        if let Some(mut w) = self.writer.take() {
            let failed = self.failed || w.flush().is_err();
            let _ = self.back.send((w, failed));
        }
    }
}
