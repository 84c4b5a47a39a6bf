//! The test harness: a site of fixture scripts, the real `cgilab` binary serving it, a raw
//! HTTP/1.1 client, and bounded waits on the server's log and on processes.
//!
//! A test reads as a sentence:
//!
//! ```ignore
//! let server = Site::new().script("hi.sh", HELLO).start();
//! let res = server.get("/cgi-bin/hi.sh");
//! assert_eq!(res.status, 200);
//! ```
//!
//! Every wait here is bounded, every socket has a read timeout, and every server is killed
//! (by its PID) and reaped when its `Server` is dropped, so no test can hang or leak one.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, BufRead, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use cgilab::client::ServerProcess;
use tempfile::TempDir;

/// The longest any single client read may block.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(20);
/// How long to wait for a log line, a file or a process to appear or go away.
pub const WAIT: Duration = Duration::from_secs(15);

/// The smallest well-formed script: a header block, a blank line, a body.
pub const HELLO: &str = "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\nHello, world!\\n'\n";
/// Prints its environment, one `NAME=value` line each, as the body.
pub const ENV_ECHO: &str = "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n'\nexec env\n";

/// Held while a fixture file is open for writing and while a process is spawned, so that no
/// child forked by another test thread inherits a write descriptor to a script, which would
/// make running that script fail with "Text file busy".
static SPAWN_LOCK: Mutex<()> = Mutex::new(());

fn spawn_lock() -> MutexGuard<'static, ()> {
    SPAWN_LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// Writes `text` to `path` with `mode`, under the spawn lock.
