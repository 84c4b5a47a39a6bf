//! The pool host: one request answered by a worker that stays alive, over FastCGI.
//!
//! Read it next to the CGI host (`cgi/`): the steps are the same, only who keeps the
//! process alive differs.
//!
//! 1. Wait for an idle worker, first come first served, at most `--timeout`; past it, or
//!    when the pool cannot boot its app, 503 with `Retry-After`. With `--accept shared`,
//!    connect to the pool's shared socket instead: the request waits in the kernel's
//!    listen backlog for whichever worker accepts it, its wait is part of the app's
//!    time, and a full backlog is a 503 at once.
//! 2. Send the request: BEGIN_REQUEST, the environ as PARAMS (the same
//!    [`crate::request::environ::build`] as CGI), the body as STDIN.
//! 3. Read STDOUT until the header block is complete and parse it with the CGI rules
//!    ([`crate::request::cgi_response`]).
//! 4. Stream the body as STDOUT records arrive; STDERR goes to the log, line by line,
//!    and so does, before the access line, what the worker wrote to its own stderr.
//! 5. END_REQUEST: the worker is idle again. If anything went wrong on the way (the
//!    worker closed, sent a malformed record or something after its END_REQUEST, ran
//!    past the timeout) the request gets 502 or 504 and the worker is replaced; an app
//!    that broke the header rules or its own framing costs only its request.
//!
//! Steps 4 and 5 are the relay's ([`crate::relay`]), the same as for a script: this
//! host is its [`Source`] of body pieces.

use std::os::unix::ffi::OsStrExt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tiny_http::Request;

use crate::fastcgi::{ClientError, Event, Stdout};
use crate::http::body::Body;
use crate::measure::app_log::{AppLog, LIMIT_PER_REQUEST};
use crate::measure::timing::Timing;
use crate::relay::{self, Done, Reply, Settled, Source};
use crate::request::cgi_response::{self, CgiResponse, MAX_HEADER_BLOCK};
use crate::request::environ::Environ;
use crate::request::error::{Origin, RequestError};
use crate::request::outcome::{Failed, Outcome};

use super::state::{Ending, Lease, Shared, Unavailable};

/// One request for a pool: everything but the HTTP request.
pub struct Job<'a> {
    pub pool: &'a Arc<Shared>,
    pub env: &'a Environ,
    pub body: Body,
    pub timeout: Duration,
    /// The request's line goes to the server's log even when it is answered without an
    /// error (not `--quiet`).
    pub logged: bool,
}

/// Runs `job` for `request`; also returns the pid of the worker that served it, if any.
pub fn run(job: Job<'_>, request: Request, timing: &mut Timing) -> (Outcome, Option<u32>) {
    let name = job.pool.name.as_str();

    // Step 1: an idle worker, or a place in the shared socket's backlog.
    let lease = match job.pool.socket {
        Some(_) => job.pool.connect_shared(),
        None => job.pool.checkout(Instant::now() + job.timeout),
    };
    let lease = match lease {
        Ok(lease) => lease,
        Err(why) => {
            let why = match why {
                // The reason (a traceback's last line, the app's path) is for the log,
                // which said it when the pool gave up, not for every client.
                Unavailable::Failed(_) => {
                    "cannot start its app; the server's log says why".to_string()
                }
                Unavailable::QueueTimeout(waited) => format!(
                    "no worker became idle in {:.1} s (--timeout)",
                    waited.as_secs_f64()
                ),
                Unavailable::Stopped => "the server is stopping".to_string(),
                Unavailable::BacklogFull(backlog) => {
                    format!("its shared socket's listen backlog ({backlog}, --backlog) is full")
                }
                Unavailable::NoConnection(why) => format!("cannot connect to its socket: {why}"),
            };
            let error = RequestError::PoolUnavailable {
                pool: name.to_string(),
                why,
            };
            return (Failed { error, request }.into(), None);
        }
    };
    timing.queue = lease.queued();
    let pid = lease.pid();
    let mut run = Run {
        name,
        pid,
        lease,
        deadline: Instant::now() + job.timeout,
        timeout: job.timeout,
        handed: Instant::now(),
        log: AppLog::new(
            match pid {
                Some(pid) => format!("pool {name} pid {pid}"),
                None => format!("pool {name}"),
            },
            LIMIT_PER_REQUEST,
        ),
        app_status: 0,
        ended: false,
        whole: false,
    };
    let logged = job.logged;
    let outcome = serve(&mut run, job, request, timing);
    run.log.finish();
    // What the worker wrote to its own stderr (a traceback, the app's prints) goes to
    // the log before this request's access line does. A request that leaves no line in
    // the log has nothing to come before, and skips the read.
    if logged || !answered_without_error(&outcome) {
        run.lease.catch_up_log();
    }
    (outcome, pid)
}

/// True when the response went out whole: with `--quiet`, such a request has no line
/// in the server's log. A local redirect's line is the next target's, still to come.
fn answered_without_error(outcome: &Outcome) -> bool {
    matches!(outcome, Outcome::Sent(sent) if sent.error.is_none())
}

