//! The arbiter: one loop that owns every worker of every pool, shaped like gunicorn's
//! `arbiter.py`. It sleeps in one `poll` on each worker's pidfd (readable the moment the
//! process exits) and on the bell of its event channel (signals, request threads,
//! readiness probes), with the nearest deadline as the timeout. Each turn handles the
//! events, then runs its named steps in order:
//!
//! - `reap_workers`: collect exited workers, log how each died, count failed starts
//!   (supervisord's BACKOFF, then FATAL: the pool fails, or holds on to its old workers,
//!   with the app's own last words as the reason);
//! - `murder_workers`: kill workers whose time is up: busy past the timeout, not ready
//!   after the boot timeout, not gone after SIGTERM;
//! - `retire_workers`: tell leaving workers to exit once their successors are ready and
//!   they are idle (reload, recycle, fewer workers);
//! - `manage_workers`: start workers until each pool has as many as it should.
//!
//! Stopping is an event like the others: every worker is told (SIGTERM), the loop goes on
//! reaping as they exit, and the stragglers are killed when the grace period ends.
//!
//! Workers are spawned from this thread only, which lives as long as the server: a
//! worker's `PR_SET_PDEATHSIG` fires when the thread that spawned it exits.

use std::os::fd::{AsRawFd, BorrowedFd};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::boot::PoolRun;
use super::events::{Events, Inbox, PoolEvent};
use super::policy::{BACKOFF_MAX, START_SECS};
use super::state::Status;
use super::worker::Cause;
use super::{reap, retire};

pub struct Arbiter {
    pub pools: Vec<PoolRun>,
    pub inbox: Inbox,
    /// For the readiness probes, which report back as events.
    pub events: Events,
    /// The private directory the workers' sockets are made in.
    pub dir: PathBuf,
    pub next_id: u64,
    /// Set by [`PoolEvent::Stop`]: when the stragglers get SIGKILL.
    stop_at: Option<Instant>,
}

impl Arbiter {
    pub fn new(pools: Vec<PoolRun>, inbox: Inbox, events: Events, dir: PathBuf) -> Arbiter {
        Arbiter {
            pools,
            inbox,
            events,
            dir,
            next_id: 1,
            stop_at: None,
        }
    }

    /// Runs until every worker is gone after [`PoolEvent::Stop`].
    pub fn run(mut self) {
        let mut next = Some(Instant::now()); // the first turn starts the workers

        loop {
            self.sleep_until(next);
            for event in self.inbox.take() {
                self.handle(event);
            }
            self.hear_preloaders();
            self.reap_workers();
            if let Some(stop_at) = self.stop_at {
                if self
                    .pools
                    .iter()
                    .all(|p| p.shared.lock().workers.is_empty())
                {
                    // Preloaders last: the workers they forked die with them.
                    let mut left = false;
                    for p in self.pools.iter_mut().filter_map(|p| p.preload.as_mut()) {
                        p.stop_all(libc::SIGTERM);
                        left |= !p.is_empty();
                    }
                    if !left {
                        break;
                    }
                }
                if Instant::now() >= stop_at {
                    self.kill_stragglers();
                }
                next = (Instant::now() < stop_at).then_some(stop_at);
                continue;
            }
            let murder = self.murder_workers();
            self.retire_workers();
            self.manage_workers();
            next = [murder, self.next_start()].into_iter().flatten().min();
        }
        for run in &self.pools {
            crate::log!("pool {}: stopped", run.shared.name);
        }
    }

