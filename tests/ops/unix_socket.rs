//! `--listen unix:PATH`: HTTP over a unix socket of mode 0660, as nginx reaches gunicorn.
//! A stale socket is replaced, a live one or a path that is not a socket refused; the
//! file goes when the server stops. A client over the socket has no address: the
//! environ says so the same way in every mode (as gunicorn: REMOTE_ADDR empty, no
//! REMOTE_PORT, SERVER_NAME and SERVER_PORT those the client used).

use std::io::Read;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};

use cgilab::client::http::Req;

use crate::support::{Dir, WAIT, env_map, get, python3, repo_cgi_bin, serve, serve_fails, stop};

/// The socket answers HTTP, has mode 0660, and is removed by a stop on SIGTERM (which
/// exits 0: stopped as asked) and on SIGINT.
#[test]
fn a_unix_socket_answers_with_mode_0660_and_goes_when_the_server_stops() {
    for signal in [libc::SIGTERM, libc::SIGINT] {
        let dir = Dir::new();
        let sock = dir.path("cgilab.sock");
        let listen = format!("unix:{}", sock.display());
        let mut server = serve(&dir, &["--listen", &listen, "--cgi-bin", "."]);
        assert_eq!(server.endpoint.to_string(), listen);
        let meta = std::fs::symlink_metadata(&sock).unwrap();
        assert!(meta.file_type().is_socket());
        assert_eq!(meta.permissions().mode() & 0o777, 0o660);
        let res = get(&server, "/app/hello");
        assert_eq!(res.status, 200, "{}", res.text());
        assert_eq!(res.text(), "Hello, world!\n");
        let status = stop(&mut server, signal);
        assert!(
            status.success(),
            "exit status {status} after signal {signal}"
        );
        assert!(!sock.exists(), "the socket is left after signal {signal}");
    }
}

/// A socket file that nothing answers on (its server died) is replaced, with a log line.
#[test]
fn a_stale_socket_is_replaced() {
    let dir = Dir::new();
    let sock = dir.path("cgilab.sock");
    // Bound and closed: the file stays, and connecting to it is refused.
    drop(UnixListener::bind(&sock).unwrap());
    assert!(UnixStream::connect(&sock).is_err());
    let listen = format!("unix:{}", sock.display());
    let server = serve(&dir, &["--listen", &listen, "--cgi-bin", "."]);
    assert_eq!(get(&server, "/app/hello").status, 200);
    assert!(
        server
            .log()
            .iter()
            .any(|l| l.contains("replaced the stale socket")),
        "{:?}",
        server.log()
    );
}

/// A socket that a live server answers on is refused, in one line, and left working.
#[test]
fn a_live_socket_is_refused_in_one_line() {
    let dir = Dir::new();
    let sock = dir.path("cgilab.sock");
    let listen = format!("unix:{}", sock.display());
    let first = serve(&dir, &["--listen", &listen, "--cgi-bin", "."]);
    let (status, said) = serve_fails(&dir, &["--listen", &listen, "--cgi-bin", "."]);
    assert_eq!(status.code(), Some(1), "{said}");
    assert_eq!(said.lines().count(), 1, "{said}");
    assert!(
        said.starts_with("cgilab: error: --listen unix:")
            && said.contains("a server is already listening there; stop it"),
        "{said}"
    );
    assert_eq!(get(&first, "/app/hello").status, 200);
}

/// A path that is not a socket is refused, in one line, and left as it was.
#[test]
fn a_path_that_is_not_a_socket_is_refused_and_left_alone() {
    let dir = Dir::new();
    let file = dir.write("notes.txt", "keep me\n");
    let listen = format!("unix:{}", file.display());
    let (status, said) = serve_fails(&dir, &["--listen", &listen, "--cgi-bin", "."]);
    assert_eq!(status.code(), Some(1), "{said}");
    assert_eq!(said.lines().count(), 1, "{said}");
    assert!(said.contains("is not a socket; remove it"), "{said}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me\n");
}

