//! The CGI host (RFC 3875): a fresh process for every request.
//!
//! Read this file next to the RFC. A request goes through these steps, in this order:
//!
//! 1. The meta-variables (§4.1) become the script's whole environment; the caller builds
//!    them with [`crate::request::environ::build`], the same function the gateway uses.
//! 2. The command line (§4.4, §7.2): the script, or its interpreter and the script, plus
//!    the search words of an `isindex`-style query. The working directory is the script's.
//! 3. The request body goes to stdin (§4.2) while stdout and stderr are read, all three at
//!    once in one `poll` loop, so a script that writes before it reads cannot deadlock.
//! 4. The header block is parsed (§6, [`crate::request::cgi_response`]) and the status chosen.
//! 5. The body streams to the client as the script writes it, in bounded memory.
//! 6. The script is reaped. At `--timeout` its whole process group is killed.
//!
//! `nph-` scripts (§5) skip steps 4 and 5: what they write goes to the client unchanged.

pub mod script;

use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::process::{ChildStderr, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use tiny_http::Request;

use crate::cgi::script::Script;
use crate::http::body::Body;
use crate::http::response::{self, Framing};
use crate::measure::timing::Timing;
use crate::process::child::{Running, Slot};
use crate::process::poll;
use crate::request::cgi_response::{self, CgiResponse, MAX_HEADER_BLOCK};
use crate::request::environ::Environ;
use crate::request::error::RequestError;
use crate::request::outcome::{Failed, Outcome, Sent};
use crate::request::percent;

/// How long a failed script may go on writing to stderr before it is killed.
const CLEANUP_GRACE: Duration = Duration::from_secs(2);

/// One script run: everything but the HTTP request.
pub struct Job<'a> {
    pub script: &'a Script,
    pub env: &'a Environ,
    pub query: &'a str,
    pub body: Body,
    pub timeout: Duration,
}

