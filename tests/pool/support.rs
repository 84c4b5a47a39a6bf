//! The harness: a temporary site with WSGI apps, a `cgilab serve` with pool flags over
//! it, and bounded waits on the server's log and processes.

#![allow(dead_code)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use cgilab::client::http::{Req, Response};
use cgilab::client::server_process::ServerProcess;
use tempfile::TempDir;

/// How long to wait for a log line or a process to appear or go away.
pub const WAIT: Duration = Duration::from_secs(20);

/// A WSGI app that says which process answered and echoes its body.
pub const PID_APP: &str = r#"import os
def application(environ, start_response):
    body = environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    return [b"pid=%d\n" % os.getpid(), body]
"#;

/// Sleeps `?secs` (fractions allowed) in its own child process too (to test group kills),
/// then answers with its pid.
pub const SLEEPY_APP: &str = r#"import os, subprocess, time
def application(environ, start_response):
    secs = float(environ.get("QUERY_STRING") or "0")
    if secs:
        # A grandchild in the worker's process group: a timeout must kill it too.
        subprocess.Popen(["sleep", str(secs + 30)])
        time.sleep(secs)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"pid=%d\n" % os.getpid()]
"#;

/// The repository's cgi-bin, with the WSGI twins.
pub fn repo_cgi_bin() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("cgi-bin")
}

/// A temporary directory holding apps and an empty cgi-bin.
pub struct Site {
    pub dir: TempDir,
}

impl Site {
    pub fn new() -> Site {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("cgi-bin")).unwrap();
        Site { dir }
    }

    /// Writes `source` to `name` in the site (before any server starts); `name` may
    /// name a folder, which is made.
    pub fn file(self, name: &str, source: &str) -> Site {
        let path = self.dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, source).unwrap();
        self
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `cgilab serve` on port 0 over this site's cgi-bin with `args`.
    pub fn serve(&self, args: &[&str]) -> ServerProcess {
        serve_with(&self.dir.path().join("cgi-bin"), self.dir.path(), args)
    }

    /// `--wsgi NAME=FILE` for a file of this site.
    pub fn wsgi(&self, name: &str, file: &str) -> String {
        format!("{name}={}", self.path(file).display())
    }
}

/// `cgilab serve` on port 0 with `cgi_bin`, started in `dir`.
pub fn serve_with(cgi_bin: &Path, dir: &Path, args: &[&str]) -> ServerProcess {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cgilab"));
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--cgi-bin"])
        .arg(cgi_bin)
        .args(args)
        .current_dir(dir);
    ServerProcess::start(cmd, WAIT).unwrap_or_else(|e| panic!("{e}"))
}

pub fn get(server: &ServerProcess, target: &str) -> Response {
    server
        .request(&Req::get(target))
        .unwrap_or_else(|e| panic!("{e}"))
}

pub fn post(server: &ServerProcess, target: &str, body: &[u8]) -> Response {
    server
        .request(&Req::post(target, body))
        .unwrap_or_else(|e| panic!("{e}"))
}

/// The pid a PID_APP or SLEEPY_APP response names.
pub fn pid_of(res: &Response) -> u32 {
    let text = res.text();
    let line = text.lines().next().unwrap_or_default();
    line.strip_prefix("pid=")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no pid in {:?}: {text:?}", res.status_line()))
}

/// Waits until `done` holds, or fails the test saying `what`.
pub fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// Log lines containing every one of `words`.
pub fn log_lines(server: &ServerProcess, words: &[&str]) -> Vec<String> {
    server
        .log()
        .into_iter()
        .filter(|l| words.iter().all(|w| l.contains(w)))
        .collect()
}

/// Waits for `n` log lines containing every one of `words`.
pub fn wait_for_log(server: &ServerProcess, n: usize, words: &[&str]) -> Vec<String> {
    let deadline = Instant::now() + WAIT;
    while log_lines(server, words).len() < n {
        if Instant::now() >= deadline {
            // What the server said instead, for whoever reads the failure.
            let log = server.log();
            let log: Vec<String> = log
                .into_iter()
                .filter(|l| !message(l).starts_with("127.0.0.1:"))
                .collect();
            let tail = log[log.len().saturating_sub(40)..].join("\n");
            panic!("timed out waiting for {n} log lines with {words:?}; the log ends:\n{tail}");
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    log_lines(server, words)
}

/// A line of the server's log without the RFC 3339 time it starts with (the whole line
/// if it has none).
pub fn message(line: &str) -> &str {
    cgilab::log::clock::split_time(line).map_or(line, |(_, message)| message)
}

/// Returns once the supervisor has run `n` whole turns of its loop from now on (each
/// turn reaps, kills, retires and starts workers): a turn is asked for with SIGTTOU, and
/// the line it logs for `pool` says it has begun, so the one before has ended. TTOU takes
/// one worker off every pool's target, never the last.
pub fn supervisor_turns(server: &ServerProcess, pool: &str, n: usize) {
    let prefix = format!("pool {pool}: ");
    let words = [prefix.as_str(), "(SIGTTOU)"];
    let seen = log_lines(server, &words).len();
    for turn in 1..=n + 1 {
        // One at a time: signals of one kind sent together merge into one.
        signal(server.pid(), libc::SIGTTOU);
        wait_for_log(server, seen + turn, &words);
    }
}

/// The pids of `pid`'s children (from every thread's `children` list).
pub fn children(pid: u32) -> BTreeSet<u32> {
    let mut out = BTreeSet::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for task in tasks.flatten() {
        if let Ok(list) = std::fs::read_to_string(task.path().join("children")) {
            out.extend(
                list.split_whitespace()
                    .filter_map(|p| p.parse::<u32>().ok()),
            );
        }
    }
    out
}

/// True if `pid` exists and is not a zombie.
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state = stat.rsplit(')').next().unwrap_or("").trim_start();
            !state.starts_with('Z') && !state.starts_with('X')
        }
        Err(_) => false,
    }
}

/// Zombie children of `pid`.
pub fn zombies(pid: u32) -> Vec<u32> {
    children(pid).into_iter().filter(|&c| !alive(c)).collect()
}

/// How many descriptors `pid` has open.
pub fn descriptors(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// Processes whose process group is `pgid`.
pub fn group_members(pgid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // Fields after the command: state ppid pgrp ...
        let fields: Vec<&str> = stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .split_whitespace()
            .collect();
        if fields.get(2).and_then(|g| g.parse::<u32>().ok()) == Some(pgid) && alive(pid) {
            out.push(pid);
        }
    }
    out
}

/// Sends `signal` to `pid`.
pub fn signal(pid: u32, signal: libc::c_int) {
    unsafe {
        libc::kill(pid as libc::pid_t, signal);
    }
}

/// True if `python3` runs; tests of pools need it.
pub fn python3() -> bool {
    Command::new("python3")
        .arg("-c")
        .arg("pass")
        .status()
        .is_ok_and(|s| s.success())
}
