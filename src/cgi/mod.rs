//! The CGI host (RFC 3875): a fresh process for every request.
//!
//! Read this file next to the RFC. A request goes through these steps, in this order:
//!
//! 1. The meta-variables (§4.1) become the script's whole environment; the caller builds
//!    them with [`crate::request::environ::build`], the same function the gateway uses.
//! 2. The command line (§4.4, §7.2, [`command`](mod@command)): the script, or its interpreter and the
//!    script, plus the search words of an `isindex`-style query. The working directory
//!    is the script's.
//! 3. The request body goes to stdin (§4.2) while stdout and stderr are read, all three at
//!    once in one `poll` loop ([`crate::process::pipes`]), so a script that writes before
//!    it reads cannot deadlock.
//! 4. The header block is parsed (§6, [`crate::request::cgi_response`]) and the status chosen.
//! 5. The body streams to the client as the script writes it, in bounded memory.
//! 6. The script is reaped, and its exit status decides how the response ends: a script
//!    that failed after its body started gets a cut connection, never a complete-looking
//!    response. What it left running in its group is killed.
//!
//! `--timeout` is a wall-clock limit over all of it: the pipes are polled with the time
//! that remains, and a client that stops reading has its connection cut at the deadline
//! ([`watchdog`]). Then the script, its group, and its pid (in case it left the group)
//! are killed: 504 if nothing was sent yet, else a cut connection.
//!
//! `nph-` scripts (§5) skip steps 4 and 5: what they write goes to the client unchanged.
//!
//! [`run`] is the walk; each step below it is a function named for what it does.

pub mod command;
pub mod script;
pub mod watchdog;

pub use command::{command, search_words};

use std::io;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use tiny_http::Request;

use crate::http::body::Body;
use crate::http::response::{self, BodyWriter, Framing};
use crate::measure::timing::Timing;
use crate::process::child::{self, Ended, Running};
use crate::process::pipes::{Output, Pipes};
use crate::process::slots::Slot;
use crate::request::cgi_response::{self, CgiResponse, MAX_HEADER_BLOCK};
use crate::request::environ::Environ;
use crate::request::error::RequestError;
use crate::request::outcome::{Failed, Outcome, Sent};
use script::Script;

/// How long a failed script may go on writing to stderr before it is killed.
const CLEANUP_GRACE: Duration = Duration::from_secs(2);
/// The size of one read from the script's stdout.
const READ_SIZE: usize = 16 * 1024;

/// One script run: everything but the HTTP request.
pub struct Job<'a> {
    pub script: &'a Script,
    pub env: &'a Environ,
    pub query: &'a str,
    pub body: Body,
    pub timeout: Duration,
}

/// A running script with what the walk needs at every step.
struct Run<'a> {
    name: &'a str,
    process: Running,
    pipes: Pipes,
    buf: Vec<u8>,
    deadline: Instant,
    timeout: Duration,
}

