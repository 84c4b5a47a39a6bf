//! Integration tests for running `cgilab serve` as a service: each test starts the real
//! binary and talks HTTP to it over TCP or a unix socket.
//!
//! Modules:
//!
//! - [`support`]: the harness: a temporary directory, servers killed by PID when
//!   dropped, a socket-activated start, bounded waits on processes.
//! - [`unix_socket`]: `--listen unix:PATH`: mode 0660, stale and live sockets, the file
//!   removed on stop, the addresses a client over the socket gets in every mode, read
//!   timeouts.
//! - [`systemd`]: socket activation (a TCP, a unix and an abstract socket passed as
//!   descriptor 3), `READY=1` and `STOPPING=1` on the notify socket, and nothing of it
//!   reaching a worker.
//! - [`pidfile`]: `--pid FILE`: written, removed, refused while live, replaced when
//!   stale; `pid` and `listen` in a config file.
//! - [`supervisor`]: under a real supervisord: foreground, restarted after `kill -9`
//!   with no orphaned worker, stopped cleanly.

mod support;

mod pidfile;
mod supervisor;
mod systemd;
mod unix_socket;
