//! Stopping the server, on its main thread (the signal thread only passes the signal on).
//!
//! - **SIGTERM, graceful** (gunicorn's TERM): no new connections; the requests in flight
//!   get `--graceful-timeout` to finish (those waiting for a pool worker included); then
//!   the pools' workers are told to exit, and scripts still running are killed.
//! - **SIGINT, quick** (or a second signal during a graceful stop): no waiting for
//!   requests; workers get a short grace, scripts are killed at once.

use std::sync::mpsc::Receiver;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::pool::policy::{QUICK_STOP_GRACE, STOP_GRACE};

use super::dispatch::ServerState;

/// The requests being answered now: a graceful stop waits for them.
#[derive(Default)]
pub struct InFlight {
    /// How many, and whether a stop has asked them to hurry (no more waiting).
    count: Mutex<(usize, bool)>,
    changed: Condvar,
}

/// One request in flight, until dropped.
pub struct Counted<'a>(&'a InFlight);

impl InFlight {
    pub fn enter(&self) -> Counted<'_> {
        self.lock().0 += 1;
        Counted(self)
    }

    /// Stops [`InFlight::wait_idle`] from waiting any longer.
    pub fn hurry(&self) {
        self.lock().1 = true;
        self.changed.notify_all();
    }

    /// Waits until no request is in flight, `deadline` passes or [`InFlight::hurry`] is
    /// called; returns how many are still in flight.
    pub fn wait_idle(&self, deadline: Instant) -> usize {
        let mut count = self.lock();
        while count.0 > 0 && !count.1 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            count = match self.changed.wait_timeout(count, left) {
                Ok((c, _)) => c,
                Err(e) => e.into_inner().0,
            };
        }
        count.0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (usize, bool)> {
        self.count.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        let mut count = self.0.lock();
        count.0 -= 1;
        if count.0 == 0 {
            self.0.changed.notify_all();
        }
    }
}

/// Stops the server after `first` (SIGINT or SIGTERM); a second one on `more` hurries a
/// graceful stop. Returns the exit code.
pub fn stop(
    ctx: &Arc<ServerState>,
    http: &tiny_http::Server,
    first: i32,
    more: Receiver<i32>,
) -> i32 {
    http.stop_accepting();
    let graceful = first == libc::SIGTERM;
    let name = if graceful { "SIGTERM" } else { "SIGINT" };
    if graceful {
        let secs = ctx.config.graceful_timeout.as_secs_f64();
        let now = ctx.in_flight.lock().0;
        eprintln!(
            "cgilab: {name}: no new connections; {now} requests in flight get up to \
             {secs:.0} s to finish (--graceful-timeout)"
        );
        // A second signal means "now".
        let hurry = ctx.clone();
        std::thread::spawn(move || {
            if more.recv().is_ok() {
                eprintln!("cgilab: a second signal: stopping now");
                hurry.in_flight.hurry();
            }
        });
        let left = ctx
            .in_flight
            .wait_idle(Instant::now() + ctx.config.graceful_timeout);
        if left > 0 {
            eprintln!("cgilab: {left} requests still in flight are cut");
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
    eprintln!("cgilab: stopped on {name}; scripts still running were killed");
    128 + first
}
