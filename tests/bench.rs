//! `cgilab bench`: its output formats, its refusals, the runs it must call failed, other
//! servers beside its own, and its chart, from the command line; and servers that lie
//! about their bodies ([`hostile`]). Timings are never checked (the machine is shared);
//! only the shape of what is printed.

use std::process::{Command, Output};
use std::time::Duration;

use cgilab::client::ServerProcess;

#[path = "bench/hostile.rs"]
mod hostile;

const BIN: &str = env!("CARGO_BIN_EXE_cgilab");

/// Runs `cgilab bench ARGS` (bounded by its --duration) and returns how it ended.
fn bench_output(args: &[&str]) -> Output {
    Command::new(BIN).arg("bench").args(args).output().unwrap()
}

/// Runs `cgilab bench ARGS`; fails unless it succeeds, and returns what it printed.
fn bench(args: &[&str]) -> String {
    let out = bench_output(args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A folder holding `files` (name, text), written before anything is spawned.
fn folder(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

/// A WSGI app under Python's wsgiref server, which speaks HTTP/1.0 and closes every
/// connection: at `/` a body of two pieces with no Content-Length, so each response ends
/// with the close; at `/one` one piece, which wsgiref gives a Content-Length.
const WSGIREF_CLOSE: &str = r#"
import sys
from wsgiref.simple_server import make_server, WSGIRequestHandler
class Quiet(WSGIRequestHandler):
    def log_message(self, *args): pass
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    if environ["PATH_INFO"] == "/one":
        return [b"Hello, world!\n"]
    return iter([b"Hello, ", b"world!\n"])
server = make_server("127.0.0.1", 0, app, handler_class=Quiet)
print("listening on http://127.0.0.1:%d" % server.server_port, file=sys.stderr, flush=True)
server.serve_forever()
"#;

/// `cgilab bench` prints one CSV row per target and concurrency (timings not checked).
#[test]
fn bench_csv_has_a_row_per_target_and_concurrency() {
    let text = bench(&[
        "--duration",
        "0.3",
        "--concurrency",
        "1,2",
        "--targets",
        "/app/hello,/raw",
        "--format",
        "csv",
    ]);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "server,target,mode,concurrency,requests,req_per_s,mean_ms,p50_ms,p90_ms,p99_ms,max_ms,errors,unexpected,statuses"
    );
    assert_eq!(lines.len(), 5, "{text}");
    assert!(lines[1].starts_with("cgilab,/app/hello,gateway,1,"));
    assert!(lines[4].starts_with("cgilab,/raw,server,2,"));
    for l in &lines[1..] {
        assert!(l.contains(",0,0,200="), "errors in {l}");
    }
}

/// A target that answers 500 makes the run fail, in a line of its own, after the report,
/// whose CSV carries the count; the good target's row shows none.
#[test]
fn a_target_answering_500_fails_the_run_and_says_so() {
    let out = bench_output(&[
        "--duration",
        "0.3",
        "--concurrency",
        "1",
        "--targets",
        "/app/hello,/app/status?code=500",
        "--format",
        "csv",
    ]);
    assert!(!out.status.success());
    let csv = String::from_utf8(out.stdout).unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows.len(), 3, "{csv}");
    assert!(rows[1].contains(",0,0,200="), "{csv}");
    let bad: Vec<&str> = rows[2].split(',').collect();
    assert_eq!(bad[1], "/app/status?code=500");
    assert_eq!(bad[11], "0", "no transport errors: {csv}");
    assert_eq!(bad[12], bad[4], "every response unexpected: {csv}");
    assert!(bad[13].starts_with("500="), "{csv}");
    assert!(
        err.lines().any(
            |l| l.starts_with("bench: cgilab /app/status?code=500 at concurrency 1: ")
                && l.contains("were errors (500=")
        ),
        "{err}"
    );
    assert!(
        err.contains("cgilab: error: 1 of 2 runs answered errors or unexpected statuses"),
        "{err}"
    );
    // Progress is for a terminal: into a pipe, nothing but the failure is said.
    assert_eq!(err.lines().count(), 2, "{err}");
}

/// A script the bench's own server does not have is refused before any load, with what
/// to do; given --cgi-bin, the server runs the learner's script.
#[test]
fn the_own_server_loads_scripts_from_cgi_bin() {
    let out = bench_output(&["--duration", "0.2", "--targets", "/cgi-bin/mine.sh"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("pass --cgi-bin"), "{err}");
    let dir = folder(&[(
        "mine.sh",
        "printf 'Content-Type: text/plain\\n\\nmine\\n'\n",
    )]);
    let text = bench(&[
        "--duration",
        "0.3",
        "--concurrency",
        "1",
        "--cgi-bin",
        dir.path().to_str().unwrap(),
        "--targets",
        "/cgi-bin/mine.sh,/app/hello",
        "--format",
        "csv",
    ]);
    assert!(text.contains("\ncgilab,/cgi-bin/mine.sh,cgi,1,"), "{text}");
}

/// What follows `--` reaches the bench's own `cgilab serve`: here an --env that the
/// script answers 200 with, and 500 without.
#[test]
fn serve_arguments_after_a_double_dash_reach_the_own_server() {
    let dir = folder(&[(
        "env.sh",
        "if [ \"$BENCH_SAYS\" = yes ]; then printf 'Content-Type: text/plain\\n\\nyes\\n'; \
         else printf 'Status: 500 Internal Server Error\\n\\n'; fi\n",
    )]);
    let args = |extra: &[&'static str]| {
        let mut a = vec![
            "--duration",
            "0.2",
            "--concurrency",
            "1",
            "--cgi-bin",
            dir.path().to_str().unwrap(),
            "--targets",
            "/cgi-bin/env.sh",
            "--format",
            "csv",
        ];
        a.extend(extra);
        a.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let run = |a: Vec<String>| {
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        bench_output(&a)
    };
    assert!(!run(args(&[])).status.success());
    let out = run(args(&["--", "--env", "BENCH_SAYS=yes"]));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A close-delimited HTTP/1.0 server (wsgiref) is loaded in the same run as the bench's
/// own, read to each close without errors, and its rows carry its label, not a cgilab mode.
#[test]
fn a_close_delimited_server_is_read_and_labelled_as_itself() {
    let dir = folder(&[("close.py", WSGIREF_CLOSE)]);
    let mut cmd = Command::new("python3");
    cmd.arg(dir.path().join("close.py"));
    let wsgiref = ServerProcess::start(cmd, Duration::from_secs(10)).unwrap();
    let close = format!("wsgiref=http://{}/", wsgiref.addr);
    let length = format!("wsgiref=http://{}/one", wsgiref.addr);
    let text = bench(&[
        "--duration",
        "0.5",
        "--concurrency",
        "1,2",
        "--targets",
        "/app/hello",
        "--url",
        &close,
        "--url",
        &length,
        "--format",
        "csv",
    ]);
    let rows: Vec<&str> = text.lines().skip(1).collect();
    assert_eq!(rows.len(), 6, "{text}");
    let theirs: Vec<&&str> = rows.iter().filter(|r| r.starts_with("wsgiref,/")).collect();
    assert_eq!(theirs.len(), 4, "{text}");
    for row in theirs {
        let f: Vec<&str> = row.split(',').collect();
        assert_eq!(f[2], "external", "{row}");
        assert!(f[4].parse::<u64>().unwrap() > 0, "{row}");
        assert_eq!((f[11], f[12]), ("0", "0"), "{row}");
    }
}

/// `--chart` writes an SVG that is well-formed XML, with one series per target.
#[test]
fn the_chart_is_an_svg_with_a_series_per_target() {
    let dir = tempfile::tempdir().unwrap();
    let chart = dir.path().join("latency.svg");
    bench(&[
        "--duration",
        "0.2",
        "--concurrency",
        "1,2",
        "--targets",
        "/cgi-bin/hello.sh,/app/hello,/raw",
        "--chart",
        chart.to_str().unwrap(),
    ]);
    // Python's XML parser is the judge of well-formedness.
    let check = "import sys, xml.etree.ElementTree as ET\n\
                 root = ET.parse(sys.argv[1]).getroot()\n\
                 ns = '{http://www.w3.org/2000/svg}'\n\
                 assert root.tag == ns + 'svg', root.tag\n\
                 for g in root.iter(ns + 'g'):\n\
                 \x20   if g.get('class') == 'series':\n\
                 \x20       print(g.get('data-target'), len(g.findall(ns + 'circle')))\n";
    let out = Command::new("python3")
        .args(["-c", check])
        .arg(&chart)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "/cgi-bin/hello.sh 2\n/app/hello 2\n/raw 2\n"
    );
}

/// `--chart-phases` draws each target's `Server-Timing` as one bar of pieces: the CGI
/// script's spawn and headers, the gateway's call; a server that sends no such header
/// gets a row that says so.
#[test]
fn the_phase_chart_draws_each_targets_server_timing() {
    let dir = tempfile::tempdir().unwrap();
    let chart = dir.path().join("phases.svg");
    bench(&[
        "--duration",
        "0.2",
        "--concurrency",
        "1",
        "--targets",
        "/cgi-bin/hello.sh,/app/hello",
        "--chart-phases",
        chart.to_str().unwrap(),
    ]);
    let text = std::fs::read_to_string(&chart).unwrap();
    let doc = roxmltree::Document::parse(&text).unwrap();
    let svg = "http://www.w3.org/2000/svg";
    assert!(doc.root_element().has_tag_name((svg, "svg")));
    let rows: Vec<(String, Vec<String>)> = doc
        .descendants()
        .filter(|n| n.has_tag_name((svg, "g")) && n.attribute("class") == Some("series"))
        .map(|g| {
            let pieces = g
                .descendants()
                .filter_map(|n| n.attribute("data-phase"))
                .map(String::from)
                .collect();
            (g.attribute("data-target").unwrap().to_string(), pieces)
        })
        .collect();
    assert_eq!(rows.len(), 2, "{text}");
    assert_eq!(rows[0].0, "/cgi-bin/hello.sh");
    for phase in ["spawn", "headers"] {
        assert!(rows[0].1.iter().any(|p| p == phase), "{rows:?}");
    }
    assert_eq!(rows[1].0, "/app/hello");
    assert!(rows[1].1.iter().all(|p| p == "call" || p == "rest") && !rows[1].1.is_empty());
}

/// The table and JSON formats carry the cost comparison and the server's peak RSS.
#[test]
fn bench_table_and_json_report_costs_and_rss() {
    let run = |format: &str| {
        bench(&[
            "--duration",
            "0.3",
            "--concurrency",
            "1",
            "--targets",
            "/cgi-bin/hello.sh,/app/hello",
            "--format",
            format,
        ])
    };
    let table = run("table");
    for column in [
        "process cost ms",
        "cgi mean ms",
        "cgi p50 ms",
        "floor p50 ms",
    ] {
        assert!(table.contains(column), "{column}: {table}");
    }
    assert!(table.contains("server peak RSS:"), "{table}");
    let json = run("json");
    assert!(
        json.starts_with("{\"runs\":[{\"server\":\"cgilab\",\"target\":\"/cgi-bin/hello.sh\""),
        "{json}"
    );
    assert!(
        json.contains("\"spawn_floors\":[{\"target\":\"/cgi-bin/hello.sh\",\"mean_ms\":"),
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
    fails(
        &["--url", "http://127.0.0.1:9", "--cgi-bin", "."],
        "--cgi-bin and the `serve` arguments",
    );
}
