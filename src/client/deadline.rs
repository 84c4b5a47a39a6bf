//! A connection (TCP, or a unix socket) whose reads and writes end at a deadline. A
//! plain read timeout is not enough: each byte restarts it, so a server that sends one
//! byte now and then, or a body that never ends, would hold the client forever.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

/// A stream socket whose reads and writes can time out.
pub trait Socket: Read + Write {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()>;
    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()>;
}

impl Socket for TcpStream {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_read_timeout(self, timeout)
    }
    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        TcpStream::set_write_timeout(self, timeout)
    }
}

impl Socket for UnixStream {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        UnixStream::set_read_timeout(self, timeout)
    }
    fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        UnixStream::set_write_timeout(self, timeout)
    }
}

/// A connection that fails every read or write with `TimedOut` once `until` has passed.
pub struct Deadline<S = TcpStream> {
    stream: S,
    until: Instant,
}

impl<S: Socket> Deadline<S> {
    pub fn new(stream: S, until: Instant) -> Deadline<S> {
        Deadline { stream, until }
    }

    /// Moves the deadline, e.g. for the next request on a kept-alive connection.
    pub fn set(&mut self, until: Instant) {
        self.until = until;
    }

    /// The time left, or `TimedOut` if there is none.
    fn left(&self) -> io::Result<Duration> {
        let left = self.until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            Err(late())
        } else {
            Ok(left)
        }
    }
}

fn late() -> io::Error {
    io::Error::new(
        io::ErrorKind::TimedOut,
        "no complete response by the deadline",
    )
}

/// A socket timeout surfaces as `WouldBlock` (EAGAIN) on Linux.
fn timed_out(e: io::Error) -> io::Error {
    match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => late(),
        _ => e,
    }
}

impl<S: Socket> Read for Deadline<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.stream.set_read_timeout(Some(self.left()?))?;
        self.stream.read(buf).map_err(timed_out)
    }
}

impl<S: Socket> Write for Deadline<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.stream.set_write_timeout(Some(self.left()?))?;
        self.stream.write(buf).map_err(timed_out)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// A peer that sends a byte at a time until the reader goes away.
    fn trickle() -> (TcpStream, std::thread::JoinHandle<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut peer, _) = listener.accept().unwrap();
        let writer = std::thread::spawn(move || {
            while peer.write_all(b"x").is_ok() {
                // Pacing only: each byte would restart a plain read timeout.
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        (client, writer)
    }

    /// Bytes that keep coming do not keep the reader past its deadline.
    #[test]
    fn a_trickle_ends_at_the_deadline() {
        let (client, writer) = trickle();
        let mut conn = Deadline::new(client, Instant::now() + Duration::from_millis(200));
        let mut sink = Vec::new();
        let e = conn.read_to_end(&mut sink).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        drop(conn);
        writer.join().unwrap();
    }

    /// A deadline already past fails at once, before any read.
    #[test]
    fn a_past_deadline_fails_at_once() {
        let (client, writer) = trickle();
        let mut conn = Deadline::new(client, Instant::now());
        let e = conn.read(&mut [0u8; 8]).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        drop(conn);
        writer.join().unwrap();
    }
}
