//! cgilab patch: the read side of a connection, with one bounded buffer that the request
//! head is parsed from in place and that the body is then read through.

use std::io::{self, BufRead, Read};

use crate::util::RefinedTcpStream;

/// Largest request head (request line and header section) accepted, and the buffer size.
pub(crate) const MAX_HEAD: usize = 64 * 1024;

pub(crate) struct Inbound {
    stream: RefinedTcpStream,
    buf: Box<[u8]>,
    start: usize,
    end: usize,
}

impl Inbound {
    pub(crate) fn new(stream: RefinedTcpStream) -> Inbound {
        Inbound {
            stream,
            buf: vec![0; MAX_HEAD].into_boxed_slice(),
            start: 0,
            end: 0,
        }
    }

    /// The bytes read and not yet consumed.
    pub(crate) fn buffered(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// True when the buffer holds all it can: whatever is being looked for in it is too long.
    pub(crate) fn is_full(&self) -> bool {
        self.start == 0 && self.end == self.buf.len()
    }

    /// Reads more bytes after the buffered ones (moving those to the front first if
    /// needed); `Ok(0)` at the end of the stream or when the buffer is full.
    pub(crate) fn fill_more(&mut self) -> io::Result<usize> {
        if self.end == self.buf.len() && self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.buf.len() {
            return Ok(0);
        }
        let n = self.stream.read(&mut self.buf[self.end..])?;
        self.end += n;
        Ok(n)
    }
}

impl Read for Inbound {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        // A large read with nothing buffered goes straight to the socket.
        if self.start == self.end && out.len() >= self.buf.len() {
            return self.stream.read(out);
        }
        let n = {
            let available = self.fill_buf()?;
            let n = available.len().min(out.len());
            out[..n].copy_from_slice(&available[..n]);
            n
        };
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for Inbound {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
            self.end = self.stream.read(&mut self.buf)?;
        }
        Ok(&self.buf[self.start..self.end])
    }

    fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.end);
    }
}
