//! The request body on its way to the script's stdin (RFC 3875 §4.2).

use crate::support::{Conn, HELLO, Site};

/// Prints CONTENT_LENGTH on one line, then echoes its stdin.
const ECHO: &str = "#!/bin/sh\nprintf 'Content-Type: application/octet-stream\\n\\n'\nprintf '%s\\n' \"${CONTENT_LENGTH-unset}\"\nexec cat\n";

/// §4.2: a POST body arrives on the script's stdin, whole.
#[test]
fn post_body_reaches_stdin() {
    let server = Site::new().script("echo.sh", ECHO).start();
    let body: Vec<u8> = (0..5000u32).map(|i| (i * 7 % 251) as u8).collect();
    let res = server
        .connect()
        .request("POST", "/cgi-bin/echo.sh", &[], &body);
    assert_eq!(res.status, 200, "{}", server.log_text());
    let mut expected = b"5000\n".to_vec();
    expected.extend_from_slice(&body);
    assert_eq!(res.body, expected);
}

/// §4.2: a chunked request body is de-chunked, and CONTENT_LENGTH gives its length.
#[test]
fn chunked_body_is_dechunked_with_content_length() {
    let server = Site::new().script("echo.sh", ECHO).start();
    let mut conn = server.connect();
    conn.send(
        b"POST /cgi-bin/echo.sh HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\
          5\r\nhello\r\n7\r\n, world\r\n1;ext=1\r\n!\r\n0\r\n\r\n",
    );
    let res = conn.response();
    assert_eq!(res.status, 200, "{}", server.log_text());
    assert_eq!(res.text(), "13\nhello, world!");
}

/// §4.2: a body declared larger than --max-body is refused with 413 before anything runs.
#[test]
fn declared_body_over_max_body_is_413() {
    let server = Site::new()
        .script("echo.sh", ECHO)
        .arg("--max-body")
        .arg("100")
        .start();
    let res = server
        .connect()
        .request("POST", "/cgi-bin/echo.sh", &[], &[b'x'; 1000]);
    assert_eq!(res.status, 413);
    let ok = server
        .connect()
        .request("POST", "/cgi-bin/echo.sh", &[], &[b'x'; 100]);
    assert_eq!(ok.status, 200);
}

/// §4.2: a chunked body that grows past --max-body is refused with 413.
#[test]
fn chunked_body_over_max_body_is_413() {
    let server = Site::new()
        .script("echo.sh", ECHO)
        .arg("--max-body")
        .arg("100")
        .start();
    let mut conn = server.connect();
    let mut req =
        b"POST /cgi-bin/echo.sh HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for _ in 0..3 {
        req.extend_from_slice(b"40\r\n");
        req.extend_from_slice(&[b'y'; 0x40]);
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"0\r\n\r\n");
    conn.send(&req);
    let res = conn.response();
    assert_eq!(res.status, 413, "{}", res.text());
    assert!(
        !server.log().iter().any(|l| l.starts_with("stderr ")),
        "the script ran"
    );
}

/// §4.2: stdin and stdout are served at once, so a script that writes more than a pipe
/// holds before it reads a large body does not deadlock, and both arrive intact.
#[test]
fn script_writing_before_reading_does_not_deadlock() {
    let server = Site::new()
        .script(
            "chatty.sh",
            "#!/bin/sh\nprintf 'Content-Type: application/octet-stream\\n\\n'\n\
             head -c 2097152 /dev/zero | tr '\\0' 'z'\nexec cat\n",
        )
        .start();
    let body: Vec<u8> = (0..(1u32 << 20)).map(|i| (i % 253) as u8).collect();
    let res = server
        .connect()
        .request("POST", "/cgi-bin/chatty.sh", &[], &body);
    assert_eq!(res.status, 200, "{}", server.log_text());
    assert_eq!(res.body.len(), 2_097_152 + body.len());
    assert!(res.body[..2_097_152].iter().all(|&b| b == b'z'));
    assert!(
        res.body[2_097_152..] == body[..],
        "the body came back altered"
    );
}

