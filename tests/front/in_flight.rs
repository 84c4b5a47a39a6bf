//! One request of a connection in flight at a time (RFC 9112 §9.3.2): a body is never
//! parsed as a request, a client that never reads holds up no one, and a response that
//! ends the connection is the last thing on it.

use std::io::Write;
use std::thread;
use std::time::{Duration, Instant};

use crate::support::{Conn, Site, WAIT, eventually, fd_count};
use crate::{MARK, a_script_ran, done_with, rss_kib, site, still_serves};

const SMUGGLED: &str = "GET /cgi-bin/mark.sh HTTP/1.1\r\nHost: x\r\n\r\n";

/// `/` answers without reading the body. Its body, 1 MiB of padding and then a request,
/// is read to its end or the connection is closed; the request in it never runs (it
/// used to: only 1 MiB of an unread body was drained, the rest parsed as a request).
#[test]
fn a_request_smuggled_after_a_megabyte_of_padding_never_runs() {
    let server = site().start();
    let mut body = vec![b'a'; 1 << 20];
    body.extend_from_slice(SMUGGLED.as_bytes());
    let mut conn = server.connect();
    let head = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    conn.send(head.as_bytes());
    let _ = conn.try_send(&body);
    let res = conn.try_response(false).expect("the index page");
    assert_eq!(res.status, 200);
    // Whatever the connection does next, no script may run.
    let answered = done_with(&mut conn);
    assert!(!a_script_ran(&server), "the smuggled request ran");
    assert!(answered.is_empty(), "answered after the page: {answered:?}");
}

/// A smaller unread body is drained, so the connection goes on, and a request inside
/// the body is not served.
#[test]
fn an_unread_body_is_drained_not_parsed() {
    let server = site().start();
    let mut conn = server.connect();
    let body = format!("{}{SMUGGLED}", "a".repeat(1000));
    let head = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    conn.send(head.as_bytes());
    conn.send(body.as_bytes());
    assert_eq!(conn.response().status, 200);
    still_serves(&mut conn);
    assert!(!a_script_ran(&server));
}

/// §7.1.1: the last chunk's extension holds what a line-based parser would take for a
/// request line (`0;ext="x /cgi-bin/mark.sh HTTP/1.1`), and the trailer section what it
/// would take for the rest of that request. Read as chunked framing, it is a body.
#[test]
fn a_request_smuggled_in_a_quoted_chunk_extension_never_runs() {
    let server = site().start();
    let mut conn = server.connect();
    conn.send(
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\
          0;ext=\"x /cgi-bin/mark.sh HTTP/1.1\r\nHost: x\r\nX: \"\r\n\r\n",
    );
    assert_eq!(conn.response().status, 200);
    // The next request on the connection is answered: what came before it was handled.
    still_serves(&mut conn);
    assert!(!a_script_ran(&server), "the smuggled request ran");
}

/// One connection pipelines up to 100,000 requests (as many as the socket takes in a
/// few seconds) and never reads a response. The server parses one request at a time,
/// so other clients are answered meanwhile and its memory stays flat (it used to queue
/// every request: 170 MB, and every worker blocked on that one writer). The server may
/// not drop the connection before each client here has given up waiting, so only a
/// server that is not held up answers them.
#[test]
fn a_client_that_pipelines_without_reading_holds_up_no_one() {
    let server = site().read_timeout("60").start();
    let before = rss_kib(server.pid());
    let hostile = server.connect();
    hostile
        .stream
        .set_write_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut stream = hostile.stream.try_clone().unwrap();
    let flood = thread::spawn(move || {
        let batch = "GET /app/hello HTTP/1.1\r\nHost: x\r\n\r\n".repeat(1000);
        let started = Instant::now();
        let mut sent = 0;
        while sent < 100_000 && started.elapsed() < Duration::from_secs(4) {
            if stream.write_all(batch.as_bytes()).is_err() {
                break;
            }
            sent += 1000;
        }
        sent
    });
    // The event: the server answers the pipelined requests (and the client reads none).
    hostile
        .stream
        .peek(&mut [0u8; 1])
        .expect("an answer to a pipelined request");
    for i in 0..20 {
        let res = server.get("/app/hello");
        assert_eq!(res.status, 200, "request {i}");
    }
    let sent = flood.join().unwrap();
    let grown = rss_kib(server.pid()).saturating_sub(before);
    eprintln!("{sent} pipelined requests: RSS grew by {grown} KiB");
    assert!(
        grown < 32 * 1024,
        "RSS grew by {grown} KiB after {sent} requests"
    );
    drop(hostile);
}

