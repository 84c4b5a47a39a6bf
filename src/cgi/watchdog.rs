//! One thread for the whole server that cuts a response's connection at its script's
//! deadline, so a client that stops reading cannot hold a script past `--timeout`.
//!
//! The pipes are waited on with `poll`, which takes the remaining time on every turn, but
//! a write to the client blocks in the socket, whose descriptor tiny_http keeps to itself.
//! Shutting the connection down (what [`tiny_http::ConnectionCloser::abort`] does) wakes
//! that write with an error; the request's thread then kills the script and frees its
//! slot. No thread per script: a request registers its deadline while it writes the body,
//! and the thread sleeps until the earliest one. Deadlines come in increasing order, so
//! registering almost never has to wake it.

use std::sync::{Condvar, Mutex, MutexGuard, OnceLock};
use std::thread;
use std::time::Instant;

use tiny_http::ConnectionCloser;

/// A registered deadline; dropping it unregisters it.
pub struct Watch(u64);

struct State {
    next_id: u64,
    watched: Vec<(u64, Instant, ConnectionCloser)>,
    /// When the thread will next wake by itself; `None` while it sleeps with nothing to do.
    wakes_at: Option<Instant>,
}

struct Watchdog {
    state: Mutex<State>,
    wake: Condvar,
}

fn watchdog() -> &'static Watchdog {
    static DOG: OnceLock<&'static Watchdog> = OnceLock::new();
    DOG.get_or_init(|| {
        let dog: &'static Watchdog = Box::leak(Box::new(Watchdog {
            state: Mutex::new(State {
                next_id: 0,
                watched: Vec::new(),
                wakes_at: None,
            }),
            wake: Condvar::new(),
        }));
        thread::Builder::new()
            .name("deadlines".into())
            .spawn(move || dog.run())
            .expect("the deadline thread starts");
        dog
    })
}

/// Cuts `closer`'s connection at `deadline`, unless the returned [`Watch`] is dropped first.
pub fn watch(deadline: Instant, closer: ConnectionCloser) -> Watch {
    let dog = watchdog();
    let mut state = dog.lock();
    let id = state.next_id;
    state.next_id += 1;
    state.watched.push((id, deadline, closer));
    if state.wakes_at.is_none_or(|at| deadline < at) {
        dog.wake.notify_one();
    }
    Watch(id)
}

impl Drop for Watch {
    fn drop(&mut self) {
        watchdog().lock().watched.retain(|(id, _, _)| *id != self.0);
    }
}

impl Watchdog {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn run(&self) {
        let mut state = self.lock();
        loop {
            let now = Instant::now();
            state.watched.retain(|(_, deadline, closer)| {
                let due = *deadline <= now;
                if due {
                    closer.abort();
                }
                !due
            });
            state.wakes_at = state.watched.iter().map(|(_, d, _)| *d).min();
            state = match state.wakes_at {
                Some(at) => {
                    let waited = self.wake.wait_timeout(state, at - now);
                    waited.unwrap_or_else(|e| e.into_inner()).0
                }
                None => self.wake.wait(state).unwrap_or_else(|e| e.into_inner()),
            };
        }
    }
}
