//! The watch: one thread that looks, a few times a tenth of a second, for calls past
//! their deadline whose request is still parked ([`super::handover`]), and answers
//! those with 504. It is never woken by a request: a call registers by pushing itself
//! onto a list, and a call that ends in time costs the watch nothing but its removal
//! at the next look.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::handover::{self, Handover};

/// How often the watch looks: a late call is answered at most this long after its
/// deadline.
const LOOK_EVERY: Duration = Duration::from_millis(20);

#[derive(Default)]
pub struct Watch {
    calls: Arc<Mutex<Vec<Arc<Handover>>>>,
}

impl Watch {
    /// Starts the watch's thread; it lives as long as the server.
    pub fn start() -> Result<Watch, String> {
        let watch = Watch::default();
        let calls = watch.calls.clone();
        std::thread::Builder::new()
            .name("embed-watch".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(LOOK_EVERY);
                    look(&calls);
                }
            })
            .map_err(|e| format!("cannot start the thread that watches embedded calls: {e}"))?;
        Ok(watch)
    }

    /// Watches a call until its request is taken.
    pub fn keep(&self, call: Arc<Handover>) {
        self.calls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(call);
    }
}

fn look(calls: &Mutex<Vec<Arc<Handover>>>) {
    let now = Instant::now();
    let mut late = Vec::new();
    {
        let mut calls = calls.lock().unwrap_or_else(|e| e.into_inner());
        calls.retain(|call| {
            if let Some(taken) = call.take_late(now) {
                late.push(taken);
                return false;
            }
            !call.is_taken()
        });
    }
    // Answered outside the lock: a slow client must not hold up new calls.
    for (parked, error) in late {
        handover::answer_late(parked, error);
    }
}