    /// Sleeps until an event comes, a worker exits, or `until`.
    fn sleep_until(&self, until: Option<Instant>) {
        let mut fds = vec![pollfd(self.inbox.bell())];
        let states: Vec<_> = self.pools.iter().map(|p| p.shared.lock()).collect();
        for state in &states {
            fds.extend(state.workers.iter().filter_map(|w| w.exit_fd()).map(pollfd));
        }
        for preload in self.pools.iter().filter_map(|p| p.preload.as_ref()) {
            fds.extend(preload.fds().into_iter().map(pollfd));
        }
        let timeout = match until {
            Some(t) => t
                .saturating_duration_since(Instant::now())
                .as_millis()
                .min(i32::MAX as u128) as i32,
            None => -1,
        };
        drop(states); // the descriptors stay open: only this thread reaps workers
        unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout) };
    }

    /// Handles one event.
    fn handle(&mut self, event: PoolEvent) {
        match event {
            PoolEvent::Wake => {}
            _ if self.stop_at.is_some() => {} // stopping: nothing else matters
            PoolEvent::Stop { grace } => self.stop(grace),
            PoolEvent::Reload => self.pools.iter_mut().for_each(PoolRun::reload),
            PoolEvent::AddWorker => self.pools.iter_mut().for_each(retire::add_worker),
            PoolEvent::RemoveWorker => self.pools.iter_mut().for_each(retire::remove_worker),
            PoolEvent::Booted { pool, id, ready } => {
                if let Some(run) = self.pools.get_mut(pool) {
                    run.booted(id, ready);
                }
            }
        }
    }

    /// Stop: no request is handed a worker any more, and every worker is told to exit.
    fn stop(&mut self, grace: Duration) {
        self.stop_at = Some(Instant::now() + grace);
        for run in &self.pools {
            let mut state = run.shared.lock();
            state.status = Status::Stopping;
            for w in &mut state.workers {
                w.stop(&run.shared.name, Cause::ServerStop, libc::SIGTERM);
            }
            run.shared.notify();
        }
    }

    /// The grace period is over: SIGKILL for whoever is left.
    fn kill_stragglers(&mut self) {
        for run in &mut self.pools {
            let mut state = run.shared.lock();
            for w in &mut state.workers {
                w.stop(&run.shared.name, Cause::ServerStop, libc::SIGKILL);
            }
            drop(state);
            if let Some(preload) = &mut run.preload {
                preload.stop_all(libc::SIGKILL);
            }
        }
    }

    /// Takes in what the preloaders of `--preload` pools have said: that one has
    /// imported its app, that a worker it forked has exited.
    fn hear_preloaders(&mut self) {
        for run in &mut self.pools {
            if let Some(preload) = &mut run.preload
                && preload.read(&run.shared.name)
            {
                run.shared.lock().preloader = preload.current_pid();
            }
        }
    }

    /// Collects every exited worker (and preloader) and logs how it ended; one that died
    /// before it was ready is a failed start.
    fn reap_workers(&mut self) {
        for run in &mut self.pools {
            reap::reap(run);
            reap::reap_preloaders(run);
        }
    }

    /// Kills workers whose time is up; returns the next such deadline.
    fn murder_workers(&mut self) -> Option<Instant> {
        let mut next = None;
        for run in &mut self.pools {
            let name = &run.shared.name;
            let preloaders = run.preload.as_mut().and_then(|p| p.murder(name));
            // A busy worker past its pool's --timeout (and a little more) is killed even
            // if its request thread did not say so.
            let workers = reap::murder(run, run.shared.timeout);
            for t in [workers, preloaders].into_iter().flatten() {
                next = Some(next.map_or(t, |n: Instant| n.min(t)));
            }
        }
        next
    }

    /// Marks the oldest extra workers of a pool that has too many to leave, and tells
    /// leaving workers to exit once their successors are ready and they are idle.
    fn retire_workers(&mut self) {
        for run in &mut self.pools {
            retire::mark_extra(run);
            retire::retire(run);
            retire::retire_preloaders(run);
        }
    }

    /// Starts workers until every running pool has its number.
    fn manage_workers(&mut self) {
        for index in 0..self.pools.len() {
            let run = &mut self.pools[index];
            let wanted = {
                let state = run.shared.lock();
                if !run.may_start(&state) {
                    continue;
                }
                run.wanted(&state)
            };
            for _ in 0..wanted {
                let id = self.next_id;
                self.next_id += 1;
                if !self.pools[index].start_worker(index, id, &self.dir, &self.events) {
                    break;
                }
            }
        }
    }

    /// The next moment a pool's own clock matters: the end of a back-off, or the moment
    /// a worker has stayed up long enough to clear its pool's failed starts.
    fn next_start(&mut self) -> Option<Instant> {
        let mut next: Option<Instant> = None;
        let mut at = |t: Instant| next = Some(next.map_or(t, |n| n.min(t)));
        for run in &mut self.pools {
            if let Some(t) = run.backoff_until {
                at(t.min(Instant::now() + BACKOFF_MAX));
            }
            let proven = {
                let state = run.shared.lock();
                let fresh = state.workers.iter().filter(|w| w.counts());
                let fresh = fresh.filter(|w| run.last_failure.is_some_and(|t| w.started > t));
                let ready: Vec<Instant> = fresh.filter_map(|w| w.ready_at).collect();
                if ready.iter().any(|t| t.elapsed() >= START_SECS) {
                    true
                } else {
                    ready.into_iter().for_each(|t| at(t + START_SECS));
                    false
                }
            };
            if proven {
                run.proven();
            }
        }
        next
    }
}

fn pollfd(fd: BorrowedFd<'_>) -> libc::pollfd {
    libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    }
}
