//! Threads that relay a streaming body while Python computes the next piece on the
//! connection's thread. Kept idle on a stack between bodies, so a body that streams
//! costs a hand-over, not a new thread.

use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex};

type Task = Box<dyn FnOnce() + Send>;

#[derive(Default)]
pub struct Relays {
    idle: Mutex<Vec<Sender<Task>>>,
}

impl Relays {
    /// Runs `task` on an idle relay thread, or a new one.
    pub fn run(self: &Arc<Self>, task: Task) -> Result<(), String> {
        let mut task = task;
        while let Some(thread) = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop() {
            match thread.send(task) {
                Ok(()) => return Ok(()),
                // Its thread ended (a panic in a relay): try the next.
                Err(mpsc::SendError(back)) => task = back,
            }
        }
        let (tx, rx) = mpsc::channel::<Task>();
        tx.send(task)
            .map_err(|_| "relay channel closed".to_string())?;
        let relays = Arc::clone(self);
        std::thread::Builder::new()
            .name("embed-relay".into())
            .spawn(move || {
                while let Ok(task) = rx.recv() {
                    task();
                    relays
                        .idle
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(tx.clone());
                }
            })
            .map(drop)
            .map_err(|e| format!("cannot start a thread to relay the body: {e}"))
    }
}
