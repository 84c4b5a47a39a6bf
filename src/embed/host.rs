//! The embedded host: one request answered by a Python app in the server's own process.
//! Read it next to the pool's host (`pool/host.rs`): the steps are the same, with the
//! connection's own thread where the pool has a worker process.
//!
//! 1. Park the request where the watch can find it ([`super::handover`]), and call the
//!    app on this thread: no hop to another thread and back.
//! 2. A call that answered whole (a list of bytes, the usual hello) has said nothing
//!    until it ended: take the request back, check the head with the rules a script's
//!    header block is held to ([`crate::request::cgi_response`]; a control character is
//!    a 502 and one log line), and relay it ([`crate::relay`]).
//! 3. A call whose body streams hands the request, with its first piece, to a relay
//!    thread ([`super::relays`]), which waits for each next piece until `--timeout` and
//!    relays it while Python computes the one after ([`Run`] is the relay's
//!    [`Source`]). When the body is not wanted any more (HEAD, a client gone, a lying
//!    `Content-Length`), the call is told to stop and its end awaited.
//!
//! An app that raised before its head gets 500; after it, a cut connection. A call still
//! running at the deadline cannot be stopped: the client gets 504 (from the watch, or a
//! cut from the relay once the body has started), the call's thread is given up, and
//! the log says so; should the call return one day, the log says that too.

use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError};
use std::time::{Duration, Instant};

use tiny_http::Request;

use super::handover::{Handover, Parked};
use super::link::{Job, Link, Said, What};
use super::{Call, Finish, Served, call, gil};
use crate::measure::timing::Timing;
use crate::relay::{self, Done, Reply, Settled, Source};
use crate::request::cgi_response::{self, CgiResponse, Head};
use crate::request::error::{Origin, RequestError};
use crate::request::outcome::{Failed, Sent};

/// How long a relay looks for the next piece before it sleeps until it comes.
const LOOK_AGAIN: Duration = Duration::from_micros(50);

/// Calls the app on this thread and answers, or says which thread will.
pub fn serve(call: Call<'_>, request: Request, timing: &mut Timing, finish: Finish) -> Served {
    let app = call.app;
    let shared = &app.shared;
    if let Err(why) = shared.room() {
        let error = RequestError::Unavailable {
            origin: Origin::Embedded(app.name.to_string()),
            why,
        };
        return Served::Here(Err(Failed { error, request }));
    }
    // Step 1.
    let parked = Parked {
        request,
        timing: timing.clone(),
        finish,
    };
    let handover = Handover::new(parked, &app.name, call.timeout, shared.lost.clone());
    let began = Instant::now();
    let start_relay = {
        let (handover, relays) = (Arc::clone(&handover), Arc::clone(&shared.relays));
        Box::new(move |said| relay_elsewhere(&handover, &relays, said, began))
    };
    let link = Arc::new(Link::new(handover.stop.clone(), start_relay));
    let _watched = shared.watch.keep(Arc::clone(&handover));
    let job = Job {
        app,
        environ: call.environ,
        body: call.body,
    };
    let gil = gil::attach(|py, gil| {
        call::run(py, job, &link, &shared.helpers, gil);
        gil
    });
    let took = began.elapsed();
    handover.returned(began);
    // Step 2.
    let Some(parked) = handover.take() else {
        return Served::Elsewhere;
    };
    let request = parked.request;
    timing.app = Some(took);
    timing.gil = Some(gil);
    let origin = || Origin::Embedded(app.name.to_string());
    let (status, headers, body) = match link.kept() {
        Some(What::Head {
            status,
            headers,
            first,
            whole: true,
        }) => (status, headers, first),
        Some(What::Raised { exception }) => {
            let error = RequestError::AppRaised {
                origin: origin(),
                exception,
            };
            return Served::Here(Err(Failed { error, request }));
        }
        _ => {
            let error = RequestError::BadOutput {
                origin: origin(),
                why: "the embedded call said something out of order".to_string(),
            };
            return Served::Here(Err(Failed { error, request }));
        }
    };
    let mut head = match head_of(status, headers) {
        Ok(head) => head,
        Err(why) => {
            let error = RequestError::BadOutput {
                origin: origin(),
                why,
            };
            return Served::Here(Err(Failed { error, request }));
        }
    };
    head.headers.push(timing.header());
    let reply = Reply {
        head,
        first: body,
        whole: true,
    };
    Served::Here(Ok(relay::relay(request, reply, &mut Whole(origin()))))
}

/// Step 3, on the call's thread as it says its first piece: the request goes to a relay
/// thread. False if the watch took it first.
fn relay_elsewhere(
    handover: &Arc<Handover>,
    relays: &Arc<super::relays::Relays>,
    said: Receiver<Said>,
    began: Instant,
) -> bool {
    let Some(parked) = handover.take() else {
        return false;
    };
    let name = handover.name.clone();
    let handover = Arc::clone(handover);
    let task = Box::new(move || {
        let Parked {
            request,
            mut timing,
            finish,
        } = parked;
        let mut run = Run {
            handover: &handover,
            said: Some(said),
            piece: Vec::new(),
            gil: Duration::ZERO,
        };
        let outcome = run.serve(request, &mut timing, began);
        finish(outcome, timing);
    });
    match relays.run(task) {
        Ok(()) => true,
        Err(why) => {
            // The task, and the request in it, is gone: the client's connection closes.
            crate::log!("cgilab: embed {name}: {why}");
            false
        }
    }
}

/// A whole answer: nothing more to relay.
struct Whole(Origin);

impl Source for Whole {
    fn origin(&self) -> Origin {
        self.0.clone()
    }

