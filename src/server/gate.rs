//! `--threads`: at most N requests answered at once. A request takes its turn once its
//! body has been read in full, so clients that trickle a body hold no turn while they do.

use std::sync::{Condvar, Mutex, MutexGuard};

/// At most N requests answered at once.
pub struct Gate {
    turns: Mutex<Turns>,
    freed: Condvar,
}

/// The turns, counted under one lock.
struct Turns {
    free: usize,
    /// Requests waiting for a turn. A turn given back wakes one only when there is one:
    /// a notify with nobody waiting still costs a system call.
    waiting: usize,
}

/// A turn at the gate, given back when dropped.
pub struct Turn<'a>(&'a Gate);

impl Gate {
    pub fn new(n: usize) -> Gate {
        Gate {
            turns: Mutex::new(Turns {
                free: n,
                waiting: 0,
            }),
            freed: Condvar::new(),
        }
    }

    /// Waits for a turn. A thread holds at most one: drop it before entering again.
    pub fn enter(&self) -> Turn<'_> {
        let mut turns = self.lock();
        while turns.free == 0 {
            turns.waiting += 1;
            turns = self.freed.wait(turns).unwrap_or_else(|e| e.into_inner());
            turns.waiting -= 1;
        }
        turns.free -= 1;
        Turn(self)
    }

    /// Gives a turn back for a request answered on another thread than the one that
    /// took the turn (an embedded call given up at `--timeout`); that thread's [`Turn`]
    /// is then [`Turn::handed_over`].
    pub fn leave(&self) {
        let mut turns = self.lock();
        turns.free += 1;
        // A waiter counted itself under this lock before it slept, so it is not missed.
        if turns.waiting > 0 {
            self.freed.notify_one();
        }
    }

    fn lock(&self) -> MutexGuard<'_, Turns> {
        self.turns.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Turn<'_> {
    /// The turn was given back by the thread that finished the request ([`Gate::leave`]).
    pub fn handed_over(self) {
        std::mem::forget(self);
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        self.0.leave();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::mpsc;

    /// A turn given back wakes a request waiting for one.
    #[test]
    fn a_turn_given_back_lets_a_waiting_request_in() {
        let gate = Arc::new(Gate::new(1));
        let held = gate.enter();
        let (entered, rx) = mpsc::channel();
        let waiter = {
            let gate = gate.clone();
            std::thread::spawn(move || {
                let _turn = gate.enter();
                entered.send(()).unwrap();
            })
        };
        // The waiter is counted before it sleeps; give the turn back only once it waits.
        while gate.lock().waiting == 0 {
            std::thread::yield_now();
        }
        drop(held);
        rx.recv_timeout(std::time::Duration::from_secs(10))
            .expect("the waiting request never got the turn");
        waiter.join().unwrap();
    }
}
