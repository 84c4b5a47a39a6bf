//! The pool host: one request answered by a worker that stays alive, over FastCGI.
//!
//! Read it next to the CGI host (`cgi/`): the steps are the same, only who keeps the
//! process alive differs.
//!
//! 1. Wait for an idle worker, first come first served, at most `--timeout`; past it, or
//!    when the pool cannot boot its app, 503 with `Retry-After`.
//! 2. Send the request: BEGIN_REQUEST, the environ as PARAMS (the same
//!    [`crate::request::environ::build`] as CGI), the body as STDIN.
//! 3. Read STDOUT until the header block is complete and parse it with the CGI rules
//!    ([`crate::request::cgi_response`]).
//! 4. Stream the body as STDOUT records arrive; STDERR goes to the log, line by line.
//! 5. END_REQUEST: the worker is idle again. If anything went wrong on the way (the
//!    worker closed, sent a malformed record, broke the header rules, ran past the
//!    timeout) the request gets 502 or 504 and the worker is replaced.

use std::io;
use std::os::unix::ffi::OsStrExt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tiny_http::Request;

use crate::fastcgi::{ClientError, Event};
use crate::http::body::Body;
use crate::http::response::{self, BodyWriter, Framing};
use crate::measure::timing::Timing;
use crate::request::cgi_response::{self, CgiResponse, MAX_HEADER_BLOCK};
use crate::request::environ::Environ;
use crate::request::error::RequestError;
use crate::request::outcome::{Failed, Outcome, Sent};

use super::state::{Ending, Lease, Shared, Unavailable};

/// One request for a pool: everything but the HTTP request.
pub struct Job<'a> {
    pub pool: &'a Arc<Shared>,
    pub env: &'a Environ,
    pub body: Body,
    pub timeout: Duration,
}

/// Runs `job` for `request`; also returns the pid of the worker that served it, if any.
pub fn run(job: Job<'_>, request: Request, timing: &mut Timing) -> (Outcome, Option<u32>) {
    let name = job.pool.name.as_str();

    // Step 1: an idle worker.
    let mut lease = match job.pool.checkout(Instant::now() + job.timeout) {
        Ok(lease) => lease,
        Err(why) => {
            let why = match why {
                Unavailable::Failed(reason) => format!("its app cannot start: {reason}"),
                Unavailable::QueueTimeout(waited) => format!(
                    "no worker became idle in {:.1} s (--timeout)",
                    waited.as_secs_f64()
                ),
                Unavailable::Stopped => "the server is stopping".to_string(),
            };
            let error = RequestError::PoolUnavailable {
                pool: name.to_string(),
                why,
            };
            return (Failed { error, request }.into(), None);
        }
    };
    timing.queue = Some(lease.queued);
    let pid = lease.pid;
    let mut run = Run {
        name,
        pid,
        deadline: Instant::now() + job.timeout,
        timeout: job.timeout,
        handed: Instant::now(),
        stderr: Vec::new(),
        app_status: 0,
    };
    let outcome = serve(&mut run, &mut lease, job, request, timing);
    run.flush_stderr();
    (outcome, Some(pid))
}

/// A request on a leased worker, with what every step needs.
struct Run<'a> {
    name: &'a str,
    pid: u32,
    deadline: Instant,
    timeout: Duration,
    /// When the request was handed to the worker.
    handed: Instant,
    /// An unfinished STDERR line.
    stderr: Vec<u8>,
    /// END_REQUEST's appStatus: the application's exit status (the worker's is 1 when
    /// the app raised).
    app_status: u32,
}

fn serve(
    run: &mut Run<'_>,
    lease: &mut Lease,
    job: Job<'_>,
    request: Request,
    timing: &mut Timing,
) -> Outcome {
    // Step 2: the request, in as few writes as possible.
    // Header values that are not UTF-8 go to the worker as the bytes the client sent.
    let params = job.env.iter_os().map(|(n, v)| (n.as_bytes(), v.as_bytes()));
    let mut body = job.body.into_reader();
    if let Err(e) = lease.conn().send_request(params, &mut body, run.deadline) {
        let error = run.fail(lease, e);
        return Failed { error, request }.into();
    }
    drop(body);

    // Step 3: the header block.
    let (block, (block_len, body_start)) = match read_header_block(run, lease) {
        Ok(block) => block,
        Err(error) => return Failed { error, request }.into(),
    };
    let parsed = match cgi_response::parse(&block[..block_len]) {
        Ok(parsed) => parsed,
        Err(why) => {
            let error = run.fail(lease, ClientError::Unexpected(why));
            return Failed { error, request }.into();
        }
    };
    timing.app = Some(run.handed.elapsed());
    let mut head = match parsed {
        CgiResponse::Document(head) => head,
        CgiResponse::LocalRedirect(location) => {
            if let Err(e) = drain(run, lease) {
                run.fail(lease, e);
            }
            return Outcome::LocalRedirect { location, request };
        }
    };
    head.headers.push(timing.header());

    // Step 4: the body. What has already arrived is sent with the head; when that is the
    // whole response (END_REQUEST came with it), it goes with a Content-Length in one write.
    let mut first = block[body_start..].to_vec();
    let mut ended = false;
    loop {
        match lease.conn().next_buffered() {
            Some(Ok(Event::Stdout(data))) => first.extend_from_slice(data),
            Some(Ok(Event::Stderr(data))) => run.log_stderr(data),
            Some(Ok(Event::End { app_status, .. })) => {
                run.app_status = app_status;
                ended = true;
                break;
            }
            Some(Err(_)) | None => break,
        }
    }
    if ended {
        // The worker is free before the client has the response: the client's next
        // request must find it idle, not take a colder worker while this one is held.
        lease_back(lease, Ending::Done);
        let sent = response::send(request, head.status, &head.headers, &first, false);
        return Outcome::Sent(Sent {
            status: head.status,
            bytes: sent.as_ref().map_or(0, |n| *n),
            error: sent.err().map(|_| client_gone()),
            exit: run.exit(),
        });
    }
    let head_only = *request.method() == tiny_http::Method::Head;
    let mut out = response::start(request, head.status, &head.headers, Framing::Stream, false);
    let mut error = if head_only {
        drain(run, lease).err().map(|e| run.fail(lease, e))
    } else {
        stream_body(run, lease, &first, &mut out)
    };
    let bytes = if error.is_some() {
        out.abort()
    } else {
        out.finish().unwrap_or_else(|_| {
            error = Some(client_gone());
            0
        })
    };
    // Step 5: the worker is idle again, unless `fail` already gave it up.
    lease_back(lease, Ending::Done);
    Outcome::Sent(Sent {
        status: head.status,
        bytes,
        error,
        exit: run.exit(),
    })
}

