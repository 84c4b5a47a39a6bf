//! The RFC 3875 §4.1 meta-variables: the request, as a script or an app receives it.
//!
//! [`build`] is the one function that makes them. The CGI host passes the result to a
//! script as its environment; the gateway passes the same value to an app as a map (what
//! WSGI calls `environ`). So a printenv script and the printenv app see the same request.

use std::borrow::Cow;
use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::http::endpoint::Endpoint;
use crate::request::forwarded::Forwarded;

/// The request as the server saw it, independent of the HTTP library.
#[derive(Debug, Clone)]
pub struct RequestHead {
    /// `GET`, `POST`, ... as sent (a method the front knows is not copied).
    pub method: Cow<'static, str>,
    /// The raw request target: path and query, still percent-encoded.
    pub target: String,
    /// `HTTP/1.0` or `HTTP/1.1`: the request's own version.
    pub protocol: Cow<'static, str>,
    /// Header fields in the order received; names as sent.
    pub headers: Vec<(String, String)>,
    /// The header values that are not UTF-8 (RFC 9112 §5.5 obs-text, e.g. Latin-1), by
    /// their index in `headers`, as the bytes sent; `headers` holds them read as Latin-1
    /// (as PEP 3333 gives them to an app), and a script gets the bytes.
    pub raw_values: Vec<(usize, Vec<u8>)>,
    /// The client: an address and port, or a unix socket's (unnamed) client.
    pub remote: Endpoint,
    /// Where the server listens.
    pub local: Endpoint,
    /// What a trusted proxy said about the request (`--forwarded-allow-ips`); nothing
    /// when the peer is not one.
    pub forwarded: Forwarded,
}

impl RequestHead {
    /// The first value of a header field, matched case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What the request runs: the script or app it names, after routing.
#[derive(Debug, Clone)]
pub struct Invocation<'a> {
    /// `SCRIPT_NAME`: the URL path that names the script or app.
    pub script_name: &'a str,
    /// `PATH_INFO`: the decoded rest of the path; empty if none.
    pub path_info: &'a str,
    /// `SCRIPT_FILENAME`: the script's real path, or the app's name for a gateway app.
    pub script_filename: &'a str,
    /// `CONTENT_LENGTH`: the body's length once read (chunked bodies are counted, §4.2).
    pub content_length: Option<u64>,
}

/// Settings of the server that shape every environment.
#[derive(Debug, Clone)]
pub struct Site {
    /// `SERVER_SOFTWARE`.
    pub software: String,
    /// `DOCUMENT_ROOT`; `PATH_TRANSLATED` is `PATH_INFO` mapped under it.
    pub document_root: PathBuf,
    /// Variables every script gets besides the meta-variables: `PATH` and what
    /// `--env` and `--pass-env` name. Nothing else of the server's environment leaks.
    pub extra: Vec<(String, String)>,
    /// `--pass-auth`: give scripts `HTTP_AUTHORIZATION` (Apache's `CGIPassAuth`).
    pub pass_auth: bool,
}

/// An ordered set of meta-variables, each name once.
/// Names are mostly the RFC's own, so they are kept without copying them; the values
/// are kept one after another in one string, so a request's environ is a few
/// allocations, not one per variable.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Environ {
    /// Each variable's name, and where its value is in `text`.
    vars: Vec<(Cow<'static, str>, Range<usize>)>,
    /// Every value, in order.
    text: String,
    /// Values that are bytes, not text (a header value that is not UTF-8), by index.
    raw: Vec<(usize, Vec<u8>)>,
}

impl Environ {
    /// Adds a variable known not to be set yet.
    fn push(&mut self, name: impl Into<Cow<'static, str>>, value: &str) {
        let start = self.text.len();
        self.text.push_str(value);
        self.vars.push((name.into(), start..self.text.len()));
    }

    /// Adds a variable whose value is written by `value` (a number, an address).
    fn push_display(&mut self, name: &'static str, value: impl std::fmt::Display) {
        use std::fmt::Write;
        let start = self.text.len();
        // Writing to a String cannot fail.
        let _ = write!(self.text, "{value}");
        self.vars.push((name.into(), start..self.text.len()));
    }

