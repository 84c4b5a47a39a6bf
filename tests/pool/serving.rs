//! A request's path through a pool: the same worker for request after request, the same
//! answers as CGI, bodies both ways, streaming, errors, and what each response costs.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::support::*;

/// The worker stays: N requests are answered by at most `--workers` processes, all of
/// them the server's children.
#[test]
fn requests_are_answered_by_at_most_workers_processes() {
    let site = Site::new().file("app.py", PID_APP);
    let server = site.serve(&["--wsgi", &site.wsgi("t", "app.py"), "--workers", "2"]);
    let mut pids = BTreeSet::new();
    for _ in 0..20 {
        let res = get(&server, "/pool/t");
        assert_eq!(res.status, 200, "{}", res.text());
        pids.insert(pid_of(&res));
    }
    assert!(!pids.is_empty() && pids.len() <= 2, "{pids:?}");
    let children = children(server.pid());
    assert!(pids.is_subset(&children), "{pids:?} not among {children:?}");
}

/// One request at a time goes to the worker that became idle last, not round the pool:
/// the others sleep on and the one that serves keeps its caches warm.
#[test]
fn one_request_at_a_time_keeps_to_the_most_recently_idle_worker() {
    let site = Site::new().file("app.py", PID_APP);
    let server = site.serve(&["--wsgi", &site.wsgi("t", "app.py"), "--workers", "2"]);
    // Both workers up and idle, so either could be handed out.
    wait_for_log(&server, 2, &["pool t: worker ", " started"]);
    let pids: Vec<u32> = (0..10).map(|_| pid_of(&get(&server, "/pool/t"))).collect();
    assert!(pids.iter().all(|&p| p == pids[0]), "{pids:?}");
}

