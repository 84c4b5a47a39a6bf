//! The gateway: an app that is already running, called in-process for each request.
//!
//! This is the WSGI idea (PEP 3333) as a Rust interface. Read the two side by side:
//!
//! | WSGI                                  | cgilab                                          |
//! |---------------------------------------|-------------------------------------------------|
//! | `application(environ, start_response)`| [`App::call`]                                   |
//! | `environ`                             | [`AppRequest::environ`]: the same meta-variables a CGI script gets, from the same [`crate::request::environ::build`] |
//! | `environ['wsgi.input']`               | [`AppRequest::input`]: the request body         |
//! | `start_response(status, headers)`     | [`AppResponse::status`] and [`AppResponse::headers`] |
//! | the returned iterable of bytes        | [`AppBody`]: all at once, or a stream of pieces |
//!
//! What differs from CGI is only who keeps the process alive: the server does, so a call
//! costs a function call instead of a fork and an exec. The price is isolation. A panic
//! is caught (that request gets a 500, the next one is served as usual), but an app that
//! runs too long cannot be stopped: there is no process to kill. cgilab answers a late
//! answer with 504 and stops pulling a streamed body at `--timeout`; this is why pre-fork
//! servers such as gunicorn keep apps in worker processes that they can kill.

pub mod apps;

use std::time::{Duration, Instant};

use tiny_http::Request;

pub mod app;
pub mod panics;

pub use app::{App, AppBody, AppRequest, AppResponse, Apps};

use crate::http::body::Body;
use crate::measure::timing::Timing;
use crate::relay::{self, Done, Reply, Settled, Source};
use crate::request::cgi_response;
use crate::request::environ::Environ;
use crate::request::error::{Origin, RequestError};
use crate::request::outcome::{Failed, Sent};
use panics::{guarded, panicked};

/// One app call: everything but the HTTP request.
pub struct Call<'a> {
    pub name: &'a str,
    pub app: &'a dyn App,
    pub environ: &'a Environ,
    pub body: Body,
    pub timeout: Duration,
}

/// Calls the app and hands its response to the relay, under the same rules as a
/// script's: its fields checked, its `Content-Length` kept, a panic or the timeout after
/// the head a cut connection.
// `Failed` hands the request back to the caller, once per request: moving it is cheaper
// than boxing it.
#[allow(clippy::result_large_err)]
pub fn serve(call: Call<'_>, request: Request, timing: &mut Timing) -> Result<Sent, Failed> {
    let started = Instant::now();
    let deadline = started + call.timeout;
    let mut input = call.body.into_reader();
    let req = AppRequest {
        environ: call.environ,
        input: &mut *input,
    };
    let answer = guarded(|| call.app.call(req));
    timing.call = Some(started.elapsed());
    let answer = match answer {
        Ok(answer) => answer,
        Err(payload) => {
            let error = panicked(call.name, payload);
            return Err(Failed { error, request });
        }
    };
    let mut head = match cgi_response::head_of(answer.status, answer.headers) {
        Ok(head) => head,
        Err(why) => {
            let origin = Origin::App(call.name.to_string());
            let error = RequestError::BadOutput { origin, why };
            return Err(Failed { error, request });
        }
    };
    // An in-process call cannot be stopped, only found late: then it is a 504, as a
    // script that ran past the timeout is.
    if Instant::now() > deadline {
        let error = timeout(call.name, call.timeout);
        return Err(Failed { error, request });
    }
    head.headers.push(timing.header());
    let mut pull = Pull {
        name: call.name,
        pieces: None,
        piece: Vec::new(),
        deadline,
        timeout: call.timeout,
    };
    let reply = match answer.body {
        // A whole body is a declared length, unless the app declared one itself.
        AppBody::Full(bytes) => {
            head.content_length = head.content_length.or(Some(bytes.len() as u64));
            Reply {
                head,
                first: bytes,
                whole: true,
            }
        }
        AppBody::Stream(pieces) => {
            pull.pieces = Some(pieces);
            Reply {
                head,
                first: Vec::new(),
                whole: false,
            }
        }
    };
    Ok(relay::relay(request, reply, &mut pull))
}

/// A streamed body, pulled a piece at a time until the deadline.
struct Pull<'a> {
    name: &'a str,
    pieces: Option<Box<dyn Iterator<Item = Vec<u8>> + Send>>,
    piece: Vec<u8>,
    deadline: Instant,
    timeout: Duration,
}

impl Source for Pull<'_> {
    fn origin(&self) -> Origin {
        Origin::App(self.name.to_string())
    }

    fn next(&mut self) -> Result<Option<&[u8]>, RequestError> {
        let Some(pieces) = &mut self.pieces else {
            return Ok(None);
        };
        loop {
            if Instant::now() > self.deadline {
                return Err(timeout(self.name, self.timeout));
            }
            match guarded(|| pieces.next()) {
                Ok(Some(piece)) if piece.is_empty() => continue,
                Ok(Some(piece)) => {
                    self.piece = piece;
                    return Ok(Some(&self.piece));
                }
                Ok(None) => return Ok(None),
                Err(payload) => return Err(panicked(self.name, payload)),
            }
        }
    }

    /// The iterator is dropped: what a WSGI server's `close()` is to a generator.
    fn settle(&mut self, _: Done) -> Settled {
        self.pieces = None;
        Settled::default()
    }
}

fn timeout(name: &str, limit: Duration) -> RequestError {
    RequestError::Timeout {
        script: format!("app {name}"),
        secs: limit.as_secs_f64(),
    }
}
