//! Request heads, parsed strictly (RFC 9112 §2-§5), and the front's own answers.

use std::time::{Duration, Instant};

use crate::support::fd_count;
use crate::{a_script_ran, refused, site};

/// §5.2: a line that starts with whitespace (obs-fold) is rejected, not taken as a field
/// of its own; a folded `Content-Length` used to be honoured.
#[test]
fn an_obs_fold_line_is_400() {
    let server = site().start();
    let res = refused(
        &server,
        b"GET /cgi-bin/mark.sh HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n",
    );
    assert_eq!(res.status, 400);
    let res = refused(
        &server,
        b"POST /cgi-bin/mark.sh HTTP/1.1\r\nHost: x\r\nX-A: a\r\n Content-Length: 5\r\n\r\nhello",
    );
    assert_eq!(res.status, 400);
    assert!(!a_script_ran(&server));
}

/// §5.5: NUL in a field value is refused (it used to be a 500 "cannot start").
#[test]
fn a_nul_in_a_header_value_is_400() {
    let server = site().start();
    let res = refused(
        &server,
        b"GET /cgi-bin/mark.sh HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n",
    );
    assert_eq!(res.status, 400);
    assert!(!a_script_ran(&server));
}

/// §2.2: a bare CR is not a line ending and not field content.
#[test]
fn a_bare_cr_in_a_header_value_is_400() {
    let server = site().start();
    let res = refused(
        &server,
        b"GET /cgi-bin/mark.sh HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n",
    );
    assert_eq!(res.status, 400);
    assert!(!a_script_ran(&server));
}

/// §5.5: other control bytes (here 0x01 and DEL) are not field content either.
#[test]
fn control_bytes_in_a_header_value_are_400() {
    let server = site().start();
    for byte in [0x01u8, 0x1b, 0x7f] {
        let mut req = b"GET /cgi-bin/mark.sh HTTP/1.1\r\nHost: x\r\nX-A: a".to_vec();
        req.push(byte);
        req.extend_from_slice(b"b\r\n\r\n");
        assert_eq!(refused(&server, &req).status, 400, "byte {byte:#x}");
    }
    assert!(!a_script_ran(&server));
}

/// §5.5: a field value may hold obs-text; a UTF-8 value (as browsers send in cookies)
/// reaches the script as it was sent.
#[test]
fn utf8_in_a_header_value_reaches_the_script_as_sent() {
    let server = site().start();
    let mut conn = server.connect();
    conn.send("GET /cgi-bin/env.sh HTTP/1.1\r\nHost: x\r\nX-Name: café ☕\r\n\r\n".as_bytes());
    let res = conn.response();
    assert_eq!(res.status, 200);
    assert_eq!(
        res.env().get("HTTP_X_NAME").map(String::as_str),
        Some("café ☕")
    );
}

/// §5.5: a Latin-1 byte is obs-text too (it used to close the connection with no
/// response). A script gets the bytes as sent; an app gets them read as Latin-1, as
/// PEP 3333 gives header values to a WSGI app.
#[test]
fn latin1_in_a_header_value_reaches_the_script_as_bytes() {
    let server = site().start();
    let mut conn = server.connect();
    conn.send(b"GET /cgi-bin/env.sh HTTP/1.1\r\nHost: x\r\nX-Name: caf\xe9\r\n\r\n");
    let res = conn.response();
    assert_eq!(res.status, 200);
    assert!(
        crate::support::find(&res.body, b"HTTP_X_NAME=caf\xe9\n").is_some(),
        "{:?}",
        String::from_utf8_lossy(&res.body)
    );
    conn.send(b"GET /app/printenv HTTP/1.1\r\nHost: x\r\nX-Name: caf\xe9\r\n\r\n");
    let res = conn.response();
    assert_eq!(res.status, 200);
    assert!(res.text().contains("HTTP_X_NAME=café\n"), "{}", res.text());
    server.access_line("GET", "/app/printenv");
}

/// A raw UTF-8 byte in the request target is answered: the target is passed on with
/// such bytes percent-encoded (it used to close the connection with no response).
#[test]
fn non_ascii_bytes_in_the_target_are_percent_encoded() {
    let server = site().start();
    let mut conn = server.connect();
    conn.send("GET /cgi-bin/env.sh/café HTTP/1.1\r\nHost: x\r\n\r\n".as_bytes());
    let res = conn.response();
    assert_eq!(res.status, 200);
    let env = res.env();
    assert_eq!(env["REQUEST_URI"], "/cgi-bin/env.sh/caf%C3%A9");
}