/// A request on a leased worker, with what every step needs.
struct Run<'a> {
    name: &'a str,
    /// The worker's, when the server chose it (not on a shared socket).
    pid: Option<u32>,
    lease: Lease,
    deadline: Instant,
    timeout: Duration,
    /// When the request was handed to the worker.
    handed: Instant,
    /// The worker's STDERR records, as the log shows them.
    log: AppLog,
    /// END_REQUEST's appStatus: the application's exit status (the worker's is 1 when
    /// the app raised).
    app_status: u32,
    /// END_REQUEST has arrived.
    ended: bool,
    /// END_REQUEST came with the head: the whole answer was in hand before any was sent.
    whole: bool,
}

/// The appStatus with which `wsgi_worker.py` ends a response it could not finish.
const INCOMPLETE: u32 = 2;

fn serve(run: &mut Run<'_>, job: Job<'_>, request: Request, timing: &mut Timing) -> Outcome {
    // Step 2: the request. A worker that closed its connection before it answered
    // anything (a program that ignores FCGI_KEEP_CONN, caught between requests) gets it
    // once more on a new connection, when sending it twice can do no harm.
    let retry = job.body.is_empty() && idempotent(job.env.get("REQUEST_METHOD"));
    let params = || job.env.iter_os().map(|(n, v)| (n.as_bytes(), v.as_bytes()));
    let mut sent = run
        .lease
        .conn()
        .send_request(params(), job.body.into_reader(), run.deadline);
    // Step 3: the header block.
    let mut block = sent.and_then(|()| read_header_block(run));
    if retry
        && matches!(block, Err(ClientError::Closed))
        && run.lease.conn().unanswered()
        && run.lease.reconnect()
    {
        sent = run
            .lease
            .conn()
            .send_request(params(), Box::new(std::io::empty()), run.deadline);
        block = sent.and_then(|()| read_header_block(run));
    }
    let (block, (block_len, body_start)) = match block {
        Ok(block) => block,
        Err(e) => {
            let error = run.fail(e);
            return Failed { error, request }.into();
        }
    };
    let parsed = match cgi_response::parse(&block[..block_len]) {
        Ok(parsed) => parsed,
        Err(why) => {
            // The worker stays: its connection is in step once the rest is read.
            let why = match run.app_status {
                0 => why,
                n => format!("{why} (the app ended with exit={n})"),
            };
            let error = match run.drain() {
                Ok(()) => RequestError::BadOutput {
                    origin: run.origin(),
                    why,
                },
                Err(e) => run.fail(e),
            };
            run.lease.give_back(Ending::Done);
            return Failed { error, request }.into();
        }
    };
    timing.app = Some(run.handed.elapsed());
    let mut head = match parsed {
        CgiResponse::Document(head) => head,
        CgiResponse::LocalRedirect(location) => {
            match run.drain() {
                Ok(()) => run.lease.give_back(Ending::Done),
                Err(e) => {
                    run.fail(e);
                }
            }
            return Outcome::LocalRedirect { location, request };
        }
    };
    head.headers.push(timing.header());

    // Step 4: the relay sends the body as STDOUT records arrive. What has already
    // arrived goes with the head; when that is the whole response (END_REQUEST came
    // with it), the worker is handed back first.
    let mut first = block[body_start..].to_vec();
    if let Err(e) = run.take_buffered(&mut first) {
        let error = run.fail(e);
        return Failed { error, request }.into();
    }
    run.whole = run.ended;
    let reply = Reply {
        head,
        first,
        whole: run.ended,
    };
    Outcome::Sent(relay::relay(request, reply, run))
}

/// Step 3: STDOUT until the header block is complete.
fn read_header_block(run: &mut Run<'_>) -> Result<(Vec<u8>, (usize, usize)), ClientError> {
    let mut block = Vec::new();
    loop {
        let Run { lease, log, .. } = run;
        let why = match lease
            .conn()
            .next_stdout(run.deadline, &mut |d| log.write(d))?
        {
            Stdout::Data(data) => {
                block.extend_from_slice(data);
                match cgi_response::find_end(&block) {
                    Some(end) if end.0 <= MAX_HEADER_BLOCK => return Ok((block, end)),
                    None if block.len() <= MAX_HEADER_BLOCK => continue,
                    _ => format!("header block over {} KiB", MAX_HEADER_BLOCK / 1024),
                }
            }
            Stdout::End { app_status } => {
                run.app_status = app_status;
                run.ended = true;
                match (block.is_empty(), app_status) {
                    (true, 0) => "no output".to_string(),
                    (true, n) => format!("no output; the app ended with exit={n}"),
                    (false, _) => "output ended inside the header block".to_string(),
                }
            }
        };
        return Err(ClientError::Unexpected(why));
    }
}

