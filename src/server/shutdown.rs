//! Stopping the server, on its main thread (the signal thread only passes the signal on).
//!
//! - **SIGTERM, graceful** (gunicorn's TERM): no new connections; the requests in flight
//!   get `--graceful-timeout` to finish (those waiting for a pool worker included); then
//!   the pools' workers are told to exit, and scripts still running are killed.
//! - **SIGINT, quick** (or a second signal during a graceful stop): no waiting for
//!   requests; workers get a short grace, scripts are killed at once.
//!
//! Either way the server then exits 0, as gunicorn does: it stopped as asked. systemd
//! counts any other status as a failure of the service (128 + 15 included, unless the
//! unit says otherwise), and supervisord an exit code it was not told to expect.

use std::sync::Arc;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use crate::pool::policy::{QUICK_STOP_GRACE, STOP_GRACE};

use super::dispatch::ServerState;

/// Stops the server after `first` (SIGINT or SIGTERM); a second one on `more` hurries a
/// graceful stop.
pub fn stop(ctx: &Arc<ServerState>, http: &tiny_http::Server, first: i32, more: Receiver<i32>) {
    http.stop_accepting();
    let graceful = first == libc::SIGTERM;
    let name = if graceful { "SIGTERM" } else { "SIGINT" };
    if graceful {
        let secs = ctx.config.graceful_timeout.as_secs_f64();
        let now = ctx.in_flight.count();
        crate::log!(
            "cgilab: {name}: no new connections; {now} requests in flight get up to \
             {secs:.0} s to finish (--graceful-timeout)"
        );
        // A second signal means "now".
        let hurry = ctx.clone();
        std::thread::spawn(move || {
            if more.recv().is_ok() {
                crate::log!("cgilab: a second signal: stopping now");
                hurry.in_flight.hurry();
            }
        });
        let left = ctx
            .in_flight
            .wait_idle(Instant::now() + ctx.config.graceful_timeout);
        if left > 0 {
            crate::log!("cgilab: {left} requests still in flight are cut");
        }
    }
    let grace: Duration = if graceful {
        STOP_GRACE
    } else {
        QUICK_STOP_GRACE
    };
    if let Some(pools) = &ctx.pools {
        pools.stop(grace);
    }
    crate::process::child::kill_all_groups();
    crate::log!("cgilab: stopped on {name}; scripts still running were killed");
}