/// Runs `job` for `request`, holding `slot` until the script is reaped.
pub fn run(job: Job<'_>, request: Request, slot: Slot, timing: &mut Timing) -> Outcome {
    let name = job.script.name.clone();
    let deadline = Instant::now() + job.timeout;
    let timeout_error = || RequestError::Timeout {
        script: name.clone(),
        secs: job.timeout.as_secs_f64(),
    };

    // Steps 1 and 2: environment, command line, spawn.
    let mut cmd = command(job.script, job.env, job.query);
    cmd.stdin(if job.body.is_empty() {
        Stdio::null()
    } else {
        Stdio::piped()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let spawn_started = Instant::now();
    let child = match cmd.spawn() {
        Ok(child) => child,
        Err(cause) => {
            let error = RequestError::SpawnFailed {
                script: name,
                cause,
            };
            return Failed { error, request }.into();
        }
    };
    timing.spawn = Some(spawn_started.elapsed());
    let mut process = Running::new(child, slot);
    let mut pipes = Pipes::new(&mut process, job.body, &name);
    let mut buf = vec![0u8; 16 * 1024];

    if job.script.nph {
        return pass_through(
            request,
            &mut process,
            &mut pipes,
            &mut buf,
            deadline,
            timeout_error,
        );
    }

    // Step 3 and 4: read until the header block is complete, then parse it.
    let mut head = Vec::new();
    let (block_len, body_start) = loop {
        let why = match pipes.read_stdout(&mut buf, deadline) {
            Output::Data(n) => {
                head.extend_from_slice(&buf[..n]);
                if let Some(end) = cgi_response::find_end(&head) {
                    break end;
                }
                if head.len() <= MAX_HEADER_BLOCK {
                    continue;
                }
                format!("header block over {} KiB", MAX_HEADER_BLOCK / 1024)
            }
            Output::Eof if head.is_empty() => "no output".to_string(),
            Output::Eof => "output ended inside the header block".to_string(),
            Output::Timeout => {
                process.kill_group();
                let error = timeout_error();
                return Failed { error, request }.into();
            }
        };
        pipes.finish(&mut process, Instant::now() + CLEANUP_GRACE);
        let error = RequestError::BadOutput { script: name, why };
        return Failed { error, request }.into();
    };
    let parsed = match cgi_response::parse(&head[..block_len]) {
        Ok(parsed) => parsed,
        Err(why) => {
            pipes.finish(&mut process, Instant::now() + CLEANUP_GRACE);
            let error = RequestError::BadOutput { script: name, why };
            return Failed { error, request }.into();
        }
    };
    timing.mark_headers();
    let mut head_fields = match parsed {
        CgiResponse::Document(head) => head,
        CgiResponse::LocalRedirect(location) => {
            pipes.finish(&mut process, deadline);
            return Outcome::LocalRedirect { location, request };
        }
    };
    head_fields.headers.push(timing.header());

    // Step 5: stream the body as the script writes it.
    let status = head_fields.status;
    let head_only = *request.method() == tiny_http::Method::Head;
    let mut out = response::start(
        request,
        status,
        &head_fields.headers,
        Framing::Stream,
        false,
    );
    let mut error = None;
    let mut data = &head[body_start..];
    loop {
        if head_only {
            break; // The body is not wanted: stop reading, the script gets SIGPIPE.
        }
        if out.write(data).is_err() {
            process.kill_group();
            error = Some(client_gone());
            break;
        }
        match pipes.read_stdout(&mut buf, deadline) {
            Output::Data(n) => data = &buf[..n],
            Output::Eof => break,
            Output::Timeout => {
                process.kill_group();
                error = Some(timeout_error());
                break;
            }
        }
    }
    let bytes = if error.is_some() {
        out.abort()
    } else {
        out.finish().unwrap_or_else(|_| {
            error = Some(client_gone());
            0
        })
    };

    // Step 6: reap.
    pipes.finish(&mut process, deadline);
    Outcome::Sent(Sent {
        status,
        bytes,
        error,
    })
}

/// §5: an nph script's output goes to the client as it is. Nothing is sent before the
/// script writes something, so a silent script still gets a proper 502 or 504.
fn pass_through(
    request: Request,
    process: &mut Running,
    pipes: &mut Pipes,
    buf: &mut [u8],
    deadline: Instant,
    timeout_error: impl Fn() -> RequestError,
) -> Outcome {
    let mut n = match pipes.read_stdout(buf, deadline) {
        Output::Data(n) => n,
        Output::Eof => {
            pipes.finish(process, Instant::now() + CLEANUP_GRACE);
            let why = "no output".to_string();
            let error = RequestError::BadOutput {
                script: pipes.name.clone(),
                why,
            };
            return Failed { error, request }.into();
        }
        Output::Timeout => {
            process.kill_group();
            let error = timeout_error();
            return Failed { error, request }.into();
        }
    };
    let status = nph_status(&buf[..n]);
    let mut out = response::raw(request);
    let mut error = None;
    loop {
        if out.write(&buf[..n]).is_err() {
            process.kill_group();
            error = Some(client_gone());
            break;
        }
        match pipes.read_stdout(buf, deadline) {
            Output::Data(m) => n = m,
            Output::Eof => break,
            Output::Timeout => {
                process.kill_group();
                error = Some(timeout_error());
                break;
            }
        }
    }
    let bytes = out.sent;
    if error.is_some() {
        out.abort();
    }
    pipes.finish(process, deadline);
    Outcome::Sent(Sent {
        status,
        bytes,
        error,
    })
}

/// The status code from an nph script's status line (`HTTP/1.1 200 OK`), for the log.
fn nph_status(first: &[u8]) -> u16 {
    let line = first.split(|&b| b == b'\n').next().unwrap_or_default();
    let code = line.split(|&b| b == b' ').nth(1).unwrap_or_default();
    std::str::from_utf8(code)
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

fn client_gone() -> RequestError {
    RequestError::Io {
        context: "client went away mid-response; script killed",
        cause: io::ErrorKind::BrokenPipe.into(),
    }
}

/// §4.4 and §7.2: the command line, environment and working directory.
pub fn command(script: &Script, env: &Environ, query: &str) -> Command {
    let mut cmd = match script.interpreter {
        Some(interpreter) => {
            let mut cmd = Command::new(crate::cgi::script::interpreter_path(interpreter));
            cmd.arg(&script.path);
            cmd
        }
        None => Command::new(&script.path),
    };
    cmd.args(search_words(query))
        .env_clear()
        .envs(env.iter())
        .process_group(0);
    if let Some(dir) = script.path.parent() {
        cmd.current_dir(dir);
    }
    cmd
}

/// §4.4: a query with no unencoded `=` is a list of search words, passed as arguments.
pub fn search_words(query: &str) -> Vec<String> {
    if query.is_empty() || query.contains('=') {
        return Vec::new();
    }
    let words: Option<Vec<String>> = query
        .split('+')
        .map(|w| {
            let bytes = percent::decode(w)?;
            String::from_utf8(bytes).ok().filter(|s| !s.contains('\0'))
        })
        .collect();
    // §4.4: if a word cannot be decoded, no arguments are passed at all.
    words.unwrap_or_default()
}

/// What one wait on stdout gave.
enum Output {
    Data(usize),
    Eof,
    Timeout,
}

/// The script's three pipes, served by one `poll` loop.
struct Pipes {
    stdin: Option<Feeder>,
    stdout: Option<ChildStdout>,
    stderr: Option<ChildStderr>,
    stderr_line: Vec<u8>,
    name: String,
}

/// The request body on its way into the script's stdin.
struct Feeder {
    pipe: ChildStdin,
    body: Box<dyn Read + Send>,
    buf: Vec<u8>,
    pos: usize,
}

impl Pipes {
    fn new(process: &mut Running, body: Body, name: &str) -> Pipes {
        let child = process.child();
        let stdin = child.stdin.take().map(|pipe| {
            // Non-blocking, so a script that stops reading cannot stall the loop.
            poll::set_nonblocking(pipe.as_raw_fd());
            Feeder {
                pipe,
                body: body.into_reader(),
                buf: Vec::new(),
                pos: 0,
            }
        });
        Pipes {
            stdin,
            stdout: child.stdout.take(),
            stderr: child.stderr.take(),
            stderr_line: Vec::new(),
            name: name.to_string(),
        }
    }

    /// Waits for stdout data until `deadline`, feeding stdin and logging stderr meanwhile.
    fn read_stdout(&mut self, buf: &mut [u8], deadline: Instant) -> Output {
        loop {
            let Some(stdout) = &self.stdout else {
                return Output::Eof;
            };
            // At most three descriptors: no allocation on this per-read path.
            let mut fds = [poll::want(stdout.as_raw_fd(), libc::POLLIN); 3];
            let mut n = 1;
            if let Some(err) = &self.stderr {
                fds[n] = poll::want(err.as_raw_fd(), libc::POLLIN);
                n += 1;
            }
            if let Some(feeder) = &self.stdin {
                fds[n] = poll::want(feeder.pipe.as_raw_fd(), libc::POLLOUT);
                n += 1;
            }
            let fds = &mut fds[..n];
            let remaining = deadline.saturating_duration_since(Instant::now());
            if poll::poll(fds, Some(remaining)) == 0 {
                return Output::Timeout;
            }
            let ready = |fd: i32| fds.iter().any(|p| p.fd == fd && p.revents != 0);
            if self.stderr.as_ref().is_some_and(|e| ready(e.as_raw_fd())) {
                self.drain_stderr_once();
            }
            if self
                .stdin
                .as_ref()
                .is_some_and(|f| ready(f.pipe.as_raw_fd()))
            {
                self.feed_stdin();
            }
            if ready(fds[0].fd) {
                let stdout = self.stdout.as_mut().expect("polled above");
                return match stdout.read(buf) {
                    Ok(0) | Err(_) => {
                        self.stdout = None;
                        Output::Eof
                    }
                    Ok(n) => Output::Data(n),
                };
            }
        }
    }

    /// Writes as much of the body as the pipe takes now; closes stdin at the end.
    fn feed_stdin(&mut self) {
        let Some(feeder) = &mut self.stdin else {
            return;
        };
        loop {
            if feeder.pos == feeder.buf.len() {
                feeder.buf.resize(64 * 1024, 0);
                match feeder.body.read(&mut feeder.buf) {
                    Ok(0) | Err(_) => {
                        self.stdin = None; // EOF for the script
                        return;
                    }
                    Ok(n) => {
                        feeder.buf.truncate(n);
                        feeder.pos = 0;
                    }
                }
            }
            match feeder.pipe.write(&feeder.buf[feeder.pos..]) {
                Ok(n) => feeder.pos += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(_) => {
                    // The script closed stdin or exited: it does not want the rest.
                    self.stdin = None;
                    return;
                }
            }
        }
    }

    /// Reads what stderr has and logs each complete line, prefixed with the script name.
    fn drain_stderr_once(&mut self) {
        let Some(stderr) = &mut self.stderr else {
            return;
        };
        let mut chunk = [0u8; 4096];
        match stderr.read(&mut chunk) {
            Ok(0) | Err(_) => {
                self.stderr = None;
                self.log_stderr_line();
            }
            Ok(n) => {
                for &b in &chunk[..n] {
                    if b == b'\n' || self.stderr_line.len() >= 4096 {
                        self.log_stderr_line();
                    }
                    if b != b'\n' {
                        self.stderr_line.push(b);
                    }
                }
            }
        }
    }

    fn log_stderr_line(&mut self) {
        if !self.stderr_line.is_empty() {
            let line = String::from_utf8_lossy(&self.stderr_line);
            let line = line.trim_end_matches('\r');
            eprintln!("stderr {}: {}", self.name, line.escape_debug());
            self.stderr_line.clear();
        }
    }

    /// Closes stdout and stdin, logs the rest of stderr, and reaps the script; at
    /// `deadline` its process group is killed.
    fn finish(&mut self, process: &mut Running, deadline: Instant) {
        self.stdout = None;
        self.stdin = None;
        while let Some(stderr) = &self.stderr {
            let mut fd = [poll::want(stderr.as_raw_fd(), libc::POLLIN)];
            let remaining = deadline.saturating_duration_since(Instant::now());
            if poll::poll(&mut fd, Some(remaining)) == 0 {
                process.kill_group();
                self.stderr = None;
                break;
            }
            self.drain_stderr_once();
        }
        process.wait_until(deadline);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_words_come_from_queries_without_equals() {
        assert_eq!(search_words("a+b%20c"), ["a", "b c"]);
        assert!(search_words("a=1").is_empty());
        assert!(search_words("").is_empty());
        assert!(search_words("ok+%zz").is_empty());
    }

    #[test]
    fn nph_status_reads_the_status_line() {
        assert_eq!(nph_status(b"HTTP/1.1 201 Created\r\n"), 201);
        assert_eq!(nph_status(b"garbage"), 0);
    }
}
