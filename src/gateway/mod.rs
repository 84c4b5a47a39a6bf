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
//! runs too long cannot be stopped: there is no process to kill. cgilab logs the overrun
//! and stops pulling a streamed body at `--timeout`; this is why pre-fork servers such as
//! gunicorn keep apps in worker processes that they can kill.

pub mod apps;

use std::time::{Duration, Instant};

use tiny_http::Request;

pub mod app;
pub mod panics;

pub use app::{App, AppBody, AppRequest, AppResponse, Apps};

use crate::http::body::Body;
use crate::http::response::{self, Framing};
use crate::measure::timing::Timing;
use crate::request::cgi_response;
use crate::request::environ::Environ;
use crate::request::error::RequestError;
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

/// Calls the app and sends its response, under the same rules as a script's.
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
    let mut answer = match answer {
        Ok(answer) => answer,
        Err(payload) => {
            let error = panicked(call.name, payload);
            return Err(Failed { error, request });
        }
    };
    if let Err(why) = check(&mut answer) {
        let error = RequestError::BadOutput {
            script: format!("app {}", call.name),
            why,
        };
        return Err(Failed { error, request });
    }
    // An in-process call cannot be stopped, only reported.
    let mut error = (Instant::now() > deadline).then(|| timeout(call.name, call.timeout));
    answer.headers.push(timing.header());
    let status = answer.status;
    let bytes = match answer.body {
        AppBody::Full(bytes) => {
            response::send(request, status, &answer.headers, &bytes, false).unwrap_or(0)
        }
        AppBody::Stream(mut pieces) => {
            let mut out = response::start(request, status, &answer.headers, Framing::Stream, false);
            loop {
                if error.is_none() && Instant::now() > deadline {
                    error = Some(timeout(call.name, call.timeout));
                }
                if error.is_some() {
                    break;
                }
                match guarded(|| pieces.next()) {
                    Ok(Some(piece)) => {
                        if out.write(&piece).is_err() {
                            break;
                        }
                    }
                    Ok(None) => break,
                    Err(payload) => error = Some(panicked(call.name, payload)),
                }
            }
            match error {
                Some(_) => out.abort(),
                None => out.finish().unwrap_or(0),
            }
        }
    };
    Ok(Sent {
        status,
        bytes,
        error,
        exit: None,
    })
}

/// Applies the header rules scripts are held to (RFC 3875 §6, via `cgi_response`).
fn check(answer: &mut AppResponse) -> Result<(), String> {
    if !(200..=599).contains(&answer.status) {
        return Err(format!("status {} is not a final status", answer.status));
    }
    for (name, value) in &answer.headers {
        cgi_response::check_field(name, value)?;
    }
    answer
        .headers
        .retain(|(name, _)| !cgi_response::is_hop_by_hop(name));
    Ok(())
}

fn timeout(name: &str, limit: Duration) -> RequestError {
    RequestError::Timeout {
        script: format!("app {name}"),
        secs: limit.as_secs_f64(),
    }
}
