//! Where the server listens: a TCP address, a unix socket it binds itself (as gunicorn's
//! `--bind unix:PATH`, behind nginx), or a socket systemd passed it ([`super::systemd`]).
//!
//! A unix socket's file is the server's to manage. It is made with mode 0660, so that
//! the server's group (nginx's, say) may connect and nobody else. A file left by a server
//! that died is replaced; one that a live server answers on, or a path that is not a
//! socket, is refused. The file is removed when the server stops, unless another server
//! has replaced it since. A socket systemd passed is systemd's: it is never removed.

use std::fs;
use std::io;
use std::net::TcpListener;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::http::endpoint::Endpoint;

/// A unix socket's mode: the owner and its group may connect.
const SOCKET_MODE: u32 = 0o660;

/// How many connections may wait to be accepted (std's own choice for `bind`).
const BACKLOG: libc::c_int = 128;

/// A listening socket, ready for tiny_http.
pub struct Listener {
    socket: tiny_http::Listener,
    /// Where it listens, with the real port when bound to port 0.
    pub endpoint: Endpoint,
    /// The socket file this server made, removed when it is dropped.
    pub file: Option<SocketFile>,
}

impl Listener {
    /// Binds `endpoint`; the error says what to do about it.
    pub fn bind(endpoint: &Endpoint) -> Result<Listener, String> {
        match endpoint {
            Endpoint::Tcp(addr) => {
                let listener = TcpListener::bind(addr).map_err(|e| match e.kind() {
                    io::ErrorKind::AddrInUse => format!(
                        "cannot listen on {addr}: the address is in use; stop the other server or pass --listen {}:0 for a free port",
                        addr.ip()
                    ),
                    _ => format!("cannot listen on {addr}: {e}; pass --listen ADDR"),
                })?;
                let local = listener.local_addr().map_err(|e| e.to_string())?;
                Ok(Listener {
                    socket: listener.into(),
                    endpoint: Endpoint::Tcp(local),
                    file: None,
                })
            }
            Endpoint::Unix(path) => bind_unix(path),
        }
    }

    /// Takes a listening stream socket that the server inherited (from systemd).
    pub fn inherited(fd: OwnedFd) -> Result<Listener, String> {
        let domain = socket_option(&fd, libc::SO_DOMAIN);
        let kind = socket_option(&fd, libc::SO_TYPE);
        let listening = socket_option(&fd, libc::SO_ACCEPTCONN);
        let fd_no = fd.as_raw_fd();
        if kind != Some(libc::SOCK_STREAM) || listening != Some(1) {
            return Err(format!(
                "descriptor {fd_no}, passed by systemd (LISTEN_FDS), is not a listening stream \
                 socket; give the socket unit a ListenStream= line"
            ));
        }
        match domain {
            Some(libc::AF_INET | libc::AF_INET6) => {
                let listener = TcpListener::from(fd);
                let local = listener.local_addr().map_err(|e| e.to_string())?;
                Ok(Listener {
                    socket: listener.into(),
                    endpoint: Endpoint::Tcp(local),
                    file: None,
                })
            }
            Some(libc::AF_UNIX) => {
                let listener = UnixListener::from(fd);
                let endpoint = Endpoint::Unix(unix_name(&listener));
                Ok(Listener {
                    socket: listener.into(),
                    endpoint,
                    file: None,
                })
            }
            _ => Err(format!(
                "descriptor {fd_no}, passed by systemd (LISTEN_FDS), is neither a TCP nor a \
                 unix socket; give the socket unit a ListenStream= line"
            )),
        }
    }

