//! The `Host` field (RFC 9112 §3.2, RFC 9110 §7.2): a host, an IP address or an IPv6
//! literal, with an optional port (RFC 3986 §3.2.2-§3.2.3), or the request is refused
//! before anything runs.

use std::path::Path;

use crate::support::Site;
use crate::{a_script_ran, refused, site};

/// Values that are not `host [":" port]`: a path, a query, userinfo, whitespace, bad
/// ports, broken IP literals and percent-escapes.
const NOT_HOSTS: &[&str] = &[
    "evil.example/phish?x=",
    "evil.example?x",
    "evil.example#x",
    "user@evil.example",
    "a b",
    "a\tb",
    "example.org:80x",
    "example.org:99999",
    "example.org:80:80",
    ":80",
    "[::1",
    "[::1]x",
    "[not-v6]",
    "a%4",
    "a%zz",
    "<b>",
    "\"q\"",
    "a\\b",
];

/// RFC 9112 §3.2 and RFC 9110 §7.2: a Host that is not a host is 400, the connection
/// closes, no script runs, and each refusal is one log line.
#[test]
fn a_host_that_is_not_an_authority_is_400() {
    let server = site().start();
    for (i, host) in NOT_HOSTS.iter().enumerate() {
        let req = format!("GET /cgi-bin/mark.sh?{i} HTTP/1.1\r\nHost: {host}\r\n\r\n");
        let res = refused(&server, req.as_bytes());
        assert_eq!(res.status, 400, "for Host {host:?}");
        let logged = format!(" GET /cgi-bin/mark.sh?{i} 400 ");
        server.wait_log(&logged, |l| l.contains(&logged) && l.contains("Host:"));
    }
    // One line per refusal, and nothing else was logged for them.
    let lines = server.log().iter().filter(|l| l.contains(" 400 ")).count();
    assert_eq!(lines, NOT_HOSTS.len(), "{}", server.log_text());
    assert!(!a_script_ran(&server));
}

/// RFC 3986 §3.2.2-§3.2.3: names, IPv4, bracketed IPv6, sub-delims in a name, an empty
/// port, and the empty Host of RFC 9112 §3.2 are all hosts.
#[test]
fn hosts_that_are_authorities_reach_the_script() {
    let server = site().start();
    for host in [
        "example.org",
        "example.org:8080",
        "example.org:",
        "127.0.0.1:80",
        "[::1]",
        "[::1]:443",
        "0.0.0.0=5000",
        "caf%C3%A9.example",
        "",
    ] {
        let req =
            format!("GET /cgi-bin/env.sh HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        let res = server.raw(req.as_bytes());
        assert_eq!(res.status, 200, "for Host {host:?}");
    }
}

/// The shipped `redirect.sh` builds its Location from `HTTP_HOST`: a Host of
/// `evil.example/phish?x=` made it redirect to a page of the client's choosing. That
/// Host is now refused before the script runs.
#[test]
fn the_shipped_redirect_script_is_no_open_redirect() {
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("cgi-bin/redirect.sh");
    let text = std::fs::read_to_string(shipped).expect("cgi-bin/redirect.sh");
    let server = Site::new().script("redirect.sh", &text).start();
    let res = refused(
        &server,
        b"GET /cgi-bin/redirect.sh HTTP/1.1\r\nHost: evil.example/phish?x=\r\n\r\n",
    );
    assert_eq!(res.status, 400);
    assert_eq!(res.header("Location"), None);
    // With a real host it still redirects, to that host.
    let res = server.raw(
        b"GET /cgi-bin/redirect.sh HTTP/1.1\r\nHost: example.org:8080\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(res.status, 302);
    assert_eq!(
        res.header("Location"),
        Some("http://example.org:8080/cgi-bin/hello.sh")
    );
}
