//! The gateway against the real server: twin parity with cgi-bin, panics, timeouts,
//! unknown apps, Server-Timing and the index page.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use cgilab::client::{Req, Response};
use cgilab::config::Config;
use cgilab::gateway::{AppRequest, AppResponse, Apps};
use cgilab::server::{Server, Spawned};

const CGI_BIN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/cgi-bin");

/// A server on a free port over the repository's cgi-bin, with extra apps; it stops
/// when the returned handle is dropped, at the end of the test.
fn serve(apps: Apps, timeout_secs: f64) -> Spawned {
    let mut config = Config::new("127.0.0.1:0", CGI_BIN).expect("config");
    config.timeout = Duration::from_secs_f64(timeout_secs);
    config.max_body = 1 << 20;
    config.max_procs = 8;
    config.threads = 8;
    config.quiet = true;
    Server::bind_with_apps(config, apps).expect("bind").spawn()
}

/// One request on a fresh connection, as `test.example`; reads the whole response.
fn get(addr: SocketAddr, method: &str, target: &str, body: &str) -> Response {
    let mut req = Req {
        method,
        body: body.as_bytes(),
        ..Req::get(target)
    }
    .header("Host", "test.example:80");
    if !body.is_empty() {
        req = req.header("Content-Type", "application/x-www-form-urlencoded");
    }
    cgilab::client::request(addr, &req).unwrap()
}

fn content_headers(r: &Response) -> Vec<(String, String)> {
    r.headers
        .iter()
        .filter(|(n, _)| n.to_ascii_lowercase().starts_with("content-type"))
        .cloned()
        .collect()
}

/// Every built-in app answers like its script twin: same status, content headers, body.
#[test]
fn twins_answer_with_identical_bodies() {
    let server = serve(Apps::builtin(), 30.0);
    let addr = server.addr();
    let pairs = [
        ("/cgi-bin/hello.sh", "/app/hello", ""),
        ("/cgi-bin/hello.py", "/app/hello", ""),
        ("/cgi-bin/hello.pl", "/app/hello", ""),
        ("/cgi-bin/form.py?a=1&b=x+y", "/app/form?a=1&b=x+y", ""),
        (
            "/cgi-bin/form.py?q=%21",
            "/app/form?q=%21",
            "name=Ada+L&empty=",
        ),
        ("/cgi-bin/status.sh?code=418", "/app/status?code=418", ""),
        ("/cgi-bin/status.sh", "/app/status", ""),
        ("/cgi-bin/slow.sh?secs=1", "/app/slow?secs=1", ""),
        ("/cgi-bin/stream.sh", "/app/stream", ""),
        ("/cgi-bin/redirect.sh", "/app/redirect", ""),
    ];
    for (cgi, app, body) in pairs {
        let method = if body.is_empty() { "GET" } else { "POST" };
        let (c, g) = (get(addr, method, cgi, body), get(addr, method, app, body));
        assert_eq!(c.status, g.status, "{cgi} vs {app}");
        assert_eq!(content_headers(&c), content_headers(&g), "{cgi} vs {app}");
        assert_eq!(
            String::from_utf8_lossy(&c.body),
            String::from_utf8_lossy(&g.body),
            "{cgi} vs {app}"
        );
    }
}

/// printenv lists the same meta-variables both ways; only what names the script or app
/// itself, and the client's port, may differ.
#[test]
fn printenv_twins_list_the_same_meta_variables() {
    let server = serve(Apps::builtin(), 30.0);
    let addr = server.addr();
    let parse = |r: Response| -> Vec<(String, String)> {
        String::from_utf8(r.body)
            .unwrap()
            .lines()
            .filter_map(|l| {
                l.split_once('=')
                    .map(|(n, v)| (n.to_string(), v.to_string()))
            })
            .collect()
    };
    let c = parse(get(addr, "GET", "/cgi-bin/printenv.sh/x?y=1", ""));
    let g = parse(get(addr, "GET", "/app/printenv/x?y=1", ""));
    let names = |v: &[(String, String)]| v.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(names(&c), names(&g));
    let differ = [
        "SCRIPT_NAME",
        "SCRIPT_FILENAME",
        "REQUEST_URI",
        "REMOTE_PORT",
    ];
    for ((n, cv), (_, gv)) in c.iter().zip(&g) {
        if !differ.contains(&n.as_str()) {
            assert_eq!(cv, gv, "{n}");
        }
    }
    assert!(c.iter().any(|(n, v)| n == "PATH_INFO" && v == "/x"));
    assert!(
        c.iter()
            .any(|(n, v)| n == "SERVER_NAME" && v == "test.example")
    );
}

