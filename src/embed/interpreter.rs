//! CPython inside the server: started once, its output sent to the server's log, and each
//! `--embed` app imported the way the pool's `wsgi_worker.py` imports one.
//!
//! PyO3's `auto-initialize` starts the interpreter with `Py_InitializeEx(0)`: Python
//! installs no signal handlers, so SIGTERM, SIGINT and SIGHUP stay the server's. Which
//! Python it is was decided at build time (`PYO3_PYTHON`, else `python3` on `PATH`); the
//! build's rpath makes the server load that Python's own libpython, so it sees the same
//! standard library and site-packages.

use pyo3::prelude::*;
use pyo3::types::PyModule;

use super::errors::{self, ErrorStream};
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

class NoInput:
    """wsgi.input of a request without a body, one for every such request: it holds
    nothing a read could change. Its reads give b"", as the pool worker's do."""

    __slots__ = ()

    def read(self, size=-1):
        return b""

    def readline(self, size=-1):
        return b""

    def readlines(self, hint=-1):
        return []

    def __iter__(self):
        return iter(())

NO_INPUT = NoInput()
BytesIO = io.BytesIO
open_file = io.open
"#;

/// What each request needs from Python besides the app.
pub struct Helpers {
    /// `io.BytesIO`, for `wsgi.input` over a body held in memory.
    pub bytes_io: Py<PyAny>,
    /// `wsgi.input` of every request without a body.
    pub no_input: Py<PyAny>,
    /// `io.open`, for `wsgi.input` over a body spooled to a file.
    pub open_file: Py<PyAny>,
    /// The traceback of an exception, as text.
    pub describe: Py<PyAny>,
    /// `(1, 0)`, `wsgi.version`.
    pub wsgi_version: Py<PyAny>,
}

impl Helpers {
    /// What Python prints for exception `e`: its traceback, then `Type: message`.
    pub fn traceback(&self, py: Python<'_>, e: &PyErr) -> String {
        self.describe
            .bind(py)
            .call1((e.value(py), e.traceback(py)))
            .and_then(|s| s.extract::<String>())
            .unwrap_or_else(|_| format!("{e}\n"))
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
        let stream = Py::new(py, ErrorStream::new("embed")).map_err(fail)?;
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
            no_input: get("NO_INPUT")?,
            open_file: get("open_file")?,
            describe: get("describe")?,
            wsgi_version: (1, 0).into_pyobject(py).map_err(fail)?.into_any().unbind(),
        };
        let load = module.getattr("load").map_err(fail)?;
        let mut apps = Vec::new();
        for e in embeds {
            let running = errors::running(&errors::prefix(&e.name));
            let file = e.file.to_string_lossy().into_owned();
            match load.call1((file.as_str(), e.callable.as_str())) {
                Ok(callable) => apps.push((e.name.clone(), callable.unbind())),
                Err(err) => {
                    errors::write(
                        helpers.traceback(py, &err).as_bytes(),
                        stream.get().outside(),
                    );
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
