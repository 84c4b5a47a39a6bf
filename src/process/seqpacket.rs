//! A Unix `SOCK_SEQPACKET` socket pair: messages that keep their boundaries, in order,
//! which can carry open descriptors to the other process (`SCM_RIGHTS`). The server
//! talks to a pool's preloader over one ([`crate::pool::preload`]): it sends each
//! worker's listening socket and log with the request to fork it.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

use super::poll;

/// The largest message either side sends.
pub const MAX_MESSAGE: usize = 256;
/// The most descriptors one message carries.
const MAX_FDS: usize = 4;

/// One end of a connected `SOCK_SEQPACKET` pair.
pub struct SeqPacket {
    fd: OwnedFd,
}

/// Makes a connected pair: the server keeps the first end, the second becomes the other
/// process's descriptor 0. Both are close-on-exec (std's spawn dup2s it, which clears
/// the flag on the copy).
pub fn pair() -> io::Result<(SeqPacket, OwnedFd)> {
    let mut fds = [0; 2];
    let kind = libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC;
    // SAFETY: socketpair(2) fills two descriptors or fails.
    if unsafe { libc::socketpair(libc::AF_UNIX, kind, 0, fds.as_mut_ptr()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: two fresh descriptors, owned by nobody else.
    let (ours, theirs) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    Ok((SeqPacket { fd: ours }, theirs))
}

impl SeqPacket {
    /// Sends one message, with `fds` attached. Never raises SIGPIPE: a closed peer is
    /// an error (`EPIPE`).
    pub fn send(&self, message: &[u8], fds: &[RawFd]) -> io::Result<()> {
        assert!(fds.len() <= MAX_FDS, "at most {MAX_FDS} descriptors");
        let mut iov = libc::iovec {
            iov_base: message.as_ptr() as *mut libc::c_void,
            iov_len: message.len(),
        };
        // u64s, so the control buffer is aligned for cmsghdr.
        let mut control = [0u64; 8];
        // SAFETY: a zeroed msghdr is valid; the pointers set below outlive the call.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        if !fds.is_empty() {
            let bytes = std::mem::size_of_val(fds);
            // SAFETY: CMSG_* compute sizes and positions inside `control`, which is large
            // enough for MAX_FDS descriptors.
            unsafe {
                msg.msg_control = control.as_mut_ptr().cast();
                msg.msg_controllen = libc::CMSG_SPACE(bytes as u32) as usize;
                let cmsg = libc::CMSG_FIRSTHDR(&msg);
                (*cmsg).cmsg_level = libc::SOL_SOCKET;
                (*cmsg).cmsg_type = libc::SCM_RIGHTS;
                (*cmsg).cmsg_len = libc::CMSG_LEN(bytes as u32) as usize;
                std::ptr::copy_nonoverlapping(
                    fds.as_ptr(),
                    libc::CMSG_DATA(cmsg).cast(),
                    fds.len(),
                );
            }
        }
        loop {
            // SAFETY: `msg` points at live buffers.
            let n = unsafe { libc::sendmsg(self.fd.as_raw_fd(), &msg, libc::MSG_NOSIGNAL) };
            if n >= 0 {
                return Ok(());
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }

    /// The next message, waiting at most `wait` (`None`: only what is there already).
    /// `Ok(None)`: nothing came in time. An empty message means the peer closed.
    /// Descriptors, which the peer never sends, are closed if any arrive.
    pub fn recv(&self, wait: Option<Duration>) -> io::Result<Option<Vec<u8>>> {
        let mut fds = [poll::want(self.fd.as_raw_fd(), libc::POLLIN)];
        if poll::poll(&mut fds, Some(wait.unwrap_or_default())) == 0 {
            return Ok(None);
        }
        let mut buf = vec![0u8; MAX_MESSAGE];
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        let mut control = [0u64; 8];
        // SAFETY: as in `send`.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = std::mem::size_of_val(&control);
        let flags = libc::MSG_DONTWAIT | libc::MSG_CMSG_CLOEXEC;
        // SAFETY: `msg` points at live buffers.
        let n = unsafe { libc::recvmsg(self.fd.as_raw_fd(), &mut msg, flags) };
        if n < 0 {
            let e = io::Error::last_os_error();
            return match e.kind() {
                io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted => Ok(None),
                io::ErrorKind::ConnectionReset => Ok(Some(Vec::new())),
                _ => Err(e),
            };
        }
        close_received(&msg);
        buf.truncate(n as usize);
        Ok(Some(buf))
    }
}

impl AsFd for SeqPacket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// Closes any descriptors a message carried.
fn close_received(msg: &libc::msghdr) {
    // SAFETY: walks the control messages recvmsg filled in, within msg_controllen.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(msg);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == libc::SOL_SOCKET && (*cmsg).cmsg_type == libc::SCM_RIGHTS {
                let data = libc::CMSG_DATA(cmsg).cast::<RawFd>();
                let count = ((*cmsg).cmsg_len - libc::CMSG_LEN(0) as usize) / 4;
                for i in 0..count {
                    libc::close(data.add(i).read_unaligned());
                }
            }
            cmsg = libc::CMSG_NXTHDR(msg, cmsg);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    #[test]
    fn a_message_keeps_its_bounds_and_its_descriptors_arrive_open() {
        let (ours, theirs) = pair().unwrap();
        let theirs = SeqPacket { fd: theirs };
        let (mut reader, writer) = std::io::pipe().unwrap();
        ours.send(b"first", &[writer.as_raw_fd()]).unwrap();
        ours.send(b"second", &[]).unwrap();
        drop(writer);
        // Received by hand, keeping the descriptor, as the other process does.
        let mut buf = [0u8; 64];
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        let mut control = [0u64; 8];
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = std::mem::size_of_val(&control);
        let n = unsafe { libc::recvmsg(theirs.fd.as_raw_fd(), &mut msg, 0) };
        assert_eq!(&buf[..n as usize], b"first");
        let fd = unsafe {
            libc::CMSG_DATA(libc::CMSG_FIRSTHDR(&msg))
                .cast::<RawFd>()
                .read()
        };
        let mut passed = unsafe { std::fs::File::from_raw_fd(fd) };
        passed.write_all(b"through").unwrap();
        drop(passed);
        let mut out = String::new();
        reader.read_to_string(&mut out).unwrap();
        assert_eq!(out, "through");
        let second = theirs.recv(Some(Duration::from_secs(5))).unwrap();
        assert_eq!(second.as_deref(), Some(&b"second"[..]));
        drop(ours);
        let end = theirs.recv(Some(Duration::from_secs(5))).unwrap();
        assert_eq!(
            end.as_deref(),
            Some(&b""[..]),
            "a closed peer reads as empty"
        );
    }

    #[test]
    fn nothing_there_is_none_not_an_end() {
        let (ours, _theirs) = pair().unwrap();
        assert_eq!(ours.recv(None).unwrap(), None);
    }
}
