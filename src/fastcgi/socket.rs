//! The socket under a FastCGI connection: the system calls the client makes, each saying
//! itself whether it may wait. The socket stays blocking, as `connect` made it; a read or
//! write that must not wait passes `MSG_DONTWAIT`, and a read that may wait is bounded by
//! the socket's receive timeout, set once. Once a whole request is out, one blocking read
//! waits for the answer, where `poll` and then a read would be two system calls.

use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use crate::process::poll;

/// What a blocking read's timeout leaves before the deadline, at least: the kernel
/// rounds a socket timeout up to its clock tick (10 ms at the coarsest).
const TICK_SLACK: Duration = Duration::from_millis(20);

/// A connected Unix socket to one worker.
pub struct Socket {
    stream: UnixStream,
    /// The receive timeout, once set ([`Socket::may_block`]); zero when reads on this
    /// socket never block.
    read_timeout: Option<Duration>,
}

impl Socket {
    pub fn new(stream: UnixStream) -> Socket {
        Socket {
            stream,
            read_timeout: None,
        }
    }

    /// Whether a read may wait in the kernel before `deadline`: only while the receive
    /// timeout ends before it; else the read must return at once and `poll` waits.
    pub fn may_block(&mut self, deadline: Instant) -> bool {
        let left = deadline.saturating_duration_since(Instant::now());
        let timeout = match self.read_timeout {
            Some(timeout) => timeout,
            None => self.set_read_timeout(left),
        };
        !timeout.is_zero() && timeout <= left
    }

    /// Sets the receive timeout, once per connection (a system call): an eighth (and at
    /// least [`TICK_SLACK`]) short of `left`, the time the first request had before its
    /// deadline. It then ends before the deadline of every later request that reaches a
    /// read with as much time left less that eighth; with the same `--timeout`, nearly
    /// every one. Zero when `left` is too short to block at all.
    fn set_read_timeout(&mut self, left: Duration) -> Duration {
        let timeout = left.saturating_sub((left / 8).max(TICK_SLACK));
        let set = !timeout.is_zero() && self.stream.set_read_timeout(Some(timeout)).is_ok();
        let timeout = if set { timeout } else { Duration::ZERO };
        self.read_timeout = Some(timeout);
        timeout
    }

    /// Reads into `buf`; `flags` is `MSG_DONTWAIT` for a read that must not wait,
    /// `MSG_PEEK | MSG_DONTWAIT` for a look that takes nothing.
    pub fn recv(&self, buf: &mut [u8], flags: libc::c_int) -> io::Result<usize> {
        // SAFETY: a read into a buffer of ours, at most its length.
        let n = unsafe {
            libc::recv(
                self.stream.as_raw_fd(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                flags,
            )
        };
        if n < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(n as usize)
        }
    }

    /// Writes what the socket takes of `data` now, without waiting (and with no SIGPIPE
    /// if the worker has gone: the write fails instead).
    pub fn send_now(&self, data: &[u8]) -> io::Result<usize> {
        // SAFETY: a write from a buffer of ours, at most its length.
        let n = unsafe {
            libc::send(
                self.stream.as_raw_fd(),
                data.as_ptr().cast(),
                data.len(),
                libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
            )
        };
        if n < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(n as usize)
        }
    }

    /// Waits up to `left` for `events` (`POLLIN`, `POLLOUT`); false when none came.
    pub fn wait(&self, events: libc::c_short, left: Duration) -> bool {
        let mut fds = [poll::want(self.stream.as_raw_fd(), events)];
        poll::poll(&mut fds, Some(left)) != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A read blocks only when its timeout ends before the request's deadline, so
    /// `--timeout` still answers 504 at the deadline.
    #[test]
    fn a_blocking_read_never_outlasts_the_deadline() {
        let (ours, _theirs) = UnixStream::pair().unwrap();
        let mut socket = Socket::new(ours);
        assert!(socket.may_block(Instant::now() + Duration::from_secs(30)));
        let timeout = socket.stream.read_timeout().unwrap();
        let timeout = timeout.expect("a receive timeout");
        assert!(timeout < Duration::from_secs(30), "{timeout:?}");
        assert!(socket.may_block(Instant::now() + Duration::from_secs(29)));
        assert!(!socket.may_block(Instant::now() + Duration::from_secs(1)));
        assert!(!socket.may_block(Instant::now()));
        // Too little time for a timeout the kernel keeps to: this socket never blocks.
        let (ours, _theirs) = UnixStream::pair().unwrap();
        let mut socket = Socket::new(ours);
        assert!(!socket.may_block(Instant::now() + Duration::from_millis(10)));
        assert!(!socket.may_block(Instant::now() + Duration::from_secs(30)));
        assert_eq!(socket.stream.read_timeout().unwrap(), None);
    }
}
