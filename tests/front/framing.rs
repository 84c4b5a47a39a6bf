//! Request bodies and their framing (RFC 9112 §6-§7).

use std::io::Write;
use std::thread;
use std::time::{Duration, Instant};

use crate::support::WAIT;
use crate::{a_script_ran, refused, rss_kib, site, still_serves};

/// Sends a POST to mark.sh with `headers` and an empty chunked or empty body; the
/// response must be `status`, the connection closed, and no script run.
fn refused_framing(headers: &str, status: u16) {
    let server = site().start();
    let req = format!("POST /cgi-bin/mark.sh HTTP/1.1\r\nHost: x\r\n{headers}\r\n0\r\n\r\n");
    let res = refused(&server, req.as_bytes());
    assert_eq!(res.status, status, "for {headers:?}");
    assert!(!a_script_ran(&server), "a script ran for {headers:?}");
}

/// §6.1: only `chunked` is implemented; `identity` is no longer a coding at all.
#[test]
fn transfer_encoding_identity_is_501() {
    refused_framing("Transfer-Encoding: identity\r\n", 501);
}

/// §6.1: a coding before chunked would have to be decoded; none is implemented.
#[test]
fn gzip_then_chunked_is_501() {
    refused_framing("Transfer-Encoding: gzip, chunked\r\n", 501);
}

/// §6.1: chunked must be the final coding of a request, or its length is unknown.
#[test]
fn chunked_then_identity_is_400() {
    refused_framing("Transfer-Encoding: chunked, identity\r\n", 400);
}

/// §6.1: `xchunked` is not `chunked`.
#[test]
fn xchunked_is_501() {
    refused_framing("Transfer-Encoding: xchunked\r\n", 501);
}

/// §6.1: chunked must not be applied twice, in one field or in two.
#[test]
fn chunked_twice_is_400() {
    refused_framing(
        "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
        400,
    );
}

/// §6.1 and §6.3: Transfer-Encoding beside Content-Length is a smuggling attempt.
#[test]
fn chunked_with_content_length_is_400() {
    refused_framing("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", 400);
}