    /// Sets what accepted sockets get: the read and write timeouts, and over TCP,
    /// TCP_NODELAY, so the small last write of a response (the end of a chunked body) is
    /// not held back by Nagle's algorithm until the client's delayed ACK, 40 ms later.
    /// (An accepted TCP socket inherits these from the listening one; tiny_http copies
    /// the timeouts to an accepted unix socket.)
    pub fn set_options(&self, timeout: Duration) -> io::Result<()> {
        let fd = match &self.socket {
            tiny_http::Listener::Tcp(l) => l.as_raw_fd(),
            tiny_http::Listener::Unix(l) => l.as_raw_fd(),
        };
        let tv = libc::timeval {
            tv_sec: timeout.as_secs() as libc::time_t,
            tv_usec: timeout.subsec_micros() as libc::suseconds_t,
        };
        let tv_ptr = (&tv as *const libc::timeval).cast();
        let tv_len = size_of::<libc::timeval>();
        set_option(fd, libc::SOL_SOCKET, libc::SO_RCVTIMEO, tv_ptr, tv_len)?;
        set_option(fd, libc::SOL_SOCKET, libc::SO_SNDTIMEO, tv_ptr, tv_len)?;
        if let tiny_http::Listener::Tcp(_) = &self.socket {
            let one: libc::c_int = 1;
            let one_ptr = (&one as *const libc::c_int).cast();
            set_option(fd, libc::IPPROTO_TCP, libc::TCP_NODELAY, one_ptr, 4)?;
        }
        Ok(())
    }

    /// The socket, for tiny_http, and the file to remove when the server stops.
    pub fn into_parts(self) -> (tiny_http::Listener, Option<SocketFile>) {
        (self.socket, self.file)
    }
}

/// A unix socket file this server made: removed when dropped, if it is still the one
/// this server made (a server started meanwhile may have replaced it).
#[derive(Debug)]
pub struct SocketFile {
    path: PathBuf,
    dev: u64,
    ino: u64,
}

impl Drop for SocketFile {
    fn drop(&mut self) {
        let ours = fs::symlink_metadata(&self.path)
            .is_ok_and(|m| m.dev() == self.dev && m.ino() == self.ino);
        if ours {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Binds a unix socket at `path`, replacing a stale one, with mode 0660.
fn bind_unix(path: &Path) -> Result<Listener, String> {
    let at = format!("--listen unix:{}", path.display());
    match fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("{at}: cannot look at the path: {e}")),
        Ok(meta) if !meta.file_type().is_socket() => {
            return Err(format!(
                "{at}: the path exists and is not a socket; remove it or choose another path"
            ));
        }
        // A socket file: live if something answers on it, stale if refused.
        Ok(_) => match UnixStream::connect(path) {
            Ok(_) => {
                return Err(format!(
                    "{at}: a server is already listening there; stop it or choose another path"
                ));
            }
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                fs::remove_file(path)
                    .map_err(|e| format!("{at}: cannot remove the stale socket: {e}"))?;
                crate::log!(
                    "cgilab: replaced the stale socket {} (nothing answered on it)",
                    path.display()
                );
            }
            Err(e) => {
                return Err(format!(
                    "{at}: a socket is there and connecting to it failed ({e}); remove it or \
                     choose another path"
                ));
            }
        },
    }
    let listener = bind_with_mode(path, SOCKET_MODE).map_err(|e| {
        let hint = match e.kind() {
            io::ErrorKind::NotFound => "create its directory or choose another path",
            io::ErrorKind::PermissionDenied => "choose a path this user may write",
            _ => "choose another path",
        };
        format!("{at}: cannot bind: {e}; {hint}")
    })?;
    let meta = fs::symlink_metadata(path).map_err(|e| format!("{at}: {e}"))?;
    // bind() applied the umask: set the mode exactly (the file was never wider).
    fs::set_permissions(path, fs::Permissions::from_mode(SOCKET_MODE))
        .map_err(|e| format!("{at}: cannot set its mode: {e}"))?;
    Ok(Listener {
        socket: listener.into(),
        endpoint: Endpoint::Unix(path.to_path_buf()),
        file: Some(SocketFile {
            path: path.to_path_buf(),
            dev: meta.dev(),
            ino: meta.ino(),
        }),
    })
}

