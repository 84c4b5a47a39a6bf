//! The harness: a temporary site holding the test app, a `cgilab serve --embed` over it,
//! raw connections, and bounded waits on the server's log.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use cgilab::client::http::{Req, Response};
use cgilab::client::server_process::ServerProcess;
use tempfile::TempDir;

/// How long to wait for a log line, a server or a response.
pub const WAIT: Duration = Duration::from_secs(20);

/// The test app: one route per rule checked.
pub const APP: &str = include_str!("app.py");

/// The app, checked on every call by the standard library's WSGI validator.
pub const VALIDATED: &str = "from wsgiref.validate import validator\n\
                             from app import application as unchecked\n\
                             application = validator(unchecked)\n";

/// The repository's cgi-bin, with the WSGI twins.
pub fn repo_cgi_bin() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("cgi-bin")
}

/// A temporary directory holding apps and an empty cgi-bin.
pub struct Site {
    pub dir: TempDir,
}

impl Site {
    /// The test app as `app.py`.
    pub fn new() -> Site {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("cgi-bin")).unwrap();
        std::fs::write(dir.path().join("app.py"), APP).unwrap();
        Site { dir }
    }

    /// Writes `source` to `name` (before any server starts).
    pub fn file(self, name: &str, source: &str) -> Site {
        std::fs::write(self.dir.path().join(name), source).unwrap();
        self
    }

    /// `--embed NAME=FILE` for a file of this site.
    pub fn embed(&self, name: &str, file: &str) -> String {
        format!("{name}={}", self.dir.path().join(file).display())
    }

    /// `cgilab serve` on port 0 over this site's empty cgi-bin (so no pools) with the
    /// test app embedded as `t`, and `args`.
    pub fn serve(&self, args: &[&str]) -> ServerProcess {
        let app = self.embed("t", "app.py");
        let mut all = vec!["--embed", app.as_str()];
        all.extend_from_slice(args);
        serve_with(&self.dir.path().join("cgi-bin"), self.dir.path(), &all)
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

/// Waits for `n` log lines containing every one of `words`; returns them.
pub fn wait_for_log(server: &ServerProcess, n: usize, words: &[&str]) -> Vec<String> {
    let deadline = Instant::now() + WAIT;
    loop {
        let lines = log_lines(server, words);
        if lines.len() >= n {
            return lines;
        }
        if Instant::now() >= deadline {
            let log = server.log();
            let tail = log[log.len().saturating_sub(40)..].join("\n");
            panic!("timed out waiting for {n} log lines with {words:?}; the log ends:\n{tail}");
        }
        std::thread::sleep(Duration::from_millis(20));
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

/// Waits until `done` holds, or fails the test saying `what`.
pub fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A raw keep-alive connection, for what the one-shot client cannot do: read a response
/// as it streams, or leave in the middle of one.
pub struct Conn {
    reader: BufReader<TcpStream>,
}

impl Conn {
    pub fn open(server: &ServerProcess) -> Conn {
        let stream = TcpStream::connect(server.addr).unwrap();
        stream.set_read_timeout(Some(WAIT)).unwrap();
        Conn {
            reader: BufReader::new(stream),
        }
    }

    /// Sends a request head for `target` with `method`.
    pub fn send(&mut self, method: &str, target: &str) {
        let head = format!("{method} {target} HTTP/1.1\r\nHost: t\r\n\r\n");
        self.reader.get_mut().write_all(head.as_bytes()).unwrap();
    }

    /// Reads lines up to and including the blank line after the head.
    pub fn head(&mut self) -> Vec<String> {
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            self.reader.read_line(&mut line).unwrap();
            let line = line.trim_end().to_string();
            if line.is_empty() {
                return lines;
            }
            lines.push(line);
        }
    }

    /// Reads one chunk of a chunked body: its data, or `None` at the last chunk.
    pub fn chunk(&mut self) -> Option<Vec<u8>> {
        let mut size = String::new();
        self.reader.read_line(&mut size).unwrap();
        let n = usize::from_str_radix(size.trim(), 16)
            .unwrap_or_else(|_| panic!("not a chunk size: {size:?}"));
        let mut data = vec![0; n + 2];
        self.reader.read_exact(&mut data).unwrap();
        data.truncate(n);
        (n > 0).then_some(data)
    }

    /// Reads until the server closes the connection; returns what came.
    pub fn rest(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        let _ = self.reader.read_to_end(&mut out);
        out
    }
}

/// How many threads and descriptors `pid` has.
pub fn threads_and_fds(pid: u32) -> (usize, usize) {
    let count = |dir: String| std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0);
    (
        count(format!("/proc/{pid}/task")),
        count(format!("/proc/{pid}/fd")),
    )
}