pub fn write_file(path: &Path, text: &[u8], mode: u32) {
    let _guard = spawn_lock();
    fs::write(path, text).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

/// Spawns `cmd` under the spawn lock.
pub fn spawn(cmd: &mut Command) -> Child {
    let _guard = spawn_lock();
    cmd.spawn().expect("spawning a process")
}

/// A temporary site: `ROOT/cgi-bin` holds the scripts, `ROOT/state` is where scripts leave
/// pid files and markers (they find it as `$STATE_DIR`). Built before the server starts.
pub struct Site {
    dir: TempDir,
    args: Vec<String>,
    server_env: Vec<(String, String)>,
    /// Shell commands run before the server is exec'd (`ulimit`, `trap`), as a launcher
    /// would.
    launcher: Vec<String>,
    /// Where the server's standard output goes (by default nowhere).
    stdout: Option<PathBuf>,
}

impl Default for Site {
    fn default() -> Self {
        Site::new()
    }
}

impl Site {
    /// An empty cgi-bin and state directory.
    pub fn new() -> Site {
        let dir = tempfile::Builder::new()
            .prefix("cgilab-it-")
            .tempdir()
            .expect("a temporary directory");
        fs::create_dir(dir.path().join("cgi-bin")).unwrap();
        fs::create_dir(dir.path().join("state")).unwrap();
        Site {
            dir,
            args: Vec::new(),
            server_env: Vec::new(),
            launcher: Vec::new(),
            stdout: None,
        }
    }

    /// The site's root (the parent of cgi-bin).
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// The cgi-bin directory.
    pub fn cgi_bin(&self) -> PathBuf {
        self.dir.path().join("cgi-bin")
    }

    /// An executable script in cgi-bin.
    pub fn script(self, name: &str, text: &str) -> Site {
        self.file(name, text.as_bytes(), 0o755)
    }

    /// A file in cgi-bin with the given mode.
    pub fn file(self, name: &str, text: &[u8], mode: u32) -> Site {
        write_file(&self.cgi_bin().join(name), text, mode);
        self
    }

    /// Anything else the site needs (symlinks, directories), given the site's root. Files
    /// written here go through [`write_file`].
    pub fn with(self, build: impl FnOnce(&Path)) -> Site {
        build(self.dir.path());
        self
    }

    /// One more command-line argument for `cgilab serve`.
    pub fn arg(mut self, arg: &str) -> Site {
        self.args.push(arg.to_string());
        self
    }

    /// `--timeout SECS`.
    pub fn timeout(self, secs: &str) -> Site {
        self.arg("--timeout").arg(secs)
    }

    /// `--read-timeout SECS`.
    pub fn read_timeout(self, secs: &str) -> Site {
        self.arg("--read-timeout").arg(secs)
    }

    /// A variable in the server's own environment.
    pub fn server_env(mut self, name: &str, value: &str) -> Site {
        self.server_env.push((name.to_string(), value.to_string()));
        self
    }

    /// Sends the server's standard output to the file `path`.
    pub fn stdout_to(mut self, path: &Path) -> Site {
        self.stdout = Some(path.to_path_buf());
        self
    }

    /// Starts the server under `ulimit -n LIMIT`.
    pub fn fd_limit(mut self, limit: u32) -> Site {
        self.launcher.push(format!("ulimit -n {limit}"));
        self
    }

    /// Starts the server with `signals` ignored, as `nohup` leaves SIGHUP and a shell's
    /// `&` SIGINT and SIGQUIT; an ignored signal stays ignored across `exec`.
    pub fn launcher_ignores(mut self, signals: &[&str]) -> Site {
        self.launcher.push(format!("trap '' {}", signals.join(" ")));
        self
    }

    /// Starts `cgilab serve` on a free port and waits until it listens.
    pub fn start(self) -> Server {
        let bin = env!("CARGO_BIN_EXE_cgilab");
        let state = self.dir.path().join("state");
        let mut args: Vec<String> = vec![
            "serve".into(),
            "--listen".into(),
            "127.0.0.1:0".into(),
            "--cgi-bin".into(),
            self.cgi_bin().to_string_lossy().into_owned(),
            "--env".into(),
            format!("STATE_DIR={}", state.display()),
        ];
        args.extend(self.args.iter().cloned());
        let mut cmd = if self.launcher.is_empty() {
            Command::new(bin)
        } else {
            let mut cmd = Command::new("sh");
            cmd.arg("-c")
                .arg(format!(
                    "{} && exec \"$0\" \"$@\"",
                    self.launcher.join(" && ")
                ))
                .arg(bin);
            cmd
        };
        let stdout = match &self.stdout {
            Some(path) => Stdio::from(fs::File::create(path).expect("the stdout file")),
            None => Stdio::null(),
        };
        cmd.args(&args)
            .envs(self.server_env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(Stdio::piped());
        let child = spawn(&mut cmd);
        let process = ServerProcess::watch(child, WAIT)
            .unwrap_or_else(|e| panic!("the server did not start: {e}"));
        Server {
            process,
            site: self,
        }
    }
}

/// A running `cgilab serve`; killed and reaped when dropped.
pub struct Server {
    process: ServerProcess,
    site: Site,
}

impl Server {
    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.process.addr
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.process.addr.port()
    }

    /// The site's root directory (canonical).
    pub fn root(&self) -> PathBuf {
        self.site.root().canonicalize().unwrap()
    }

    /// The cgi-bin directory (canonical).
    pub fn cgi_bin(&self) -> PathBuf {
        self.site.cgi_bin().canonicalize().unwrap()
    }

    /// Where scripts leave pid files and markers.
    pub fn state(&self) -> PathBuf {
        self.root().join("state")
    }

    /// Drops a script into cgi-bin while the server runs.
    pub fn add_script(&self, name: &str, text: &str) {
        write_file(&self.site.cgi_bin().join(name), text.as_bytes(), 0o755);
    }

    /// True while the server process is running.
    pub fn is_running(&mut self) -> bool {
        self.process.is_running()
    }

    /// A new connection to the server.
    pub fn connect(&self) -> Conn {
        Conn::open(self.addr())
    }

    /// `GET target` on a new connection that closes after the response.
    pub fn get(&self, target: &str) -> Response {
        self.connect()
            .request("GET", target, &[("Connection", "close")], b"")
    }

    /// Sends raw bytes on a new connection and reads one response (not to a HEAD request).
    pub fn raw(&self, bytes: &[u8]) -> Response {
        let mut conn = self.connect();
        conn.send(bytes);
        conn.response()
    }

    /// Every line the server has written to stderr so far, without the time each one
    /// starts with; a line without one fails the test.
    pub fn log(&self) -> Vec<String> {
        self.process
            .log()
            .iter()
            .map(|l| message(l).to_string())
            .collect()
    }

    /// Every line the server has written to stderr so far, as written.
    pub fn timed_log(&self) -> Vec<String> {
        self.process.log()
    }

    /// The log as one string, for failure messages.
    pub fn log_text(&self) -> String {
        self.log().join("\n")
    }

    /// Waits (bounded) for a log line matching `pred`; panics with the log if none comes.
    pub fn wait_log(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(line) = self.log().into_iter().find(|l| pred(l)) {
                return line;
            }
            if Instant::now() > deadline {
                panic!(
                    "no log line {what} within {WAIT:?}; log:\n{}",
                    self.log_text()
                );
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for the access log line of `METHOD TARGET`.
    pub fn access_line(&self, method: &str, target: &str) -> String {
        let needle = format!(" {method} {target} ");
        self.wait_log(&format!("for `{method} {target}`"), |l| {
            l.starts_with("127.0.0.1:") && l.contains(&needle) && l.contains(" mode=")
        })
    }
}

/// A line of the server's log without the RFC 3339 time it starts with; panics if it has
/// none, since every line must.
pub fn message(line: &str) -> &str {
    match cgilab::log::clock::split_time(line) {
        Some((_, message)) => message,
        None => panic!("a log line without its time: {line:?}"),
    }
}

/// A response as received: the library's client response (status, headers, body, text)
/// with what these tests also ask of it.
#[derive(Debug, Clone)]
pub struct Response(pub cgilab::client::Response);

impl std::ops::Deref for Response {
    type Target = cgilab::client::Response;

    fn deref(&self) -> &cgilab::client::Response {
        &self.0
    }
}

impl Response {
    /// Every value of header `name`.
    pub fn headers_named(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The body parsed as `env` output.
    pub fn env(&self) -> BTreeMap<String, String> {
        env_map(&self.body)
    }
}

/// Parses `NAME=value` lines (the output of `env`) into a map.
pub fn env_map(body: &[u8]) -> BTreeMap<String, String> {
    String::from_utf8_lossy(body)
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

/// A raw HTTP/1.1 client connection: sends arbitrary bytes, parses responses.
pub struct Conn {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    /// Connects, with a read timeout so no read blocks for long.
    pub fn open(addr: SocketAddr) -> Conn {
        Conn::try_open(addr).expect("connecting")
    }

    /// Connects, or says why not.
    pub fn try_open(addr: SocketAddr) -> io::Result<Conn> {
        Conn::from_stream(TcpStream::connect_timeout(&addr, CLIENT_TIMEOUT)?)
    }

    /// A connection opened some other way (from another local address, say).
    pub fn from_stream(stream: TcpStream) -> io::Result<Conn> {
        stream.set_read_timeout(Some(CLIENT_TIMEOUT))?;
        stream.set_write_timeout(Some(CLIENT_TIMEOUT))?;
        Ok(Conn {
            stream,
            buf: Vec::new(),
        })
    }

    /// The client's own port.
    pub fn local_port(&self) -> u16 {
        self.stream.local_addr().unwrap().port()
    }

    /// Sends bytes as they are.
    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("sending to the server");
    }

    /// Sends bytes, reporting a failure (the server closed the connection) instead of
    /// panicking.
    pub fn try_send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)
    }

    /// Whatever the server has sent so far, waiting at most 50 ms for it.
    pub fn take_available(&mut self) -> io::Result<Vec<u8>> {
        self.stream
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let mut chunk = [0u8; 4096];
        let got = match self.stream.read(&mut chunk) {
            Ok(n) => Ok(chunk[..n].to_vec()),
            Err(e)
                if e.kind() == io::ErrorKind::WouldBlock || e.kind() == io::ErrorKind::TimedOut =>
            {
                Ok(Vec::new())
            }
            Err(e) => Err(e),
        };
        self.stream.set_read_timeout(Some(CLIENT_TIMEOUT)).unwrap();
        got
    }

    /// Sends a request, adding `Host` unless given and, for a body, `Content-Length`.
    pub fn send_request(
        &mut self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) {
        let mut req = format!("{method} {target} HTTP/1.1\r\n");
        if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("Host")) {
            req.push_str("Host: 127.0.0.1\r\n");
        }
        for (n, v) in headers {
            req.push_str(&format!("{n}: {v}\r\n"));
        }
        if !body.is_empty() {
            req.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        req.push_str("\r\n");
        let mut bytes = req.into_bytes();
        bytes.extend_from_slice(body);
        self.send(&bytes);
    }

    /// Sends a request and reads its response.
    pub fn request(
        &mut self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Response {
        self.send_request(method, target, headers, body);
        if method == "HEAD" {
            self.head_response()
        } else {
            self.response()
        }
    }

    /// Sends `METHOD target` and reads its response, or says why there was none.
    pub fn try_response_to(&mut self, method: &str, target: &str) -> io::Result<Response> {
        self.send_request(method, target, &[], b"");
        self.try_response(method == "HEAD")
    }

    /// `GET target` on this (keep-alive) connection.
    pub fn get(&mut self, target: &str) -> Response {
        self.request("GET", target, &[], b"")
    }

    /// Reads one response; panics if it cannot.
    pub fn response(&mut self) -> Response {
        self.try_response(false).expect("reading a response")
    }

    /// Reads one response to a HEAD request (no body).
    pub fn head_response(&mut self) -> Response {
        self.try_response(true).expect("reading a response to HEAD")
    }

    /// Reads one response with the library's response reader, or says why not.
    pub fn try_response(&mut self, head: bool) -> io::Result<Response> {
        cgilab::client::read_response(self, head).map(Response)
    }

    /// Exactly `n` bytes.
    pub fn take(&mut self, n: usize) -> io::Result<Vec<u8>> {
        while self.buf.len() < n {
            if self.fill()? == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("connection closed after {} of {n} bytes", self.buf.len()),
                ));
            }
        }
        Ok(self.buf.drain(..n).collect())
    }

    /// Everything until the server closes the connection.
    pub fn read_to_close(&mut self) -> io::Result<Vec<u8>> {
        while self.fill()? > 0 {}
        Ok(std::mem::take(&mut self.buf))
    }

    /// Reads until `needle` has arrived (it stays buffered); returns when it did.
    pub fn read_until(&mut self, needle: &[u8]) -> io::Result<Instant> {
        let deadline = Instant::now() + CLIENT_TIMEOUT;
        while find(&self.buf, needle).is_none() {
            if Instant::now() > deadline {
                return Err(io::Error::new(io::ErrorKind::TimedOut, "needle never came"));
            }
            if self.fill()? == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "connection closed before the needle",
                ));
            }
        }
        Ok(Instant::now())
    }

    /// True if the server closes the connection (EOF or reset) within `within`; bytes it
    /// sends meanwhile (a 408, say) are read and dropped.
    pub fn closed_within(&mut self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        self.stream
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let mut chunk = [0u8; 4096];
        let closed = loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => break true,
                Ok(_) => {}
                Err(e)
                    if e.kind() == io::ErrorKind::WouldBlock
                        || e.kind() == io::ErrorKind::TimedOut => {}
                Err(_) => break true,
            }
            if Instant::now() > deadline {
                break false;
            }
        };
        self.stream.set_read_timeout(Some(CLIENT_TIMEOUT)).unwrap();
        closed
    }

    /// Closes both directions now.
    pub fn close(self) {
        let _ = self.stream.shutdown(Shutdown::Both);
    }

    fn fill(&mut self) -> io::Result<usize> {
        let mut chunk = [0u8; 64 * 1024];
        let n = self.stream.read(&mut chunk)?;
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n)
    }
}

