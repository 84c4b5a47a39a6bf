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

/// One request's (or one import's) error stream, made when it is first written to.
pub type Log = Arc<Mutex<AppLog>>;

/// What this thread runs, for `sys.stderr`, `sys.stdout` and `wsgi.errors`.
enum Current {
    /// Nothing: what is written goes to the stream's own log.
    Idle,
    /// A request (or an import) of the app whose lines are prefixed `prefix`; its log
    /// is made at the first write, so a request that writes nothing costs none.
    Running { prefix: Arc<str>, log: Option<Log> },
}

thread_local! {
    static CURRENT: RefCell<Current> = const { RefCell::new(Current::Idle) };
}

/// The prefix of an app's log lines: `embed NAME`.
pub fn prefix(name: &str) -> Arc<str> {
    format!("embed {name}").into()
}

/// Makes this thread's `sys.stderr`, `sys.stdout` and `wsgi.errors` write to one log,
/// for one request of the app whose lines are prefixed `prefix`, until the returned
/// guard is dropped (which also logs its unfinished line).
pub fn running(prefix: &Arc<str>) -> Running {
    CURRENT.with_borrow_mut(|c| {
        *c = Current::Running {
            prefix: prefix.clone(),
            log: None,
        }
    });
    Running(())
}

/// See [`running`].
pub struct Running(());

impl Drop for Running {
    fn drop(&mut self) {
        let log = CURRENT.with_borrow_mut(|c| match std::mem::replace(c, Current::Idle) {
            Current::Running { log, .. } => log,
            Current::Idle => None,
        });
        if let Some(log) = log {
            lock(&log).finish();
        }
    }
}

/// Writes `data` to the log of what this thread runs, or to `outside` when it runs
/// nothing.
pub fn write(data: &[u8], outside: &Log) {
    let log = CURRENT.with_borrow_mut(|c| match c {
        Current::Running { prefix, log } => Some(
            log.get_or_insert_with(|| {
                Arc::new(Mutex::new(AppLog::new(
                    prefix.to_string(),
                    LIMIT_PER_REQUEST,
                )))
            })
            .clone(),
        ),
        Current::Idle => None,
    });
    lock(log.as_ref().unwrap_or(outside)).write(data);
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

/// A text stream into the log of the request the writing thread runs, else (outside a
/// request: an import, a thread the app started) the stream's own log lines. Each app's
/// `environ['wsgi.errors']` is one, prefixed `embed NAME`; the interpreter's
/// `sys.stderr` and `sys.stdout` are one, prefixed `embed`. Outside a request nothing
/// bounds it but what the app writes.
#[pyclass(frozen, module = "cgilab")]
pub struct ErrorStream {
    outside: Log,
}

impl ErrorStream {
    pub fn new(prefix: &str) -> ErrorStream {
        ErrorStream {
            outside: Arc::new(Mutex::new(AppLog::new(prefix.to_string(), usize::MAX))),
        }
    }

    /// Where its lines go when the writing thread runs no request.
    pub fn outside(&self) -> &Log {
        &self.outside
    }
}

#[pymethods]
impl ErrorStream {
    fn write(&self, data: &Bound<'_, PyAny>) -> PyResult<usize> {
        let text = text(data)?;
        write(text.as_bytes(), &self.outside);
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
