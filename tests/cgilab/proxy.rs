//! Trusting a proxy, as gunicorn's `--forwarded-allow-ips`: `X-Forwarded-Proto: https`
//! makes a request HTTPS in every mode and `X-Forwarded-For` names the client in the
//! access log, from a trusted peer only (127.0.0.1 and ::1 by default). From anyone else
//! they are plain headers.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::fd::FromRawFd;

use crate::support::{Conn, ENV_ECHO, Response, Server, Site, run_cli};

/// The same WSGI app as a CGI script (wsgiref's CGIHandler) and as a pool (the default
/// pool of a `NAME_wsgi.py` file): what it was told about the request.
const SCHEME_APP: &str = r#"def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    said = "wsgi.url_scheme=%s\nREMOTE_ADDR=%s\n" % (environ["wsgi.url_scheme"], environ["REMOTE_ADDR"])
    return [said.encode()]

if __name__ == "__main__":
    from wsgiref.handlers import CGIHandler
    CGIHandler().run(application)
"#;

fn site() -> Site {
    Site::new()
        .script("env.sh", ENV_ECHO)
        .file("scheme_wsgi.py", SCHEME_APP.as_bytes(), 0o644)
}

/// What each mode saw of a request with `headers`, sent on connections from `open`: the
/// CGI script, the WSGI app as CGI and in a pool, and the gateway's printenv app.
fn seen(
    server: &Server,
    open: impl Fn() -> Conn,
    headers: &[(&str, &str)],
) -> BTreeMap<&'static str, BTreeMap<String, String>> {
    let mut seen = BTreeMap::new();
    for (mode, target) in [
        ("cgi", "/cgi-bin/env.sh"),
        ("wsgi as cgi", "/cgi-bin/scheme_wsgi.py"),
        ("pool", "/pool/scheme"),
        ("gateway", "/app/printenv"),
    ] {
        let res = open().request("GET", target, headers, b"");
        assert_eq!(
            res.status,
            200,
            "{target}: {}\n{}",
            res.text(),
            server.log_text()
        );
        seen.insert(mode, res.env());
    }
    seen
}

fn get<'a>(env: &'a BTreeMap<String, String>, name: &str) -> Option<&'a str> {
    env.get(name).map(String::as_str)
}

/// Says that every mode saw the scheme `scheme` (`HTTPS=on` exactly when it is https).
fn assert_scheme(seen: &BTreeMap<&str, BTreeMap<String, String>>, scheme: &str) {
    let https = (scheme == "https").then_some("on");
    for mode in ["cgi", "gateway"] {
        assert_eq!(get(&seen[mode], "REQUEST_SCHEME"), Some(scheme), "{mode}");
        assert_eq!(get(&seen[mode], "HTTPS"), https, "{mode}");
    }
    for mode in ["wsgi as cgi", "pool"] {
        assert_eq!(get(&seen[mode], "wsgi.url_scheme"), Some(scheme), "{mode}");
    }
}

/// A connection to `server` from `source`, another address of this machine; `None` if
/// this machine cannot use it.
fn connect_from(source: Ipv4Addr, server: SocketAddr) -> Option<Conn> {
    let SocketAddr::V4(to) = server else {
        return None;
    };
    let sockaddr = |ip: Ipv4Addr, port: u16| libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: port.to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from(ip).to_be(),
        },
        sin_zero: [0; 8],
    };
    let len = size_of::<libc::sockaddr_in>() as libc::socklen_t;
    // SAFETY: a fresh socket, bound and connected with valid addresses; owned by the
    // TcpStream from here on (or closed on failure).
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return None;
        }
        let from = sockaddr(source, 0);
        let dest = sockaddr(*to.ip(), to.port());
        let ok = libc::bind(fd, (&from as *const libc::sockaddr_in).cast(), len) == 0
            && libc::connect(fd, (&dest as *const libc::sockaddr_in).cast(), len) == 0;
        if !ok {
            libc::close(fd);
            return None;
        }
        Conn::from_stream(TcpStream::from_raw_fd(fd)).ok()
    }
}

/// The access line of `GET target` whose client field is `client` (`ADDR`, or `ADDR:`
/// for an address with any port).
fn access_line_from(server: &Server, client: &str, target: &str) -> String {
    let request = format!(" GET {target} ");
    server.wait_log(&format!("from `{client}` for `{target}`"), |l| {
        let Some((first, rest)) = l.split_once(' ') else {
            return false;
        };
        let from = match client.strip_suffix(':') {
            Some(ip) => first
                .strip_prefix(ip)
                .and_then(|p| p.strip_prefix(':'))
                .is_some_and(|port| !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit())),
            None => first == client,
        };
        from && format!(" {rest}").starts_with(&request) && l.contains(" mode=")
    })
}