/// Step 3: STDOUT until the header block is complete.
fn read_header_block(
    run: &mut Run<'_>,
    lease: &mut Lease,
) -> Result<(Vec<u8>, (usize, usize)), RequestError> {
    let mut block = Vec::new();
    loop {
        let why = match lease.conn().next(run.deadline) {
            Ok(Event::Stdout(data)) => {
                block.extend_from_slice(data);
                match cgi_response::find_end(&block) {
                    Some(end) if end.0 <= MAX_HEADER_BLOCK => return Ok((block, end)),
                    None if block.len() <= MAX_HEADER_BLOCK => continue,
                    _ => format!("header block over {} KiB", MAX_HEADER_BLOCK / 1024),
                }
            }
            Ok(Event::Stderr(data)) => {
                run.log_stderr(data);
                continue;
            }
            Ok(Event::End { .. }) if block.is_empty() => "no output".to_string(),
            Ok(Event::End { .. }) => "output ended inside the header block".to_string(),
            Err(e) => return Err(run.fail(lease, e)),
        };
        return Err(run.fail(lease, ClientError::Unexpected(why)));
    }
}

/// Step 4: sends `first`, then every STDOUT record until END_REQUEST.
fn stream_body(
    run: &mut Run<'_>,
    lease: &mut Lease,
    first: &[u8],
    out: &mut BodyWriter,
) -> Option<RequestError> {
    if out.write(first).is_err() {
        return Some(run.client_gone(lease));
    }
    loop {
        match lease.conn().next(run.deadline) {
            Ok(Event::Stdout(data)) => {
                if out.write(data).is_err() {
                    return Some(run.client_gone(lease));
                }
            }
            Ok(Event::Stderr(data)) => run.log_stderr(data),
            Ok(Event::End { app_status, .. }) => {
                run.app_status = app_status;
                return None;
            }
            Err(e) => return Some(run.fail(lease, e)),
        }
    }
}

/// Reads and drops the rest of a response, so the connection is ready for the next one.
fn drain(run: &mut Run<'_>, lease: &mut Lease) -> Result<(), ClientError> {
    loop {
        match lease.conn().next(run.deadline)? {
            Event::End { app_status, .. } => {
                run.app_status = app_status;
                return Ok(());
            }
            Event::Stderr(data) => run.log_stderr(data),
            Event::Stdout(_) => {}
        }
    }
}

/// Hands the worker back, if it is still held.
fn lease_back(lease: &mut Lease, ending: Ending) {
    lease.give_back(ending);
}

impl Run<'_> {
    /// The worker failed this request: it is given up (killed and replaced), and the
    /// request gets 502, or 504 past the timeout.
    fn fail(&mut self, lease: &mut Lease, e: ClientError) -> RequestError {
        if let ClientError::TimedOut = e {
            lease_back(lease, Ending::TimedOut);
            return RequestError::Timeout {
                script: format!("pool {} worker {}", self.name, self.pid),
                secs: self.timeout.as_secs_f64(),
            };
        }
        let why = e.to_string();
        lease_back(lease, Ending::Broken(why.clone()));
        RequestError::WorkerFailed {
            pool: self.name.to_string(),
            pid: self.pid,
            why,
        }
    }

    /// The client left mid-response: the rest is read and dropped so the worker stays
    /// usable; a worker that cannot finish in time is replaced.
    fn client_gone(&mut self, lease: &mut Lease) -> RequestError {
        if let Err(e) = drain(self, lease) {
            self.fail(lease, e);
        }
        client_gone()
    }

    /// Logs complete STDERR lines, prefixed with the pool and the worker.
    fn log_stderr(&mut self, data: &[u8]) {
        self.stderr.extend_from_slice(data);
        while let Some(nl) = self.stderr.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.stderr.drain(..=nl).collect();
            let text = String::from_utf8_lossy(&line);
            eprintln!(
                "pool {} pid {}: {}",
                self.name,
                self.pid,
                text.trim_end_matches(['\n', '\r'])
            );
        }
    }

    /// `exit=N` for the log when the application reported a failure.
    fn exit(&self) -> Option<String> {
        (self.app_status != 0).then(|| format!("exit={}", self.app_status))
    }

    fn flush_stderr(&mut self) {
        if !self.stderr.is_empty() {
            self.stderr.push(b'\n');
            self.log_stderr(&[]);
        }
    }
}

fn client_gone() -> RequestError {
    RequestError::Io {
        context: "client went away mid-response",
        cause: io::ErrorKind::BrokenPipe.into(),
    }
}