/// A panicking app costs its request a 500; the server and the app keep serving.
#[test]
fn a_panicking_app_gets_500_and_the_next_request_is_served() {
    let apps = Apps::builtin().with("boom", |req: AppRequest<'_>| {
        if req.environ.get("QUERY_STRING") == Some("panic") {
            panic!("deliberate");
        }
        AppResponse::text(200, "fine\n")
    });
    let server = serve(apps, 30.0);
    let addr = server.addr();
    assert_eq!(get(addr, "GET", "/app/boom?panic", "").status, 500);
    let next = get(addr, "GET", "/app/boom", "");
    assert_eq!((next.status, next.body.as_slice()), (200, &b"fine\n"[..]));
    assert_eq!(get(addr, "GET", "/app/hello", "").status, 200);
}

/// An app that breaks the header rules gets a 502, as a script would.
#[test]
fn an_app_with_a_bad_header_gets_502() {
    let apps = Apps::empty().with("bad", |_: AppRequest<'_>| {
        AppResponse::text(200, "x").with_header("X-Split", "a\r\nSet-Cookie: evil=1")
    });
    let server = serve(apps, 30.0);
    let addr = server.addr();
    assert_eq!(get(addr, "GET", "/app/bad", "").status, 502);
}

/// An in-process app cannot be killed; a streamed body stops being pulled at --timeout.
#[test]
fn a_streaming_app_past_the_timeout_is_cut_short() {
    let server = serve(Apps::builtin(), 1.0);
    let addr = server.addr();
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"GET /app/stream HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut all = Vec::new();
    let _ = s.read_to_end(&mut all);
    let text = String::from_utf8_lossy(&all);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains("line 1"), "{text}");
    assert!(
        !text.contains("line 5"),
        "the stream should have been cut: {text}"
    );
    assert!(
        !text.ends_with("0\r\n\r\n"),
        "a cut body must not look complete"
    );
}

/// Unknown app names are 404.
#[test]
fn unknown_apps_are_404() {
    let server = serve(Apps::builtin(), 30.0);
    let addr = server.addr();
    assert_eq!(get(addr, "GET", "/app/nope", "").status, 404);
}

/// Gateway responses say what the call cost; HEAD gets the headers only.
#[test]
fn gateway_responses_carry_server_timing_and_head_has_no_body() {
    let server = serve(Apps::builtin(), 30.0);
    let addr = server.addr();
    let r = get(addr, "GET", "/app/hello", "");
    let timing = r.header("Server-Timing").unwrap();
    assert!(
        timing.starts_with("call;dur=") && timing.contains("total;dur="),
        "{timing}"
    );
    let h = get(addr, "HEAD", "/app/hello", "");
    assert_eq!(h.status, 200);
    assert_eq!(h.header("Content-Length"), Some("14"));
}

/// The index page lists each app with its CGI twins and the server's latency figures.
#[test]
fn index_page_shows_twins_side_by_side_with_latency() {
    let server = serve(Apps::builtin(), 30.0);
    let addr = server.addr();
    get(addr, "GET", "/app/hello", "");
    // The latency is recorded once the response is written, so the client may ask for
    // the page a moment before it is there.
    let deadline = Instant::now() + Duration::from_secs(15);
    let page = loop {
        let page = String::from_utf8(get(addr, "GET", "/", "").body).unwrap();
        if page.contains(" ms</td>") || Instant::now() > deadline {
            break page;
        }
        thread::sleep(Duration::from_millis(20));
    };
    assert!(page.contains("<a href=\"/app/hello\">hello</a>"), "{page}");
    assert!(
        page.contains("<a href=\"/cgi-bin/hello.sh\">hello.sh</a>"),
        "{page}"
    );
    assert!(page.contains(" ms</td>"), "no latency shown: {page}");
    assert!(
        !page.contains("http://") && !page.contains("https://"),
        "no external assets"
    );
}