/// §3.2: an HTTP/1.1 request without Host is refused.
#[test]
fn http11_without_host_is_400() {
    let server = site().start();
    let res = refused(&server, b"GET /cgi-bin/mark.sh HTTP/1.1\r\n\r\n");
    assert_eq!(res.status, 400);
    assert!(!a_script_ran(&server));
}

/// §3.2: so is any request with two Host fields.
#[test]
fn two_host_headers_are_400() {
    let server = site().start();
    let res = refused(
        &server,
        b"GET /cgi-bin/mark.sh HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    );
    assert_eq!(res.status, 400);
    assert!(!a_script_ran(&server));
}

/// §3.2: HTTP/1.0 has no Host requirement.
#[test]
fn http10_without_host_is_served() {
    let server = site().start();
    let mut conn = server.connect();
    conn.send(b"GET /app/hello HTTP/1.0\r\n\r\n");
    assert_eq!(conn.response().status, 200);
}

/// §2.3: a version this server does not speak gets 505 and a close. `HTTP/2.0` (what
/// `curl --http2-prior-knowledge` sends) used to deadlock the connection's thread and
/// leak it with three descriptors: hundreds of them leave the descriptor count flat.
#[test]
fn http2_request_lines_get_505_and_leak_no_descriptors() {
    let server = site().start();
    let before = fd_count(server.pid());
    for i in 0..300 {
        let req: &[u8] = if i % 2 == 0 {
            b"GET /app/hello HTTP/2.0\r\nHost: x\r\n\r\n"
        } else {
            b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
        };
        assert_eq!(refused(&server, req).status, 505);
    }
    assert_eq!(
        refused(&server, b"GET / HTTP/3.0\r\nHost: x\r\n\r\n").status,
        505
    );
    let settled = crate::support::eventually(crate::support::WAIT, || {
        fd_count(server.pid()) <= before + 4
    });
    assert!(
        settled,
        "descriptors grew from {before} to {}",
        fd_count(server.pid())
    );
    assert_eq!(server.get("/app/hello").status, 200);
}

/// A version token that is not `HTTP/x.y` is a malformed request line.
#[test]
fn a_malformed_version_is_400() {
    let server = site().start();
    assert_eq!(
        refused(&server, b"GET / FOO/1.1\r\nHost: x\r\n\r\n").status,
        400
    );
    assert_eq!(refused(&server, b"GET /\r\nHost: x\r\n\r\n").status, 400);
}

/// §3: a request line longer than the head buffer is 414.
#[test]
fn a_request_line_over_64_kib_is_414() {
    let server = site().start();
    let mut req = b"GET /".to_vec();
    req.extend(std::iter::repeat_n(b'a', 70 * 1024));
    assert_eq!(refused(&server, &req).status, 414);
}

/// RFC 6585 §5: a header section over the limit, in size or in count, is 431.
#[test]
fn a_header_section_over_the_limits_is_431() {
    let server = site().start();
    let mut big = b"GET / HTTP/1.1\r\nHost: x\r\n".to_vec();
    for i in 0..70 {
        big.extend(format!("X-{i}: {}\r\n", "v".repeat(1024)).bytes());
    }
    assert_eq!(refused(&server, &big).status, 431);
    let mut many = b"GET / HTTP/1.1\r\nHost: x\r\n".to_vec();
    for i in 0..200 {
        many.extend(format!("X-{i}: v\r\n").bytes());
    }
    many.extend(b"\r\n");
    assert_eq!(refused(&server, &many).status, 431);
}

/// RFC 9110 §5.3 and §8.3: Content-Type is a singleton field; two would give the body
/// two media types, and hosts would disagree on which one holds. gunicorn refuses it.
#[test]
fn two_content_type_fields_are_400() {
    let server = site().start();
    let res = refused(
        &server,
        b"POST /cgi-bin/mark.sh HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
          Content-Type: text/html\r\nContent-Length: 2\r\n\r\n{}",
    );
    assert_eq!(res.status, 400);
    server.wait_log("for two Content-Types", |l| {
        l.contains(" POST /cgi-bin/mark.sh 400 ") && l.contains("Content-Type")
    });
    assert!(!a_script_ran(&server));
}

/// RFC 9112 §3.2: a request-target is origin-form, absolute-form, authority-form for
/// CONNECT or `*` for OPTIONS; anything else (`cgi-bin/mark.sh`, `GET *`) is 400.
#[test]
fn a_target_in_no_rfc_9112_form_is_400() {
    let server = site().start();
    for req in [
        &b"GET cgi-bin/mark.sh HTTP/1.1\r\nHost: x\r\n\r\n"[..],
        b"GET * HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET example.org:443 HTTP/1.1\r\nHost: x\r\n\r\n",
        b"CONNECT /cgi-bin/mark.sh HTTP/1.1\r\nHost: x\r\n\r\n",
        // An absolute-form authority is a Host's; userinfo in it is an error (RFC 9110
        // §4.2.4).
        b"GET http://user@x/cgi-bin/mark.sh HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET http://x]/cgi-bin/mark.sh HTTP/1.1\r\nHost: x\r\n\r\n",
    ] {
        let res = refused(&server, req);
        assert_eq!(res.status, 400, "{:?}", String::from_utf8_lossy(req));
    }
    assert!(!a_script_ran(&server));
}

/// RFC 9110 §10.1.1: an expectation other than 100-continue is 417.
#[test]
fn an_unknown_expectation_is_417() {
    let server = site().start();
    let res = refused(
        &server,
        b"GET /cgi-bin/mark.sh HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\n\r\n",
    );
    assert_eq!(res.status, 417);
    assert!(!a_script_ran(&server));
}

/// The front's own answers carry `Server`, `Server-Timing` and `Connection: close`, and
/// get one access log line each, like every other response.
#[test]
fn refusals_carry_server_and_server_timing_and_a_log_line() {
    let server = site().start();
    let mut long_line = b"GET /long".to_vec();
    long_line.extend(std::iter::repeat_n(b'a', 70 * 1024));
    let mut many = b"GET /many HTTP/1.1\r\nHost: x\r\n".to_vec();
    for i in 0..200 {
        many.extend(format!("X-{i}: v\r\n").bytes());
    }
    many.extend(b"\r\n");
    let cases: [(&[u8], u16, &str); 6] = [
        (&long_line, 414, " GET - 414 "),
        (&many, 431, " GET /many 431 "),
        (
            b"GET /fold HTTP/1.1\r\nHost: x\r\nA: b\r\n c\r\n\r\n",
            400,
            " GET /fold 400 ",
        ),
        (b"GET /h2 HTTP/2.0\r\nHost: x\r\n\r\n", 505, " GET /h2 505 "),
        (
            b"POST /te HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
            501,
            " POST /te 501 ",
        ),
        (
            b"GET /e HTTP/1.1\r\nHost: x\r\nExpect: x\r\n\r\n",
            417,
            " GET /e 417 ",
        ),
    ];
    for (req, status, logged) in cases {
        let res = refused(&server, req);
        assert_eq!(res.status, status);
        assert!(
            res.header("Server")
                .is_some_and(|s| s.starts_with("cgilab/")),
            "{:?}",
            res.headers
        );
        assert!(
            res.header("Server-Timing")
                .is_some_and(|t| t.contains("total;dur="))
        );
        assert_eq!(res.header("Connection"), Some("close"));
        let line = server.wait_log(logged, |l| l.contains(logged));
        assert!(line.contains("refused by the HTTP front"), "{line}");
    }
}

/// A head trickled past twice `--read-timeout` gets 408 and a log line whose total
/// counts from the head's first byte.
#[test]
fn a_head_trickled_past_its_deadline_is_408_with_a_log_line() {
    let server = site().read_timeout("1").start();
    let mut conn = server.connect();
    let started = Instant::now();
    conn.send(b"GET /slow-head HTTP/1.1\r\n");
    let mut status = None;
    for _ in 0..40 {
        if conn.try_send(b"X").is_err() {
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
        if let Ok(bytes) = conn.take_available()
            && bytes.starts_with(b"HTTP/1.1 408")
        {
            status = Some(408);
            break;
        }
    }
    assert_eq!(status, Some(408), "no 408 after {:?}", started.elapsed());
    server.wait_log("for the 408", |l| {
        l.contains(" 408 ") && l.contains("too slow")
    });
}
