//! The app's framing is law through a pool (PEP 3333, RFC 9112 §6, RFC 9110 §9.3.2): a
//! declared Content-Length is kept, HEAD carries it, a short or failing body is a cut
//! connection, a long one is never sent past its length, a header or status with CR LF
//! is a 502, and what a worker writes to its log cannot forge a log line. Raw sockets,
//! because the rules are about bytes; real python3 workers and a real FastCGI program.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use cgilab::client::server_process::ServerProcess;

use crate::support::*;

/// WSGI apps that declare lengths, lie about them, fail mid-body and log hostile text.
const LIAR: &str = r#"import sys
def application(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/declared":
        # As Flask does for HEAD: the length of the GET body, and no body.
        body = b"" if environ["REQUEST_METHOD"] == "HEAD" else b"x" * 11
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "11")])
        return [body]
    if path == "/download":
        start_response("200 OK", [("Content-Length", str(5 << 20))])
        return (b"d" * 65536 for _ in range(80))
    if path == "/short":
        start_response("200 OK", [("Content-Length", "100")])
        return [b"0123456789"]
    if path == "/long":
        start_response("200 OK", [("Content-Length", "5")])
        return [b"0123456789abcdefg"]
    if path == "/raises":
        def pieces():
            yield b"first piece\n"
            raise RuntimeError("after the first piece")
        start_response("200 OK", [("Content-Type", "text/plain")])
        return pieces()
    if path == "/split":
        start_response("200 OK", [("X-Safe", "a\r\nX-Injected: yes")])
        return [b"split"]
    if path == "/split-status":
        start_response("200 OK\r\nX-Injected: yes", [("Content-Type", "text/plain")])
        return [b"split"]
    if path == "/reason":
        start_response("299 Custom Reason", [("Content-Type", "text/plain")])
        return [b"reason"]
    if path == "/log":
        sys.stderr.write("search for \x1b[31mred\rforged 200 line\n")
        sys.stderr.flush()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"logged"]
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"no such path"]
"#;

fn liar() -> (Site, ServerProcess) {
    let site = Site::new().file("liar.py", LIAR);
    let server = site.serve(&["--wsgi", &site.wsgi("liar", "liar.py"), "--workers", "1"]);
    (site, server)
}

/// Sends `request` and reads until the server closes the connection or goes quiet for
/// `WAIT`; returns the bytes and whether the connection ended.
pub fn exchange(addr: SocketAddr, request: &str) -> (Vec<u8>, bool) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 65536];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return (got, true),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return (got, true),
            Err(_) => return (got, false),
        }
    }
}

