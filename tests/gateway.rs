//! The gateway against the real server: twin parity with cgi-bin, panics, timeouts,
//! unknown apps, Server-Timing, the index page, `cgilab routes` and `cgilab bench`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::Duration;

use cgilab::config::Config;
use cgilab::gateway::{AppRequest, AppResponse, Apps};
use cgilab::server::Server;

const BIN: &str = env!("CARGO_BIN_EXE_cgilab");
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

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One request on a fresh connection; reads the whole response.
fn get(addr: SocketAddr, method: &str, target: &str, body: &str) -> Reply {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut req =
        format!("{method} {target} HTTP/1.1\r\nHost: test.example:80\r\nConnection: close\r\n");
    if !body.is_empty() {
        req.push_str(&format!(
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).unwrap();
    let mut r = BufReader::new(s);
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    let status = line.split(' ').nth(1).unwrap().parse().unwrap();
    let mut headers = Vec::new();
    loop {
        line.clear();
        r.read_line(&mut line).unwrap();
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        let (n, v) = l.split_once(':').unwrap();
        headers.push((n.to_string(), v.trim().to_string()));
    }
    let mut body = Vec::new();
    let chunked = headers
        .iter()
        .any(|(n, v)| n.eq_ignore_ascii_case("transfer-encoding") && v == "chunked");
    if method == "HEAD" {
    } else if chunked {
        loop {
            line.clear();
            r.read_line(&mut line).unwrap();
            let n = usize::from_str_radix(line.trim(), 16).unwrap();
            let mut chunk = vec![0; n + 2];
            r.read_exact(&mut chunk).unwrap();
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
    } else {
        r.read_to_end(&mut body).unwrap();
    }
    Reply {
        status,
        headers,
        body,
    }
}

fn content_headers(r: &Reply) -> Vec<(String, String)> {
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
    let parse = |r: Reply| -> Vec<(String, String)> {
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
    let page = String::from_utf8(get(addr, "GET", "/", "").body).unwrap();
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

/// `cgilab routes` prints every script and app with what runs and its twin.
#[test]
fn routes_lists_scripts_apps_and_twins() {
    let out = Command::new(BIN)
        .args(["routes", "--cgi-bin", CGI_BIN])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let row = |url: &str| {
        let first_cell = format!("│ {url} ");
        text.lines()
            .find(|l| l.starts_with(&first_cell))
            .unwrap_or_default()
            .to_string()
    };
    assert!(row("/cgi-bin/hello.sh").contains("/app/hello"), "{text}");
    assert!(
        row("/app/hello").contains("gateway") && row("/app/hello").contains("/cgi-bin/hello.py"),
        "{text}"
    );
    assert!(row("/cgi-bin/broken.sh").contains("cgi"), "{text}");
    let missing = Command::new(BIN)
        .args(["routes", "--cgi-bin", "/nonexistent-dir"])
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("pass --cgi-bin DIR"));
}

/// `cgilab bench` prints one CSV row per target and concurrency (timings not checked).
#[test]
fn bench_csv_has_a_row_per_target_and_concurrency() {
    let out = Command::new(BIN)
        .args([
            "bench",
            "--duration",
            "0.3",
            "--concurrency",
            "1,2",
            "--targets",
            "/app/hello,/raw",
            "--format",
            "csv",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with(
        "target,mode,concurrency,requests,req_per_s,mean_ms,p50_ms,p90_ms,p99_ms,max_ms,errors"
    ));
    assert_eq!(lines.len(), 5, "{text}");
    assert!(lines[1].starts_with("/app/hello,gateway,1,"));
    assert!(lines[4].starts_with("/raw,server,2,"));
    for l in &lines[1..] {
        assert!(l.ends_with(",0"), "errors in {l}");
    }
}

/// The table and JSON formats carry the cost comparison and the server's peak RSS.
#[test]
fn bench_table_and_json_report_costs_and_rss() {
    let run = |format: &str| {
        let out = Command::new(BIN)
            .args([
                "bench",
                "--duration",
                "0.3",
                "--concurrency",
                "1",
                "--targets",
                "/cgi-bin/hello.sh,/app/hello",
                "--format",
                format,
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let table = run("table");
    assert!(
        table.contains("process cost ms") && table.contains("spawn floor ms"),
        "{table}"
    );
    assert!(table.contains("server peak RSS:"), "{table}");
    let json = run("json");
    assert!(
        json.starts_with("{\"runs\":[{\"target\":\"/cgi-bin/hello.sh\""),
        "{json}"
    );
    assert!(
        json.contains("\"spawn_floors\":[{\"target\":\"/cgi-bin/hello.sh\""),
        "{json}"
    );
    assert!(json.contains("\"server_peak_rss_mib\":"), "{json}");
}

/// Bad bench arguments are refused with a message that says what to do.
#[test]
fn bench_refuses_bad_arguments() {
    let fails = |args: &[&str], needle: &str| {
        let out = Command::new(BIN).arg("bench").args(args).output().unwrap();
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
    };
    fails(&["--url", "http://192.0.2.1:80"], "--allow-remote");
    fails(&["--url", "ftp://127.0.0.1"], "only http://");
    fails(&["--concurrency", "0"], "--concurrency");
    fails(&["--targets", "nope"], "starting with `/`");
    fails(&["--duration", "0"], "seconds");
    fails(&["--format", "xml"], "xml");
}
