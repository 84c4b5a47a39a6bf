//! `cgilab timeline`: a real server with a pool, sent `HUP`, its real log read back and
//! drawn. Only the shape is checked: how many workers, which generation, the mark.

use std::process::Command;
use std::time::{Duration, Instant};

use cgilab::client::ServerProcess;

const BIN: &str = env!("CARGO_BIN_EXE_cgilab");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const SVG: &str = "http://www.w3.org/2000/svg";

/// Waits up to 60 s (Python boots slowly on a busy machine) until the log holds `n`
/// lines containing `what`.
fn wait_for(server: &ServerProcess, what: &str, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let have = server.log().iter().filter(|l| l.contains(what)).count();
        if have >= n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{have} of {n} lines with `{what}`:\n{}",
            server.log().join("\n")
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn timeline(log: &std::path::Path, svg: &std::path::Path) -> std::process::Output {
    Command::new(BIN)
        .arg("timeline")
        .arg(log)
        .arg("--svg")
        .arg(svg)
        .output()
        .unwrap()
}

/// Two workers, a `HUP`, two new workers, the old two retired: four rows, two per
/// generation, the old ones ended, and the reload marked.
#[test]
fn a_reload_is_drawn_from_the_log_of_a_server_that_was_hupped() {
    let mut cmd = Command::new(BIN);
    cmd.args([
        "serve",
        "--no-lab",
        "--listen",
        "127.0.0.1:0",
        "--workers",
        "2",
        "--wsgi",
        &format!("w={ROOT}/cgi-bin/hello_wsgi.py"),
    ]);
    let server = ServerProcess::start(cmd, Duration::from_secs(30)).unwrap();
    wait_for(&server, " started (", 2);
    unsafe { libc::kill(server.pid() as libc::pid_t, libc::SIGHUP) };
    wait_for(&server, "(reloaded,", 2);
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("server.log");
    std::fs::write(&log, server.log().join("\n") + "\n").unwrap();
    drop(server);

    let svg = dir.path().join("reload.svg");
    let out = timeline(&log, &svg);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!(
            "pool w: 4 workers in 2 generations, 1 reload\ndrawn in {}\n",
            svg.display()
        )
    );
    let text = std::fs::read_to_string(&svg).unwrap();
    let doc = roxmltree::Document::parse(&text).unwrap();
    let workers: Vec<roxmltree::Node> = doc
        .descendants()
        .filter(|n| n.has_tag_name((SVG, "g")) && n.attribute("class") == Some("worker"))
        .collect();
    let generations: Vec<&str> = workers
        .iter()
        .map(|w| w.attribute("data-generation").unwrap())
        .collect();
    assert_eq!(generations, ["0", "0", "1", "1"], "old rows first");
    // The old workers end in a tick that says why; the new ones still ran.
    for (i, w) in workers.iter().enumerate() {
        let ended = w.descendants().any(|n| {
            n.has_tag_name((SVG, "title")) && n.text().is_some_and(|t| t.contains("(reloaded,"))
        });
        assert_eq!(ended, i < 2, "row {i}: {text}");
    }
    let marks: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name((SVG, "g")) && n.attribute("class") == Some("signal"))
        .flat_map(|g| {
            g.descendants()
                .filter(|n| n.is_text())
                .filter_map(|n| n.text())
        })
        .collect();
    assert_eq!(marks, ["HUP"]);
}

/// A log with no worker lines, or none at all, is a clear error and no file.
#[test]
fn a_log_without_workers_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("server.log");
    std::fs::write(
        &log,
        "2026-12-06T12:40:11.148Z cgilab: listening on http://127.0.0.1:8000\n",
    )
    .unwrap();
    let svg = dir.path().join("out.svg");
    let out = timeline(&log, &svg);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no worker lines"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!svg.exists());
    let missing = timeline(&dir.path().join("none.log"), &svg);
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("cannot read the log"));
}
