//! An app that misbehaves costs its own request a 5xx or a cut connection and one log
//! line, never the server: the same rules as every other host (DESIGN.md, "The server
//! stays up").

use crate::support::*;

/// An exception before the head: 500, and the traceback in the log, one line each.
#[test]
fn an_exception_before_the_head_is_500_with_its_traceback_logged() {
    let site = Site::new();
    let server = site.serve(&[]);
    let res = get(&server, "/wsgi/t/raise");
    assert_eq!(res.status, 500);
    wait_for_log(
        &server,
        1,
        &[
            "GET /wsgi/t/raise 500",
            "raised ZeroDivisionError: no body yet",
        ],
    );
    for line in [
        "embed t: Traceback (most recent call last):",
        "in application",
        "embed t: ZeroDivisionError: no body yet",
    ] {
        assert_eq!(
            log_lines(&server, &[line]).len(),
            1,
            "{line}: {:?}",
            server.log()
        );
    }
    assert_eq!(get(&server, "/wsgi/t/hello").text(), "Hello, world!\n");
}

/// The same exception in a pool's worker: the same 500, byte for byte.
#[test]
fn an_exception_is_the_same_500_embedded_and_in_a_pool() {
    let site = Site::new();
    let pool = site.embed("t", "app.py");
    let server = site.serve(&["--wsgi", &pool, "--workers", "1"]);
    let embedded = get(&server, "/wsgi/t/raise");
    let pooled = get(&server, "/pool/t/raise");
    for res in [&embedded, &pooled] {
        assert_eq!(res.status, 500);
        assert_eq!(
            res.header("Content-Type"),
            Some("text/plain; charset=utf-8")
        );
    }
    assert_eq!(embedded.text(), pooled.text());
}

/// An exception once the body has started: the connection is cut, never ended as if
/// the body were whole.
#[test]
fn an_exception_after_the_head_cuts_the_connection() {
    let site = Site::new();
    let server = site.serve(&[]);
    let mut conn = Conn::open(&server);
    conn.send("GET", "/wsgi/t/raise-late");
    let head = conn.head();
    assert_eq!(head[0], "HTTP/1.1 200 OK");
    assert!(
        head.contains(&"Transfer-Encoding: chunked".to_string()),
        "{head:?}"
    );
    assert_eq!(conn.chunk().as_deref(), Some(&b"one\n"[..]));
    let rest = conn.rest();
    assert!(!rest.ends_with(b"0\r\n\r\n"), "ended as if whole: {rest:?}");
    wait_for_log(
        &server,
        1,
        &["raised ValueError: after the head after its response started; connection cut"],
    );
}

/// A header or status with CR, LF or another control character, or a name that is not a
/// token: 502 and one log line; nothing of it reaches the client.
#[test]
fn a_header_or_status_with_control_bytes_or_a_bad_name_is_502() {
    let site = Site::new();
    let server = site.serve(&[]);
    let res = get(&server, "/wsgi/t/bad-header");
    assert_eq!(res.status, 502);
    assert_eq!(res.header("Set-Cookie"), None);
    assert_eq!(res.header("X-Evil"), None);
    wait_for_log(
        &server,
        1,
        &["502", "control character in the value of `X-Evil`"],
    );
    assert_eq!(get(&server, "/wsgi/t/bad-name").status, 502);
    wait_for_log(&server, 1, &["502", "invalid header name `X Evil`"]);
    // A line end in the status would end it and start a header (PEP 3333: no control
    // characters there either).
    let res = get(&server, "/wsgi/t/bad-status");
    assert_eq!(res.status, 502);
    assert_eq!(res.header("X-Evil"), None);
    wait_for_log(
        &server,
        1,
        &["502", "control character in the value of `Status`"],
    );
}

/// A head over the 64 KiB a script's header block may hold: 502 and one log line,
/// embedded as in a pool, for the same app.
#[test]
fn a_head_over_64_kib_is_502_as_in_a_pool() {
    let site = Site::new();
    let pool = site.embed("t", "app.py");
    let server = site.serve(&["--wsgi", &pool, "--workers", "1"]);
    for mode in ["wsgi", "pool"] {
        let res = get(&server, &format!("/{mode}/t/huge-head"));
        assert_eq!(res.status, 502, "/{mode}");
        assert_eq!(res.header("X-Filler-0"), None, "/{mode}");
        let request = format!("GET /{mode}/t/huge-head 502");
        wait_for_log(&server, 1, &[&request, "header block over 64 KiB"]);
    }
    assert_eq!(get(&server, "/wsgi/t/hello").text(), "Hello, world!\n");
}

