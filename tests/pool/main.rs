//! Integration tests for worker pools: the real `cgilab` binary, real python3 workers,
//! real HTTP on 127.0.0.1. Every server binds port 0 and is killed when its test ends.
//!
//! Modules:
//!
//! - [`support`]: a site with WSGI apps, the server it starts with pool flags, process
//!   and log helpers (workers of a server, waiting for a log line or for whole turns of
//!   the supervisor's loop).
//! - [`serving`]: a request's path: persistence, the CGI-vs-pool twins, a 1 MiB body,
//!   streaming, an app that raises, Server-Timing and the access log, unknown pools.
//! - [`supervision`]: the arbiter: killed workers, boot failures (no respawn storm),
//!   timeouts with group kill, recycling, queueing, reload under load, resizing.
//! - [`accounting`]: the supervisor's reasons and counts: a failed pool's reason is its
//!   last failed worker's last line, failed starts stop at their limit, a worker past
//!   --max-requests serves only when no other is idle.
//! - [`lifecycle`]: stopping the server (SIGTERM, SIGKILL) leaves no worker; no zombies,
//!   no descriptor growth.
//! - [`foreign`]: FastCGI programs nobody here wrote: php-cgi and flup.
//! - [`framing`]: the app's framing is law: declared lengths, HEAD, cuts, split
//!   headers, escaped logs; a FastCGI program that streams, lies or closes.
//! - [`loading`]: apps loaded as gunicorn loads them (`MODULE:CALLABLE`, factories,
//!   `--chdir`, `--pythonpath`), the worker's environment and a pool's secrets, apps that
//!   cannot be loaded, flaskr and a Django project.
//! - [`logs`]: what a worker writes about a request comes before its access line.
//! - [`on_demand`]: a twin's pool starts on its first request; named pools at once.
//! - [`cli`]: bad pool flags are one line that says what to do.
//! - [`shared_accept`]: `--accept shared`, one socket every worker accepts on: shared
//!   for real, heartbeat kills, recycling, reload, resizing, the classes, preload, the
//!   backlog, no leaks.

mod support;

mod accounting;
mod classes;
mod cli;
mod deploy;
mod faults;
mod foreign;
mod framing;
mod lifecycle;
mod loading;
mod logs;
mod on_demand;
mod preload;
mod serving;
mod shared_accept;
mod supervision;
