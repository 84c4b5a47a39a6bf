//! The arbiter: one loop that owns every worker of every pool, shaped like gunicorn's
//! `arbiter.py`. Signals and request threads only send it events; each turn of the loop
//! handles them, then runs its named steps in order:
//!
//! - `reap_workers`: collect exited workers, log how each died, count boot
//!   failures (supervisord's BACKOFF, then FATAL: the pool fails, with the last
//!   line the last failed worker wrote as its reason);
//! - `murder_workers`: kill the group of a worker past its timeout or with a
//!   broken connection, and of one that does not stop when told;
//! - `retire_workers`: tell replaced workers to exit once their successors are
//!   ready and they are idle (reload, recycle, fewer workers);
//! - `manage_workers`: start workers until each pool has as many as it should.
//!
//! Each step is a short loop over the pools; what it does to one pool lives below it:
//! [`super::boot`] starts workers and counts failed starts, [`super::reap`] ends them,
//! [`super::retire`] replaces them gracefully.
//!
//! Workers are spawned from this thread only, which lives as long as the server: a
//! worker's `PR_SET_PDEATHSIG` fires when the thread that spawned it exits.

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::Duration;

use super::PoolEvent;
use super::{reap, retire};

// Kept reachable here, where readers of the pool first look for them.
pub use super::boot::{BOOT_TIMEOUT, PoolRun};

/// How often the loop looks at its workers when no event comes.
const TICK: Duration = Duration::from_millis(50);

pub struct Arbiter {
    pub pools: Vec<PoolRun>,
    pub events: Receiver<PoolEvent>,
    /// For the readiness probes, which report back as events.
    pub sender: Sender<PoolEvent>,
    /// The private directory the workers' sockets are made in.
    pub dir: PathBuf,
    /// `--timeout`: a busy worker past it (and a little more) is killed even if its
    /// request thread did not say so.
    pub timeout: Duration,
    pub next_id: u64,
}

impl Arbiter {
    /// Runs until [`PoolEvent::Stop`], then stops every worker.
    pub fn run(mut self) {
        loop {
            let first = match self.events.recv_timeout(TICK) {
                Ok(event) => Some(event),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => Some(PoolEvent::Stop),
            };
            let mut stop = false;
            for event in first
                .into_iter()
                .chain(self.events.try_iter().collect::<Vec<_>>())
            {
                stop |= self.handle(event);
            }
            if stop {
                break;
            }
            self.reap_workers();
            self.murder_workers();
            self.retire_workers();
            self.manage_workers();
        }
        reap::stop_all(&self.pools);
    }

    /// Handles one event; true means stop.
    fn handle(&mut self, event: PoolEvent) -> bool {
        match event {
            PoolEvent::Stop => return true,
            PoolEvent::Wake => {}
            PoolEvent::Reload => self.pools.iter_mut().for_each(retire::reload),
            PoolEvent::AddWorker => self.pools.iter_mut().for_each(retire::add_worker),
            PoolEvent::RemoveWorker => self.pools.iter_mut().for_each(retire::remove_worker),
            PoolEvent::Booted { pool, id, ready } => {
                if let Some(run) = self.pools.get_mut(pool) {
                    run.booted(id, ready);
                }
            }
        }
        false
    }

    /// Collects every exited worker and logs how it ended; one that died before it was
    /// ready is a failed start.
    fn reap_workers(&mut self) {
        self.pools.iter_mut().for_each(reap::reap);
    }

    /// Kills workers marked for it, busy workers well past the timeout, and workers that
    /// did not stop when told.
    fn murder_workers(&mut self) {
        for run in &self.pools {
            reap::murder(run, self.timeout);
        }
    }

    /// Tells replaced workers to exit once their successors are ready and they are idle.
    fn retire_workers(&mut self) {
        self.pools.iter().for_each(retire::retire);
    }

    /// Starts workers until every running pool has its number, and marks the oldest
    /// extra ones for retirement when it has too many.
    fn manage_workers(&mut self) {
        for index in 0..self.pools.len() {
            let run = &mut self.pools[index];
            let shared = run.shared.clone();
            let mut state = shared.lock();
            if !run.may_start(&state) {
                continue;
            }
            retire::mark_extra(&mut state, run.target);
            let wanted = run.wanted(&state);
            drop(state);
            for _ in 0..wanted {
                let id = self.next_id;
                self.next_id += 1;
                if !self.pools[index].start_worker(index, id, &self.dir, &self.sender) {
                    break;
                }
            }
        }
    }
}
