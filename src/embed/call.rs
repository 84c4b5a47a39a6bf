//! One request on the connection's thread, with the GIL: what a WSGI server does, in the order
//! PEP 3333 ("Specification Details") gives it.
//!
//! 1. Build `environ` and a `start_response` for this request.
//! 2. Call `application(environ, start_response)`.
//! 3. Take the iterable's pieces: a list or tuple is whole already and goes as one
//!    answer; anything else is iterated, each non-empty piece handed to the connection as
//!    it comes (the head with the first), until it ends, the app raises, or the server
//!    wants no more.
//! 4. Call the iterable's `close()`, if it has one, whatever happened (PEP 3333: "the
//!    server must call close() upon completion of the current request, whether the
//!    request was completed normally, or terminated early due to an application error").
//! 5. Say how it ended. An exception is logged with its traceback: before the head went
//!    out the client gets 500, after it a cut connection.

use std::sync::Arc;
use std::time::Duration;

use pyo3::exceptions::PyTypeError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyTuple};

use super::App;
use super::environ;
use super::errors;
use super::interpreter::Helpers;
use super::link::{Job, Link, What};
use super::start_response::StartResponse;

/// How taking the app's pieces ended.
enum Ending {
    /// Every piece was in hand before any went out: the status, the headers (filled in
    /// once `close()` has been called) and the whole body.
    Whole((String, Vec<(String, String)>, Vec<u8>)),
    /// The head and body went out piece by piece, to the end.
    Streamed,
    /// The app raised, or broke the rules of PEP 3333.
    Raised(PyErr),
    /// The server wants no more: HEAD, a client gone, the timeout.
    Stopped,
}

/// Runs `job`, whose thread waited `gil` to take the GIL for it, and says how it went.
pub fn run(py: Python<'_>, job: Job<'_>, link: &Arc<Link>, helpers: &Helpers, gil: Duration) {
    link.begin(gil);
    let app = job.app;
    let running = errors::running(&app.prefix);
    let last = match respond(py, job, link, helpers) {
        Ending::Whole((status, headers, body)) => What::Head {
            status,
            headers,
            first: body,
            whole: true,
        },
        Ending::Streamed | Ending::Stopped => What::End,
        Ending::Raised(e) => raised(py, helpers, app, &e),
    };
    // What the app logged comes before the request's own line.
    drop(running);
    link.last(py, last);
}

/// Steps 1 to 4.
fn respond(py: Python<'_>, job: Job<'_>, link: &Arc<Link>, helpers: &Helpers) -> Ending {
    let (environ, input) = match environ::dict(py, job.environ, job.body, helpers, &job.app.errors)
    {
        Ok(built) => built,
        Err(e) => return Ending::Raised(e),
    };
    let start_response = match Bound::new(py, StartResponse::new(link.clone())) {
        Ok(s) => s,
        Err(e) => return Ending::Raised(e),
    };
    let ending = match job.app.callable.bind(py).call1((&environ, &start_response)) {
        Err(e) => Ending::Raised(e),
        Ok(result) => {
            let ending = pieces(py, &result, start_response.get());
            if let Err(e) = close(py, &result) {
                // The response is what it was; the failure is the app's to fix.
                log_exception(py, helpers, job.app, "close() raised", &e);
            }
            ending
        }
    };
    start_response.get().end();
    // The body's file, if it was spooled to one, is closed now, not when collected.
    if let Some(file) = input {
        let _ = file.call_method0(intern!(py, "close"));
    }
    match ending {
        Ending::Whole((_, _, body)) => match start_response.get().take_head() {
            Ok((status, headers)) => Ending::Whole((status, headers, body)),
            Err(e) => Ending::Raised(e),
        },
        other => other,
    }
}

/// Step 3.
fn pieces(py: Python<'_>, result: &Bound<'_, PyAny>, start: &StartResponse) -> Ending {
    // A list or tuple (`[b"Hello, world!\n"]`) holds every piece already: unless
    // `write()` has sent the head, it is one answer.
    if !start.sent() {
        let joined = if let Ok(list) = result.cast_exact::<PyList>() {
            Some(join(list.iter()))
        } else if let Ok(tuple) = result.cast_exact::<PyTuple>() {
            Some(join(tuple.iter()))
        } else {
            None
        };
        match joined {
            Some(Ok(body)) => return Ending::Whole((String::new(), Vec::new(), body)),
            Some(Err(e)) => return Ending::Raised(e),
            None => {}
        }
    }
    let mut iterator = match result.try_iter() {
        Ok(it) => it,
        Err(e) => return Ending::Raised(e),
    };
    loop {
        // A body nobody wants is not computed: the iterable is left where it is.
        if start.stopped() {
            return Ending::Stopped;
        }
        let Some(piece) = iterator.next() else { break };
        let piece = match piece.and_then(bytes) {
            Ok(p) => p,
            Err(e) => return Ending::Raised(e),
        };
        let data = piece.as_bytes();
        if data.is_empty() {
            continue;
        }
        match start.piece(py, data) {
            Ok(true) => {}
            Ok(false) => return Ending::Stopped,
            Err(e) => return Ending::Raised(e),
        }
    }
    if start.sent() {
        Ending::Streamed
    } else {
        Ending::Whole((String::new(), Vec::new(), Vec::new()))
    }
}

/// The pieces of a list or tuple, joined.
fn join<'py>(items: impl Iterator<Item = Bound<'py, PyAny>>) -> PyResult<Vec<u8>> {
    let mut body = Vec::new();
    for item in items {
        body.extend_from_slice(bytes(item)?.as_bytes());
    }
    Ok(body)
}

/// A piece of body: PEP 3333 wants bytes, nothing else.
fn bytes(piece: Bound<'_, PyAny>) -> PyResult<Bound<'_, PyBytes>> {
    piece.cast_into::<PyBytes>().map_err(|e| {
        let piece = e.into_inner();
        PyTypeError::new_err(format!(
            "WSGI body pieces must be bytes, not {}",
            piece
                .get_type()
                .name()
                .map_or("?".into(), |n| n.to_string())
        ))
    })
}

/// Step 4.
fn close(py: Python<'_>, result: &Bound<'_, PyAny>) -> PyResult<()> {
    // A plain list or tuple has no `close()`: asking would make and drop an
    // AttributeError on every request.
    if result.is_exact_instance_of::<PyList>() || result.is_exact_instance_of::<PyTuple>() {
        return Ok(());
    }
    match result.getattr_opt(intern!(py, "close"))? {
        Some(close) => close.call0().map(drop),
        None => Ok(()),
    }
}

/// Logs the exception's traceback and says it was raised.
fn raised(py: Python<'_>, helpers: &Helpers, app: &App, e: &PyErr) -> What {
    log_exception(py, helpers, app, "raised", e);
    What::Raised {
        exception: e.to_string(),
    }
}

/// Logs what the app raised, as the request's own lines (the request still runs).
fn log_exception(py: Python<'_>, helpers: &Helpers, app: &App, what: &str, e: &PyErr) {
    let text = format!("the app {what}:\n{}", helpers.traceback(py, e));
    errors::write(text.as_bytes(), app.errors.get().outside());
}
