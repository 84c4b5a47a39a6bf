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

/// A WSGI twin whose second worker takes 2 s to import, and which answers 503 until that
/// worker is ready: a request timed while the pool still boots is an error.
const SECOND_WORKER_SLOW: &str = r#"import os, time
here = os.path.dirname(os.path.abspath(__file__))
try:
    os.close(os.open(os.path.join(here, "first"), os.O_CREAT | os.O_EXCL))
except FileExistsError:
    time.sleep(2)
    open(os.path.join(here, "second-ready"), "w").close()

def application(environ, start_response):
    ok = os.path.exists(os.path.join(here, "second-ready"))
    start_response("200 OK" if ok else "503 Service Unavailable", [("Content-Type", "text/plain")])
    return [b"ok\n" if ok else b"a worker is still booting\n"]
"#;

/// A WSGI twin that leaves a file when it is imported.
const LEAVES_A_MARK: &str = r#"import os
open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "imported"), "w").close()

def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"b\n"]
"#;

/// With --cgi-bin, the bench's own server boots only the pools it is asked to load (a
/// twin's pool starts on its first request), and nothing is timed until every worker of
/// a loaded pool is ready, which it says in one line.
#[test]
fn the_bench_measures_a_pool_once_every_worker_is_ready_and_boots_no_other() {
    if Command::new("python3")
        .arg("-c")
        .arg("pass")
        .status()
        .is_err()
    {
        eprintln!("skipped: python3 is not installed");
        return;
    }
    let dir = folder(&[
        ("a_wsgi.py", SECOND_WORKER_SLOW),
        ("b_wsgi.py", LEAVES_A_MARK),
    ]);
    let out = bench_output(&[
        "--cgi-bin",
        dir.path().to_str().unwrap(),
        "--targets",
        "/pool/a",
        "--concurrency",
        "2",
        "--duration",
        "1",
        "--format",
        "csv",
        "--",
        "--workers",
        "2",
    ]);
    let (csv, err) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{csv}\n{err}");
    assert!(dir.path().join("second-ready").exists());
    let waited: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("bench: waited"))
        .collect();
    assert_eq!(waited.len(), 1, "{err}");
    assert!(
        waited[0].ends_with("for every worker of /pool/a (2 ready) before measuring"),
        "{err}"
    );
    assert!(
        !dir.path().join("imported").exists(),
        "pool b was booted, though only /pool/a was loaded"
    );
}

/// A CGI script that appends what it was started with (who started it, its arguments,
/// working directory and environment) to `../starts.log`, one record per start.
const RECORDS_ITS_START: &str = r#"#!/bin/sh
who=$(tr '\0' ' ' < /proc/$PPID/cmdline | cut -d' ' -f2)
record=$(printf 'who=%s\nargv=%s\ncwd=%s\n' "$who" "$*" "$(pwd)"; env | grep -v '^REMOTE_PORT=' | sort)
printf '%s\n---\n' "$record" >> ../starts.log
printf 'Content-Type: text/plain\n\nstarted\n'
"#;

/// The spawn floor starts a script exactly as the server does for the bench's request:
/// the same arguments (a query's search words), working directory and environment
/// (PATH_INFO, the query, the server's port and document root, `--env`), all but the
/// client's port.
#[test]
fn the_floor_starts_a_script_as_the_server_does() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let cgi_bin = dir.path().join("cgi-bin");
    std::fs::create_dir(&cgi_bin).unwrap();
    let script = cgi_bin.join("start.sh");
    std::fs::write(&script, RECORDS_ITS_START).unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    bench(&[
        "--cgi-bin",
        cgi_bin.to_str().unwrap(),
        "--targets",
        "/cgi-bin/start.sh/more/path?one+two",
        "--concurrency",
        "1",
        "--duration",
        "0.2",
        "--max-requests",
        "3",
        "--format",
        "csv",
        "--",
        "--env",
        "FROM_SERVE_ARGS=yes",
    ]);
    let log = std::fs::read_to_string(dir.path().join("starts.log")).unwrap();
    let first = |who: &str| -> Vec<String> {
        let record = log
            .split("---\n")
            .find(|r| r.starts_with(&format!("who={who}\n")))
            .unwrap_or_else(|| panic!("no start by `cgilab {who}` in:\n{log}"));
        record.lines().skip(1).map(String::from).collect()
    };
    let (served, floor) = (first("serve"), first("bench"));
    assert!(served.contains(&"argv=one two".to_string()), "{served:#?}");
    assert!(
        served.contains(&"PATH_INFO=/more/path".to_string()),
        "{served:#?}"
    );
    assert!(
        served.contains(&"FROM_SERVE_ARGS=yes".to_string()),
        "{served:#?}"
    );
    assert_eq!(served, floor);
}

