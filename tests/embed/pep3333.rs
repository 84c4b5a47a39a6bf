//! What PEP 3333 asks of a server, asked of the embedded host.

use std::collections::BTreeMap;

use cgilab::client::http::Req;

use crate::support::*;

/// What `/environ` printed: each key and its `type:repr`.
fn environ_of(res: &cgilab::client::Response) -> BTreeMap<String, String> {
    res.text()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// "environ Variables": every CGI key is a native string (bytes read as Latin-1, so a
/// UTF-8 header value arrives as its bytes), and the `wsgi.*` keys say one process,
/// many threads.
#[test]
fn environ_holds_native_strings_and_says_one_process_many_threads() {
    let site = Site::new();
    let server = site.serve(&[]);
    let res = server
        .request(&Req::get("/wsgi/t/environ?q=1").header("X-Name", "café"))
        .unwrap();
    assert_eq!(res.status, 200, "{}", res.text());
    let env = environ_of(&res);
    for (key, value) in &env {
        if !key.contains('.') {
            assert!(value.starts_with("str:"), "{key}={value}");
        }
    }
    assert_eq!(env["HTTP_X_NAME"], "str:'cafÃ©'");
    assert_eq!(env["PATH_INFO"], "str:'/environ'");
    assert_eq!(env["SCRIPT_NAME"], "str:'/wsgi/t'");
    assert_eq!(env["QUERY_STRING"], "str:'q=1'");
    assert_eq!(env["REQUEST_METHOD"], "str:'GET'");
    assert_eq!(env["wsgi.version"], "tuple:(1, 0)");
    assert_eq!(env["wsgi.url_scheme"], "str:'http'");
    assert_eq!(env["wsgi.multithread"], "bool:True");
    assert_eq!(env["wsgi.multiprocess"], "bool:False");
    assert_eq!(env["wsgi.run_once"], "bool:False");
    assert!(
        env["wsgi.input"].ends_with("has read readline readlines __iter__"),
        "{}",
        env["wsgi.input"]
    );
    assert!(
        env["wsgi.errors"].ends_with("has write writelines flush"),
        "{}",
        env["wsgi.errors"]
    );
}

/// A connection's thread keeps the strings of one request's environ for the next, and
/// copies the last dict when the names are the same (`src/embed/kept.rs`). Whatever
/// changes between requests on one kept-alive connection (a value, one variable fewer,
/// a value too long to keep, more variables than are kept), each request gets its own
/// values and nothing of the one before.
#[test]
fn each_request_on_a_kept_connection_gets_its_own_environ() {
    let site = Site::new();
    let server = site.serve(&[]);
    let stream = std::net::TcpStream::connect(server.addr).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    let mut reader = std::io::BufReader::new(stream);
    let long = "v".repeat(300);
    let many: String = (0..70).map(|i| format!("X-Many-{i}: m{i}\r\n")).collect();
    let cases = [
        ("1", Some("one".to_string()), 0),
        ("1", Some("one".to_string()), 0),
        ("2", Some("two".to_string()), 0),
        ("2", None, 0),
        ("3", Some(long.clone()), 0),
        ("3", Some(format!("{long}x")), 0),
        ("4", Some("four".to_string()), 70),
        ("1", Some("one".to_string()), 0),
    ];
    for (query, x_a, n_many) in cases {
        let mut head = format!("GET /wsgi/t/environ?q={query} HTTP/1.1\r\nHost: t\r\n");
        if let Some(v) = &x_a {
            head.push_str(&format!("X-A: {v}\r\n"));
        }
        if n_many > 0 {
            head.push_str(&many);
        }
        head.push_str("\r\n");
        std::io::Write::write_all(reader.get_mut(), head.as_bytes()).unwrap();
        let res = cgilab::client::read_response(&mut reader, false).unwrap();
        assert_eq!(res.status, 200, "{}", res.text());
        let env = environ_of(&res);
        let case = format!(
            "q={query}, X-A {} bytes, {n_many} more",
            x_a.as_ref().map_or(0, String::len)
        );
        assert_eq!(env["QUERY_STRING"], format!("str:'q={query}'"), "{case}");
        assert_eq!(
            env.get("HTTP_X_A"),
            x_a.map(|v| format!("str:'{v}'")).as_ref(),
            "{case}"
        );
        let got: Vec<&String> = env
            .iter()
            .filter(|(k, _)| k.starts_with("HTTP_X_MANY_"))
            .map(|(_, v)| v)
            .collect();
        assert_eq!(got.len(), n_many, "{case}");
        for i in 0..n_many {
            assert_eq!(
                env[&format!("HTTP_X_MANY_{i}")],
                format!("str:'m{i}'"),
                "{case}"
            );
        }
    }
}

/// "Input and Error Streams": `wsgi.input` is the body the server read in full, with
/// read(size), readline() and iteration, and it ends at the body's end; a body too large
/// for memory (spooled to a file) reads the same.
#[test]
fn wsgi_input_is_the_body_already_read() {
    let site = Site::new();
    let server = site.serve(&[]);
    let res = server
        .request(&Req::post("/wsgi/t/input", b"abcdef\nghi\njkl"))
        .unwrap();
    assert_eq!(res.text(), "b'abc' b'def\\n' 7 b''\n");
    let big = vec![b'x'; 1 << 20];
    let res = server.request(&Req::post("/wsgi/t/length", &big)).unwrap();
    assert_eq!(res.text(), "1048576\n");
    let res = server.request(&Req::post("/wsgi/t/length", b"")).unwrap();
    assert_eq!(res.text(), "0\n");
}

/// Every way of reading `wsgi.input` answers the same embedded and in a pool's worker,
/// `readlines(hint)` included (PEP 3333 lets a server ignore the hint; these two agree).
#[test]
fn wsgi_input_reads_the_same_embedded_and_in_a_pool() {
    let site = Site::new();
    let pool = site.embed("t", "app.py");
    let server = site.serve(&["--wsgi", &pool, "--workers", "1"]);
    let body = b"abcdef\ngh\nij\nkl\nmn\nop";
    let read = |mode: &str| {
        let target = format!("/{mode}/t/input-calls");
        let res = server.request(&Req::post(&target, body)).unwrap();
        assert_eq!(res.status, 200, "{target}: {}", res.text());
        res.text()
    };
    let embedded = read("wsgi");
    assert_eq!(
        embedded,
        "[b'ab', b'cd', b'ef\\n', [b'gh\\n'], b'ij\\nkl\\nmn\\nop', [], [], b'']\n"
    );
    assert_eq!(read("pool"), embedded);
}

/// `wsgi.errors`, `print()` and `sys.stderr` reach the log as a pool worker's stderr
/// does: one line per line, control characters escaped, prefixed with the app's name.
#[test]
fn wsgi_errors_print_and_stderr_are_logged_one_escaped_line_each() {
    let site = Site::new();
    let server = site.serve(&[]);
    assert_eq!(get(&server, "/wsgi/t/errors").text(), "logged\n");
    wait_for_log(&server, 1, &["GET /wsgi/t/errors 200"]);
    for line in [
        "embed t: to wsgi.errors",
        "embed t: forged\\rline \\u{1b}[31mred",
        "embed t: two pieces",
        "embed t: from print",
        "embed t: from sys.stderr",
    ] {
        assert_eq!(
            log_lines(&server, &[line]).len(),
            1,
            "{line}: {:?}",
            server.log()
        );
    }
    assert!(
        log_lines(&server, &["\x1b"]).is_empty(),
        "an escape reached the log"
    );
}

/// "The start_response() Callable": with `exc_info` before the head went out, the app
/// may answer an error instead.
#[test]
fn exc_info_before_the_head_replaces_it() {
    let site = Site::new();
    let server = site.serve(&[]);
    let res = get(&server, "/wsgi/t/exc-info-before");
    assert_eq!(res.status_line(), "500 Oops");
    assert_eq!(res.text(), "the error page\n");
}

/// With `exc_info` once the head is out, start_response re-raises: the response is cut,
/// never ended as if complete.
#[test]
fn exc_info_after_the_head_re_raises_and_the_response_is_cut() {
    let site = Site::new();
    let server = site.serve(&[]);
    let mut conn = Conn::open(&server);
    conn.send("GET", "/wsgi/t/exc-info-after");
    let head = conn.head();
    assert_eq!(head[0], "HTTP/1.1 200 OK");
    assert_eq!(conn.chunk().as_deref(), Some(&b"one\n"[..]));
    let rest = conn.rest();
    assert!(!rest.ends_with(b"0\r\n\r\n"), "ended as if whole: {rest:?}");
    wait_for_log(&server, 1, &["raised KeyError", "connection cut"]);
    assert_eq!(
        log_lines(&server, &["embed t: KeyError: 'after the head'"]).len(),
        1
    );
}

/// Calling start_response twice without `exc_info`, or sending a body before calling
/// it, is the app's error: 500.
#[test]
fn start_response_misused_is_500() {
    let site = Site::new();
    let server = site.serve(&[]);
    assert_eq!(get(&server, "/wsgi/t/twice").status, 500);
    wait_for_log(
        &server,
        1,
        &["AssertionError: start_response called a second time"],
    );
    assert_eq!(get(&server, "/wsgi/t/no-start").status, 500);
    wait_for_log(
        &server,
        1,
        &["AssertionError: the app sent a body before calling start_response"],
    );
}

/// "The write() Callable": what the app writes goes out before what it returns.
#[test]
fn write_sends_before_the_iterable() {
    let site = Site::new();
    let server = site.serve(&[]);
    assert_eq!(
        get(&server, "/wsgi/t/write").text(),
        "written, then returned\n"
    );
}

/// `close()` is called after a whole body, after an exception mid-stream, for HEAD, and
/// when the client leaves in the middle of a body.
#[test]
fn close_is_always_called() {
    let site = Site::new();
    let server = site.serve(&[]);
    let closes = || {
        get(&server, "/wsgi/t/closes")
            .text()
            .trim()
            .parse::<u32>()
            .unwrap()
    };
    assert_eq!(get(&server, "/wsgi/t/counted").text(), "counted\n");
    assert_eq!(closes(), 1);
    let mut conn = Conn::open(&server);
    conn.send("GET", "/wsgi/t/counted-raise");
    conn.head();
    conn.rest();
    wait_for("close() after an exception", || closes() == 2);
    let head = server.request(&Req {
        method: "HEAD",
        ..Req::get("/wsgi/t/counted")
    });
    assert_eq!(head.unwrap().status, 200);
    assert_eq!(closes(), 3);
    // A client that leaves: the body stops being taken, and close() still comes.
    let mut conn = Conn::open(&server);
    conn.send("GET", "/wsgi/t/endless");
    conn.head();
    conn.chunk();
    drop(conn);
    wait_for("close() after the client left", || closes() == 4);
    wait_for_log(&server, 1, &["GET /wsgi/t/endless 200", "client went away"]);
}

/// The standard library's validator (wsgiref.validate), wrapped around the app, finds
/// nothing wrong with what the server gives it and does with it.
#[test]
fn the_standard_validator_finds_nothing_wrong() {
    let site = Site::new().file("validated.py", VALIDATED);
    let v = site.embed("v", "validated.py");
    let server = site.serve(&["--embed", &v]);
    for (method, target, body) in [
        ("GET", "/wsgi/v/hello", &b""[..]),
        ("GET", "/wsgi/v/environ?x=1&y", b""),
        ("POST", "/wsgi/v/input", b"abcdef\nghi\njkl"),
        ("POST", "/wsgi/v/length", b""),
        ("GET", "/wsgi/v/errors", b""),
        ("GET", "/wsgi/v/write", b""),
        ("GET", "/wsgi/v/counted", b""),
        ("HEAD", "/wsgi/v/hello", b""),
    ] {
        let req = Req {
            method,
            body,
            ..Req::get(target)
        };
        let res = server.request(&req).unwrap();
        assert_eq!(res.status, 200, "{method} {target}: {}", res.text());
    }
    wait_for_log(&server, 8, &["/wsgi/v/", " 200 "]);
    let complaints: Vec<String> = server
        .log()
        .into_iter()
        .filter(|l| {
            l.contains("AssertionError")
                || l.contains("Warning")
                || l.contains("without being closed")
        })
        .collect();
    assert!(complaints.is_empty(), "{complaints:#?}");
}
