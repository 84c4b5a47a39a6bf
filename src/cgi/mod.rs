//! The CGI host (RFC 3875): a fresh process for every request.
//!
//! Read this file next to the RFC. A request goes through these steps, in this order:
//!
//! 1. The meta-variables (§4.1) become the script's whole environment; the caller builds
//!    them with [`crate::request::environ::build`], the same function the gateway uses.
//! 2. The command line (§4.4, §7.2): the script, or its interpreter and the script, plus
//!    the search words of an `isindex`-style query. The working directory is the script's.
//! 3. The request body goes to stdin (§4.2) while stdout and stderr are read, all three at
//!    once in one `poll` loop ([`crate::process::pipes`]), so a script that writes before
//!    it reads cannot deadlock.
//! 4. The header block is parsed (§6, [`crate::request::cgi_response`]) and the status chosen.
//! 5. The body streams to the client as the script writes it, in bounded memory.
//! 6. The script is reaped. At `--timeout` its whole process group is killed.
//!
//! `nph-` scripts (§5) skip steps 4 and 5: what they write goes to the client unchanged.

//!
//! [`run`] is the walk; each step below it is a function named for what it does.

pub mod script;

use std::io;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tiny_http::Request;

use crate::http::body::Body;
use crate::http::response::{self, BodyWriter, Framing};
use crate::measure::timing::Timing;
use crate::process::child::{Running, Slot};
use crate::process::pipes::{Output, Pipes};
use crate::request::cgi_response::{self, CgiResponse, MAX_HEADER_BLOCK};
use crate::request::environ::Environ;
use crate::request::error::RequestError;
use crate::request::outcome::{Failed, Outcome, Sent};
use crate::request::percent;
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
    // gets SIGPIPE when it writes).
    let head_only = *request.method() == tiny_http::Method::Head;
    let mut out = response::start(request, head.status, &head.headers, Framing::Stream, false);
    let mut error = if head_only {
        None
    } else {
        stream_body(&mut run, &block[body_start..], &mut out)
    };
    let bytes = if error.is_some() {
        out.abort()
    } else {
        out.finish().unwrap_or_else(|_| {
            error = Some(client_gone());
            0
        })
    };

    // Step 6: reap.
    run.reap();
    Outcome::Sent(Sent {
        status: head.status,
        bytes,
        error,
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
                run.process.kill_group();
                return Err(run.timeout_error());
            }
        }
    };
    Err(run.bad_output(why))
}

/// Step 5: sends `first` and then whatever the script writes, until it closes stdout.
/// Returns what cut the body short, if anything: the client gone or the timeout, each
/// of which kills the script's process group.
fn stream_body(run: &mut Run<'_>, first: &[u8], out: &mut BodyWriter) -> Option<RequestError> {
    if out.write(first).is_err() {
        run.process.kill_group();
        return Some(client_gone());
    }
    loop {
        match run.pipes.read_stdout(&mut run.buf, run.deadline) {
            Output::Data(n) => {
                if out.write(&run.buf[..n]).is_err() {
                    run.process.kill_group();
                    return Some(client_gone());
                }
            }
            Output::Eof => return None,
            Output::Timeout => {
                run.process.kill_group();
                return Some(run.timeout_error());
            }
        }
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
            run.process.kill_group();
            let error = run.timeout_error();
            return Failed { error, request }.into();
        }
    };
    let status = nph_status(&first);
    let mut out = response::raw(request);
    let error = stream_body(&mut run, &first, &mut out);
    let bytes = out.sent;
    if error.is_some() {
        out.abort();
    }
    run.reap();
    Outcome::Sent(Sent {
        status,
        bytes,
        error,
    })
}

impl Run<'_> {
    /// Step 6: closes the pipes, logs the rest of stderr, and reaps the script; at the
    /// deadline its process group is killed.
    fn reap(&mut self) {
        self.pipes.finish(&mut self.process, self.deadline);
    }

    /// The error for output that is not a CGI response; the script gets a short grace to
    /// finish its stderr, then is reaped.
    fn bad_output(&mut self, why: String) -> RequestError {
        self.pipes
            .finish(&mut self.process, Instant::now() + CLEANUP_GRACE);
        RequestError::BadOutput {
            script: self.name.to_string(),
            why,
        }
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

/// §4.4 and §7.2: the command line, environment and working directory.
pub fn command(script: &Script, env: &Environ, query: &str) -> Command {
    let mut cmd = match script.interpreter {
        Some(interpreter) => {
            let mut cmd = Command::new(crate::process::interpreter::interpreter_path(interpreter));
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