/// The twins in cgi-bin give the same status, content headers and body as a CGI script
/// (a python3 per request, through wsgiref's CGIHandler) and in a pool.
#[test]
fn each_wsgi_twin_answers_the_same_as_cgi_and_in_a_pool() {
    if !python3() {
        eprintln!("skipped: python3 is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let server = serve_with(&repo_cgi_bin(), dir.path(), &["--workers", "1"]);
    // (twin, rest of the URL, a body and its type)
    type Case<'a> = (&'a str, &'a str, Option<(&'a [u8], &'a str)>);
    let cases: [Case; 6] = [
        ("hello", "/first", None),
        ("form", "?a=1&b=x+y%21", None),
        (
            "form",
            "?q=1",
            Some((
                b"name=J%C3%BCrgen&empty=",
                "application/x-www-form-urlencoded",
            )),
        ),
        ("slow", "?secs=1", None),
        ("stream", "", None),
        ("hello", "", Some((b"ignored body", "text/plain"))),
    ];
    for (name, rest, body) in cases {
        let cgi_target = format!("/cgi-bin/{name}_wsgi.py{rest}");
        let pool_target = format!("/pool/{name}{rest}");
        let ask = |target: &str| match body {
            None => get(&server, target),
            Some((bytes, ctype)) => server
                .request(
                    &cgilab::client::http::Req::post(target, bytes).header("Content-Type", ctype),
                )
                .unwrap(),
        };
        let (cgi, pool) = (ask(&cgi_target), ask(&pool_target));
        assert_eq!(cgi.status, 200, "{cgi_target}: {}", cgi.text());
        assert_eq!(cgi.status, pool.status, "{pool_target}");
        assert_eq!(
            cgi.header("Content-Type"),
            pool.header("Content-Type"),
            "{pool_target}"
        );
        assert_eq!(cgi.text(), pool.text(), "{pool_target}");
    }
}

/// The environ's CGI keys agree: every meta-variable the server sets has the same value
/// for the script and for the worker, except what names the script or the connection.
#[test]
fn the_environ_agrees_between_cgi_and_pool() {
    if !python3() {
        eprintln!("skipped: python3 is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let server = serve_with(&repo_cgi_bin(), dir.path(), &["--workers", "1"]);
    let map = |target: &str| -> BTreeMap<String, String> {
        let res = server
            .request(
                &cgilab::client::http::Req::get(target)
                    .header("X-Probe", "1")
                    .header("Cookie", "a=b"),
            )
            .unwrap();
        assert_eq!(res.status, 200, "{target}: {}", res.text());
        res.text()
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let app = map("/app/printenv/x/y?q=1");
    let cgi = map("/cgi-bin/printenv_wsgi.py/x/y?q=1");
    let pool = map("/pool/printenv/x/y?q=1");
    // What names the script or the connection.
    let differ = [
        "SCRIPT_NAME",
        "SCRIPT_FILENAME",
        "REQUEST_URI",
        "REMOTE_PORT",
        "PATH",
    ];
    let mut compared = 0;
    for (key, value) in &app {
        if differ.contains(&key.as_str()) {
            continue;
        }
        assert_eq!(cgi.get(key), Some(value), "CGI {key}");
        assert_eq!(pool.get(key), Some(value), "pool {key}");
        compared += 1;
    }
    assert!(compared > 15, "only {compared} keys compared: {app:?}");
    assert_eq!(pool["SCRIPT_NAME"], "/pool/printenv");
    assert_eq!(pool["PATH_INFO"], "/x/y");
    assert_eq!(pool["HTTP_X_PROBE"], "1");
}

/// A 1 MiB body goes to the app whole, as STDIN records, and comes back exactly.
#[test]
fn a_one_mebibyte_post_is_echoed_exactly() {
    let site = Site::new().file("app.py", PID_APP);
    let server = site.serve(&["--wsgi", &site.wsgi("t", "app.py"), "--workers", "1"]);
    let body: Vec<u8> = (0..1u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let res = post(&server, "/pool/t", &body);
    assert_eq!(res.status, 200);
    let nl = res.body.iter().position(|&b| b == b'\n').unwrap();
    assert!(res.body[nl + 1..] == body[..], "the echo differs");
}

/// A generator's pieces go out as they are produced: the first line is at the client
/// while the app still waits before the last, for the file `go`, which the test creates
/// only once it has the first line (an answer sent whole would never come, or only once
/// this client had given up).
#[test]
fn the_first_chunk_arrives_before_the_app_has_finished() {
    let app = r#"import os, time
def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    yield b"line 1\n"
    for _ in range(600):
        if os.path.exists("go"):
            break
        time.sleep(0.05)
    yield b"line 2\n" if os.path.exists("go") else b"no go\n"
"#;
    let site = Site::new().file("app.py", app);
    let server = site.serve(&["--wsgi", &site.wsgi("t", "app.py"), "--workers", "1"]);
    let mut s = TcpStream::connect(server.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET /pool/t HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains("line 1") {
        let n = s
            .read(&mut buf)
            .expect("line 1 before the app has finished");
        assert!(n > 0, "closed before line 1");
        seen.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&seen).into_owned();
    assert!(text.contains("Transfer-Encoding: chunked"), "{text}");
    std::fs::write(site.path("go"), "").unwrap();
    s.read_to_end(&mut seen).unwrap();
    assert!(String::from_utf8_lossy(&seen).contains("line 2"));
}

/// An app that raises: 500, its traceback in the log (with the pool and pid), and the
/// same worker answers the next request.
#[test]
fn an_app_exception_is_a_500_with_its_traceback_logged_and_the_worker_stays() {
    let app = r#"import os
def application(environ, start_response):
    if environ["QUERY_STRING"] == "boom":
        raise RuntimeError("kaboom from the app")
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"pid=%d\n" % os.getpid()]
"#;
    let site = Site::new().file("app.py", app);
    let server = site.serve(&["--wsgi", &site.wsgi("t", "app.py"), "--workers", "1"]);
    let before = pid_of(&get(&server, "/pool/t"));
    let res = get(&server, "/pool/t?boom");
    assert_eq!(res.status, 500);
    let tb = wait_for_log(&server, 1, &["kaboom from the app"]);
    assert!(
        tb[0].contains(&format!("pool t pid {before}")),
        "not prefixed with pool and pid: {tb:?}"
    );
    assert_eq!(log_lines(&server, &["Traceback"]).len(), 1);
    assert_eq!(pid_of(&get(&server, "/pool/t")), before);
}

/// Server-Timing names the pool's phases; the access log line names the pool and worker.
#[test]
fn server_timing_and_the_access_log_name_the_pool_and_the_worker() {
    let site = Site::new().file("app.py", PID_APP);
    let server = site.serve(&["--wsgi", &site.wsgi("t", "app.py"), "--workers", "1"]);
    let res = get(&server, "/pool/t");
    let pid = pid_of(&res);
    for phase in ["queue", "app", "total"] {
        assert!(
            res.timing(phase).is_some(),
            "{phase} missing: {:?}",
            res.header("Server-Timing")
        );
    }
    let line = wait_for_log(&server, 1, &["GET /pool/t 200"]);
    let want = format!("mode=pool pool=t worker={pid}");
    assert!(line[0].contains(&want), "{line:?}");
    assert!(
        line[0].contains("queue=") && line[0].contains("app="),
        "{line:?}"
    );
}

/// A pool that is not there is a 404 that says how to start one.
#[test]
fn an_unknown_pool_is_404() {
    let site = Site::new().file("app.py", PID_APP);
    let server = site.serve(&["--wsgi", &site.wsgi("t", "app.py"), "--workers", "1"]);
    let res = get(&server, "/pool/nope/x");
    assert_eq!(res.status, 404);
    let text = String::from_utf8_lossy(&res.body).into_owned();
    assert!(
        text.contains("no pool `nope` at `/pool/nope/x`") && text.contains("--wsgi nope=FILE"),
        "{text}"
    );
    assert_eq!(get(&server, "/pool/t").status, 200);
}

/// A FastCGI program that answers the readiness probe, then sends garbage for a request:
/// 502, one log line, and a fresh worker.
#[test]
fn a_worker_that_breaks_the_protocol_gets_502_and_is_replaced() {
    let liar = r#"import os, socket, struct
listener = socket.socket(fileno=0)
probe, _ = listener.accept()
probe.recv(1024)
# UNKNOWN_TYPE for the GET_VALUES: "I am here".
probe.sendall(struct.pack("!BBHHBx", 1, 11, 0, 8, 0) + bytes([9]) + b"\0" * 7)
probe.close()
conn, _ = listener.accept()
conn.recv(65536)
conn.sendall(b"HTTP/1.1 200 OK\r\n\r\nnot FastCGI at all")
conn.recv(1)
"#;
    let site = Site::new().file("liar.py", liar);
    let server = site.serve(&["--fastcgi", &site.wsgi("liar", "liar.py"), "--workers", "1"]);
    let res = get(&server, "/pool/liar");
    assert_eq!(res.status, 502);
    wait_for_log(
        &server,
        1,
        &["GET /pool/liar 502", "malformed FastCGI record"],
    );
    wait_for_log(
        &server,
        1,
        &["pool liar: worker", "killed: malformed FastCGI record"],
    );
    wait_for_log(&server, 2, &["pool liar: worker", "started"]);
}

/// A header block over the limit is a 502, like a CGI script's.
#[test]
fn a_header_block_over_the_limit_is_502() {
    let app = r#"def application(environ, start_response):
    start_response("200 OK", [("X-Big", "x" * 70000)])
    return [b"never"]
"#;
    let site = Site::new().file("app.py", app);
    let server = site.serve(&["--wsgi", &site.wsgi("t", "app.py"), "--workers", "1"]);
    let res = get(&server, "/pool/t");
    assert_eq!(res.status, 502);
    assert!(!res.text().contains("never"));
    wait_for_log(&server, 1, &["GET /pool/t 502", "header block over"]);
}

/// The index page shows each pool's workers: pid, state, requests served, age.
#[test]
fn the_index_page_shows_each_pools_workers() {
    let site = Site::new().file("app.py", PID_APP);
    let server = site.serve(&["--wsgi", &site.wsgi("t", "app.py"), "--workers", "1"]);
    let pid = pid_of(&get(&server, "/pool/t"));
    let page = get(&server, "/").text();
    assert!(page.contains("<h2>Worker pools</h2>"), "{page}");
    assert!(page.contains("<a href=\"/pool/t\">t</a>"), "{page}");
    let row = format!("<tr><td>{pid}</td><td>idle</td><td>1</td>");
    assert!(page.contains(&row), "no {row} in {page}");
    // Its memory: RSS, PSS and USS in MiB, a Python worker's being more than nothing.
    let line = page.lines().find(|l| l.starts_with(&row)).unwrap();
    let cells: Vec<f64> = line
        .trim_end_matches("</td></tr>")
        .split("</td><td>")
        .skip(4)
        .map(|c| c.parse().unwrap_or_else(|_| panic!("{c:?} in {line}")))
        .collect();
    assert_eq!(cells.len(), 3, "{line}");
    let (rss, pss, uss) = (cells[0], cells[1], cells[2]);
    assert!(rss >= pss && pss >= uss && uss > 0.0, "{line}");
}

/// `cgilab routes` lists the pools with what runs them.
#[test]
fn routes_lists_the_pools() {
    let site = Site::new().file("app.py", PID_APP);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cgilab"))
        .args(["routes", "--cgi-bin"])
        .arg(site.path("cgi-bin"))
        .args(["--wsgi", &site.wsgi("t", "app.py")])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let row = text
        .lines()
        .find(|l| l.contains("/pool/t "))
        .unwrap_or_default();
    assert!(
        row.contains("pool") && row.contains("wsgi_worker.py app.py:application"),
        "{text}"
    );
}

/// A FastCGI program's STDERR records go to the log, a line each, prefixed with the pool
/// and the worker's pid; a non-zero appStatus shows in the access log line.
#[test]
fn fastcgi_stderr_is_logged_with_the_pool_and_pid() {
    let program = r#"import socket, struct
def record(kind, content):
    return struct.pack("!BBHHBx", 1, kind, 1, len(content), 0) + content
listener = socket.socket(fileno=0)
probe, _ = listener.accept()
probe.recv(1024)
probe.sendall(struct.pack("!BBHHBx", 1, 11, 0, 8, 0) + bytes([9]) + b"\0" * 7)
probe.close()
conn, _ = listener.accept()
while True:
    conn.recv(65536)
    conn.sendall(record(7, b"first problem\nsecond ") + record(7, b"problem\n")
                 + record(6, b"Content-Type: text/plain\r\n\r\nok") + record(6, b"")
                 + record(3, struct.pack("!IB3x", 3, 0)))
"#;
    let site = Site::new().file("errs.py", program);
    let server = site.serve(&["--fastcgi", &site.wsgi("errs", "errs.py"), "--workers", "1"]);
    let res = get(&server, "/pool/errs");
    assert_eq!((res.status, res.text().as_str()), (200, "ok"));
    let first = wait_for_log(&server, 1, &["pool errs pid ", ": first problem"]);
    let second = wait_for_log(&server, 1, &["pool errs pid ", ": second problem"]);
    assert_eq!(first.len() + second.len(), 2, "{first:?} {second:?}");
    wait_for_log(&server, 1, &["GET /pool/errs 200", "exit=3"]);
}
