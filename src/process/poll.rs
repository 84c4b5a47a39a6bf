//! `poll(2)`, the one system call that lets a single thread wait on a script's stdin,
//! stdout and stderr at once, so none of the three pipes can fill up and deadlock.

use std::os::fd::RawFd;
use std::time::{Duration, Instant};

/// Waits until one of `fds` is ready or `timeout` passes (`None`: no limit), retrying
/// when a signal interrupts. Returns how many are ready (0 on timeout).
pub fn poll(fds: &mut [libc::pollfd], timeout: Option<Duration>) -> i32 {
    let deadline = timeout.map(|t| Instant::now() + t);
    loop {
        let ms = match deadline {
            None => -1,
            // Round up, so a wait never ends just before its deadline.
            Some(d) => d
                .saturating_duration_since(Instant::now())
                .as_micros()
                .div_ceil(1000)
                .min(i32::MAX as u128) as i32,
        };
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
        if n >= 0 || std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            return n.max(0);
        }
    }
}

/// A `pollfd` waiting for `events` on `fd`.
pub fn want(fd: RawFd, events: libc::c_short) -> libc::pollfd {
    libc::pollfd {
        fd,
        events,
        revents: 0,
    }
}

/// Puts a descriptor in non-blocking mode.
pub fn set_nonblocking(fd: RawFd) {
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK);
    }
}
