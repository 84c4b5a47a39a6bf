//! The requests being answered now, counted so that a graceful stop can wait for them.

use std::sync::{Condvar, Mutex};
use std::time::Instant;

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

    /// How many requests are in flight now.
    pub fn count(&self) -> usize {
        self.lock().0
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