    /// Adds a variable whose value is `bytes`, as text `value` (read as Latin-1).
    fn push_bytes(&mut self, name: String, value: &str, bytes: Vec<u8>) {
        self.raw.push((self.vars.len(), bytes));
        self.push(name, value);
    }

    fn value(&self, at: &Range<usize>) -> &str {
        &self.text[at.clone()]
    }

    /// All variables as a script's environment gets them: a value that was sent as
    /// bytes that are not UTF-8 is those bytes.
    pub fn iter_os(&self) -> impl Iterator<Item = (&str, &std::ffi::OsStr)> {
        self.iter_named().map(|(n, v)| (n.as_ref(), v))
    }

    /// As [`Environ::iter_os`], each name as kept: borrowed when it is one of the
    /// names this module writes as a literal (a bounded set, which a caller may cache
    /// what it makes of), owned when it came from a header or the configuration.
    pub fn iter_named(&self) -> impl Iterator<Item = (&Cow<'static, str>, &std::ffi::OsStr)> {
        use std::os::unix::ffi::OsStrExt;
        self.vars.iter().enumerate().map(|(i, (n, at))| {
            let value = match self.raw.iter().find(|(index, _)| *index == i) {
                Some((_, bytes)) => std::ffi::OsStr::from_bytes(bytes),
                None => std::ffi::OsStr::new(self.value(at)),
            };
            (n, value)
        })
    }

    /// How many variables there are.
    pub fn len(&self) -> usize {
        self.vars.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.vars.is_empty()
    }

    /// The value of `name`, if set.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, at)| self.value(at))
    }

    /// All variables, in the order they were first set.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.vars.iter().map(|(n, at)| (n.as_ref(), self.value(at)))
    }
}

/// Builds the meta-variables for one request (RFC 3875 §4.1, in its order).
pub fn build(req: &RequestHead, inv: &Invocation<'_>, site: &Site) -> Environ {
    let mut env = Environ {
        vars: Vec::with_capacity(32 + site.extra.len()),
        text: String::with_capacity(512),
        raw: Vec::new(),
    };
    // §4.1.1 AUTH_TYPE and §4.1.11 REMOTE_USER are for a server that authenticates;
    // cgilab does not, so they stay unset.
    if let Some(len) = inv.content_length {
        env.push_display("CONTENT_LENGTH", len); // §4.1.2
    }
    if let Some(ctype) = req.header("Content-Type") {
        env.push("CONTENT_TYPE", ctype); // §4.1.3
    }
    env.push("GATEWAY_INTERFACE", "CGI/1.1"); // §4.1.4
    // §4.1.5 allows PATH_INFO to be empty ("" | "/" path), and an empty value is what
    // WSGI servers give an app at its root (gunicorn, wsgiref; Go's net/http/cgi too), so
    // it is always set: an app then answers the same here as behind them. §4.1.6 wants
    // PATH_TRANSLATED unset when PATH_INFO is empty.
    env.push("PATH_INFO", inv.path_info);
    if !inv.path_info.is_empty() {
        env.push_display(
            "PATH_TRANSLATED",
            Translated(&site.document_root, inv.path_info),
        ); // §4.1.6
    }
    let (_, query) = crate::request::route::split_target(&req.target);
    env.push("QUERY_STRING", query); // §4.1.7: raw, and set even when empty
    // Over a unix socket the client has no address: empty, with no REMOTE_PORT, as
    // gunicorn gives it.
    match req.remote.tcp() {
        Some(remote) => {
            env.push_display("REMOTE_ADDR", remote.ip()); // §4.1.8
            env.push_display("REMOTE_HOST", remote.ip()); // §4.1.9: no DNS lookups
        }
        None => {
            env.push("REMOTE_ADDR", "");
            env.push("REMOTE_HOST", "");
        }
    }
    env.push("REQUEST_METHOD", &req.method); // §4.1.12
    env.push("SCRIPT_NAME", inv.script_name); // §4.1.13
    push_server_name(&mut env, req); // §4.1.14
    push_server_port(&mut env, req); // §4.1.15
    env.push("SERVER_PROTOCOL", &req.protocol); // §4.1.16
    env.push("SERVER_SOFTWARE", &site.software); // §4.1.17
    add_protocol_variables(&mut env, req, site.pass_auth); // §4.1.18

    // Extensions that real programs (PHP, git http-backend, ...) rely on.
    env.push("REQUEST_URI", &req.target);
    // HTTPS as Apache sets it for a TLS request; here a trusted proxy's word.
    if req.forwarded.https {
        env.push("REQUEST_SCHEME", "https");
        env.push("HTTPS", "on");
    } else {
        env.push("REQUEST_SCHEME", "http");
    }
    env.push("SCRIPT_FILENAME", inv.script_filename);
    if let Some(remote) = req.remote.tcp() {
        env.push_display("REMOTE_PORT", remote.port());
    }
    if let Some(local) = req.local.tcp() {
        env.push_display("SERVER_ADDR", local.ip());
    }
    env.push("DOCUMENT_ROOT", &site.document_root.to_string_lossy());
    // PATH, --env and --pass-env; a meta-variable of the same name wins.
    for (name, value) in &site.extra {
        if env.get(name).is_none() {
            env.push(name.clone(), value);
        }
    }
    env
}

