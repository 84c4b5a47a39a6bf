//! The embedded host, on the connection's thread: one request answered by a Python app
//! in the server's own process. Read it next to the pool's host (`pool/host.rs`): the
//! steps are the same, with a caller thread where the pool has a worker process.
//!
//! 1. Lease a caller thread (the one idle last, or a new one).
//! 2. Hand it the request: the environ from the same [`crate::request::environ::build`]
//!    as every mode, and the body already read in full.
//! 3. Wait, until `--timeout`, for the head: the status and headers, with the first
//!    piece of body. Check it with the rules a script's header block is held to
//!    ([`crate::request::cgi_response`]): a control character is a 502 and one log line.
//! 4. The relay ([`crate::relay`]) sends the body as the caller hands it over; this host
//!    is its [`Source`]. When the body is not wanted any more (HEAD, a client gone, a
//!    lying `Content-Length`), the call is told to stop and its end awaited.
//!
//! An app that raised before its head gets 500; after it, a cut connection. A call still
//! running at the deadline cannot be stopped: the client gets 504 (or a cut), its caller
//! thread is given up, and the log says so.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tiny_http::Request;

use super::Call;
use super::callers::{Caller, Callers, Job, Said, Silence, What};
use crate::measure::timing::Timing;
use crate::relay::{self, Done, Reply, Settled, Source};
use crate::request::cgi_response::{self, CgiResponse, Head};
use crate::request::error::{Origin, RequestError};
use crate::request::outcome::{Failed, Sent};

/// Calls the app and hands its response to the relay.
// `Failed` hands the request back to the caller, once per request: moving it is cheaper
// than boxing it.
#[allow(clippy::result_large_err)]
pub fn serve(call: Call<'_>, request: Request, timing: &mut Timing) -> Result<Sent, Failed> {
    let app = call.app;
    let deadline = Instant::now() + call.timeout;
    let mut run = Run {
        name: &app.name,
        callers: &app.callers,
        caller: None,
        deadline,
        timeout: call.timeout,
        piece: Vec::new(),
        gil: Duration::ZERO,
    };
    // Steps 1 and 2.
    let caller = match run.callers.lease() {
        Ok(caller) => caller,
        Err(why) => {
            let error = RequestError::Unavailable {
                origin: run.origin(),
                why,
            };
            return Err(Failed { error, request });
        }
    };
    let job = Job {
        app: Arc::clone(app),
        environ: call.environ.clone(),
        body: call.body,
    };
    let handed = Instant::now();
    if !caller.hand(job) {
        let error = run.gone();
        return Err(Failed { error, request });
    }
    run.caller = Some(caller);
    // Step 3.
    let said = match run.hear() {
        Ok(said) => said,
        Err(error) => return Err(Failed { error, request }),
    };
    timing.app = Some(handed.elapsed());
    timing.gil = Some(said.gil);
    let (status, headers, first, whole) = match said.what {
        What::Head {
            status,
            headers,
            first,
            whole,
        } => (status, headers, first, whole),
        What::Raised { exception } => {
            run.give_back();
            let error = RequestError::AppRaised {
                origin: run.origin(),
                exception,
            };
            return Err(Failed { error, request });
        }
        What::Piece(_) | What::End => {
            let error = run.out_of_step();
            return Err(Failed { error, request });
        }
    };
    if whole {
        // The call is over: its thread is free before the client has the response.
        run.give_back();
    }
    let mut head = match head_of(&status, &headers) {
        Ok(head) => head,
        Err(why) => {
            run.settle(Done::Abandoned);
            let error = RequestError::BadOutput {
                origin: run.origin(),
                why,
            };
            return Err(Failed { error, request });
        }
    };
    head.headers.push(timing.header());
    // Step 4.
    let reply = Reply { head, first, whole };
    let sent = relay::relay(request, reply, &mut run);
    timing.gil = Some(run.gil);
    Ok(sent)
}