/// Over a unix socket the environ is built once, so a script, a gateway app, a WSGI app
/// as CGI and the same app in a pool all see: REMOTE_ADDR empty, no REMOTE_PORT or
/// SERVER_ADDR, SERVER_NAME and SERVER_PORT from `Host` (port 80 when it has none).
#[test]
fn over_a_unix_socket_every_mode_sees_the_same_addresses() {
    let dir = Dir::new();
    let sock = dir.path("cgilab.sock");
    let listen = format!("unix:{}", sock.display());
    let cgi_bin = repo_cgi_bin();
    let printenv_wsgi = format!("printenv={}", cgi_bin.join("printenv_wsgi.py").display());
    let mut args = vec!["--listen", &listen, "--cgi-bin", cgi_bin.to_str().unwrap()];
    let pool = python3();
    if pool {
        args.extend(["--wsgi", &printenv_wsgi, "--workers", "1"]);
    }
    let server = serve(&dir, &args);
    let mut targets = vec!["/cgi-bin/printenv.sh", "/app/printenv"];
    if pool {
        targets.extend(["/cgi-bin/printenv_wsgi.py", "/pool/printenv/"]);
    } else {
        eprintln!("skipped the pool and WSGI modes: python3 is needed");
    }
    for (host, port) in [("example.org", "80"), ("example.org:8080", "8080")] {
        for target in &targets {
            let res = server
                .request(&Req::get(target).header("Host", host))
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(res.status, 200, "{target}: {}", res.text());
            let env = env_map(&res);
            let get = |name: &str| env.get(name).map(String::as_str);
            assert_eq!(get("REMOTE_ADDR"), Some(""), "{target}: {env:?}");
            assert_eq!(get("REMOTE_PORT"), None, "{target}");
            assert_eq!(get("SERVER_ADDR"), None, "{target}");
            assert_eq!(get("SERVER_NAME"), Some("example.org"), "{target}");
            assert_eq!(get("SERVER_PORT"), Some(port), "{target}");
        }
    }
    // The access log names such a client as nginx does: `unix:`.
    let line = server.log_about("GET /app/printenv ");
    // (after the time every log line starts with)
    assert!(
        line.iter().any(|l| l
            .split_once(' ')
            .is_some_and(|(_, rest)| rest.starts_with("unix: GET /app/printenv "))),
        "{line:?}"
    );
}

/// A client that stalls on a unix socket is dropped after the read timeout, as over TCP
/// (an accepted unix socket does not inherit the listener's timeouts by itself).
#[test]
fn a_client_that_stalls_on_a_unix_socket_is_dropped() {
    let dir = Dir::new();
    let sock = dir.path("cgilab.sock");
    let listen = format!("unix:{}", sock.display());
    let server = serve(
        &dir,
        &["--listen", &listen, "--cgi-bin", ".", "--read-timeout", "1"],
    );
    let mut conn = UnixStream::connect(&sock).unwrap();
    // Half a head, then nothing.
    std::io::Write::write_all(&mut conn, b"GET /app/hello HTTP/1.1\r\nHost: x\r\n").unwrap();
    conn.set_read_timeout(Some(WAIT)).unwrap();
    let mut got = Vec::new();
    let read = conn.read_to_end(&mut got);
    assert!(
        read.is_ok(),
        "the server still held the connection after {WAIT:?}: {read:?}"
    );
    let text = String::from_utf8_lossy(&got);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 408"),
        "{text}"
    );
    drop(server);
}

/// A `--listen` value that names no socket, or one this server cannot bind, is refused
/// in one line that says what to pass.
#[test]
fn a_bad_listen_value_is_refused_in_one_line() {
    let dir = Dir::new();
    for (value, says) in [
        ("unix:", "needs a path"),
        ("unix:@cgilab", "an abstract socket cannot be bound here"),
        ("nowhere", "pass HOST:PORT"),
        ("unix:/nonexistent-dir/cgilab.sock", "create its directory"),
    ] {
        let (status, said) = serve_fails(&dir, &["--listen", value, "--cgi-bin", "."]);
        assert_eq!(status.code(), Some(1), "{value}: {said}");
        assert_eq!(said.lines().count(), 1, "{value}: {said}");
        assert!(said.contains(says), "{value}: {said}");
    }
}
