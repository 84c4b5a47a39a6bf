//! `--accept shared`: the other way to hand out requests, the one php-fpm's children and
//! gunicorn's workers use. Every worker of the pool gets the same listening socket as its
//! descriptor 0 and calls `accept()` on it; the kernel gives each connection to one of
//! the workers waiting there. The server connects to that socket for each request and
//! never learns which worker took it.
//!
//! What the supervisor loses, and how it gets some of it back:
//!
//! - It cannot see a worker busy or idle, so it cannot time a request per worker. Each
//!   worker that cgilab ships keeps a [`Heartbeat`], gunicorn's `WorkerTmp`: a file whose
//!   modification time the worker sets, every few seconds, to the start of the oldest
//!   request it holds (or to now when it holds none). A time older than `--timeout` means
//!   a request stuck past it: the arbiter kills that worker. A FastCGI program that is not
//!   ours (php-cgi, flup) cannot beat: a request stuck in it gets its 504 from the
//!   server, and the worker stays stuck; php-fpm's own master kills such a child because
//!   its children tell it, in shared memory, which request each one holds
//!   (`request_terminate_timeout`).
//! - It cannot count requests per worker: with `--max-requests`, our worker counts its
//!   own and leaves, as gunicorn's workers do.
//! - A burst waits in the socket's listen backlog, in the kernel, not in the server's
//!   line: the server holds the listening socket too, so connections queue there even
//!   while every worker is restarting. The backlog is bounded (`--backlog`, and never more
//!   than the kernel's `net.core.somaxconn`): a connection past it is refused at once,
//!   and its request gets 503.

use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// A pool's one listening socket, which every worker accepts on.
#[derive(Debug)]
pub struct SharedSocket {
    pub path: PathBuf,
    /// `listen()`'s backlog, as asked (the kernel caps it at `somaxconn`).
    pub backlog: u32,
    /// Held by the server as well, so the socket takes connections while no worker is
    /// alive; each worker gets a copy as its descriptor 0.
    listener: OwnedFd,
}

/// Why no connection could be made to a shared socket.
#[derive(Debug)]
pub enum ConnectError {
    /// The listen backlog is full: as many connections wait as it holds.
    BacklogFull,
    Other(io::Error),
}

impl SharedSocket {
    /// Binds `path` and listens on it with `backlog`.
    pub fn bind(path: PathBuf, backlog: u32) -> io::Result<SharedSocket> {
        // std's UnixListener::bind chooses its own backlog; this one is the user's.
        let fd = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a descriptor just made, owned from here.
        let listener = unsafe { OwnedFd::from_raw_fd(fd) };
        let (addr, len) = sockaddr(&path)?;
        // SAFETY: a valid sockaddr_un of `len` bytes.
        if unsafe { libc::bind(fd, &addr as *const _ as *const libc::sockaddr, len) } != 0 {
            return Err(io::Error::last_os_error());
        }
        let asked = backlog.min(i32::MAX as u32) as i32;
        if unsafe { libc::listen(fd, asked) } != 0 {
            let e = io::Error::last_os_error();
            let _ = std::fs::remove_file(&path);
            return Err(e);
        }
        Ok(SharedSocket {
            path,
            backlog,
            listener,
        })
    }

    /// A copy of the listening socket, for one worker's descriptor 0.
    pub fn for_worker(&self) -> io::Result<OwnedFd> {
        self.listener.try_clone()
    }

    /// How many connections wait in the backlog now, not yet accepted by any worker;
    /// asked of the kernel as `ss -xl` asks it. `None` if the kernel would not say.
    pub fn waiting(&self) -> Option<u32> {
        // SAFETY: fstat into a zeroed struct, on a descriptor we own.
        let mut stat: libc::stat = unsafe { std::mem::zeroed() };
        if unsafe { libc::fstat(self.listener.as_raw_fd(), &mut stat) } != 0 {
            return None;
        }
        sock_diag::listen_queue(stat.st_ino as u32)
    }

    /// Connects without waiting: a connection queued in the backlog, which a worker
    /// accepts when it is free, or [`ConnectError::BacklogFull`].
    pub fn connect(&self) -> Result<UnixStream, ConnectError> {
        let fd = unsafe {
            libc::socket(
                libc::AF_UNIX,
                libc::SOCK_STREAM | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
                0,
            )
        };
        if fd < 0 {
            return Err(ConnectError::Other(io::Error::last_os_error()));
        }
        // SAFETY: a descriptor just made, owned from here.
        let owned = unsafe { OwnedFd::from_raw_fd(fd) };
        let (addr, len) = sockaddr(&self.path).map_err(ConnectError::Other)?;
        // SAFETY: a valid sockaddr_un of `len` bytes.
        let rc = unsafe { libc::connect(fd, &addr as *const _ as *const libc::sockaddr, len) };
        if rc != 0 {
            let e = io::Error::last_os_error();
            // A Unix socket whose backlog is full refuses a non-blocking connect with
            // EAGAIN (a blocking one would wait for room).
            return Err(match e.raw_os_error() {
                Some(libc::EAGAIN) => ConnectError::BacklogFull,
                _ => ConnectError::Other(e),
            });
        }
        let stream = UnixStream::from(owned);
        stream.set_nonblocking(false).map_err(ConnectError::Other)?;
        Ok(stream)
    }
}

impl Drop for SharedSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn sockaddr(path: &Path) -> io::Result<(libc::sockaddr_un, libc::socklen_t)> {
    // SAFETY: all zeroes is a valid sockaddr_un.
    let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    let bytes = path.as_os_str().as_bytes();
    if bytes.len() >= addr.sun_path.len() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "socket path too long",
        ));
    }
    for (to, from) in addr.sun_path.iter_mut().zip(bytes) {
        *to = *from as libc::c_char;
    }
    let len = std::mem::size_of::<libc::sa_family_t>() + bytes.len() + 1;
    Ok((addr, len as libc::socklen_t))
}

