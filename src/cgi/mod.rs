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
use crate::http::response;
use crate::measure::timing::Timing;
use crate::process::child::{self, Ended, Running};
use crate::process::pipes::{Output, Pipes};
use crate::process::slots::Slot;
use crate::relay::{self, Done, Reply, Settled, Source};
use crate::request::cgi_response::{self, CgiResponse, MAX_HEADER_BLOCK};
use crate::request::environ::Environ;
use crate::request::error::{Origin, RequestError};
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

    // Steps 5 and 6: the relay streams the body as the script writes it (not at all for
    // HEAD: the script gets SIGPIPE when it writes) and ends the response as the script
    // ended: reaped, its exit status decides whether the response is whole.
    let closer = request.connection_closer();
    let _watch = closer.map(|c| watchdog::watch(run.deadline, c));
    let reply = Reply {
        head,
        first: block[body_start..].to_vec(),
        whole: false,
    };
    Outcome::Sent(relay::relay(request, reply, &mut run))
}

impl Source for Run<'_> {
    fn origin(&self) -> Origin {
        Origin::Cgi(self.name.to_string())
    }

    fn next(&mut self) -> Result<Option<&[u8]>, RequestError> {
        match self.pipes.read_stdout(&mut self.buf, self.deadline) {
            Output::Data(n) => Ok(Some(&self.buf[..n])),
            Output::Eof => Ok(None),
            Output::Timeout => Err(self.timed_out()),
        }
    }

    fn settle(&mut self, done: Done) -> Settled {
        if done == Done::Abandoned {
            self.process.kill_group();
        }
        let ended = self.reap();
        Settled {
            error: match done {
                Done::Ended => self.failure(ended),
                Done::Unwanted | Done::Abandoned => None,
            },
            exit: child::describe_failure(ended),
        }
    }

    fn client_gone(&mut self) -> RequestError {
        self.process.kill_group();
        // Past the deadline the watchdog cut the connection: that is the timeout.
        if Instant::now() >= self.deadline {
            return self.timeout_error();
        }
        relay::client_gone()
    }
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
    let _watch = closer.map(|c| watchdog::watch(run.deadline, c));
    let mut error = out.write(&first).is_err().then(|| run.client_gone());
    while error.is_none() {
        let wrote = match run.next() {
            Ok(Some(piece)) => out.write(piece).is_ok(),
            Ok(None) => break,
            Err(e) => {
                error = Some(e);
                break;
            }
        };
        if !wrote {
            error = Some(run.client_gone());
        }
    }
    let done = if error.is_some() {
        Done::Abandoned
    } else {
        Done::Ended
    };
    let settled = run.settle(done);
    let error = error.or(settled.error);
    let bytes = out.sent;
    if error.is_some() {
        out.abort();
    }
    Outcome::Sent(Sent {
        status,
        bytes,
        error,
        exit: settled.exit,
        // The script wrote its head itself; the server did not read it.
        headers: Vec::new(),
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
            origin: self.origin(),
            why,
        }
    }

    /// What a script that did not exit with status 0 did to a response already started.
    fn failure(&self, ended: Ended) -> Option<RequestError> {
        match ended {
            Ended::Exited(status) if status.success() => None,
            Ended::Killed => Some(self.timeout_error()),
            Ended::Exited(_) => Some(RequestError::BadOutput {
                origin: self.origin(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nph_status_reads_the_status_line() {
        assert_eq!(nph_status(b"HTTP/1.1 201 Created\r\n"), 201);
        assert_eq!(nph_status(b"garbage"), 0);
    }
}