    fn next(&mut self) -> Result<Option<&[u8]>, RequestError> {
        Ok(None)
    }

    fn settle(&mut self, _: Done) -> Settled {
        Settled::default()
    }
}

/// The head as the client will get it: the fields under the rules of a script's header
/// block, as a pool's worker would send them for the same app (`Status:` first), so a
/// Python app gets the same answer embedded as in a pool (a control character is a 502
/// and one log line).
fn head_of(status: String, headers: Vec<(String, String)>) -> Result<Head, String> {
    let fields = headers
        .into_iter()
        .map(|(n, v)| (Cow::Owned(n), Cow::Owned(v)));
    let status = (Cow::Borrowed("Status"), Cow::Owned(status));
    match cgi_response::from_fields(std::iter::once(status).chain(fields))? {
        CgiResponse::Document(head) => Ok(head),
        // Not with a `Status` field (RFC 3875 §6.2.2), which the fields always have.
        CgiResponse::LocalRedirect(to) => Err(format!("unexpected local redirect to `{to}`")),
    }
}

/// A streaming body on its relay thread.
struct Run<'a> {
    handover: &'a Arc<Handover>,
    /// Until the call has said its last word, or is given up.
    said: Option<Receiver<Said>>,
    piece: Vec<u8>,
    /// How long the call's thread has waited for the GIL so far.
    gil: Duration,
}

impl Run<'_> {
    /// The head with its first piece, then the rest through the relay.
    // `Failed` hands the request back, once per request: moving it is cheaper than boxing.
    #[allow(clippy::result_large_err)]
    fn serve(
        &mut self,
        request: Request,
        timing: &mut Timing,
        began: Instant,
    ) -> Result<Sent, Failed> {
        let said = match self.hear() {
            Ok(said) => said,
            Err(error) => return Err(Failed { error, request }),
        };
        timing.app = Some(began.elapsed());
        timing.gil = Some(said.gil);
        let (status, headers, first) = match said.what {
            What::Head {
                status,
                headers,
                first,
                whole: false,
            } => (status, headers, first),
            What::Raised { exception } => {
                self.said = None;
                let error = RequestError::AppRaised {
                    origin: self.origin(),
                    exception,
                };
                return Err(Failed { error, request });
            }
            _ => {
                let error = self.out_of_step();
                return Err(Failed { error, request });
            }
        };
        let mut head = match head_of(status, headers) {
            Ok(head) => head,
            Err(why) => {
                self.settle(Done::Abandoned);
                let error = RequestError::BadOutput {
                    origin: self.origin(),
                    why,
                };
                return Err(Failed { error, request });
            }
        };
        head.headers.push(timing.header());
        let reply = Reply {
            head,
            first,
            whole: false,
        };
        let sent = relay::relay(request, reply, self);
        timing.gil = Some(self.gil);
        Ok(sent)
    }

    /// The next thing the call says; the deadline passing gives the call up.
    fn hear(&mut self) -> Result<Said, RequestError> {
        let Some(said) = &self.said else {
            return Err(self.out_of_step());
        };
        // A short piece comes in tens of microseconds, less than it takes to put this
        // thread to sleep and wake it again: look again for a moment first, letting any
        // other thread that wants this core have it.
        let until = Instant::now() + LOOK_AGAIN;
        let heard = loop {
            match said.try_recv() {
                Ok(said) => break Ok(said),
                Err(TryRecvError::Disconnected) => break Err(RecvTimeoutError::Disconnected),
                Err(TryRecvError::Empty) if Instant::now() < until => std::thread::yield_now(),
                Err(TryRecvError::Empty) => {
                    let left = self
                        .handover
                        .deadline
                        .saturating_duration_since(Instant::now());
                    break said.recv_timeout(left);
                }
            }
        };
        match heard {
            Ok(said) => {
                self.gil = said.gil;
                Ok(said)
            }
            Err(RecvTimeoutError::Timeout) => {
                self.said = None;
                Err(self.handover.lose())
            }
            Err(RecvTimeoutError::Disconnected) => {
                self.said = None;
                Err(RequestError::Io {
                    context: "the embedded call ended without a last word",
                    cause: std::io::ErrorKind::BrokenPipe.into(),
                })
            }
        }
    }

    /// The call said something out of order: a fault of the server's.
    fn out_of_step(&mut self) -> RequestError {
        self.said = None;
        RequestError::BadOutput {
            origin: self.origin(),
            why: "the embedded call said something out of order".to_string(),
        }
    }

    fn stop(&self) {
        self.handover.stop.store(true, Ordering::Relaxed);
    }
}

impl Source for Run<'_> {
    fn origin(&self) -> Origin {
        Origin::Embedded(self.handover.name.to_string())
    }

    fn next(&mut self) -> Result<Option<&[u8]>, RequestError> {
        if self.said.is_none() {
            return Ok(None);
        }
        match self.hear()?.what {
            What::Piece(piece) => {
                self.piece = piece;
                Ok(Some(&self.piece))
            }
            What::End => {
                self.said = None;
                Ok(None)
            }
            What::Raised { exception } => {
                self.said = None;
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
        if self.said.is_none() {
            return Settled::default();
        }
        self.stop();
        loop {
            match self.hear() {
                Ok(Said {
                    what: What::Piece(_) | What::Head { .. },
                    ..
                }) => continue,
                Ok(Said {
                    what: What::End, ..
                }) => {
                    self.said = None;
                    return Settled::default();
                }
                Ok(Said {
                    what: What::Raised { exception },
                    ..
                }) => {
                    self.said = None;
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