fn get_raw(addr: SocketAddr, method: &str, path: &str) -> (String, Vec<u8>, bool) {
    let req = format!("{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let (bytes, closed) = exchange(addr, &req);
    let end = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no head in {:?}", String::from_utf8_lossy(&bytes)));
    let head = String::from_utf8_lossy(&bytes[..end]).to_string();
    (head, bytes[end + 4..].to_vec(), closed)
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().skip(1).find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// RFC 9110 §9.3.2: HEAD carries the length the app declared (Flask's HEAD has no
/// body but the GET's Content-Length), never a length made up from the empty body.
#[test]
fn head_carries_the_declared_length_not_zero() {
    let (_site, server) = liar();
    let (head, body, _) = get_raw(server.addr, "HEAD", "/pool/liar/declared");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(header(&head, "Content-Length"), Some("11"), "{head}");
    assert!(body.is_empty());
    let (head, body, _) = get_raw(server.addr, "GET", "/pool/liar/declared");
    assert_eq!(header(&head, "Content-Length"), Some("11"), "{head}");
    assert_eq!(body, b"xxxxxxxxxxx");
}

/// A streamed download keeps its declared length: not chunked, all of it.
#[test]
fn a_large_download_keeps_its_content_length() {
    let (_site, server) = liar();
    let (head, body, _) = get_raw(server.addr, "GET", "/pool/liar/download");
    assert_eq!(
        header(&head, "Content-Length"),
        Some(&*(5u64 << 20).to_string())
    );
    assert_eq!(header(&head, "Transfer-Encoding"), None, "{head}");
    assert_eq!(body.len(), 5 << 20);
}

/// A body shorter than declared is a cut connection with the declared length in the
/// head, never a shrunk length that makes it look complete.
#[test]
fn a_body_shorter_than_declared_is_cut_not_shrunk() {
    let (_site, server) = liar();
    let (head, body, closed) = get_raw(server.addr, "GET", "/pool/liar/short");
    assert_eq!(header(&head, "Content-Length"), Some("100"), "{head}");
    assert_eq!(body, b"0123456789");
    assert!(closed);
    wait_for_log(
        &server,
        1,
        &["/pool/liar/short", "shorter than its Content-Length 100"],
    );
}

/// No byte past the declared length is ever sent.
#[test]
fn a_body_longer_than_declared_stops_at_the_length() {
    let (_site, server) = liar();
    let (head, body, closed) = get_raw(server.addr, "GET", "/pool/liar/long");
    assert_eq!(header(&head, "Content-Length"), Some("5"), "{head}");
    assert_eq!(body, b"01234");
    assert!(closed);
    wait_for_log(
        &server,
        1,
        &["/pool/liar/long", "longer than its Content-Length 5"],
    );
}

/// PEP 3333: an app that raises after its first piece leaves an incomplete response:
/// no terminating chunk.
#[test]
fn an_exception_after_the_first_piece_cuts_the_connection() {
    let (_site, server) = liar();
    let (head, body, closed) = get_raw(server.addr, "GET", "/pool/liar/raises");
    assert_eq!(
        header(&head, "Transfer-Encoding"),
        Some("chunked"),
        "{head}"
    );
    let text = String::from_utf8_lossy(&body);
    assert!(text.contains("first piece"), "{text:?}");
    assert!(
        !text.ends_with("0\r\n\r\n"),
        "a terminating chunk: {text:?}"
    );
    assert!(closed);
    wait_for_log(
        &server,
        1,
        &["/pool/liar/raises", "exit=2", "connection cut"],
    );
}

/// A header value holding CR LF would split the response: 502, and no injected field.
#[test]
fn a_header_with_cr_lf_is_a_502_not_two_headers() {
    let (_site, server) = liar();
    let (head, _, _) = get_raw(server.addr, "GET", "/pool/liar/split");
    assert!(head.starts_with("HTTP/1.1 502"), "{head}");
    assert_eq!(header(&head, "X-Injected"), None, "{head}");
    wait_for_log(&server, 1, &["/pool/liar/split", " 502 "]);
    wait_for_log(&server, 1, &["holds a control character"]);
}

/// A status holding CR LF (PEP 3333: no control characters) would end the `Status` line
/// and start a header: 502, and no injected field, as embedded.
#[test]
fn a_status_with_cr_lf_is_a_502_not_a_header() {
    let (_site, server) = liar();
    let (head, _, _) = get_raw(server.addr, "GET", "/pool/liar/split-status");
    assert!(head.starts_with("HTTP/1.1 502"), "{head}");
    assert_eq!(header(&head, "X-Injected"), None, "{head}");
    wait_for_log(&server, 1, &["/pool/liar/split-status", " 502 "]);
    wait_for_log(&server, 1, &["WSGI status", "holds a control character"]);
}

/// The app's own reason phrase is passed on (RFC 9112 §4).
#[test]
fn the_apps_reason_phrase_is_passed_on() {
    let (_site, server) = liar();
    let (head, _, _) = get_raw(server.addr, "GET", "/pool/liar/reason");
    assert!(head.starts_with("HTTP/1.1 299 Custom Reason\r\n"), "{head}");
}

/// What an app logs (a client's search term, say) is escaped: no ESC reaches the
/// operator's terminal, and a CR cannot start a forged log line.
#[test]
fn what_a_worker_logs_is_escaped() {
    let (_site, server) = liar();
    let (head, _, _) = get_raw(server.addr, "GET", "/pool/liar/log");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let lines = wait_for_log(&server, 1, &["search for"]);
    assert!(lines[0].contains("\\u{1b}[31mred\\rforged"), "{lines:?}");
    assert!(
        server
            .log()
            .iter()
            .all(|l| !l.contains('\x1b') && !l.contains('\r'))
    );
    assert!(
        server.log().iter().all(|l| !l.starts_with("forged")),
        "a forged line"
    );
}

/// A FastCGI program with no library: reads records and answers in one of several
/// ways, chosen by `MODE`. `echo` streams STDIN back as it reads it (answering long
/// before the body has ended); `after-end` sends a second response after END_REQUEST;
/// `other-id` answers for another request id; `close` closes the connection after every
/// response, whatever FCGI_KEEP_CONN says, as minimal FastCGI libraries do.
const RAW_FCGI: &str = r#"import os, socket, struct
MODE = "{mode}"
H = struct.Struct("!BBHHBx")
def rec(kind, rid, data=b""):
    return H.pack(1, kind, rid, len(data), 0) + data
def end(rid):
    return rec(6, rid) + rec(3, rid, struct.pack("!IB3x", 0, 0))
def read_exact(f, n):
    data = f.read(n)
    return data if len(data) == n else None
listener = socket.socket(fileno=0)
while True:
    conn, _ = listener.accept()
    f = conn.makefile("rb")
    while True:
        h = read_exact(f, 8)
        if h is None:
            break
        _, kind, rid, length, pad = H.unpack(h)
        data = read_exact(f, length + pad)[:length]
        if rid == 0:
            conn.sendall(rec(10 if kind == 9 else 11, 0, b"" if kind == 9 else bytes([kind]) + bytes(7)))
        elif kind == 4 and not data:
            head = b"Status: 200 OK\r\nContent-Type: text/plain\r\n\r\n"
            if MODE == "echo":
                conn.sendall(rec(6, rid, head))
        elif kind == 5 and MODE == "echo":
            if data:
                conn.sendall(rec(6, rid, data))
            else:
                conn.sendall(end(rid))
        elif kind == 5 and not data:
            body = b"pid=%d\n" % os.getpid()
            if MODE == "other-id":
                conn.sendall(rec(6, rid + 1, head + body) + end(rid + 1))
                continue
            out = rec(6, rid, head + body) + end(rid)
            if MODE == "after-end":
                out += rec(6, rid, head + b"smuggled\n") + end(rid)
            conn.sendall(out)
            if MODE == "close":
                break
    f.close()
    conn.close()
"#;

fn raw_fcgi(mode: &str) -> (Site, ServerProcess) {
    let site = Site::new().file("raw.py", &RAW_FCGI.replace("{mode}", mode));
    let server = site.serve(&["--fastcgi", &site.wsgi("raw", "raw.py"), "--workers", "1"]);
    (site, server)
}

/// nginx reads the upstream's answer while it still writes the body: a program that
/// echoes a 10 MB upload as it reads it is answered, not deadlocked.
#[test]
fn a_program_that_answers_while_it_reads_gets_a_10_mb_body_through() {
    let (_site, server) = raw_fcgi("echo");
    let body = vec![b'u'; 10 << 20];
    let res = post(&server, "/pool/raw", &body);
    assert_eq!(res.status, 200, "{}", res.status_line());
    assert_eq!(res.body.len(), body.len());
    assert!(res.body == body);
}

/// A second response after END_REQUEST is a protocol error: 502 (or, once the first
/// answer is out, a worker replaced before anyone else gets it), and the next client is
/// answered by a worker in step, never with the smuggled bytes.
#[test]
fn data_after_end_request_never_reaches_the_next_client() {
    let (_site, server) = raw_fcgi("after-end");
    for _ in 0..3 {
        let res = get(&server, "/pool/raw");
        assert!(
            !res.text().contains("smuggled"),
            "the next client got bytes meant for no one: {}",
            res.text()
        );
        assert!(matches!(res.status, 200 | 502), "{}", res.status_line());
    }
    wait_for_log(&server, 1, &["after END_REQUEST"]);
}

/// Records for another request id: 502 with a log line, and the worker is replaced.
#[test]
fn a_record_for_another_request_is_a_502_and_a_new_worker() {
    let (_site, server) = raw_fcgi("other-id");
    let res = get(&server, "/pool/raw");
    assert_eq!(res.status, 502, "{}", res.text());
    wait_for_log(&server, 1, &["/pool/raw", " 502 ", "for request 2"]);
    wait_for_log(&server, 1, &["killed"]);
}

/// A program that closes its connection after each response (minimal FastCGI libraries
/// ignore FCGI_KEEP_CONN) works: every request is answered, by the same process.
#[test]
fn a_program_that_ignores_keep_conn_is_reconnected_not_replaced() {
    let (_site, server) = raw_fcgi("close");
    let first = get(&server, "/pool/raw");
    assert_eq!(first.status, 200, "{}", first.text());
    for _ in 0..10 {
        let res = get(&server, "/pool/raw");
        assert_eq!(res.status, 200, "{}", res.text());
        assert_eq!(pid_of(&res), pid_of(&first), "the worker was replaced");
    }
    assert!(log_lines(&server, &[" 502 "]).is_empty());
}