/// A piece of body that is not bytes (PEP 3333 wants bytes): 500, as in a pool.
#[test]
fn a_piece_that_is_not_bytes_is_500() {
    let site = Site::new();
    let server = site.serve(&[]);
    assert_eq!(get(&server, "/wsgi/t/not-bytes").status, 500);
    wait_for_log(
        &server,
        1,
        &["TypeError: WSGI body pieces must be bytes, not str"],
    );
}

/// A declared Content-Length is sent as declared: a shorter body ends in a cut, and no
/// byte past a longer one is sent.
#[test]
fn a_lying_content_length_is_kept_and_the_connection_cut() {
    let site = Site::new();
    let server = site.serve(&[]);
    let mut conn = Conn::open(&server);
    conn.send("GET", "/wsgi/t/short");
    assert!(conn.head().contains(&"Content-Length: 100".to_string()));
    assert_eq!(conn.rest(), b"only this\n");
    wait_for_log(
        &server,
        1,
        &["shorter than its Content-Length 100; connection cut"],
    );
    let mut conn = Conn::open(&server);
    conn.send("GET", "/wsgi/t/long");
    assert!(conn.head().contains(&"Content-Length: 3".to_string()));
    assert_eq!(conn.rest(), b"far");
    wait_for_log(
        &server,
        1,
        &["longer than its Content-Length 3; connection cut"],
    );
}

/// A call that never returns cannot be stopped in-process: at --timeout its client gets
/// 504, the log says its thread is lost, and other clients are served; should it return
/// one day, the log says so and its thread ends.
#[test]
fn an_app_that_never_returns_costs_a_504_and_a_thread() {
    let site = Site::new();
    let server = site.serve(&["--timeout", "1"]);
    let res = get(&server, "/wsgi/t/forever");
    assert_eq!(res.status, 504);
    wait_for_log(
        &server,
        1,
        &[
            "GET /wsgi/t/forever 504",
            "cannot be stopped in-process: its thread is lost (1 held",
        ],
    );
    assert_eq!(get(&server, "/wsgi/t/hello").text(), "Hello, world!\n");
    assert_eq!(get(&server, "/wsgi/t/release").status, 200);
    wait_for_log(
        &server,
        1,
        &[
            "embed t: a call given up at --timeout returned after",
            "its thread ends",
        ],
    );
    assert_eq!(get(&server, "/wsgi/t/hello").status, 200);
}

/// An app that computes for ever holds the GIL, yet Python makes it let go every switch
/// interval: other requests are still answered (later), and only its own gets 504.
#[test]
fn an_app_that_computes_for_ever_leaves_others_a_turn() {
    let site = Site::new();
    let server = site.serve(&["--timeout", "1"]);
    assert_eq!(get(&server, "/wsgi/t/spin").status, 504);
    wait_for_log(&server, 1, &["GET /wsgi/t/spin 504", "its thread is lost"]);
    // The spinning thread still runs: these are served beside it.
    for _ in 0..3 {
        assert_eq!(get(&server, "/wsgi/t/hello").text(), "Hello, world!\n");
    }
    assert_eq!(get(&server, "/wsgi/t/release").status, 200);
    wait_for_log(&server, 1, &["a call given up at --timeout returned after"]);
}

/// A body still streaming at --timeout is cut, never ended as if whole.
#[test]
fn a_stream_past_the_timeout_is_cut() {
    let site = Site::new();
    let server = site.serve(&["--timeout", "1"]);
    let mut conn = Conn::open(&server);
    conn.send("GET", "/wsgi/t/stream");
    conn.head();
    assert_eq!(conn.chunk().as_deref(), Some(&b"first\n"[..]));
    let rest = conn.rest();
    assert!(!rest.ends_with(b"0\r\n\r\n"), "ended as if whole: {rest:?}");
    wait_for_log(
        &server,
        1,
        &["GET /wsgi/t/stream 200", "its thread is lost"],
    );
    assert_eq!(get(&server, "/wsgi/t/go").status, 200);
}
