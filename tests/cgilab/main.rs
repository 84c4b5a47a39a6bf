//! Integration tests for `cgilab`: each test starts the real binary on a free port with
//! its own temporary cgi-bin, talks to it over raw HTTP/1.1, and reads its log.
//!
//! Modules:
//!
//! - [`support`]: the harness: a `Site` of fixture scripts, the `Server` it starts (killed
//!   on drop), a raw HTTP client (`Conn`, `Response`), and bounded waits on log lines and
//!   processes.
//! - [`routing`]: URL to script: refused paths (RFC 3875 §9.8), 404s, symlinks,
//!   directories, interpreters by extension, scripts added while running.
//! - [`environ`]: the meta-variables (§4.1) a script sees, what must never reach it, and
//!   search words as arguments (§4.4).
//! - [`body`]: the request body on stdin (§4.2): chunked bodies, --max-body, pipes that
//!   cannot deadlock.
//! - [`response`]: the script's output (§5, §6): header blocks, Status, redirects, bad
//!   output as 502, framing, HEAD, streaming.
//! - [`flask`]: a Flask app through wsgiref's CGIHandler: Authorization, HEAD with a
//!   length, a Latin-1 header.
//! - [`lifecycle`]: Server-Timing and the access log, --timeout, --max-procs, clients that
//!   disconnect or stall, request size limits, leaks under load, descriptor exhaustion.
//! - [`limits`]: what a misbehaving script cannot do: outrun --timeout, hold a slot or a
//!   response after it exits, look complete after a crash; uploads and the queue.
//! - [`logs`]: the time on every line, stderr before the access line, `--access-log` and
//!   its formats, SIGUSR1 reopening it, escaped control bytes.
//! - [`proxy`]: `--forwarded-allow-ips`: X-Forwarded-Proto and X-Forwarded-For count from
//!   a trusted proxy only, in every mode.
//! - [`signals`]: scripts start with default dispositions, whatever the server's
//!   launcher ignored; signals that must not stop the server.
//! - [`cli`]: startup errors.
//! - [`containment`]: nothing the server starts outlives it (SIGKILL, SIGTERM, Ctrl-C,
//!   children that call `setsid`, recycled workers); temp directories are removed only
//!   when they are ours.

mod support;

mod body;
mod cli;
mod containment;
mod environ;
mod flask;
mod graceful;
mod lifecycle;
mod limits;
mod logs;
mod proxy;
mod response;
mod routing;
mod signals;
mod static_files;
