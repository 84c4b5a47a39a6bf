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

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::io::Read;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tiny_http::Request;

use crate::http::body::Body;
use crate::http::response::{self, Framing};
use crate::measure::timing::Timing;
use crate::request::cgi_response;
use crate::request::environ::Environ;
use crate::request::error::RequestError;
use crate::server::dispatch::Outcome;

/// A gateway app. Closures `Fn(AppRequest) -> AppResponse` are apps too.
pub trait App: Send + Sync {
    /// Answers one request. Called from many threads at once.
    fn call(&self, req: AppRequest<'_>) -> AppResponse;
}

impl<F> App for F
where
    F: Fn(AppRequest<'_>) -> AppResponse + Send + Sync,
{
    fn call(&self, req: AppRequest<'_>) -> AppResponse {
        self(req)
    }
}

/// What an app receives.
pub struct AppRequest<'a> {
    /// The meta-variables (`REQUEST_METHOD`, `QUERY_STRING`, `HTTP_*`, ...).
    pub environ: &'a Environ,
    /// The request body (`CONTENT_LENGTH` bytes).
    pub input: &'a mut (dyn Read + Send),
}

/// What an app answers.
pub struct AppResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: AppBody,
}

/// An app's response body.
pub enum AppBody {
    /// All of it at once; sent with `Content-Length`.
    Full(Vec<u8>),
    /// Pieces sent as they are produced (chunked), like a WSGI generator.
    Stream(Box<dyn Iterator<Item = Vec<u8>> + Send>),
}

impl AppResponse {
    /// A complete response with one `Content-Type`.
    pub fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> AppResponse {
        AppResponse {
            status,
            headers: vec![("Content-Type".to_string(), content_type.to_string())],
            body: AppBody::Full(body.into()),
        }
    }

    /// A `text/plain` response.
    pub fn text(status: u16, body: impl Into<Vec<u8>>) -> AppResponse {
        AppResponse::new(status, "text/plain", body)
    }

    /// Adds a header field.
    pub fn with_header(mut self, name: &str, value: &str) -> AppResponse {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }
}

/// The apps a server can call, by name.
#[derive(Clone, Default)]
pub struct Apps {
    apps: BTreeMap<String, Arc<dyn App>>,
}

impl Apps {
    /// No apps.
    pub fn empty() -> Apps {
        Apps::default()
    }

    /// The built-in apps, twins of the scripts in cgi-bin.
    pub fn builtin() -> Apps {
        crate::gateway::apps::register(Apps::empty())
    }

    /// Adds (or replaces) app `name`, served at `/app/NAME`.
    pub fn with(mut self, name: &str, app: impl App + 'static) -> Apps {
        self.apps.insert(name.to_string(), Arc::new(app));
        self
    }

    /// The app called `name`.
    pub fn get(&self, name: &str) -> Option<&dyn App> {
        self.apps.get(name).map(|a| a.as_ref())
    }

    /// All names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.apps.keys().map(String::as_str)
    }
}

/// One app call: everything but the HTTP request.
pub struct Call<'a> {
    pub name: &'a str,
    pub app: &'a dyn App,
    pub environ: &'a Environ,
    pub body: Body,
    pub timeout: Duration,
}

/// Calls the app and sends its response, under the same rules as a script's.
pub fn serve(call: Call<'_>, request: Request, timing: &mut Timing) -> Outcome {
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
            return Outcome::Failed { error, request };
        }
    };
    if let Err(why) = check(&mut answer) {
        let error = RequestError::BadOutput {
            script: format!("app {}", call.name),
            why,
        };
        return Outcome::Failed { error, request };
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
    Outcome::Sent {
        status,
        bytes,
        error,
    }
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

thread_local! {
    /// Set while this thread runs app code, so the panic hook leaves the report to us.
    static IN_APP: Cell<bool> = const { Cell::new(false) };
    /// Where the last panic in app code happened.
    static PANIC_PLACE: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Runs app code, catching a panic.
fn guarded<T>(f: impl FnOnce() -> T) -> std::thread::Result<T> {
    IN_APP.with(|a| a.set(true));
    let result = catch_unwind(AssertUnwindSafe(f));
    IN_APP.with(|a| a.set(false));
    result
}

/// For the panic hook: inside app code, keeps where the panic happened for the request's
/// log line and returns true (the hook then prints nothing).
pub fn keep_panic_place(place: &str) -> bool {
    let inside = IN_APP.with(Cell::get);
    if inside {
        PANIC_PLACE.with(|p| *p.borrow_mut() = place.to_string());
    }
    inside
}

fn panicked(app: &str, payload: Box<dyn std::any::Any + Send>) -> RequestError {
    let text = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-text panic".to_string());
    let place = PANIC_PLACE.with(|p| std::mem::take(&mut *p.borrow_mut()));
    let message = if place.is_empty() {
        text
    } else {
        format!("{text} (at {place})")
    };
    RequestError::AppPanicked {
        app: app.to_string(),
        message,
    }
}
