//! The gateway against the real server: twin parity with cgi-bin, panics, timeouts,
//! unknown apps, Server-Timing and the index page.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use cgilab::client::{Req, Response};
use cgilab::config::Config;
use cgilab::gateway::{AppRequest, AppResponse, Apps};
use cgilab::server::Server;

const CGI_BIN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/cgi-bin");

/// A server on a free port over the repository's cgi-bin, with extra apps.
fn serve(apps: Apps, timeout_secs: f64) -> SocketAddr {
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
    let addr = serve(Apps::builtin(), 30.0);
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
    let addr = serve(Apps::builtin(), 30.0);
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
    let addr = serve(apps, 30.0);
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
    let addr = serve(apps, 30.0);
    assert_eq!(get(addr, "GET", "/app/bad", "").status, 502);
}

/// An in-process app cannot be killed; a streamed body stops being pulled at --timeout.
#[test]
fn a_streaming_app_past_the_timeout_is_cut_short() {
    let addr = serve(Apps::builtin(), 1.0);
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
    let addr = serve(Apps::builtin(), 30.0);
    assert_eq!(get(addr, "GET", "/app/nope", "").status, 404);
}

/// Gateway responses say what the call cost; HEAD gets the headers only.
#[test]
fn gateway_responses_carry_server_timing_and_head_has_no_body() {
    let addr = serve(Apps::builtin(), 30.0);
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
    let addr = serve(Apps::builtin(), 30.0);
    get(addr, "GET", "/app/hello", "");
    // The latency is recorded once the response is written, so the client may ask for
    // the page a moment before it is there.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let page = loop {
        let page = String::from_utf8(get(addr, "GET", "/", "").body).unwrap();
        if page.contains(" ms</td>") || std::time::Instant::now() > deadline {
            break page;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
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