/// Runs `job` for `request`, holding `slot` until the script is reaped.
pub fn run(job: Job<'_>, request: Request, slot: Slot, timing: &mut Timing) -> Outcome {
    let name = job.script.name.as_str();

    // Steps 1 and 2: the environment and the command line; spawn.
    let spawn_started = Instant::now();
    let child = match spawn(&job) {
        Ok(child) => child,
        Err(cause) => {
            let script = name.to_string();
            let error = RequestError::SpawnFailed { script, cause };
            return Failed { error, request }.into();
        }
    };
    timing.spawn = Some(spawn_started.elapsed());

    // Step 3: stdin is fed while stdout and stderr are read, from here to the end.
    let mut process = Running::new(child, slot);
    let pipes = Pipes::new(&mut process, job.body, name);
    let mut run = Run {
        name,
        process,
        pipes,
        buf: vec![0u8; READ_SIZE],
        deadline: Instant::now() + job.timeout,
        timeout: job.timeout,
    };
    if job.script.nph {
        return pass_through(run, request);
    }

    // Step 4: read the header block, parse it, choose the status.
    let (block, (block_len, body_start)) = match read_header_block(&mut run) {
        Ok(block) => block,
        Err(error) => return Failed { error, request }.into(),
    };
    let parsed = match cgi_response::parse(&block[..block_len]) {
        Ok(parsed) => parsed,
        Err(why) => {
            return Failed {
                error: run.bad_output(why),
                request,
            }
            .into();
        }
    };
    timing.mark_headers();
    let mut head = match parsed {
        CgiResponse::Document(head) => head,
        CgiResponse::LocalRedirect(location) => {
            run.reap();
            return Outcome::LocalRedirect { location, request };
        }
    };
    head.headers.push(timing.header());

    // Step 5: stream the body as the script writes it (not at all for HEAD: the script
    // gets SIGPIPE when it writes), with its own Content-Length if it gave one.
    let head_only = *request.method() == tiny_http::Method::Head;
    let framing = head.content_length.map_or(Framing::Stream, Framing::Length);
    let closer = request.connection_closer();
    let mut out = response::start(request, head.status, &head.headers, framing, false);
    let mut error = if head_only {
        None
    } else {
        let _watch = closer.map(|c| watchdog::watch(run.deadline, c));
        stream_body(
            &mut run,
            &block[body_start..],
            &mut out,
            head.content_length,
        )
    };

    // Step 6: reap; how the script ended decides how the response ends.
    let ended = run.reap();
    if error.is_none() && !head_only {
        error = run.failure(ended);
    }
    let bytes = if error.is_some() {
        out.abort()
    } else {
        out.finish().unwrap_or_else(|_| {
            error = Some(client_gone());
            0
        })
    };
    Outcome::Sent(Sent {
        status: head.status,
        bytes,
        error,
        exit: child::describe_failure(ended),
    })
}