/// A unix socket bound at `path` and listening, whose file is created with at most
/// `mode`. On Linux, bind() gives the file the socket's own mode less the umask, so the
/// mode is set on the socket before it is bound: the file is never, even for an
/// instant, open to more than `mode` allows (chmod after bind would leave a window).
fn bind_with_mode(path: &Path, mode: u32) -> io::Result<UnixListener> {
    let bytes = path.as_os_str().as_bytes();
    let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    if bytes.len() >= addr.sun_path.len() || bytes.contains(&0) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("a socket path is at most {} bytes", addr.sun_path.len() - 1),
        ));
    }
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    for (dst, src) in addr.sun_path.iter_mut().zip(bytes) {
        *dst = *src as libc::c_char;
    }
    let len = (size_of::<libc::sa_family_t>() + bytes.len() + 1) as libc::socklen_t;
    unsafe {
        let fd = libc::socket(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let fd = OwnedFd::from_raw_fd(fd); // closed on every path from here
        let raw = fd.as_raw_fd();
        if libc::fchmod(raw, mode as libc::mode_t) != 0
            || libc::bind(raw, (&addr as *const libc::sockaddr_un).cast(), len) != 0
            || libc::listen(raw, BACKLOG) != 0
        {
            return Err(io::Error::last_os_error());
        }
        Ok(UnixListener::from(fd))
    }
}

/// A unix listener's name: its path, `@NAME` if abstract, empty if it has none.
fn unix_name(listener: &UnixListener) -> PathBuf {
    use std::os::linux::net::SocketAddrExt;
    let Ok(addr) = listener.local_addr() else {
        return PathBuf::new();
    };
    if let Some(path) = addr.as_pathname() {
        return path.to_path_buf();
    }
    match addr.as_abstract_name() {
        Some(name) => {
            let mut text = b"@".to_vec();
            text.extend_from_slice(name);
            PathBuf::from(std::ffi::OsStr::from_bytes(&text))
        }
        None => PathBuf::new(),
    }
}

/// An integer socket option; `None` if it cannot be read (not a socket).
fn socket_option(fd: &OwnedFd, option: libc::c_int) -> Option<libc::c_int> {
    let mut value: libc::c_int = 0;
    let mut len = size_of::<libc::c_int>() as libc::socklen_t;
    let rc = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            option,
            (&mut value as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    (rc == 0).then_some(value)
}

fn set_option(
    fd: libc::c_int,
    level: libc::c_int,
    option: libc::c_int,
    value: *const libc::c_void,
    len: usize,
) -> io::Result<()> {
    let rc = unsafe { libc::setsockopt(fd, level, option, value, len as libc::socklen_t) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> tempfile::TempDir {
        tempfile::tempdir().unwrap()
    }

    #[test]
    fn a_unix_socket_gets_mode_0660_and_is_removed_when_dropped() {
        let dir = dir();
        let path = dir.path().join("s.sock");
        let listener = Listener::bind(&Endpoint::Unix(path.clone())).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o660);
        drop(listener);
        assert!(!path.exists());
    }

    #[test]
    fn a_socket_file_replaced_by_another_server_is_left_alone() {
        let dir = dir();
        let path = dir.path().join("s.sock");
        let first = Listener::bind(&Endpoint::Unix(path.clone())).unwrap();
        fs::remove_file(&path).unwrap();
        let second = UnixListener::bind(&path).unwrap();
        drop(first);
        assert!(path.exists(), "the newer socket was removed");
        drop(second);
    }

    #[test]
    fn a_path_too_long_for_a_socket_is_refused() {
        let long = PathBuf::from(format!("/tmp/{}", "x".repeat(200)));
        let e = Listener::bind(&Endpoint::Unix(long)).err().unwrap();
        assert!(e.contains("at most"), "{e}");
    }
}