/// A worker's heartbeat (gunicorn's `WorkerTmp`): an unlinked file the worker gets as
/// its descriptor 3 and whose modification time it sets. It starts at the epoch, so the
/// first beat also says the worker is ready.
#[derive(Debug)]
pub struct Heartbeat {
    file: File,
}

impl Heartbeat {
    /// A new heartbeat file in `dir` (unlinked at once: only descriptors reach it).
    pub fn new(dir: &Path) -> io::Result<Heartbeat> {
        let file = tempfile::tempfile_in(dir)?;
        file.set_modified(SystemTime::UNIX_EPOCH)?;
        Ok(Heartbeat { file })
    }

    /// The same heartbeat, for another thread.
    pub fn try_clone(&self) -> io::Result<Heartbeat> {
        Ok(Heartbeat {
            file: self.file.try_clone()?,
        })
    }

    /// Another descriptor of the same file, for the worker.
    pub fn for_worker(&self) -> io::Result<OwnedFd> {
        Ok(OwnedFd::from(self.file.try_clone()?))
    }

    /// The time of the last beat: the start of the oldest request the worker holds, or
    /// when it last said it held none. `None` before its first beat.
    pub fn last(&self) -> Option<SystemTime> {
        let modified = self.file.metadata().ok()?.modified().ok()?;
        (modified > SystemTime::UNIX_EPOCH).then_some(modified)
    }

    /// How long ago the last beat was (zero for one in the future: clocks are the
    /// worker's and ours, the same wall clock).
    pub fn age(&self) -> Option<Duration> {
        let last = self.last()?;
        Some(SystemTime::now().duration_since(last).unwrap_or_default())
    }
}

/// The descriptor a worker finds its heartbeat on.
pub const HEARTBEAT_FD: i32 = 3;

/// How often a worker beats: often enough that an idle worker is never taken for a stuck
/// one (gunicorn's workers notify every `timeout / 2`).
pub fn beat_every(timeout: Duration) -> Duration {
    (timeout / 4).clamp(Duration::from_millis(100), Duration::from_secs(5))
}

/// The one question asked of the kernel's socket diagnostics (`sock_diag(7)`, over
/// netlink): the queue of a listening Unix socket, found by its inode.
mod sock_diag {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

    const SOCK_DIAG_BY_FAMILY: u16 = 20;
    const NLM_F_REQUEST: u16 = 1;
    const NLMSG_ERROR: u16 = 2;
    /// `TCP_LISTEN`, the state of a listening socket (Unix ones included).
    const LISTEN: u32 = 10;
    const UDIAG_SHOW_RQLEN: u32 = 0x10;
    /// The attribute with `udiag_rqueue` (for a listening socket: connections not yet
    /// accepted) and `udiag_wqueue` (its backlog).
    const UNIX_DIAG_RQLEN: u16 = 4;

    #[repr(C)]
    struct Request {
        // struct nlmsghdr
        len: u32,
        kind: u16,
        flags: u16,
        seq: u32,
        pid: u32,
        // struct unix_diag_req
        family: u8,
        protocol: u8,
        pad: u16,
        states: u32,
        ino: u32,
        show: u32,
        cookie: [u32; 2],
    }

    /// `nlmsghdr` and `unix_diag_msg`, 16 bytes each, before the attributes.
    const HEADERS: usize = 32;

    pub fn listen_queue(ino: u32) -> Option<u32> {
        // SAFETY: plain system calls on a descriptor made and owned here, with buffers
        // of the sizes given.
        let fd = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_DGRAM | libc::SOCK_CLOEXEC,
                libc::NETLINK_SOCK_DIAG,
            )
        };
        if fd < 0 {
            return None;
        }
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let request = Request {
            len: std::mem::size_of::<Request>() as u32,
            kind: SOCK_DIAG_BY_FAMILY,
            flags: NLM_F_REQUEST,
            seq: 1,
            pid: 0,
            family: libc::AF_UNIX as u8,
            protocol: 0,
            pad: 0,
            states: 1 << LISTEN,
            ino,
            show: UDIAG_SHOW_RQLEN,
            cookie: [u32::MAX; 2], // no cookie: found by inode alone
        };
        let sent = unsafe {
            libc::send(
                fd.as_raw_fd(),
                &request as *const Request as *const libc::c_void,
                std::mem::size_of::<Request>(),
                0,
            )
        };
        if sent < 0 {
            return None;
        }
        let mut buf = [0u8; 4096];
        // The kernel answers before send returns; never wait for it.
        let got = unsafe {
            libc::recv(
                fd.as_raw_fd(),
                buf.as_mut_ptr() as *mut libc::c_void,
                buf.len(),
                libc::MSG_DONTWAIT,
            )
        };
        let answer = buf.get(..usize::try_from(got).ok()?)?;
        let u16_at = |at: usize| Some(u16::from_ne_bytes(answer.get(at..at + 2)?.try_into().ok()?));
        let u32_at = |at: usize| Some(u32::from_ne_bytes(answer.get(at..at + 4)?.try_into().ok()?));
        if u16_at(4)? == NLMSG_ERROR {
            return None;
        }
        let end = (u32_at(0)? as usize).min(answer.len());
        let mut at = HEADERS;
        while at + 4 <= end {
            let len = u16_at(at)? as usize;
            if len < 4 {
                return None;
            }
            if u16_at(at + 2)? == UNIX_DIAG_RQLEN {
                return u32_at(at + 4);
            }
            at += (len + 3) & !3;
        }
        None
    }
}
