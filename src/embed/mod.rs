//! Embedded Python: the server calls the WSGI app itself, in its own process.
//!
//! This is WSGI as PEP 3333 first tells it: `application(environ, start_response)` called
//! by the server, with no worker and no hop. `cgilab serve --embed NAME=FILE[:CALLABLE]`
//! imports FILE into cgilab's process with CPython (through PyO3) and answers
//! `/wsgi/NAME` by calling it, under the same rules as every other mode: the environ from
//! the one environ function, the response through the one relay. Only with the cargo
//! feature `python` (it links Python's shared library); without it, `--embed` is a
//! one-line error and this module holds nothing.
//!
//! Read the parts in the order a request meets them:
//!
//! 1. [`interpreter`] starts CPython once, sends what Python prints to the server's log,
//!    and imports each app.
//! 2. [`host`], on the connection's thread: park the request where the watch can find it
//!    ([`handover`], [`watch`]), call the app on this same thread, and relay what it
//!    answered. A body that streams goes to a relay thread ([`relays`]) with its first
//!    piece, so the client gets each piece while Python computes the next.
//! 3. [`call`], with the GIL: build the environ dict ([`environ`]: native strings, kept
//!    from the thread's last request where they are the same ([`kept`]), `wsgi.input`
//!    over the body already read, `wsgi.errors` to the log through [`errors`]), call the
//!    app with [`start_response`], take its iterable piece by piece, and always call
//!    `close()`; what it says goes through its [`link`].
//! 4. [`gil`]: the GIL is held only while Python runs, and taking it is measured: the
//!    `gil` phase of `Server-Timing` and of the log line.
//!
//! The price of no hop is the price of the gateway's: an app that never returns cannot
//! be stopped, since there is no process to kill and Python offers no way to stop a
//! thread. At `--timeout` the client gets 504 (or a cut connection once the body has
//! started) and the log says the call's thread is lost; the server goes on with other
//! threads. And there is one interpreter, so one GIL: Python runs on one core at a time,
//! however many threads call it. This is why mod_wsgi's daemon mode, uWSGI, gunicorn and
//! Granian run several processes.

#[cfg(feature = "python")]
mod call;
#[cfg(feature = "python")]
mod environ;
#[cfg(feature = "python")]
mod errors;
#[cfg(feature = "python")]
mod gil;
#[cfg(feature = "python")]
mod handover;
#[cfg(feature = "python")]
mod host;
#[cfg(feature = "python")]
mod interpreter;
#[cfg(feature = "python")]
mod kept;
#[cfg(feature = "python")]
mod link;
#[cfg(feature = "python")]
mod relays;
#[cfg(feature = "python")]
mod start_response;
#[cfg(feature = "python")]
mod watch;

use std::time::Duration;

use crate::http::body::Body;
use crate::measure::timing::Timing;
use crate::request::environ::Environ;
use crate::request::outcome::{Failed, Sent};

pub use crate::config::embeds::BUILT;

#[cfg(feature = "python")]
pub use host::serve;
#[cfg(feature = "python")]
pub use live::{App, Embedded};

#[cfg(not(feature = "python"))]
pub use absent::{App, Embedded, serve};

/// Answers and logs a request on another thread than the one that took it (`Failed` is
/// answered with its error's status), given the request's timing.
pub type Finish = Box<dyn FnOnce(Result<Sent, Failed>, Timing) + Send>;

/// Who answered.
// Moved once per request, never kept: not worth a box.
#[allow(clippy::large_enum_variant)]
pub enum Served {
    /// This thread, as any host does.
    Here(Result<Sent, Failed>),
    /// Another thread (a relay, the watch), which called the [`Finish`].
    Elsewhere,
}

/// One request for an embedded app: everything but the HTTP request.
pub struct Call<'a> {
    pub app: &'a std::sync::Arc<App>,
    pub environ: &'a Environ,
    pub body: Body,
    pub timeout: Duration,
}

#[cfg(feature = "python")]
mod live {
    use std::collections::BTreeMap;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use pyo3::prelude::*;

    use super::errors::{self, ErrorStream};
    use super::interpreter::{self, Helpers};
    use super::relays::Relays;
    use super::watch::Watch;
    use crate::config::Config;

