//! `cgilab bench`: its output formats and its refusals, from the command line. Timings
//! are never checked (the machine is shared); only the shape of what is printed.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_cgilab");

/// Runs `cgilab bench ARGS` (bounded by its --duration); fails unless it succeeds, and
/// returns what it printed.
fn bench(args: &[&str]) -> String {
    let out = Command::new(BIN).arg("bench").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

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
