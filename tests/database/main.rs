//! A database behind the app: lesson 12's notes app
//! (`lessons/12-workers-that-wait/notes_db_wsgi.py`) run by the real `cgilab` binary, as a
//! CGI script and in pools of each worker class, on SQLite and on a throwaway MariaDB,
//! over HTTP on 127.0.0.1. Nothing is mocked: the app imports a real driver and talks to
//! a real database.
//!
//! What a test proves is never a duration: a connection kept is a phase missing from the
//! app's own Server-Timing, a count in its `/stats`, a descriptor in /proc, or the
//! database server's own count of connections; requests held at once are seen in flight,
//! waited for as events.
//!
//! Modules:
//!
//! - [`notes`]: the app in a temporary site, and reading its JSON and its Server-Timing.
//! - [`sqlite`]: the app on SQLite: its routes both ways, every bad request a 4xx, one
//!   connection kept per worker against a connection per CGI request, a gevent worker
//!   holding many slow requests at once, a database it cannot open (503) and a
//!   DATABASE_URL it cannot use (the pool never starts).
//! - [`mariadb`]: the app on a MariaDB server that `mariadb.sh` starts in a temporary
//!   directory: the same routes, connections counted by the server, a broken connection
//!   replaced, slow queries held at once by a gevent worker, no server at all (503).

#[path = "../pool/support.rs"]
mod support;

mod mariadb;
mod notes;
mod sqlite;
