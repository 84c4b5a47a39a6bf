//! What systemd gives a service and expects back, done by hand (each is a few lines):
//!
//! - **Socket activation** (`sd_listen_fds(3)`): with `LISTEN_PID` equal to this
//!   process's id and `LISTEN_FDS=1`, descriptor 3 is a listening socket that systemd made
//!   and keeps; the server serves it instead of binding `--listen`. systemd holds the
//!   socket across restarts, so connections wait in its backlog instead of being refused.
//! - **Readiness** (`sd_notify(3)`): with `NOTIFY_SOCKET` set (a path, or `@NAME` in the
//!   abstract namespace), the server sends `READY=1` once it listens and its pools have
//!   started, and `STOPPING=1` when a stop begins, each as one datagram.
//!
//! [`take`] reads all of these and removes them from the environment before anything is
//! started, so that no script, worker or keeper sees them: a child that took
//! `LISTEN_FDS` for its own, or sent `READY=1`, would speak for the server.

use std::io;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixDatagram;

/// The first descriptor systemd passes (`SD_LISTEN_FDS_START`).
const LISTEN_FDS_START: libc::c_int = 3;

/// The variables of both protocols.
const VARIABLES: [&str; 4] = [
    "LISTEN_PID",
    "LISTEN_FDS",
    "LISTEN_FDNAMES",
    "NOTIFY_SOCKET",
];

/// What systemd passed this process.
#[derive(Debug, Default)]
pub struct Systemd {
    /// The listening socket of socket activation.
    pub socket: Option<OwnedFd>,
    /// Where to send readiness.
    pub notify: Option<Notifier>,
}

/// Reads socket activation and the notify socket from the environment, and removes their
/// variables from it. Call it first, before any thread or child is started (changing the
/// environment is safe only then).
pub fn take() -> Result<Systemd, String> {
    let var = |name: &str| std::env::var_os(name);
    let (pid, fds, notify) = (var("LISTEN_PID"), var("LISTEN_FDS"), var("NOTIFY_SOCKET"));
    for name in VARIABLES {
        // Safe: no other thread runs yet (see above).
        unsafe { std::env::remove_var(name) };
    }
    let notify = notify.and_then(|address| Notifier::new(address.as_bytes()));
    let for_us = pid
        .and_then(|p| p.to_str()?.parse::<u32>().ok())
        .is_some_and(|p| p == std::process::id());
    let Some(fds) = fds.filter(|_| for_us) else {
        return Ok(Systemd {
            socket: None,
            notify,
        });
    };
    let count = fds.to_str().and_then(|n| n.parse::<u32>().ok());
    match count {
        Some(0) => Ok(Systemd {
            socket: None,
            notify,
        }),
        Some(1) => {
            // Not inherited by what the server starts.
            let fd = LISTEN_FDS_START;
            if unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) } != 0 {
                return Err(format!(
                    "LISTEN_FDS=1, but descriptor {fd} is not open: {}; check the socket unit",
                    io::Error::last_os_error()
                ));
            }
            // Safe: systemd passed it to this process, and nothing else here owns it.
            let socket = unsafe { OwnedFd::from_raw_fd(fd) };
            Ok(Systemd {
                socket: Some(socket),
                notify,
            })
        }
        Some(n) => Err(format!(
            "systemd passed {n} sockets (LISTEN_FDS={n}); cgilab serves one: give its socket \
             unit a single ListenStream= line"
        )),
        None => Err(format!(
            "LISTEN_FDS={}: not a number of sockets; check the socket unit",
            fds.to_string_lossy()
        )),
    }
}

/// Sends states to the service manager's notify socket.
#[derive(Debug, Clone)]
pub struct Notifier {
    address: Address,
}

#[derive(Debug, Clone)]
enum Address {
    Path(std::path::PathBuf),
    /// A name in the abstract namespace (written `@NAME` in `NOTIFY_SOCKET`).
    Abstract(Vec<u8>),
}

impl Notifier {
    /// The notifier for `NOTIFY_SOCKET`'s value; `None` (with a log line) for an address
    /// it cannot send to.
    pub fn new(address: &[u8]) -> Option<Notifier> {
        let address = match address {
            [b'/', ..] => Address::Path(std::ffi::OsStr::from_bytes(address).into()),
            [b'@', name @ ..] if !name.is_empty() => Address::Abstract(name.to_vec()),
            _ => {
                crate::log!(
                    "cgilab: NOTIFY_SOCKET={} is neither a path nor @NAME; readiness will not \
                     be sent",
                    String::from_utf8_lossy(address)
                );
                return None;
            }
        };
        Some(Notifier { address })
    }

    /// Sends `state` (`READY=1`, `STOPPING=1`, maybe with `STATUS=...` lines) as one
    /// datagram; a failure is logged, never fatal.
    pub fn notify(&self, state: &str) {
        if let Err(e) = self.send(state.as_bytes()) {
            crate::log!(
                "cgilab: cannot notify the service manager ({}): {e}",
                state.lines().next().unwrap_or("")
            );
        }
    }

    fn send(&self, message: &[u8]) -> io::Result<usize> {
        let socket = UnixDatagram::unbound()?;
        match &self.address {
            Address::Path(path) => socket.send_to(message, path),
            Address::Abstract(name) => {
                use std::os::linux::net::SocketAddrExt;
                let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
                socket.send_to_addr(message, &addr)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::linux::net::SocketAddrExt;

    #[test]
    fn a_state_reaches_a_path_and_an_abstract_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let listener = UnixDatagram::bind(&path).unwrap();
        Notifier::new(path.as_os_str().as_bytes())
            .unwrap()
            .notify("READY=1");
        let mut buf = [0u8; 64];
        let n = listener.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1");

        let name = format!("cgilab-test-{}", std::process::id());
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(&name).unwrap();
        let listener = UnixDatagram::bind_addr(&addr).unwrap();
        Notifier::new(format!("@{name}").as_bytes())
            .unwrap()
            .notify("STOPPING=1");
        let n = listener.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"STOPPING=1");
    }

    #[test]
    fn an_address_that_is_neither_is_not_used() {
        assert!(Notifier::new(b"relative/path").is_none());
        assert!(Notifier::new(b"@").is_none());
    }
}