/// §4.1.18: each request header becomes `HTTP_NAME`, with these exceptions.
fn add_protocol_variables(env: &mut Environ, req: &RequestHead, pass_auth: bool) {
    // (variable, value as text, value as bytes when some of it is not UTF-8)
    let mut merged: Vec<(String, Cow<'_, str>, Option<Vec<u8>>)> = Vec::new();
    for (i, (name, value)) in req.headers.iter().enumerate() {
        let raw = req
            .raw_values
            .iter()
            .find(|(at, _)| *at == i)
            .map(|(_, b)| b);
        // Only letters, digits and `-`: a header spelled with `_` (X_Forwarded_For) would
        // otherwise collide with, and spoof, the variable of the real header.
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            continue;
        }
        let mut var = String::with_capacity(5 + name.len());
        var.push_str("HTTP_");
        var.extend(name.bytes().map(|b| match b {
            b'-' => '_',
            b => char::from(b.to_ascii_uppercase()),
        }));
        match var.as_str() {
            // httpoxy: HTTP_PROXY would be read as the proxy setting by many HTTP clients.
            "HTTP_PROXY" => continue,
            // Already given as CONTENT_LENGTH and CONTENT_TYPE; the body arrives
            // de-chunked (§4.2), so its transfer coding is no longer the script's business.
            "HTTP_CONTENT_LENGTH" | "HTTP_CONTENT_TYPE" | "HTTP_TRANSFER_ENCODING" => continue,
            // Credentials are not passed on, as §4.1.18 advises: any script in cgi-bin
            // would see every user's password. A server whose scripts do their own
            // authentication (a token API, basic auth in a Flask app) turns it on with
            // --pass-auth, as Apache does with CGIPassAuth. Proxy credentials never go.
            "HTTP_AUTHORIZATION" if pass_auth => {}
            "HTTP_AUTHORIZATION" | "HTTP_PROXY_AUTHORIZATION" => continue,
            _ => {}
        }
        match merged.iter_mut().find(|(n, _, _)| *n == var) {
            Some((_, existing, existing_raw)) => {
                // Repeated fields are one list (RFC 9110 §5.3); cookies join with `; `.
                let sep = if var == "HTTP_COOKIE" { "; " } else { ", " };
                if existing_raw.is_some() || raw.is_some() {
                    let bytes = existing_raw.get_or_insert_with(|| existing.as_bytes().to_vec());
                    bytes.extend_from_slice(sep.as_bytes());
                    bytes.extend_from_slice(raw.map_or(value.as_bytes(), |b| b.as_slice()));
                }
                let existing = existing.to_mut();
                existing.push_str(sep);
                existing.push_str(value);
            }
            None => merged.push((var, Cow::Borrowed(value), raw.cloned())),
        }
    }
    for (name, value, raw) in merged {
        match raw {
            Some(bytes) => env.push_bytes(name, &value, bytes),
            None => env.push(name, &value),
        }
    }
}

