//! `start_response(status, response_headers, exc_info=None)` and the `write()` callable
//! it returns (PEP 3333, "The start_response() Callable" and "The write() Callable").
//!
//! It only records the status and headers: they go out with the first non-empty piece of
//! body, or with the end of an empty one ("Buffering and Streaming"). Until then an
//! app that fails may call it again with `exc_info` to answer an error instead; once they
//! have gone, doing so re-raises the exception, and the response is cut. Their types are
//! checked here, as the pool's worker checks them; their content (control characters, a
//! malformed status) is checked by the server with every other host's rules.

use std::sync::{Arc, Mutex, MutexGuard};

use pyo3::exceptions::{PyAssertionError, PyOSError, PyTypeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString, PyTuple};

use super::link::{Link, What};

/// One request's `start_response`.
#[pyclass(frozen, module = "cgilab")]
pub struct StartResponse {
    link: Arc<Link>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    status: Option<String>,
    headers: Vec<(String, String)>,
    /// The head has been handed to the server.
    sent: bool,
    /// The request is over: `write()` can no longer reach its client.
    ended: bool,
}

impl StartResponse {
    pub fn new(link: Arc<Link>) -> StartResponse {
        StartResponse {
            link,
            state: Mutex::new(State::default()),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// True once the head has been handed to the server.
    pub fn sent(&self) -> bool {
        self.state().sent
    }

    /// The status and headers, taken once the call has ended with its whole body in hand.
    pub fn take_head(&self) -> PyResult<(String, Vec<(String, String)>)> {
        let mut state = self.state();
        match state.status.take() {
            Some(status) => Ok((status, std::mem::take(&mut state.headers))),
            None => Err(not_started()),
        }
    }

    /// Hands `data`, a non-empty piece of body, to the server: with the head if it is
    /// the first. False when the server wants no more of this body.
    pub fn piece(&self, py: Python<'_>, data: &[u8]) -> PyResult<bool> {
        let head = {
            let mut state = self.state();
            if state.sent {
                None
            } else {
                let status = state.status.clone().ok_or_else(not_started)?;
                state.sent = true;
                Some((status, state.headers.clone()))
            }
        };
        let what = match head {
            None => What::Piece(data.to_vec()),
            Some((status, headers)) => What::Head {
                status,
                headers,
                first: data.to_vec(),
                whole: false,
            },
        };
        Ok(self.link.piece(py, what))
    }

    /// True once the server wants no more of this body.
    pub fn stopped(&self) -> bool {
        self.link.stopped()
    }

    /// The request is over.
    pub fn end(&self) {
        self.state().ended = true;
    }
}

fn not_started() -> PyErr {
    PyAssertionError::new_err("the app sent a body before calling start_response")
}

#[pymethods]
impl StartResponse {
    #[pyo3(signature = (status, response_headers, exc_info=None))]
    fn __call__<'py>(
        slf: &Bound<'py, Self>,
        status: &Bound<'py, PyAny>,
        response_headers: &Bound<'py, PyAny>,
        exc_info: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let this = slf.get();
        match exc_info {
            Some(exc_info) if this.sent() => {
                // Too late to change the status: the app's exception goes on up, and the
                // server cuts the response short.
                let value = exc_info.get_item(1)?;
                let traceback = exc_info.get_item(2)?;
                let value = value.call_method1("with_traceback", (traceback,))?;
                return Err(PyErr::from_value(value));
            }
            Some(_) => {}
            None if this.state().status.is_some() => {
                return Err(PyAssertionError::new_err(
                    "start_response called a second time without exc_info",
                ));
            }
            None => {}
        }
        let status = native(status, "status")?;
        if status.len() < 4 || !status.as_bytes()[..3].iter().all(u8::is_ascii_digit) {
            return Err(PyValueError::new_err(format!(
                "WSGI status must be a str like '200 OK', not {status:?}"
            )));
        }
        let mut headers = Vec::new();
        let mut add = |item: &Bound<'py, PyAny>| -> PyResult<()> {
            // A tuple, as PEP 3333 has it, is read in place; any other pair by index.
            let (name, value) = match item.cast_exact::<PyTuple>() {
                Ok(pair) if pair.len() == 2 => (pair.get_item(0)?, pair.get_item(1)?),
                _ if item.len().ok() == Some(2) => (item.get_item(0)?, item.get_item(1)?),
                _ => {
                    return Err(PyTypeError::new_err(format!(
                        "WSGI header {item}: must be a (name, value) pair"
                    )));
                }
            };
            headers.push((
                native(&name, "header name")?,
                native(&value, "header value")?,
            ));
            Ok(())
        };
        match response_headers.cast_exact::<PyList>() {
            Ok(list) => list.iter().try_for_each(|item| add(&item))?,
            Err(_) => {
                for item in response_headers.try_iter()? {
                    add(&item?)?;
                }
            }
        }
        let mut state = this.state();
        state.status = Some(status);
        state.headers = headers;
        drop(state);
        slf.getattr(intern!(slf.py(), "write"))
    }

    /// The legacy `write()`: a piece of body, sent before what the iterable yields.
    fn write(&self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<()> {
        if self.state().ended {
            return Err(PyOSError::new_err(
                "write() after the response ended: its client is gone",
            ));
        }
        let bytes = data.cast::<PyBytes>().map_err(|_| {
            PyTypeError::new_err(format!(
                "write() takes bytes, not {}",
                data.get_type().name().map_or("?".into(), |n| n.to_string())
            ))
        })?;
        let data = bytes.as_bytes();
        if data.is_empty() || self.piece(py, data)? {
            return Ok(());
        }
        Err(PyOSError::new_err(
            "the server wants no more of this response (the client went away, or the timeout passed)",
        ))
    }
}

/// A native string (PEP 3333, "Unicode Issues"): a `str` whose every character is
/// Latin-1, so that it stands for the bytes it will be sent as.
fn native(value: &Bound<'_, PyAny>, what: &str) -> PyResult<String> {
    let s = value.cast::<PyString>().map_err(|_| {
        PyTypeError::new_err(format!(
            "WSGI {what} must be str, not {}",
            value
                .get_type()
                .name()
                .map_or("?".into(), |n| n.to_string())
        ))
    })?;
    let s = s.to_str()?;
    if s.chars().any(|c| u32::from(c) > 0xff) {
        return Err(PyValueError::new_err(format!(
            "WSGI {what} {s:?} is not Latin-1: encode other text (RFC 8187, RFC 2047) first"
        )));
    }
    Ok(s.to_string())
}
