//! Where an embedded app's error output goes. `wsgi.errors` (PEP 3333, "Input and Error
//! Streams"), `sys.stderr` and `sys.stdout` all reach the server's log the way a pool
//! worker's stderr does, through [`AppLog`]: one escaped line per line, prefixed with who
//! wrote it, at most [`LIMIT_PER_REQUEST`] bytes per request. What Python itself prints
//! (a traceback, a warning) goes the same way.

use std::cell::RefCell;
use std::sync::{Arc, Mutex};

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyString;

use crate::measure::app_log::{AppLog, LIMIT_PER_REQUEST};

/// One request's (or one import's) error stream, shared by its `wsgi.errors` and by
/// `sys.stderr` while its thread runs it.
pub type Log = Arc<Mutex<AppLog>>;

thread_local! {
    /// The log of what this thread is running, for `sys.stderr` and `sys.stdout`.
    static CURRENT: RefCell<Option<Log>> = const { RefCell::new(None) };
}

/// The error stream of one request for app `name`, logged as `embed NAME: line`.
pub fn request_log(name: &str) -> Log {
    Arc::new(Mutex::new(AppLog::new(
        format!("embed {name}"),
        LIMIT_PER_REQUEST,
    )))
}

/// Makes `log` the one `sys.stderr` and `sys.stdout` write to on this thread, until the
/// returned guard is dropped (which also logs its unfinished line).
pub fn running(log: Log) -> Running {
    CURRENT.with(|c| *c.borrow_mut() = Some(log.clone()));
    Running(log)
}

/// See [`running`].
pub struct Running(Log);

impl Drop for Running {
    fn drop(&mut self) {
        CURRENT.with(|c| *c.borrow_mut() = None);
        lock(&self.0).finish();
    }
}

fn lock(log: &Log) -> std::sync::MutexGuard<'_, AppLog> {
    log.lock().unwrap_or_else(|e| e.into_inner())
}

/// The text of what Python asked to write: a `str`, as a text stream takes.
fn text<'a>(data: &'a Bound<'_, PyAny>) -> PyResult<std::borrow::Cow<'a, str>> {
    let s = data.cast::<PyString>().map_err(|_| {
        PyTypeError::new_err(format!(
            "write() argument must be str, not {}",
            data.get_type().name().map_or("?".into(), |n| n.to_string())
        ))
    })?;
    Ok(s.to_string_lossy())
}

/// `environ['wsgi.errors']`: a text stream into one request's log.
#[pyclass(frozen, module = "cgilab")]
pub struct ErrorStream {
    log: Log,
}

impl ErrorStream {
    pub fn new(log: Log) -> ErrorStream {
        ErrorStream { log }
    }
}

#[pymethods]
impl ErrorStream {
    fn write(&self, data: &Bound<'_, PyAny>) -> PyResult<usize> {
        let text = text(data)?;
        lock(&self.log).write(text.as_bytes());
        Ok(text.chars().count())
    }

    fn writelines(&self, lines: &Bound<'_, PyAny>) -> PyResult<()> {
        for line in lines.try_iter()? {
            self.write(&line?)?;
        }
        Ok(())
    }

    /// Lines are logged as they complete; nothing is held back.
    fn flush(&self) {}
}

/// `sys.stderr` and `sys.stdout` of the embedded interpreter: the log of the request
/// the writing thread runs, else the server's log as `embed: line`.
#[pyclass(frozen, module = "cgilab")]
pub struct ServerStream {
    outside: Log,
}

impl ServerStream {
    pub fn new() -> ServerStream {
        // Outside a request nothing bounds it but what the app writes at import.
        ServerStream {
            outside: Arc::new(Mutex::new(AppLog::new("embed".to_string(), usize::MAX))),
        }
    }
}

#[pymethods]
impl ServerStream {
    fn write(&self, data: &Bound<'_, PyAny>) -> PyResult<usize> {
        let text = text(data)?;
        let current = CURRENT.with(|c| c.borrow().clone());
        lock(current.as_ref().unwrap_or(&self.outside)).write(text.as_bytes());
        Ok(text.chars().count())
    }

    fn writelines(&self, lines: &Bound<'_, PyAny>) -> PyResult<()> {
        for line in lines.try_iter()? {
            self.write(&line?)?;
        }
        Ok(())
    }

    fn flush(&self) {}

    fn isatty(&self) -> bool {
        false
    }

    fn writable(&self) -> bool {
        true
    }

    #[getter]
    fn encoding(&self) -> &'static str {
        "utf-8"
    }
}