/// `X-Forwarded-Proto: https` from the proxy on this machine (trusted by default) makes
/// the request HTTPS for a script, a WSGI app run as CGI and in a pool, and an
/// in-process app alike; REMOTE_ADDR stays the peer, as in gunicorn.
#[test]
fn https_from_a_trusted_proxy_reaches_every_mode() {
    let server = site().start();
    let open = || server.connect();
    let plain = seen(&server, open, &[]);
    assert_scheme(&plain, "http");
    let proxied = seen(&server, open, &[("X-Forwarded-Proto", "https")]);
    assert_scheme(&proxied, "https");
    for mode in ["cgi", "gateway"] {
        assert_eq!(
            get(&proxied[mode], "HTTP_X_FORWARDED_PROTO"),
            Some("https"),
            "{mode}"
        );
    }
    for env in proxied.values() {
        assert_eq!(get(env, "REMOTE_ADDR"), Some("127.0.0.1"));
    }
}

/// A peer that is not in --forwarded-allow-ips forges `X-Forwarded-Proto: https` and
/// `X-Forwarded-For`: every mode still sees plain HTTP from that peer, the headers
/// arrive as plain HTTP_X_FORWARDED_* variables, and the access log names the peer.
#[test]
fn a_forged_proto_from_an_untrusted_peer_changes_nothing() {
    let server = site().arg("--forwarded-allow-ips").arg("10.0.0.1").start();
    let forged = [
        ("X-Forwarded-Proto", "https"),
        ("X-Forwarded-For", "203.0.113.7"),
    ];
    let seen = seen(&server, || server.connect(), &forged);
    assert_scheme(&seen, "http");
    for mode in ["cgi", "gateway"] {
        let env = &seen[mode];
        assert_eq!(get(env, "HTTP_X_FORWARDED_PROTO"), Some("https"), "{mode}");
        assert_eq!(
            get(env, "HTTP_X_FORWARDED_FOR"),
            Some("203.0.113.7"),
            "{mode}"
        );
    }
    for env in seen.values() {
        assert_eq!(get(env, "REMOTE_ADDR"), Some("127.0.0.1"));
    }
    let line = access_line_from(&server, "127.0.0.1:", "/cgi-bin/env.sh");
    assert!(
        !line.contains("203.0.113.7") && !line.contains(" proxy="),
        "{line}"
    );
}

/// With the default list, a stranger on another address of this machine (127.0.0.2, as
/// curl's `--interface` makes one) is not the proxy.
#[test]
fn a_stranger_on_another_local_address_is_not_trusted_by_default() {
    let server = site().start();
    let stranger: Ipv4Addr = "127.0.0.2".parse().unwrap();
    if connect_from(stranger, server.addr()).is_none() {
        eprintln!("skipped: this machine cannot connect from 127.0.0.2");
        return;
    }
    let open = || connect_from(stranger, server.addr()).expect("127.0.0.2 worked once");
    let forged = [
        ("X-Forwarded-Proto", "https"),
        ("X-Forwarded-For", "203.0.113.7"),
    ];
    let seen = seen(&server, open, &forged);
    assert_scheme(&seen, "http");
    for env in seen.values() {
        assert_eq!(get(env, "REMOTE_ADDR"), Some("127.0.0.2"));
    }
    access_line_from(&server, "127.0.0.2:", "/cgi-bin/env.sh");
}

/// Only the word `https` (in any case) is HTTPS, as in gunicorn: a list, `http` or
/// anything else is plain HTTP, and reaches the app as the header it was; two fields
/// that say the same count as one.
#[test]
fn only_the_word_https_is_https() {
    let server = site().start();
    for (fields, scheme) in [
        (&[("X-Forwarded-Proto", "HTTPS")][..], "https"),
        (
            &[
                ("X-Forwarded-Proto", "https"),
                ("X-Forwarded-Proto", "https"),
            ],
            "https",
        ),
        (&[("X-Forwarded-Proto", "https, http")], "http"),
        (&[("X-Forwarded-Proto", "http, https")], "http"),
        (&[("X-Forwarded-Proto", "ftp")], "http"),
        (&[("X-Forwarded-Proto", "")], "http"),
        // Spelled with `_`, it is not the header (and no variable of the real one).
        (&[("X_Forwarded_Proto", "https")], "http"),
    ] {
        let env = server
            .connect()
            .request("GET", "/cgi-bin/env.sh", fields, b"")
            .env();
        assert_eq!(get(&env, "REQUEST_SCHEME"), Some(scheme), "{fields:?}");
    }
    let env = server
        .connect()
        .request(
            "GET",
            "/cgi-bin/env.sh",
            &[("X-Forwarded-Proto", "https, http")],
            b"",
        )
        .env();
    assert_eq!(get(&env, "HTTP_X_FORWARDED_PROTO"), Some("https, http"));
}

