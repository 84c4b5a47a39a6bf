//! Integration tests for embedded Python (`serve --embed`, built with `--features
//! python`): the real `cgilab` binary with CPython inside, real HTTP on 127.0.0.1, the
//! test app `app.py`. Every server binds port 0 and is killed when its test ends.
//!
//! Modules:
//!
//! - [`support`]: the site with the test app, the server, a raw connection, waits.
//! - [`pep3333`]: what PEP 3333 asks of a server: native strings, the `wsgi.*` keys,
//!   `wsgi.input`, `wsgi.errors`, `start_response` and `exc_info`, `write()`, `close()`
//!   always, and the standard library's validator wrapped around the app.
//! - [`parity`]: the `*_wsgi.py` twins answer the same in all four modes; the environ
//!   agrees with the pool's.
//! - [`hostile`]: an app that raises before or after its head, breaks the header rules,
//!   yields text, lies about its length, never returns, or computes for ever.
//! - [`gil`]: the `gil` phase in `Server-Timing` and the log, a body that streams,
//!   requests that meet in one process.
//! - [`leaks`]: a thousand requests leave no more threads, descriptors or Python objects.
//! - [`cli`]: an app that cannot be imported stops the server with one error line.
//! - [`threads`]: a whole answer made on the connection's thread, a streaming one
//!   relayed; a call lost at `--timeout` gives back its turn and its place in a stop.

mod support;

mod cli;
mod gil;
mod hostile;
mod leaks;
mod parity;
mod pep3333;
mod threads;