impl Run<'_> {
    /// What has already arrived whole after the header block: STDOUT into `first`, up to
    /// END_REQUEST.
    fn take_buffered(&mut self, first: &mut Vec<u8>) -> Result<(), ClientError> {
        while !self.ended {
            match self.lease.conn().next_buffered() {
                Some(Ok(Event::Stdout(data))) => first.extend_from_slice(data),
                Some(Ok(Event::Stderr(data))) => self.log.write(data),
                Some(Ok(Event::End { app_status, .. })) => {
                    self.app_status = app_status;
                    self.ended = true;
                }
                Some(Err(e)) => return Err(e),
                None => break,
            }
        }
        Ok(())
    }

    /// Reads and drops the rest of a response, so the connection is ready for the next.
    fn drain(&mut self) -> Result<(), ClientError> {
        while !self.ended {
            let Run { lease, log, .. } = self;
            if let Stdout::End { app_status } = lease
                .conn()
                .next_stdout(self.deadline, &mut |d| log.write(d))?
            {
                self.app_status = app_status;
                self.ended = true;
            }
        }
        Ok(())
    }

    /// Hands the worker back after a request that ended: on the same connection when it
    /// can carry another request, else on a new one (the worker stays).
    fn give_back(&mut self) {
        if !self.lease.is_given_back() && !self.lease.conn().reusable() && !self.lease.reconnect() {
            self.lease
                .give_back(Ending::Broken("connection closed after a request".into()));
        }
        self.lease.give_back(Ending::Done);
    }

    /// The worker failed this request: it is given up (killed and replaced), and the
    /// request gets 502, or 504 past the timeout.
    fn fail(&mut self, e: ClientError) -> RequestError {
        match e {
            ClientError::TimedOut => {
                self.lease.give_back(Ending::TimedOut);
                let script = match self.pid {
                    Some(pid) => format!("pool {} worker {pid}", self.name),
                    None => format!("pool {} (shared socket)", self.name),
                };
                RequestError::Timeout {
                    script,
                    secs: self.timeout.as_secs_f64(),
                }
            }
            // A worker that answered badly but ended its request stays, in step.
            ClientError::Unexpected(why) if self.ended && self.lease.conn().reusable() => {
                self.lease.give_back(Ending::Done);
                RequestError::BadOutput {
                    origin: self.origin(),
                    why,
                }
            }
            e => {
                let why = e.to_string();
                self.lease.give_back(Ending::Broken(why.clone()));
                match self.pid {
                    Some(pid) => RequestError::WorkerFailed {
                        pool: self.name.to_string(),
                        pid,
                        why,
                    },
                    None => RequestError::BadOutput {
                        origin: self.origin(),
                        why,
                    },
                }
            }
        }
    }

    /// `exit=N` for the log when the application reported a failure.
    fn exit(&self) -> Option<String> {
        (self.app_status != 0).then(|| format!("exit={}", self.app_status))
    }
}

impl Source for Run<'_> {
    fn origin(&self) -> Origin {
        match self.pid {
            Some(pid) => Origin::Worker {
                pool: self.name.to_string(),
                pid,
            },
            None => Origin::SharedPool(self.name.to_string()),
        }
    }

    fn next(&mut self) -> Result<Option<&[u8]>, RequestError> {
        if self.ended {
            return Ok(None);
        }
        let Run { lease, log, .. } = self;
        match lease
            .conn()
            .wait_stdout(self.deadline, &mut |d| log.write(d))
        {
            Ok(None) => Ok(Some(self.lease.conn().take_stdout())),
            Ok(Some(app_status)) => {
                self.app_status = app_status;
                self.ended = true;
                Ok(None)
            }
            Err(e) => Err(self.fail(e)),
        }
    }

    /// The body ended (or is not wanted, or the client left): the rest is read and
    /// dropped so the worker stays usable; one that cannot finish in time is replaced.
    /// An app that failed after its head (an exception, exit status not 0) fails the
    /// response: the connection is cut.
    fn settle(&mut self, done: Done) -> Settled {
        if self.lease.is_given_back() {
            return Settled {
                error: None,
                exit: self.exit(),
            };
        }
        if let Err(e) = self.drain() {
            let error = self.fail(e);
            return Settled {
                error: (done != Done::Abandoned).then_some(error),
                exit: self.exit(),
            };
        }
        self.give_back();
        // The worker cgilab ships ends a response it could not finish with appStatus 2;
        // any program's failure while the body was still streaming cuts it too. A whole
        // answer with another status (the worker's own 500) is complete as it is.
        let incomplete = self.app_status == INCOMPLETE || (self.app_status != 0 && !self.whole);
        let error = (done == Done::Ended && incomplete).then(|| RequestError::BadOutput {
            origin: self.origin(),
            why: format!(
                "the app failed (exit={}) after its response started; connection cut",
                self.app_status
            ),
        });
        Settled {
            error,
            exit: self.exit(),
        }
    }
}

/// Methods a server may send twice (RFC 9110 §9.2.2), as nginx decides whether to try
/// again after an upstream error.
fn idempotent(method: Option<&str>) -> bool {
    matches!(
        method,
        Some("GET" | "HEAD" | "OPTIONS" | "TRACE" | "PUT" | "DELETE")
    )
}