/// §4.1.14: the host name the client used, without its port; the address if none.
fn push_server_name(env: &mut Environ, req: &RequestHead) {
    const NAME: &str = "SERVER_NAME";
    let host = req.header("Host").unwrap_or("").trim();
    let name = if host.starts_with('[') {
        // An IPv6 literal keeps its brackets: `[::1]:8000` -> `[::1]`.
        host.split_inclusive(']').next().unwrap_or("")
    } else {
        host.split(':').next().unwrap_or("")
    };
    let valid = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.[]:".contains(&b));
    if valid {
        return env.push(NAME, name);
    }
    match &req.local {
        Endpoint::Tcp(addr) => match addr.ip() {
            std::net::IpAddr::V6(ip) => env.push_display(NAME, format_args!("[{ip}]")),
            ip => env.push_display(NAME, ip),
        },
        // gunicorn's choice: the socket's path.
        Endpoint::Unix(path) => env.push(NAME, &path.to_string_lossy()),
    }
}

/// §4.1.15: the port the request came to. A unix socket has none, so it is the one the
/// client used, as gunicorn gives it: the `Host` header's port, else the scheme's
/// default; empty without `Host`.
fn push_server_port(env: &mut Environ, req: &RequestHead) {
    const PORT: &str = "SERVER_PORT";
    if let Endpoint::Tcp(addr) = &req.local {
        return env.push_display(PORT, addr.port());
    }
    let Some(host) = req.header("Host").map(str::trim) else {
        return env.push(PORT, "");
    };
    let port = host.rsplit_once(':').filter(|(name, port)| {
        (name.ends_with(']') || !name.contains(':')) && port.bytes().all(|b| b.is_ascii_digit())
    });
    match port {
        Some((_, port)) if !port.is_empty() => env.push(PORT, port),
        // The scheme's own port, as gunicorn gives one behind a proxy.
        _ if req.forwarded.https => env.push(PORT, "443"),
        _ => env.push(PORT, "80"),
    }
}

/// §4.1.6: PATH_INFO mapped into the document tree.
struct Translated<'a>(&'a Path, &'a str);