/// Steps 1 and 2: spawns the script with its command line, environment and pipes.
fn spawn(job: &Job<'_>) -> io::Result<Child> {
    let mut cmd = command(job.script, job.env, job.query);
    cmd.stdin(if job.body.is_empty() {
        Stdio::null()
    } else {
        Stdio::piped()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    cmd.spawn()
}

/// Step 4: reads stdout until the header block is complete. Returns what was read and
/// where the block ends and the body starts; a script that says nothing, stops inside the
/// block or writes too large a one is a bad gateway (502), one too slow a timeout (504).
fn read_header_block(run: &mut Run<'_>) -> Result<(Vec<u8>, (usize, usize)), RequestError> {
    let mut head = Vec::new();
    let why = loop {
        match run.pipes.read_stdout(&mut run.buf, run.deadline) {
            Output::Data(n) => {
                head.extend_from_slice(&run.buf[..n]);
                if let Some(end) = cgi_response::find_end(&head) {
                    return Ok((head, end));
                }
                if head.len() > MAX_HEADER_BLOCK {
                    break format!("header block over {} KiB", MAX_HEADER_BLOCK / 1024);
                }
            }
            Output::Eof if head.is_empty() => break "no output".to_string(),
            Output::Eof => break "output ended inside the header block".to_string(),
            Output::Timeout => {
                return Err(run.timed_out());
            }
        }
    };
    Err(run.bad_output(why))
}

/// Step 5: sends `first` and then whatever the script writes, until it closes stdout
/// (or exits, and what it left behind had its grace). Returns what cut the body short, if
/// anything: the client gone, the timeout, or a body that does not match the script's
/// `Content-Length`; each kills the script's process group.
fn stream_body(
    run: &mut Run<'_>,
    first: &[u8],
    out: &mut BodyWriter,
    length: Option<u64>,
) -> Option<RequestError> {
    let mut sent = 0u64;
    let mut send = |run: &mut Run<'_>, data: &[u8]| -> Option<RequestError> {
        sent += data.len() as u64;
        if length.is_some_and(|n| sent > n) {
            let n = length.unwrap_or_default();
            return Some(run.cut(format!("body longer than its Content-Length {n}")));
        }
        if out.write(data).is_err() {
            run.process.kill_group();
            // Past the deadline the watchdog cut the connection: that is the timeout.
            if Instant::now() >= run.deadline {
                return Some(run.timeout_error());
            }
            return Some(client_gone());
        }
        None
    };
    if let Some(e) = send(run, first) {
        return Some(e);
    }
    // The buffer is taken out of `run` for the loop, so `send` can borrow `run` whole.
    let mut buf = std::mem::take(&mut run.buf);
    let ended = loop {
        match run.pipes.read_stdout(&mut buf, run.deadline) {
            Output::Data(n) => {
                if let Some(e) = send(run, &buf[..n]) {
                    break Some(e);
                }
            }
            Output::Eof => break None,
            Output::Timeout => break Some(run.timed_out()),
        }
    };
    run.buf = buf;
    if ended.is_some() {
        return ended;
    }
    match length {
        Some(n) if sent < n => Some(run.cut(format!(
            "body of {sent} bytes is shorter than its Content-Length {n}"
        ))),
        _ => None,
    }
}

/// §5: an nph script's output goes to the client as it is. Nothing is sent before the
/// script writes something, so a silent script still gets a proper 502 or 504.
fn pass_through(mut run: Run<'_>, request: Request) -> Outcome {
    let first = match run.pipes.read_stdout(&mut run.buf, run.deadline) {
        Output::Data(n) => run.buf[..n].to_vec(),
        Output::Eof => {
            let error = run.bad_output("no output".to_string());
            return Failed { error, request }.into();
        }
        Output::Timeout => {
            let error = run.timed_out();
            return Failed { error, request }.into();
        }
    };
    let status = nph_status(&first);
    let closer = request.connection_closer();
    let mut out = response::raw(request);
    let mut error = {
        let _watch = closer.map(|c| watchdog::watch(run.deadline, c));
        stream_body(&mut run, &first, &mut out, None)
    };
    let ended = run.reap();
    if error.is_none() {
        error = run.failure(ended);
    }
    let bytes = out.sent;
    if error.is_some() {
        out.abort();
    }
    Outcome::Sent(Sent {
        status,
        bytes,
        error,
        exit: child::describe_failure(ended),
    })
}

impl Run<'_> {
    /// Step 6: closes the pipes, logs the rest of stderr, waits for the script to exit
    /// (at the deadline it is killed), kills what is left of its group, and reaps it.
    fn reap(&mut self) -> Ended {
        self.pipes.finish(self.deadline);
        self.process.finish(self.deadline)
    }

    /// The error for output that is not a CGI response; the script gets a short grace
    /// (never past the deadline) to finish its stderr and exit, then is killed and reaped.
    fn bad_output(&mut self, why: String) -> RequestError {
        let grace = self.deadline.min(Instant::now() + CLEANUP_GRACE);
        self.pipes.finish(grace);
        // Still running at the deadline: that, not the output, is what went wrong. (Asked
        // before reaping: closing stderr may just have killed it with SIGPIPE.)
        if grace == self.deadline && Instant::now() >= grace && !self.pipes.exited() {
            return self.timed_out();
        }
        self.process.finish(grace);
        RequestError::BadOutput {
            script: self.name.to_string(),
            why,
        }
    }

    /// Output that breaks its own framing after the response started: the script is
    /// killed and the connection will be cut.
    fn cut(&mut self, why: String) -> RequestError {
        self.process.kill_group();
        RequestError::BadOutput {
            script: self.name.to_string(),
            why: format!("{why}; connection cut"),
        }
    }

    /// What a script that did not exit with status 0 did to a response already started.
    fn failure(&self, ended: Ended) -> Option<RequestError> {
        match ended {
            Ended::Exited(status) if status.success() => None,
            Ended::Killed => Some(self.timeout_error()),
            Ended::Exited(_) => Some(RequestError::BadOutput {
                script: self.name.to_string(),
                why: format!(
                    "ended with {} after its body started; connection cut",
                    child::describe(ended)
                ),
            }),
        }
    }

    /// At the deadline: kills the script, its group and its pid, logs what stderr held,
    /// reaps it.
    fn timed_out(&mut self) -> RequestError {
        self.process.kill_group();
        let now = Instant::now();
        self.pipes.finish(now);
        self.process.finish(now);
        self.timeout_error()
    }

    fn timeout_error(&self) -> RequestError {
        RequestError::Timeout {
            script: self.name.to_string(),
            secs: self.timeout.as_secs_f64(),
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nph_status_reads_the_status_line() {
        assert_eq!(nph_status(b"HTTP/1.1 201 Created\r\n"), 201);
        assert_eq!(nph_status(b"garbage"), 0);
    }
}
