//! The `environ` dict (PEP 3333, "environ Variables"): the meta-variables every mode gets
//! from [`crate::request::environ::build`], as native strings, and the `wsgi.*` keys.
//!
//! A native string holds bytes read as Latin-1, one character per byte: a header value
//! sent as UTF-8, or a decoded `PATH_INFO`, reaches the app exactly as it reaches a pool
//! worker, which reads the FastCGI params the same way.

use std::os::fd::IntoRawFd;

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use super::errors::ErrorStream;
use super::interpreter::Helpers;
use super::kept;
use crate::http::body::Body;
use crate::request::environ::Environ;

/// The environ for one request, and its `wsgi.input` if that is a file (to close once
/// the app is done; a body in memory goes when its last reference does).
pub fn dict<'py>(
    py: Python<'py>,
    env: &Environ,
    body: Body,
    helpers: &Helpers,
    errors: &Py<ErrorStream>,
) -> PyResult<(Bound<'py, PyDict>, Option<Bound<'py, PyAny>>)> {
    let environ = kept::variables(py, env)?;
    let https = env
        .get("HTTPS")
        .is_some_and(|v| ["on", "1", "yes"].iter().any(|t| v.eq_ignore_ascii_case(t)));
    let spooled = matches!(body, Body::File(..));
    let input = input(py, body, helpers)?;
    environ.set_item(intern!(py, "wsgi.version"), helpers.wsgi_version.bind(py))?;
    environ.set_item(
        intern!(py, "wsgi.url_scheme"),
        if https {
            intern!(py, "https")
        } else {
            intern!(py, "http")
        },
    )?;
    environ.set_item(intern!(py, "wsgi.input"), &input)?;
    environ.set_item(intern!(py, "wsgi.errors"), errors.bind(py))?;
    // Other threads of this process may call the app meanwhile; no other process does.
    environ.set_item(intern!(py, "wsgi.multithread"), true)?;
    environ.set_item(intern!(py, "wsgi.multiprocess"), false)?;
    environ.set_item(intern!(py, "wsgi.run_once"), false)?;
    Ok((environ, spooled.then_some(input)))
}

/// `wsgi.input`: the body the server has read in full, so the app can never wait on the
/// client, nor read past `CONTENT_LENGTH`. Held in memory, or in the temporary file it
/// was spooled to.
fn input<'py>(py: Python<'py>, body: Body, helpers: &Helpers) -> PyResult<Bound<'py, PyAny>> {
    match body {
        Body::Memory(bytes) if bytes.is_empty() => Ok(helpers.no_input.bind(py).clone()),
        Body::Memory(bytes) => helpers.bytes_io.bind(py).call1((PyBytes::new(py, &bytes),)),
        // Python's file owns the descriptor from here and closes it.
        Body::File(file, _) => helpers
            .open_file
            .bind(py)
            .call1((file.into_raw_fd(), intern!(py, "rb"))),
    }
}
