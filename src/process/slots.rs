//! The `--max-procs` slots: how many scripts run at once, and the queue of requests
//! waiting for one, first come first served, for at most `--queue-timeout`.
//!
//! Past the limit a request waits its turn instead of being refused at once, as behind
//! Apache, nginx + fcgiwrap or gunicorn (a listen backlog does the waiting there). A freed
//! slot goes straight to the oldest waiter, so a newcomer cannot overtake the queue.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

/// Counts the scripts running at once, up to `--max-procs`, and queues the rest.
#[derive(Debug, Clone)]
pub struct Slots {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    limit: usize,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    running: usize,
    waiting: VecDeque<Arc<Waiter>>,
}

/// A request in the queue: its thread, woken when a slot is handed to it.
#[derive(Debug)]
struct Waiter {
    granted: AtomicBool,
    thread: Thread,
}

/// One running script's place under the limit; freed (or handed on) when dropped.
#[derive(Debug)]
pub struct Slot(Arc<Inner>);

/// No slot came free within the wait.
#[derive(Debug)]
pub struct Full {
    pub waited: Duration,
}

impl Slots {
    pub fn new(limit: usize) -> Slots {
        Slots {
            inner: Arc::new(Inner {
                limit,
                state: Mutex::new(State::default()),
            }),
        }
    }

    /// A slot if one is free and nobody is waiting for one.
    pub fn try_acquire(&self) -> Option<Slot> {
        let mut state = self.inner.lock();
        if state.running < self.inner.limit && state.waiting.is_empty() {
            state.running += 1;
            return Some(Slot(self.inner.clone()));
        }
        None
    }

    /// A slot, waiting in line for at most `wait` when all are taken.
    pub fn acquire(&self, wait: Duration) -> Result<Slot, Full> {
        let started = Instant::now();
        let waiter = {
            let mut state = self.inner.lock();
            // Nobody may overtake the queue, even when a slot is free this instant.
            if state.running < self.inner.limit && state.waiting.is_empty() {
                state.running += 1;
                return Ok(Slot(self.inner.clone()));
            }
            let waiter = Arc::new(Waiter {
                granted: AtomicBool::new(false),
                thread: thread::current(),
            });
            state.waiting.push_back(waiter.clone());
            waiter
        };
        let deadline = started + wait;
        loop {
            if waiter.granted.load(Ordering::Acquire) {
                return Ok(Slot(self.inner.clone()));
            }
            let now = Instant::now();
            if now >= deadline {
                let mut state = self.inner.lock();
                // Granted between the check and the lock: the slot is ours.
                if waiter.granted.load(Ordering::Acquire) {
                    return Ok(Slot(self.inner.clone()));
                }
                state.waiting.retain(|w| !Arc::ptr_eq(w, &waiter));
                return Err(Full {
                    waited: started.elapsed(),
                });
            }
            thread::park_timeout(deadline - now);
        }
    }

    /// The limit.
    pub fn limit(&self) -> usize {
        self.inner.limit
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut state = self.0.lock();
        // Hand the slot to the oldest waiter; `running` stays the same.
        match state.waiting.pop_front() {
            Some(next) => {
                next.granted.store(true, Ordering::Release);
                next.thread.unpark();
            }
            None => state.running -= 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_freed_slot_goes_to_the_oldest_waiter() {
        let slots = Slots::new(1);
        let first = slots.acquire(Duration::ZERO).unwrap();
        assert!(slots.acquire(Duration::from_millis(10)).is_err());
        let order = Arc::new(Mutex::new(Vec::new()));
        let waiters: Vec<_> = (0..3)
            .map(|i| {
                let (mine, order) = (slots.clone(), order.clone());
                // Start them one after another, so the queue order is known.
                let handle = thread::spawn(move || {
                    let _slot = mine.acquire(Duration::from_secs(10)).unwrap();
                    order.lock().unwrap().push(i);
                });
                while slots.inner.lock().waiting.len() <= i {
                    thread::yield_now();
                }
                handle
            })
            .collect();
        drop(first);
        for w in waiters {
            w.join().unwrap();
        }
        assert_eq!(*order.lock().unwrap(), [0, 1, 2]);
        assert_eq!(slots.inner.lock().running, 0);
    }
}