/// §4.2: a script need not read its body; it is answered all the same.
#[test]
fn script_that_never_reads_its_body_is_answered() {
    let server = Site::new().script("hello.sh", HELLO).start();
    let mut conn = server.connect();
    let res = conn.request("POST", "/cgi-bin/hello.sh", &[], &vec![b'q'; 1 << 20]);
    assert_eq!(res.status, 200, "{}", server.log_text());
    assert_eq!(res.text(), "Hello, world!\n");
    // The connection is still usable: the unread body was not taken for a request.
    let again = conn.get("/cgi-bin/hello.sh");
    assert_eq!(again.status, 200);
}

/// A Content-Length far beyond --max-body with a tiny body is refused with 413 at once,
/// and the server keeps serving.
#[test]
fn huge_declared_content_length_is_413_and_server_keeps_serving() {
    let mut server = Site::new().script("hello.sh", HELLO).start();
    let mut conn: Conn = server.connect();
    conn.send(
        b"POST /cgi-bin/hello.sh HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999\r\n\r\ntiny",
    );
    let res = conn.response();
    assert_eq!(res.status, 413);
    drop(conn);
    let res = server.get("/cgi-bin/hello.sh");
    assert_eq!(res.status, 200);
    assert!(server.is_running());
}

/// A Content-Length too large for any integer type must be refused, not ignored: ignored,
/// the body is read as the next request on the connection (request smuggling).
#[test]
fn content_length_beyond_any_integer_is_refused() {
    let server = Site::new()
        .script("echo.sh", ECHO)
        .script("hello.sh", HELLO)
        .start();
    let mut conn = server.connect();
    conn.send(
        b"POST /cgi-bin/echo.sh HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n\
          GET /cgi-bin/hello.sh HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    let res = conn.response();
    assert!(
        res.status == 400 || res.status == 413,
        "answered {} ({:?}) instead of refusing",
        res.status,
        res.text()
    );
    assert!(
        conn.closed_within(std::time::Duration::from_secs(10)),
        "the connection stayed open after an unreadable body"
    );
    assert!(
        !server
            .log()
            .iter()
            .any(|l| l.contains(" GET /cgi-bin/hello.sh ")),
        "the body was served as a request:\n{}",
        server.log_text()
    );
}

/// RFC 9112 §6.1: a request with both Content-Length and Transfer-Encoding may be served by
/// its Transfer-Encoding, but the server must close the connection after responding.
#[test]
fn content_length_with_transfer_encoding_closes_the_connection() {
    let server = Site::new()
        .script("echo.sh", ECHO)
        .script("hello.sh", HELLO)
        .start();
    let mut conn = server.connect();
    conn.send(
        b"POST /cgi-bin/echo.sh HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n\
          3\r\nabc\r\n0\r\n\r\n",
    );
    let res = conn.response();
    assert!(
        res.status == 400 || res.text() == "3\nabc",
        "{} {:?}",
        res.status,
        res.text()
    );
    conn.send(b"GET /cgi-bin/hello.sh HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(
        conn.closed_within(std::time::Duration::from_secs(10)),
        "the connection stayed open:\n{}",
        server.log_text()
    );
    assert!(
        !server
            .log()
            .iter()
            .any(|l| l.contains(" GET /cgi-bin/hello.sh ")),
        "a request after the ambiguous one was served:\n{}",
        server.log_text()
    );
}

/// A client that stops sending mid-body is dropped after --read-timeout, and the script
/// never runs on half a body.
#[test]
fn client_stalling_mid_body_is_dropped_before_the_script_runs() {
    let server = Site::new()
        .script(
            "mark.sh",
            "#!/bin/sh\ntouch \"$STATE_DIR/ran\"\nprintf 'Content-Type: text/plain\\n\\nran\\n'\n",
        )
        .read_timeout("1")
        .start();
    for declared in ["500", "100000"] {
        let mut conn = server.connect();
        conn.send(
            format!(
                "POST /cgi-bin/mark.sh HTTP/1.1\r\nHost: x\r\nContent-Length: {declared}\r\n\r\n0123456789"
            )
            .as_bytes(),
        );
        assert!(
            conn.closed_within(std::time::Duration::from_secs(10)),
            "a client stalled mid-body ({declared} declared) was never dropped"
        );
    }
    assert!(
        !server.state().join("ran").exists(),
        "the script ran on half a body"
    );
    assert_eq!(server.get("/cgi-bin/mark.sh").status, 200);
}
