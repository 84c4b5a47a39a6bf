//! One end of a connection: an IP address and port, or a unix socket. The server listens
//! on one (`--listen 127.0.0.1:8000`, `--listen unix:/run/cgilab.sock`, or a socket
//! systemd passed it) and each client is one.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// Where a server listens, or who a client is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// An IP address and port.
    Tcp(SocketAddr),
    /// A unix socket by its path: `@NAME` for one in the abstract namespace, empty for a
    /// client's (a client's socket has no name).
    Unix(PathBuf),
}

impl Endpoint {
    /// A unix-socket client: its socket has no name.
    pub fn unix_client() -> Endpoint {
        Endpoint::Unix(PathBuf::new())
    }

    /// The IP address and port, over TCP.
    pub fn tcp(&self) -> Option<SocketAddr> {
        match self {
            Endpoint::Tcp(addr) => Some(*addr),
            Endpoint::Unix(_) => None,
        }
    }

    /// The socket's path, for a unix socket.
    pub fn unix_path(&self) -> Option<&Path> {
        match self {
            Endpoint::Tcp(_) => None,
            Endpoint::Unix(path) => Some(path),
        }
    }
}

impl From<SocketAddr> for Endpoint {
    fn from(addr: SocketAddr) -> Endpoint {
        Endpoint::Tcp(addr)
    }
}

/// `127.0.0.1:8000`, `[::1]:8000`, or `unix:PATH` (`unix:` alone for a client), as nginx
/// writes a unix-socket client's `$remote_addr`.
impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Tcp(addr) => addr.fmt(f),
            Endpoint::Unix(path) => write!(f, "unix:{}", path.display()),
        }
    }
}

/// The form [`Display`](fmt::Display) writes: `unix:PATH`, or an IP address and port.
impl FromStr for Endpoint {
    type Err = std::net::AddrParseError;

    fn from_str(s: &str) -> Result<Endpoint, Self::Err> {
        match s.strip_prefix("unix:") {
            Some(path) => Ok(Endpoint::Unix(PathBuf::from(path))),
            None => s.parse().map(Endpoint::Tcp),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_back_what_it_writes() {
        for text in [
            "127.0.0.1:8000",
            "[::1]:80",
            "unix:/run/cgilab.sock",
            "unix:",
        ] {
            let endpoint: Endpoint = text.parse().unwrap();
            assert_eq!(endpoint.to_string(), text);
        }
        assert_eq!(Endpoint::unix_client().to_string(), "unix:");
    }
}