/// Runs `/app/hello` alone at concurrency 1 for at most `most` requests, in `format`.
fn hello_at_most(most: &str, format: &str) -> String {
    bench(&[
        "--duration",
        "2",
        "--concurrency",
        "1",
        "--max-requests",
        most,
        "--targets",
        "/app/hello",
        "--format",
        format,
    ])
}

/// A percentile needs 1/(1-p) requests (p90: 10, p99: 100): from fewer, nothing lies
/// above it. A few requests give a median, and a p90 and p99 that the table marks `*`
/// with a footnote, the CSV leaves empty and the JSON gives as null.
#[test]
fn percentiles_a_small_sample_cannot_support_are_marked() {
    let table = hello_at_most("5", "table");
    let row = table
        .lines()
        .find(|l| l.contains("/app/hello"))
        .unwrap_or_else(|| panic!("{table}"));
    let cells: Vec<&str> = row.split('┆').map(str::trim).collect();
    // server, target, mode, conc, requests, req/s, mean, p50, p90, p99, max, errors
    assert!(!cells[7].ends_with('*'), "p50 of 5: {row}");
    assert!(cells[8].ends_with('*') && cells[9].ends_with('*'), "{row}");
    assert!(!cells[10].ends_with('*'), "the max is what it says: {row}");
    assert!(
        table.contains(
            "\n* from too few requests to be that percentile (p50 needs 2, p90 10, p99 100)"
        ),
        "{table}"
    );
    let csv = hello_at_most("5", "csv");
    let fields: Vec<&str> = csv.lines().nth(1).unwrap_or_default().split(',').collect();
    let n: usize = fields[4].parse().unwrap_or_else(|_| panic!("{csv}"));
    assert!((2..10).contains(&n), "at most 5 requests, in turns: {csv}");
    assert!(!fields[7].is_empty(), "p50: {csv}");
    assert_eq!((fields[8], fields[9]), ("", ""), "p90 and p99: {csv}");
    let json = hello_at_most("5", "json");
    assert!(
        json.contains("\"p90_ms\":null,\"p99_ms\":null,\"max_ms\":"),
        "{json}"
    );
}

/// Enough requests for every percentile: no mark, no footnote, every field filled. The
/// run is bounded by --max-requests and --duration, so the count is read, and the rule
/// checked against it.
#[test]
fn percentiles_a_sample_supports_are_printed_as_they_are() {
    let csv = hello_at_most("150", "csv");
    let fields: Vec<&str> = csv.lines().nth(1).unwrap_or_default().split(',').collect();
    let n: usize = fields[4].parse().unwrap_or_else(|_| panic!("{csv}"));
    assert!(n >= 10, "fewer than 10 gateway calls in 2 s: {csv}");
    assert!(!fields[8].is_empty(), "p90 of {n}: {csv}");
    assert_eq!(fields[9].is_empty(), n < 100, "p99 of {n}: {csv}");
    if n >= 100 {
        let table = hello_at_most("150", "table");
        assert!(!table.contains('*'), "{table}");
    }
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
