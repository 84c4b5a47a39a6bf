//! The requests being answered now, counted so that a graceful stop can wait for them.
//!
//! Every request passes here twice, on every thread, so the count is an atomic: no lock
//! on the request path. Only once a stop is waiting does the request that brings the
//! count to zero take the lock, to wake it.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Instant;

#[derive(Default)]
pub struct InFlight {
    count: AtomicUsize,
    /// A stop is waiting: the last request out wakes it.
    waiting: AtomicBool,
    /// A stop asked not to wait any longer.
    hurried: Mutex<bool>,
    changed: Condvar,
}

/// One request in flight, until dropped.
pub struct Counted<'a>(&'a InFlight);

impl InFlight {
    pub fn enter(&self) -> Counted<'_> {
        self.count.fetch_add(1, Ordering::SeqCst);
        Counted(self)
    }

    /// How many requests are in flight now.
    pub fn count(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }

    /// Stops [`InFlight::wait_idle`] from waiting any longer.
    pub fn hurry(&self) {
        *self.lock() = true;
        self.changed.notify_all();
    }

    /// Waits until no request is in flight, `deadline` passes or [`InFlight::hurry`] is
    /// called; returns how many are still in flight.
    pub fn wait_idle(&self, deadline: Instant) -> usize {
        self.waiting.store(true, Ordering::SeqCst);
        let mut hurried = self.lock();
        // The count is read under the lock that the last request out takes to wake us,
        // so its wake-up cannot fall between the check and the wait.
        while self.count() > 0 && !*hurried {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            hurried = match self.changed.wait_timeout(hurried, left) {
                Ok((h, _)) => h,
                Err(e) => e.into_inner().0,
            };
        }
        self.count()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, bool> {
        self.hurried.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Counted<'_> {
    /// The request was answered on another thread, which counted it out already
    /// ([`InFlight::leave`]): this thread's count is not given back a second time.
    pub fn handed_over(self) {
        std::mem::forget(self);
    }
}

impl InFlight {
    /// Counts out a request answered on another thread than the one that counted it in
    /// (an embedded call given up at `--timeout`); that thread's [`Counted`] is then
    /// [`Counted::handed_over`].
    pub fn leave(&self) {
        let left = self.count.fetch_sub(1, Ordering::SeqCst) - 1;
        if left == 0 && self.waiting.load(Ordering::SeqCst) {
            let _guard = self.lock();
            self.changed.notify_all();
        }
    }
}

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        self.0.leave();
    }
}