/// The head as the client will get it: every field checked, then parsed as the header
/// block a pool's worker would send for the same app (`Status:` first), so a Python app
/// gets the same answer embedded as in a pool.
fn head_of(status: &str, headers: &[(String, String)]) -> Result<Head, String> {
    cgi_response::check_field("Status", status)?;
    let mut block = format!("Status: {status}");
    for (name, value) in headers {
        cgi_response::check_field(name, value)?;
        block.push_str("\r\n");
        block.push_str(name);
        block.push_str(": ");
        block.push_str(value);
    }
    // Latin-1, as start_response made sure: one byte per character.
    let bytes: Vec<u8> = block.chars().map(|c| c as u32 as u8).collect();
    match cgi_response::parse(&bytes)? {
        CgiResponse::Document(head) => Ok(head),
        // Not with a `Status` field (RFC 3875 §6.2.2), which the block always has.
        CgiResponse::LocalRedirect(to) => Err(format!("unexpected local redirect to `{to}`")),
    }
}

/// A request on a leased caller, with what every step needs.
struct Run<'a> {
    name: &'a str,
    callers: &'a Callers,
    /// Until the call has said its last word (then the caller is idle again) or is lost.
    caller: Option<Caller>,
    deadline: Instant,
    timeout: Duration,
    piece: Vec<u8>,
    /// How long the call's thread has waited for the GIL so far.
    gil: Duration,
}

impl Run<'_> {
    /// The next thing the call says; the deadline passing gives the caller up.
    fn hear(&mut self) -> Result<Said, RequestError> {
        let Some(caller) = &self.caller else {
            return Err(self.out_of_step());
        };
        match caller.hear(self.deadline) {
            Ok(said) => {
                self.gil = said.gil;
                Ok(said)
            }
            Err(Silence::Late) => Err(self.lose()),
            Err(Silence::Gone) => Err(self.gone()),
        }
    }

    fn give_back(&mut self) {
        if let Some(caller) = self.caller.take() {
            self.callers.give_back(caller);
        }
    }

    /// The call is late: the client gets 504 (or a cut), the thread is given up.
    fn lose(&mut self) -> RequestError {
        let lost = self.caller.take().map_or(0, |c| self.callers.lose(c));
        RequestError::CallLost {
            origin: self.origin(),
            secs: self.timeout.as_secs_f64(),
            lost,
        }
    }

    /// The caller thread ended without a word: a fault of the server's, not the app's.
    fn gone(&mut self) -> RequestError {
        self.caller = None;
        RequestError::Io {
            context: "the thread calling the embedded app ended",
            cause: std::io::ErrorKind::BrokenPipe.into(),
        }
    }

    /// The call said something out of order: a fault of the server's.
    fn out_of_step(&mut self) -> RequestError {
        // Its thread is in an unknown state: it is not used again.
        self.caller = None;
        RequestError::BadOutput {
            origin: self.origin(),
            why: "the embedded call said something out of order".to_string(),
        }
    }
}

impl Source for Run<'_> {
    fn origin(&self) -> Origin {
        Origin::Embedded(self.name.to_string())
    }

    fn next(&mut self) -> Result<Option<&[u8]>, RequestError> {
        if self.caller.is_none() {
            return Ok(None);
        }
        match self.hear()?.what {
            What::Piece(piece) => {
                self.piece = piece;
                Ok(Some(&self.piece))
            }
            What::End => {
                self.give_back();
                Ok(None)
            }
            What::Raised { exception } => {
                self.give_back();
                Err(RequestError::AppRaised {
                    origin: self.origin(),
                    exception: format!("{exception} after its response started; connection cut"),
                })
            }
            What::Head { .. } => Err(self.out_of_step()),
        }
    }

    /// The body ended, or is not wanted any more: the call is told to stop, and its last
    /// word (its `close()` done) is awaited until the deadline.
    fn settle(&mut self, done: Done) -> Settled {
        let Some(caller) = &self.caller else {
            return Settled::default();
        };
        caller.stop();
        loop {
            match self.hear() {
                Ok(Said {
                    what: What::Piece(_) | What::Head { .. },
                    ..
                }) => continue,
                Ok(Said {
                    what: What::End, ..
                }) => {
                    self.give_back();
                    return Settled::default();
                }
                Ok(Said {
                    what: What::Raised { exception },
                    ..
                }) => {
                    self.give_back();
                    let error = RequestError::AppRaised {
                        origin: self.origin(),
                        exception,
                    };
                    return Settled {
                        error: (done != Done::Abandoned).then_some(error),
                        exit: None,
                    };
                }
                Err(error) => {
                    return Settled {
                        error: Some(error),
                        exit: None,
                    };
                }
            }
        }
    }
}