/// Sends one request on a raw connection and reads until the server closes it.
fn raw(addr: SocketAddr, request: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut all = Vec::new();
    let _ = s.read_to_end(&mut all);
    String::from_utf8_lossy(&all).into_owned()
}

/// The app's own Content-Length is the response's one framing: never a second length,
/// never a length beside chunked.
#[test]
fn an_apps_own_content_length_is_the_only_framing() {
    let apps = Apps::empty()
        .with("sized", |_: AppRequest<'_>| {
            AppResponse::text(200, "sized\n").with_header("Content-Length", "6")
        })
        .with("streamed", |_: AppRequest<'_>| AppResponse {
            status: 200,
            headers: vec![("Content-Length".into(), "4".into())],
            body: cgilab::gateway::AppBody::Stream(Box::new(
                vec![b"ab".to_vec(), b"cd".to_vec()].into_iter(),
            )),
        });
    let server = serve(apps, 30.0);
    let addr = server.addr();
    for path in ["/app/sized", "/app/streamed"] {
        let text = raw(
            addr,
            &format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
        );
        let head = text.split("\r\n\r\n").next().unwrap().to_ascii_lowercase();
        assert_eq!(head.matches("content-length:").count(), 1, "{text}");
        assert!(!head.contains("transfer-encoding"), "{text}");
    }
}

/// A whole body that does not match the app's declared length: the declared length is
/// kept, nothing past it is sent, and a short body is a cut connection.
#[test]
fn an_app_that_lies_about_its_length_never_looks_complete_longer() {
    let apps = Apps::empty()
        .with("long", |_: AppRequest<'_>| {
            AppResponse::text(200, "0123456789").with_header("Content-Length", "4")
        })
        .with("short", |_: AppRequest<'_>| {
            AppResponse::text(200, "0123").with_header("Content-Length", "10")
        });
    let server = serve(apps, 30.0);
    let addr = server.addr();
    let long = raw(addr, "GET /app/long HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(long.contains("Content-Length: 4\r\n"), "{long}");
    assert!(long.ends_with("\r\n\r\n0123"), "{long}");
    let short = raw(addr, "GET /app/short HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(short.contains("Content-Length: 10\r\n"), "{short}");
    assert!(short.ends_with("\r\n\r\n0123"), "{short}");
}

/// A header value with CR LF from an in-process app is a 502, as from a script.
#[test]
fn an_apps_header_with_cr_lf_is_a_502() {
    let apps = Apps::empty().with("split", |_: AppRequest<'_>| {
        AppResponse::text(200, "x").with_header("X-Safe", "a\r\nX-Injected: yes")
    });
    let server = serve(apps, 30.0);
    let addr = server.addr();
    let text = raw(
        addr,
        "GET /app/split HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(text.starts_with("HTTP/1.1 502"), "{text}");
    assert!(!text.contains("X-Injected"), "{text}");
}

/// A spawned server stops when its handle is dropped: its port stops accepting
/// connections, so a test (or a program that embeds cgilab) leaves no server behind.
#[test]
fn a_dropped_server_stops_listening() {
    let server = serve(Apps::builtin(), 30.0);
    let addr = server.addr();
    assert_eq!(get(addr, "GET", "/app/hello", "").status, 200);
    drop(server);
    // The front's accept thread lets go of the socket once it has seen the stop.
    let deadline = Instant::now() + Duration::from_secs(15);
    while TcpStream::connect(addr).is_ok() {
        assert!(
            Instant::now() < deadline,
            "{addr} still accepts connections"
        );
        thread::sleep(Duration::from_millis(20));
    }
}