    /// An imported app: its name and its WSGI callable.
    pub struct App {
        /// Shared with every call in flight, not copied for each.
        pub name: Arc<str>,
        pub(super) callable: Py<PyAny>,
        /// Its log lines' prefix, `embed NAME`.
        pub(super) prefix: Arc<str>,
        /// Its `wsgi.errors`.
        pub(super) errors: Py<ErrorStream>,
        pub(super) shared: Arc<Shared>,
    }

    /// What every embedded app of a server shares.
    pub(super) struct Shared {
        pub helpers: Helpers,
        pub relays: Arc<Relays>,
        pub watch: Watch,
        /// Calls given up at `--timeout` whose threads have not returned.
        pub lost: Arc<AtomicUsize>,
        /// At most this many lost at once (`--threads`); past it, no new call is made.
        pub limit: usize,
    }

    impl Shared {
        /// Whether a new call may be made.
        pub fn room(&self) -> Result<(), String> {
            let lost = self.lost.load(Ordering::SeqCst);
            if lost >= self.limit {
                return Err(format!(
                    "{lost} threads are held by calls that ran past --timeout (at most \
                     --threads {}); restart the server to get them back",
                    self.limit
                ));
            }
            Ok(())
        }
    }

    /// The embedded apps of a server, by name, and the threads that call them.
    pub struct Embedded {
        apps: BTreeMap<String, Arc<App>>,
        python: String,
    }

    impl Embedded {
        /// Starts CPython and imports every app of `config.embeds`; `None` when there is
        /// none. An app that cannot be imported stops the server from starting: its
        /// traceback is logged, and the error is its last line.
        pub fn start(config: &Config) -> Result<Option<Embedded>, String> {
            if config.embeds.is_empty() {
                return Ok(None);
            }
            let started = interpreter::start(&config.embeds)?;
            let shared = Arc::new(Shared {
                helpers: started.helpers,
                relays: Arc::default(),
                watch: Watch::start()?,
                lost: Arc::default(),
                limit: config.threads,
            });
            let apps = started
                .apps
                .into_iter()
                .map(|(name, callable)| {
                    let prefix = errors::prefix(&name);
                    let errors = Python::attach(|py| Py::new(py, ErrorStream::new(&prefix)))
                        .map_err(|e| format!("cannot start embedded Python: {e}"))?;
                    let app = App {
                        name: name.as_str().into(),
                        callable,
                        prefix,
                        errors,
                        shared: shared.clone(),
                    };
                    Ok((name, Arc::new(app)))
                })
                .collect::<Result<_, String>>()?;
            Ok(Some(Embedded {
                apps,
                python: started.python,
            }))
        }

        /// The app called `name`.
        pub fn get(&self, name: &str) -> Option<&Arc<App>> {
            self.apps.get(name)
        }

        /// All names, sorted.
        pub fn names(&self) -> impl Iterator<Item = &str> {
            self.apps.keys().map(String::as_str)
        }

        /// Which Python the server embeds: `Python 3.11.7 (sys.prefix /usr)`.
        pub fn python(&self) -> &str {
            &self.python
        }
    }
}

#[cfg(not(feature = "python"))]
mod absent {
    use tiny_http::Request;

    use super::{Finish, Served};
    use crate::config::Config;
    use crate::measure::timing::Timing;

    /// Without the feature there is no embedded app: these types have no values.
    pub enum App {}

    /// See [`App`].
    pub enum Embedded {}

    impl Embedded {
        /// Nothing to start: `--embed` was refused when the configuration was checked.
        pub fn start(config: &Config) -> Result<Option<Embedded>, String> {
            match config.embeds.first() {
                None => Ok(None),
                Some(e) => Err(format!(
                    "--embed {}: {}",
                    e.name,
                    crate::config::embeds::NOT_BUILT
                )),
            }
        }

        pub fn get(&self, _: &str) -> Option<&std::sync::Arc<App>> {
            match *self {}
        }

        pub fn names(&self) -> std::iter::Empty<&str> {
            match *self {}
        }

        pub fn python(&self) -> &str {
            match *self {}
        }
    }

    pub fn serve(call: super::Call<'_>, _: Request, _: &mut Timing, _: Finish) -> Served {
        match **call.app {}
    }
}