/// §6.1: Transfer-Encoding in an HTTP/1.0 request means the framing is faulty.
#[test]
fn chunked_in_http10_is_400() {
    let server = site().start();
    let res = refused(
        &server,
        b"POST /cgi-bin/mark.sh HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    );
    assert_eq!(res.status, 400);
    assert!(!a_script_ran(&server));
}

/// §6.3: a Content-Length that is not a number, or two that differ, is unrecoverable.
#[test]
fn conflicting_or_malformed_content_lengths_are_400() {
    refused_framing("Content-Length: 1\r\nContent-Length: 2\r\n", 400);
    refused_framing("Content-Length: 1, 2\r\n", 400);
    refused_framing("Content-Length: +3\r\n", 400);
}

/// §7.1: a chunk-size line is bounded: 400 MiB of digits used to cost 400 MiB. The
/// server refuses after a few digits, and a long extension after 4 KiB.
#[test]
fn a_long_chunk_size_line_is_400_with_bounded_memory() {
    let server = site().start();
    let before = rss_kib(server.pid());
    for (name, filler) in [("digits", b'0'), ("extension", b'a')] {
        let mut conn = server.connect();
        let head = format!(
            "POST /cgi-bin/cat.sh?{name} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        );
        conn.send(head.as_bytes());
        if filler == b'a' {
            conn.send(b"1;");
        }
        let mut stream = conn.stream.try_clone().unwrap();
        stream
            .set_write_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        let writer = thread::spawn(move || {
            let block = vec![filler; 64 * 1024];
            let started = Instant::now();
            for _ in 0..256 {
                if started.elapsed() > Duration::from_secs(5) || stream.write_all(&block).is_err() {
                    break;
                }
            }
        });
        // The response may be lost to a reset (the rest of the line is never read), so
        // the log line is what counts.
        if let Ok(res) = conn.try_response(false) {
            assert_eq!(res.status, 400, "{name}");
        }
        writer.join().unwrap();
        server.wait_log(&format!("400 for the long {name}"), |l| {
            l.contains(&format!(" POST /cgi-bin/cat.sh?{name} 400 "))
                && l.contains("chunk-size line")
        });
    }
    let grown = rss_kib(server.pid()).saturating_sub(before);
    assert!(grown < 16 * 1024, "RSS grew by {grown} KiB");
}

/// §7.1.1 and §7.1.2: chunk extensions and trailer fields are accepted and discarded,
/// and the connection goes on after them (a trailer used to be parsed as a request).
#[test]
fn chunk_extensions_and_trailers_are_accepted_and_discarded() {
    let server = site().start();
    let mut conn = server.connect();
    conn.send(
        b"POST /cgi-bin/cat.sh HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\
          5;name=\"v a\";x\r\nhello\r\n1\r\n!\r\n0\r\nX-Checksum: 1\r\nX-More: 2\r\n\r\n",
    );
    let res = conn.response();
    assert_eq!(res.status, 200);
    assert_eq!(res.text(), "hello!");
    still_serves(&mut conn);
}

/// The server does not switch protocols, so `Upgrade` is ignored: a Content-Length
/// body stays a body (the rest of the socket used to become the body), and the next
/// request on the connection is served.
#[test]
fn upgrade_is_ignored_and_a_content_length_body_stays_a_body() {
    let server = site().start();
    let mut conn = server.connect();
    conn.send(
        b"POST /cgi-bin/cat.sh HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n\
          Upgrade: websocket\r\nContent-Length: 5\r\n\r\nhello",
    );
    let res = conn.response();
    assert_eq!(res.status, 200);
    assert_eq!(res.text(), "hello");
    still_serves(&mut conn);
}

/// RFC 9110 §15.2.1: `100 Continue` is an interim response with no content, so no
/// `Content-Length`; the final response follows once the body is sent.
#[test]
fn continue_has_no_content_length() {
    let server = site().start();
    let mut conn = server.connect();
    conn.send(
        b"POST /cgi-bin/cat.sh HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n",
    );
    let interim = conn.try_response(false).expect("an interim response");
    assert_eq!(interim.status, 100);
    assert_eq!(
        interim.header("Content-Length"),
        None,
        "{:?}",
        interim.headers
    );
    conn.send(b"hello");
    let res = conn.response();
    assert_eq!(res.status, 200);
    assert_eq!(res.text(), "hello");
}

/// RFC 9110 §10.1.1: an HTTP/1.0 client's expectation is ignored; it gets no `100`.
#[test]
fn http10_clients_get_no_100_continue() {
    let server = site().start();
    let mut conn = server.connect();
    conn.send(
        b"POST /cgi-bin/cat.sh HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello",
    );
    let res = conn.response();
    assert_eq!(res.status, 200);
    assert_eq!(res.text(), "hello");
}

/// A body has a deadline, like the head: after a grace of twice `--read-timeout` it must
/// keep up 1 KiB/s. A body trickled a byte at a time is cut with 408 and a log line,
/// though each byte comes well within the read timeout.
#[test]
fn a_body_trickled_a_byte_at_a_time_is_cut_with_408() {
    let server = site().read_timeout("1").start();
    let mut conn = server.connect();
    conn.send(b"POST /cgi-bin/cat.sh HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n");
    let started = Instant::now();
    let mut got = Vec::new();
    for _ in 0..40 {
        if conn.try_send(b"x").is_err() {
            break;
        }
        thread::sleep(Duration::from_millis(400));
        got.extend(conn.take_available().unwrap_or_default());
        if got.starts_with(b"HTTP/1.1 408") {
            break;
        }
    }
    assert!(
        got.starts_with(b"HTTP/1.1 408"),
        "after {:?}: {:?}",
        started.elapsed(),
        String::from_utf8_lossy(&got)
    );
    server.wait_log("for the 408", |l| l.contains(" POST /cgi-bin/cat.sh 408 "));
}

/// RFC 9110 §10.1.1: a client that waits for `100 Continue` and gets a final response
/// instead may send its body or not; the server cannot tell its next request from that
/// body, so the connection ends after the response instead of reading on.
#[test]
fn a_request_answered_without_100_continue_ends_the_connection() {
    let server = site().start();
    let mut conn = server.connect();
    conn.send(b"POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
    let res = conn.response();
    assert_eq!(res.status, 200);
    assert_eq!(res.header("Connection"), Some("close"));
    assert!(conn.closed_within(WAIT));
}

/// Sends a chunked POST to cat.sh whose first chunk-size line is `line`; it must be
/// refused with 400, the connection closed, and no script run.
fn refused_chunk_line(server: &crate::support::Server, line: &[u8]) {
    let mut req =
        b"POST /cgi-bin/mark.sh HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    req.extend_from_slice(line);
    req.extend_from_slice(b"hello\r\n0\r\n\r\n");
    let res = refused(server, &req);
    assert_eq!(res.status, 400, "for {:?}", String::from_utf8_lossy(line));
}

/// §7.1: whitespace may come after a chunk-size only before an extension's `;`;
/// `5 \r\n` and ` 5\r\n` were taken as 5 (gunicorn refuses both).
#[test]
fn a_chunk_size_with_bare_whitespace_is_400() {
    let server = site().start();
    for line in [&b"5 \r\n"[..], b"5\t\r\n", b" 5\r\n", b" ;a=b\r\n"] {
        refused_chunk_line(&server, line);
    }
    assert!(!a_script_ran(&server));
}

/// §7.1: `chunk-size = 1*HEXDIG`: an empty chunk-size line is no size at all.
#[test]
fn an_empty_chunk_size_line_is_400() {
    let server = site().start();
    refused_chunk_line(&server, b"\r\n");
    assert!(!a_script_ran(&server));
}

/// §7.1 and §2.2: a chunk-size line ends in CRLF; one ended by a bare LF, or with a bare
/// CR or another control byte in its extension, is refused.
#[test]
fn a_chunk_size_line_without_crlf_or_with_control_bytes_is_400() {
    let server = site().start();
    for line in [&b"5\n"[..], b"5;a=b\rc\r\n", b"5;a\0\r\n", b"5\r\r\n"] {
        refused_chunk_line(&server, line);
    }
    assert!(!a_script_ran(&server));
}

/// §7.1: what the grammar allows still reaches the script: leading zeros, upper-case
/// hex, whitespace before an extension, a quoted extension value.
#[test]
fn chunk_size_lines_the_grammar_allows_are_read() {
    let server = site().start();
    let mut conn = server.connect();
    conn.send(
        b"POST /cgi-bin/cat.sh HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\
          0005\r\nhello\r\nA ; x=\"a b\"\r\n0123456789\r\n0\t;end\r\n\r\n",
    );
    let res = conn.response();
    assert_eq!(res.status, 200);
    assert_eq!(res.text(), "hello0123456789");
    still_serves(&mut conn);
}
