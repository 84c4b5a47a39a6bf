//! `--threads`: at most N requests answered at once. A request takes its turn once its
//! body has been read in full, so clients that trickle a body hold no turn while they do.

use std::sync::{Condvar, Mutex};

/// At most N requests answered at once.
pub struct Gate {
    free: Mutex<usize>,
    freed: Condvar,
}

/// A turn at the gate, given back when dropped.
pub struct Turn<'a>(&'a Gate);

impl Gate {
    pub fn new(n: usize) -> Gate {
        Gate {
            free: Mutex::new(n),
            freed: Condvar::new(),
        }
    }

    /// Waits for a turn. A thread holds at most one: drop it before entering again.
    pub fn enter(&self) -> Turn<'_> {
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        while *free == 0 {
            free = self.freed.wait(free).unwrap_or_else(|e| e.into_inner());
        }
        *free -= 1;
        Turn(self)
    }

    /// Gives a turn back for a request answered on another thread than the one that
    /// took the turn (an embedded call given up at `--timeout`); that thread's [`Turn`]
    /// is then [`Turn::handed_over`].
    pub fn leave(&self) {
        *self.free.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        self.freed.notify_one();
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