/// The response reader reads through the bytes the connection has buffered.
impl Read for Conn {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = self.fill_buf()?.len().min(out.len());
        out[..n].copy_from_slice(&self.buf[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for Conn {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.buf.is_empty() {
            self.fill()?;
        }
        Ok(&self.buf)
    }

    fn consume(&mut self, n: usize) {
        self.buf.drain(..n);
    }
}

/// Where `needle` first occurs in `hay`.
pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Polls `cond` every 20 ms until it holds or `within` passes; true if it held.
pub fn eventually(within: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// Waits for a script to write its pid to `path`, and reads it.
pub fn read_pid_file(path: &Path) -> u32 {
    let mut pid = None;
    let found = eventually(WAIT, || {
        pid = fs::read_to_string(path)
            .ok()
            .and_then(|s| s.trim().parse().ok());
        pid.is_some()
    });
    assert!(found, "no pid in {} within {WAIT:?}", path.display());
    pid.unwrap()
}

/// The state letter and parent pid of a process, from `/proc/PID/stat`.
pub fn proc_state(pid: u32) -> Option<(char, u32)> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) S ppid ...`; comm may hold spaces and parentheses.
    let after = &stat[stat.rfind(')')? + 1..];
    let mut fields = after.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    Some((state, ppid))
}

/// True once a process no longer runs: it is gone, or a zombie nobody reaped yet.
pub fn process_gone(pid: u32) -> bool {
    match proc_state(pid) {
        None => true,
        Some((state, _)) => state == 'Z' || state == 'X',
    }
}

/// Children of `parent` that are zombies.
pub fn zombie_children(parent: u32) -> Vec<u32> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| proc_state(pid).is_some_and(|(s, ppid)| ppid == parent && s == 'Z'))
        .collect()
}

/// How many descriptors a process has open.
pub fn fd_count(pid: u32) -> usize {
    fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// What a finished `cgilab` command line did.
pub struct Exit {
    pub status: ExitStatus,
    pub stderr: String,
}

/// Runs `cgilab ARGS` to completion (bounded: it is killed past `WAIT`).
pub fn run_cli(args: &[&str]) -> Exit {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cgilab"));
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = spawn(&mut cmd);
    let mut stderr = child.stderr.take().unwrap();
    let reader = thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let deadline = Instant::now() + WAIT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGKILL) };
            let _ = child.wait();
            panic!("cgilab {args:?} did not exit within {WAIT:?}");
        }
        thread::sleep(Duration::from_millis(20));
    };
    Exit {
        status,
        stderr: reader.join().unwrap(),
    }
}

/// Sends `signal` to the process `pid` (one the test started).
pub fn signal(pid: u32, signal: libc::c_int) {
    unsafe { libc::kill(pid as libc::pid_t, signal) };
}
