//! Threads that relay a streaming body while Python computes the next piece on the
//! connection's thread. Kept idle on a stack between bodies, so a body that streams
//! costs a hand-over, not a new thread; a thread idle for [`IDLE`] ends, as tiny_http's
//! connection threads do, so a burst of streams leaves no threads behind.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

type Task = Box<dyn FnOnce() + Send>;

/// How long a relay thread waits for its next body before it ends.
const IDLE: Duration = Duration::from_secs(5);

#[derive(Default)]
pub struct Relays {
    idle: Mutex<Vec<Idle>>,
    next: AtomicU64,
}

/// An idle relay thread: its number, and where to hand it a task.
struct Idle {
    id: u64,
    tasks: Sender<Task>,
}

impl Relays {
    /// Runs `task` on an idle relay thread, or a new one.
    pub fn run(self: &Arc<Self>, task: Task) -> Result<(), String> {
        let mut task = task;
        while let Some(thread) = self.idle().pop() {
            match thread.tasks.send(task) {
                Ok(()) => return Ok(()),
                // Its thread ended (a panic in a relay): try the next.
                Err(mpsc::SendError(back)) => task = back,
            }
        }
        let (tx, rx) = mpsc::channel::<Task>();
        tx.send(task)
            .map_err(|_| "relay channel closed".to_string())?;
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let relays = Arc::clone(self);
        std::thread::Builder::new()
            .name("embed-relay".into())
            .spawn(move || {
                loop {
                    match rx.recv_timeout(IDLE) {
                        Ok(task) => {
                            task();
                            let tasks = tx.clone();
                            relays.idle().push(Idle { id, tasks });
                        }
                        Err(RecvTimeoutError::Timeout) => {
                            // Still on the stack: nobody will hand it a task, it ends.
                            // Gone from it: a task is on its way.
                            let mut idle = relays.idle();
                            if let Some(i) = idle.iter().position(|t| t.id == id) {
                                idle.remove(i);
                                return;
                            }
                        }
                        Err(RecvTimeoutError::Disconnected) => return,
                    }
                }
            })
            .map(drop)
            .map_err(|e| format!("cannot start a thread to relay the body: {e}"))
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<Idle>> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }
}
