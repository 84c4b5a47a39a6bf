//! What `cgilab bench` loads: servers (its own, or `--url [LABEL=]URL`) and a path on
//! each, and what mode a row is in. A server is named by its label in every row, so an
//! external server's rows are never mistaken for one of cgilab's modes.

use std::net::{SocketAddr, ToSocketAddrs};

use crate::request::route::{APP_PREFIX, CGI_PREFIX, POOL_PREFIX, WSGI_PREFIX};

/// The label of the server the bench starts itself.
pub const OWN: &str = "cgilab";

/// A server given with `--url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    /// `gunicorn` in `--url gunicorn=http://127.0.0.1:8002/`; the authority if unnamed.
    pub label: String,
    pub addr: SocketAddr,
    /// The authority, as the `Host` header.
    pub host: String,
    /// The path of the URL, if it had one: then it is a target of its own, and `--targets`
    /// does not apply to this server.
    pub path: Option<String>,
}

/// One thing to load: a path on a server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub label: String,
    pub addr: SocketAddr,
    pub host: String,
    pub path: String,
    /// Whether the bench started this server (it then knows its cgi-bin).
    pub own: bool,
}

/// Parses `--url [LABEL=]http://HOST:PORT[/PATH]`, refusing one that is not on this
/// machine unless `allow_remote`.
pub fn parse_url(arg: &str, allow_remote: bool) -> Result<Server, String> {
    let (label, url) = match arg.split_once('=') {
        Some((label, url)) if !label.contains('/') && !label.contains(':') => (Some(label), url),
        _ => (None, arg),
    };
    if label.is_some_and(|l| l.is_empty() || l.contains(char::is_whitespace)) {
        return Err(format!(
            "--url {arg}: a label is one word before `=`, e.g. gunicorn=http://127.0.0.1:8002/"
        ));
    }
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("--url {arg}: only http:// URLs, e.g. http://127.0.0.1:8000"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], Some(rest[i..].to_string())),
        None => (rest, None),
    };
    let with_port = if authority.contains(':') && !authority.ends_with(']') {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    let addr = with_port
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .ok_or_else(|| format!("--url {arg}: cannot resolve `{authority}`"))?;
    if !addr.ip().is_loopback() && !allow_remote {
        return Err(format!(
            "--url {arg} is not on this machine; a load test of another host needs --allow-remote"
        ));
    }
    Ok(Server {
        label: label.unwrap_or(authority).to_string(),
        addr,
        host: authority.to_string(),
        path,
    })
}

/// The mode of a row: cgilab's own modes by the path, when the server says it is cgilab
/// (or is the bench's own); `external` for any other server.
pub fn mode(own: bool, software: Option<&str>, path: &str) -> &'static str {
    let cgilab = own || software.is_some_and(|s| s.starts_with("cgilab/"));
    if !cgilab {
        "external"
    } else if path.starts_with(CGI_PREFIX) {
        "cgi"
    } else if path.starts_with(APP_PREFIX) {
        "gateway"
    } else if path.starts_with(POOL_PREFIX) {
        "pool"
    } else if path.starts_with(WSGI_PREFIX) {
        "embed"
    } else {
        "server"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_take_an_optional_label_and_path() {
        let s = parse_url("gunicorn=http://127.0.0.1:8002/", false).unwrap();
        assert_eq!(
            (s.label.as_str(), s.path.as_deref(), s.addr.port()),
            ("gunicorn", Some("/"), 8002)
        );
        let s = parse_url("http://127.0.0.1:8000", false).unwrap();
        assert_eq!((s.label.as_str(), s.path), ("127.0.0.1:8000", None));
        let s = parse_url("http://localhost:8000/app/hello?x=a=b", false).unwrap();
        assert_eq!(s.path.as_deref(), Some("/app/hello?x=a=b"));
        assert!(parse_url("=http://127.0.0.1:1", false).is_err());
        assert!(parse_url("ftp://127.0.0.1", false).is_err());
        assert!(parse_url("http://192.0.2.1:80", false).is_err());
    }

    #[test]
    fn only_cgilab_rows_get_cgilab_modes() {
        assert_eq!(mode(true, None, "/cgi-bin/hello.sh"), "cgi");
        assert_eq!(mode(false, Some("cgilab/0.1.0"), "/app/hello"), "gateway");
        assert_eq!(mode(false, Some("cgilab/0.1.0"), "/pool/hello"), "pool");
        assert_eq!(mode(false, Some("cgilab/0.1.0"), "/wsgi/hello"), "embed");
        assert_eq!(
            mode(false, Some("gunicorn"), "/cgi-bin/hello.sh"),
            "external"
        );
        assert_eq!(mode(false, None, "/raw"), "external");
    }
}
