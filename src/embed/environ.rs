//! The `environ` dict (PEP 3333, "environ Variables"): the meta-variables every mode gets
//! from [`crate::request::environ::build`], as native strings, and the `wsgi.*` keys.
//!
//! A native string holds bytes read as Latin-1, one character per byte: a header value
//! sent as UTF-8, or a decoded `PATH_INFO`, reaches the app exactly as it reaches a pool
//! worker, which reads the FastCGI params the same way.

use std::os::fd::IntoRawFd;
use std::os::unix::ffi::OsStrExt;

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};

use super::errors::{ErrorStream, Log};
use super::interpreter::Helpers;
use crate::http::body::Body;
use crate::request::environ::Environ;

/// The environ for one request, and its `wsgi.input` if that is a file (to close once
/// the app is done; a body in memory goes when its last reference does).
pub fn dict<'py>(
    py: Python<'py>,
    env: &Environ,
    body: Body,
    helpers: &Helpers,
    log: &Log,
) -> PyResult<(Bound<'py, PyDict>, Option<Bound<'py, PyAny>>)> {
    let environ = PyDict::new(py);
    for (name, value) in env.iter_named() {
        environ.set_item(helpers.name(py, name), native(py, value.as_bytes()))?;
    }
    let https = env
        .get("HTTPS")
        .is_some_and(|v| ["on", "1", "yes"].iter().any(|t| v.eq_ignore_ascii_case(t)));
    let spooled = matches!(body, Body::File(..));
    let input = input(py, body, helpers)?;
    let errors = Bound::new(py, ErrorStream::new(log.clone()))?;
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
    environ.set_item(intern!(py, "wsgi.errors"), errors)?;
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
        Body::Memory(bytes) if bytes.is_empty() => helpers.bytes_io.bind(py).call0(),
        Body::Memory(bytes) => helpers.bytes_io.bind(py).call1((PyBytes::new(py, &bytes),)),
        // Python's file owns the descriptor from here and closes it.
        Body::File(file, _) => helpers
            .open_file
            .bind(py)
            .call1((file.into_raw_fd(), intern!(py, "rb"))),
    }
}

/// Bytes as a native string: each byte one character (Latin-1).
fn native<'py>(py: Python<'py>, bytes: &[u8]) -> Bound<'py, PyString> {
    match std::str::from_utf8(bytes) {
        Ok(ascii) if ascii.is_ascii() => PyString::new(py, ascii),
        _ => PyString::new(
            py,
            &bytes.iter().map(|&b| char::from(b)).collect::<String>(),
        ),
    }
}