/// A client that stops reading holds its connection only until a response cannot be
/// written within `--read-timeout`: then the server ends it, though the client keeps it
/// open and has more requests queued on it (each would otherwise wait out the timeout
/// in turn, for ever). Each response here is 20 KB (`/app/form` echoing a long query),
/// so the socket buffers fill after a few thousand.
#[test]
fn a_client_that_stops_reading_is_dropped_after_the_read_timeout() {
    let server = site().read_timeout("2").start();
    let fds = fd_count(server.pid());
    let hostile = server.connect();
    let mut stream = hostile.stream.try_clone().unwrap();
    stream
        .set_write_timeout(Some(Duration::from_secs(1)))
        .unwrap();
    let request = format!(
        "GET /app/form?{} HTTP/1.1\r\nHost: x\r\n\r\n",
        "a=1&".repeat(2000)
    );
    let flood = thread::spawn(move || {
        let started = Instant::now();
        for _ in 0..4000 {
            if started.elapsed() > Duration::from_secs(10)
                || stream.write_all(request.as_bytes()).is_err()
            {
                break;
            }
        }
    });
    let serving = eventually(WAIT, || fd_count(server.pid()) > fds);
    assert!(serving, "the connection was never served");
    let ended = eventually(Duration::from_secs(30), || fd_count(server.pid()) <= fds);
    assert!(
        ended,
        "the server still holds the connection of a client that never reads"
    );
    flood.join().unwrap();
    assert_eq!(server.get("/app/hello").status, 200);
    drop(hostile);
}

/// §9.6: an HTTP/1.0 response of unknown length ends when the connection closes, so it
/// is the last thing on it: a request pipelined behind it is not read.
#[test]
fn nothing_is_read_after_a_close_delimited_response() {
    let server = site().start();
    let mut conn = server.connect();
    conn.send(
        b"GET /cgi-bin/cat.sh HTTP/1.0\r\nConnection: keep-alive\r\n\r\n\
          GET /cgi-bin/mark.sh HTTP/1.0\r\n\r\n",
    );
    // Closed: the connection's thread has finished whatever it ran.
    let all = conn.read_to_close().expect("read to close");
    let text = String::from_utf8_lossy(&all);
    assert_eq!(text.matches("HTTP/1.0 ").count(), 1, "{text}");
    assert!(!a_script_ran(&server), "the pipelined request ran");
}

/// RFC 3875 §5.1: an nph script writes the whole response and the connection ends with
/// it; a request pipelined behind it is not read.
#[test]
fn nothing_is_read_after_an_nph_response() {
    let nph =
        "#!/bin/sh\nprintf 'HTTP/1.1 200 OK\\r\\nContent-Type: text/plain\\r\\n\\r\\nnph\\n'\n";
    let server = Site::new()
        .script("mark.sh", MARK)
        .script("nph-hi.sh", nph)
        .start();
    let mut conn = Conn::open(server.addr());
    conn.send(
        b"GET /cgi-bin/nph-hi.sh HTTP/1.1\r\nHost: x\r\n\r\n\
          GET /cgi-bin/mark.sh HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    // Closed: the connection's thread has finished whatever it ran.
    let all = conn.read_to_close().expect("read to close");
    let text = String::from_utf8_lossy(&all);
    assert!(text.ends_with("nph\n"), "{text}");
    assert!(!a_script_ran(&server), "the pipelined request ran");
}