/// Two `X-Forwarded-Proto` fields that disagree make the request ambiguous: from a
/// trusted proxy it is refused with 400 (gunicorn's "Contradictory scheme headers");
/// from anyone else they are only headers, and nothing is refused for them.
#[test]
fn proto_fields_that_disagree_are_refused_from_a_proxy_only() {
    let contradictory = [
        ("X-Forwarded-Proto", "https"),
        ("X-Forwarded-Proto", "http"),
    ];
    let server = site().start();
    let res: Response = server
        .connect()
        .request("GET", "/cgi-bin/env.sh", &contradictory, b"");
    assert_eq!(res.status, 400, "{}", res.text());
    assert!(res.text().contains("X-Forwarded-Proto"), "{}", res.text());
    let line = server.access_line("GET", "/cgi-bin/env.sh");
    assert!(
        line.contains(" 400 ") && line.contains("X-Forwarded-Proto"),
        "{line}"
    );
    drop(server);

    let nobody = site().arg("--forwarded-allow-ips").arg("").start();
    let res = nobody
        .connect()
        .request("GET", "/cgi-bin/env.sh", &contradictory, b"");
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(
        get(&res.env(), "HTTP_X_FORWARDED_PROTO"),
        Some("https, http")
    );
    assert_eq!(get(&res.env(), "REQUEST_SCHEME"), Some("http"));
}

/// Behind a trusted proxy the access line names the client: the last address of
/// `X-Forwarded-For`, the one the proxy appended (what came before it is the client's
/// own claim), with the proxy as `proxy=`. REMOTE_ADDR stays the proxy. A last entry
/// that is not an address names no one, and the line names the peer.
#[test]
fn the_access_log_names_the_client_a_trusted_proxy_forwarded() {
    let server = site().start();
    let mut conn = server.connect();
    let port = conn.local_port();
    let env = conn
        .request(
            "GET",
            "/cgi-bin/env.sh?via=proxy",
            &[("X-Forwarded-For", "6.6.6.6, 203.0.113.7")],
            b"",
        )
        .env();
    assert_eq!(get(&env, "REMOTE_ADDR"), Some("127.0.0.1"));
    assert_eq!(
        get(&env, "HTTP_X_FORWARDED_FOR"),
        Some("6.6.6.6, 203.0.113.7")
    );
    let line = access_line_from(&server, "203.0.113.7", "/cgi-bin/env.sh?via=proxy");
    assert!(line.contains(&format!(" proxy=127.0.0.1:{port}")), "{line}");
    assert!(!line.contains("6.6.6.6"), "{line}");

    for forged in ["203.0.113.7, unknown", "<script>"] {
        let target = format!("/cgi-bin/env.sh?forged={}", forged.len());
        server
            .connect()
            .request("GET", &target, &[("X-Forwarded-For", forged)], b"");
        let line = access_line_from(&server, "127.0.0.1:", &target);
        assert!(!line.contains(" proxy="), "{line}");
    }
}

/// A list that is not addresses or networks stops the server with one line that says
/// which entry is wrong and what to write.
#[test]
fn a_bad_forwarded_allow_ips_is_one_line_that_says_what_to_do() {
    let site = Site::new();
    for (value, says) in [
        (
            "127.0.0.1,localhost",
            "`localhost` is not an IP address or network",
        ),
        (
            "10.0.0.0/33",
            "`10.0.0.0/33` has no prefix length from 0 to 32",
        ),
        ("10.1.2.3/8", "the network is 10.0.0.0/8"),
    ] {
        let exit = run_cli(&[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--cgi-bin",
            site.cgi_bin().to_str().unwrap(),
            "--forwarded-allow-ips",
            value,
        ]);
        assert!(!exit.status.success(), "{value}: {}", exit.stderr);
        let lines: Vec<&str> = exit.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{value}: {}", exit.stderr);
        assert!(
            lines[0].starts_with("cgilab: error: --forwarded-allow-ips "),
            "{}",
            lines[0]
        );
        assert!(lines[0].contains(says), "{}", lines[0]);
        assert!(
            lines[0].contains("or * to trust every peer"),
            "{}",
            lines[0]
        );
    }
}
