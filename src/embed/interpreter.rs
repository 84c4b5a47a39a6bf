//! CPython inside the server: started once, its output sent to the server's log, and each
//! `--embed` app imported the way the pool's `wsgi_worker.py` imports one.
//!
//! PyO3's `auto-initialize` starts the interpreter with `Py_InitializeEx(0)`: Python
//! installs no signal handlers, so SIGTERM, SIGINT and SIGHUP stay the server's. Which
//! Python it is was decided at build time (`PYO3_PYTHON`, else `python3` on `PATH`); the
//! build's rpath makes the server load that Python's own libpython, so it sees the same
//! standard library and site-packages.

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Mutex;

use pyo3::prelude::*;
use pyo3::types::{PyModule, PyString};

use super::errors::{self, ServerStream};
use crate::config::embeds::EmbedConfig;

/// Python the server calls besides the apps, made once.
const HELPERS: &std::ffi::CStr = cr#"
import importlib.util, io, os, sys, traceback

def load(path, name):
    """Imports FILE as a module (not as __main__, so its CGI entry point stays quiet)
    and returns its WSGI callable, as wsgi_worker.py's load_application does."""
    module_name = os.path.splitext(os.path.basename(path))[0]
    sys.path.insert(0, os.path.dirname(path))
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    application = getattr(module, name, None)
    if not callable(application):
        raise LookupError("%s has no callable `%s`" % (path, name))
    return application

def describe(e, tb):
    """An exception's traceback, as Python prints it."""
    return "".join(traceback.format_exception(type(e), e, tb))

BytesIO = io.BytesIO
open_file = io.open
"#;

/// What each request needs from Python besides the app.
pub struct Helpers {
    /// `io.BytesIO`, for `wsgi.input` over a body held in memory.
    pub bytes_io: Py<PyAny>,
    /// `io.open`, for `wsgi.input` over a body spooled to a file.
    pub open_file: Py<PyAny>,
    /// The traceback of an exception, as text.
    pub describe: Py<PyAny>,
    /// `(1, 0)`, `wsgi.version`.
    pub wsgi_version: Py<PyAny>,
    /// The environ's names that are the server's own literals (`REQUEST_METHOD`, ...),
    /// each made a Python string once: every request uses them.
    names: Mutex<HashMap<usize, Py<PyString>, BuildHasherDefault<ByAddress>>>,
}

impl Helpers {
    /// An environ name as a Python string: one of the server's own made once and kept,
    /// any other (a header's `HTTP_*`, the configuration's) made for this request.
    #[expect(
        clippy::ptr_arg,
        reason = "which variant it is tells a literal from a name made for this request"
    )]
    pub fn name<'py>(&self, py: Python<'py>, name: &Cow<'static, str>) -> Bound<'py, PyString> {
        let Cow::Borrowed(fixed) = name else {
            return PyString::new(py, name);
        };
        let mut names = self.names.lock().unwrap_or_else(|e| e.into_inner());
        names
            .entry(fixed.as_ptr() as usize)
            .or_insert_with(|| PyString::intern(py, fixed).unbind())
            .bind(py)
            .clone()
    }

    /// What Python prints for exception `e`: its traceback, then `Type: message`.
    pub fn traceback(&self, py: Python<'_>, e: &PyErr) -> String {
        self.describe
            .bind(py)
            .call1((e.value(py), e.traceback(py)))
            .and_then(|s| s.extract::<String>())
            .unwrap_or_else(|_| format!("{e}\n"))
    }
}

/// Hashes a literal name by its address, which is all that tells one literal from
/// another (two literals with the same text may share an entry or not: both are right).
/// SipHash over the text cost more than the string it saved.
#[derive(Default)]
struct ByAddress(u64);

impl Hasher for ByAddress {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8 | u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_usize(&mut self, address: usize) {
        self.0 = (address as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// The interpreter, started, with the apps imported.
pub struct Started {
    /// Each app's name and its WSGI callable.
    pub apps: Vec<(String, Py<PyAny>)>,
    pub helpers: Helpers,
    /// `Python 3.11.7 (sys.prefix /usr)`.
    pub python: String,
}

/// Starts CPython and imports every app. An app that cannot be imported is an error
/// whose text is its exception's last line; its traceback goes to the log first.
pub fn start(embeds: &[EmbedConfig]) -> Result<Started, String> {
    Python::attach(|py| {
        let fail = |e: PyErr| format!("cannot start embedded Python: {e}");
        let sys = py.import("sys").map_err(fail)?;
        let stream = Py::new(py, ServerStream::new()).map_err(fail)?;
        sys.setattr("stderr", &stream).map_err(fail)?;
        sys.setattr("stdout", &stream).map_err(fail)?;
        // As in wsgi_worker.py: an edit within the second of a cached one is not shadowed.
        sys.setattr("dont_write_bytecode", true).map_err(fail)?;
        sys.setattr("argv", vec!["cgilab"]).map_err(fail)?;
        let module =
            PyModule::from_code(py, HELPERS, c"cgilab_embed.py", c"cgilab_embed").map_err(fail)?;
        let get = |name: &str| module.getattr(name).map(Bound::unbind).map_err(fail);
        let helpers = Helpers {
            bytes_io: get("BytesIO")?,
            open_file: get("open_file")?,
            describe: get("describe")?,
            wsgi_version: (1, 0).into_pyobject(py).map_err(fail)?.into_any().unbind(),
            names: Mutex::new(HashMap::default()),
        };
        let load = module.getattr("load").map_err(fail)?;
        let mut apps = Vec::new();
        for e in embeds {
            let log = errors::request_log(&e.name);
            let running = errors::running(log.clone());
            let file = e.file.to_string_lossy().into_owned();
            match load.call1((file.as_str(), e.callable.as_str())) {
                Ok(callable) => apps.push((e.name.clone(), callable.unbind())),
                Err(err) => {
                    log.lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .write(helpers.traceback(py, &err).as_bytes());
                    drop(running);
                    return Err(format!(
                        "--embed {}={}: cannot load it: {}",
                        e.name,
                        e.file.display(),
                        last_line(&err.to_string())
                    ));
                }
            }
        }
        let version: String = sys
            .getattr("version")
            .and_then(|v| v.extract())
            .unwrap_or_default();
        let prefix: String = sys
            .getattr("prefix")
            .and_then(|v| v.extract())
            .unwrap_or_default();
        Ok(Started {
            apps,
            helpers,
            python: format!(
                "Python {} (sys.prefix {prefix})",
                version.split_whitespace().next().unwrap_or("?")
            ),
        })
    })
}

fn last_line(s: &str) -> &str {
    s.trim_end().lines().last().unwrap_or(s)
}