impl std::fmt::Display for Translated<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let root = self.0.to_string_lossy();
        write!(f, "{}{}", root.trim_end_matches('/'), self.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(headers: &[(&str, &str)]) -> RequestHead {
        RequestHead {
            method: "GET".into(),
            target: "/cgi-bin/e.sh/x?a=1".into(),
            protocol: "HTTP/1.1".into(),
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            raw_values: Vec::new(),
            remote: "127.0.0.1:5555".parse().unwrap(),
            local: "127.0.0.1:8000".parse().unwrap(),
            forwarded: Forwarded::default(),
        }
    }

    fn env_of(req: &RequestHead) -> Environ {
        let inv = Invocation {
            script_name: "/cgi-bin/e.sh",
            path_info: "/x",
            script_filename: "/srv/cgi-bin/e.sh",
            content_length: None,
        };
        let site = Site {
            software: "cgilab/test".into(),
            document_root: "/srv".into(),
            extra: vec![("PATH".into(), "/bin".into())],
            pass_auth: false,
        };
        build(req, &inv, &site)
    }

    #[test]
    fn a_value_that_is_not_utf8_reaches_a_script_as_its_bytes() {
        use std::os::unix::ffi::OsStrExt;
        let mut req = head(&[("X-Name", "café"), ("X-Name", "ok")]);
        req.raw_values = vec![(0, b"caf\xe9".to_vec())];
        let env = env_of(&req);
        assert_eq!(env.get("HTTP_X_NAME"), Some("café, ok"));
        let (_, bytes) = env.iter_os().find(|(n, _)| *n == "HTTP_X_NAME").unwrap();
        assert_eq!(bytes.as_bytes(), b"caf\xe9, ok");
    }

    #[test]
    fn proxy_header_never_becomes_http_proxy() {
        let env = env_of(&head(&[("Proxy", "http://evil:1")]));
        assert_eq!(env.get("HTTP_PROXY"), None);
    }

    #[test]
    fn underscore_headers_cannot_spoof_dash_headers() {
        let env = env_of(&head(&[("X_Forwarded_For", "6.6.6.6")]));
        assert_eq!(env.get("HTTP_X_FORWARDED_FOR"), None);
    }

    #[test]
    fn duplicate_headers_merge_into_one_value() {
        let env = env_of(&head(&[
            ("Accept", "a"),
            ("accept", "b"),
            ("Cookie", "x=1"),
            ("Cookie", "y=2"),
        ]));
        assert_eq!(env.get("HTTP_ACCEPT"), Some("a, b"));
        assert_eq!(env.get("HTTP_COOKIE"), Some("x=1; y=2"));
    }

    #[test]
    fn server_name_drops_the_port() {
        assert_eq!(
            env_of(&head(&[("Host", "example.org:81")])).get("SERVER_NAME"),
            Some("example.org")
        );
        assert_eq!(
            env_of(&head(&[("Host", "[::1]:81")])).get("SERVER_NAME"),
            Some("[::1]")
        );
        assert_eq!(env_of(&head(&[])).get("SERVER_NAME"), Some("127.0.0.1"));
    }

    /// Over a unix socket, as gunicorn: REMOTE_ADDR empty and no REMOTE_PORT; the
    /// server's name and port are the ones the client used.
    #[test]
    fn over_a_unix_socket_the_port_is_the_one_the_client_used() {
        let mut req = head(&[("Host", "example.org")]);
        req.remote = Endpoint::unix_client();
        req.local = "unix:/run/cgilab.sock".parse().unwrap();
        let env = env_of(&req);
        assert_eq!(env.get("REMOTE_ADDR"), Some(""));
        assert_eq!(env.get("REMOTE_PORT"), None);
        assert_eq!(env.get("SERVER_ADDR"), None);
        assert_eq!(env.get("SERVER_NAME"), Some("example.org"));
        assert_eq!(env.get("SERVER_PORT"), Some("80"));
        req.headers = vec![("Host".into(), "[::1]:8443".into())];
        assert_eq!(env_of(&req).get("SERVER_PORT"), Some("8443"));
        req.headers.clear();
        let env = env_of(&req);
        assert_eq!(env.get("SERVER_NAME"), Some("/run/cgilab.sock"));
        assert_eq!(env.get("SERVER_PORT"), Some(""));
    }

    #[test]
    fn https_is_set_only_when_a_trusted_proxy_said_so() {
        let env = env_of(&head(&[("X-Forwarded-Proto", "https")]));
        assert_eq!(env.get("HTTPS"), None, "a header alone is only a header");
        assert_eq!(env.get("REQUEST_SCHEME"), Some("http"));
        assert_eq!(env.get("HTTP_X_FORWARDED_PROTO"), Some("https"));
        let mut req = head(&[("X-Forwarded-Proto", "https")]);
        req.forwarded.https = true;
        let env = env_of(&req);
        assert_eq!(env.get("HTTPS"), Some("on"));
        assert_eq!(env.get("REQUEST_SCHEME"), Some("https"));
    }

    #[test]
    fn path_translated_goes_with_path_info() {
        let env = env_of(&head(&[]));
        assert_eq!(env.get("PATH_INFO"), Some("/x"));
        assert_eq!(env.get("PATH_TRANSLATED"), Some("/srv/x"));
        assert_eq!(env.get("QUERY_STRING"), Some("a=1"));
        assert_eq!(env.get("CONTENT_LENGTH"), None);
    }
}
