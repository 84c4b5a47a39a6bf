//! Starting workers and counting the starts that fail, after supervisord's
//! `startretries`: a worker that dies before it is ready puts its pool in BACKOFF (a wait
//! that doubles each time), and the last allowed failure makes the pool FAILED (FATAL)
//! until SIGHUP.

use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::Sender;
use std::thread;
use std::time::{Duration, Instant};

use crate::fastcgi::Connection;

use super::PoolEvent;
use super::spawn::{self, LastLine, Program};
use super::state::{Phase, Shared, State, Status, Worker};

pub use super::spawn::BOOT_TIMEOUT;
/// Failed starts in a row after which a pool is FAILED and nothing more is started
/// (supervisord's FATAL; its `startretries = 3` allows the same four starts). The log
/// counts them as "boot failure K of START_ATTEMPTS".
pub const START_ATTEMPTS: u32 = 4;
/// The first wait after a boot failure; it doubles with each one.
const BACKOFF_FIRST: Duration = Duration::from_millis(250);

/// One pool, as the arbiter runs it.
pub struct PoolRun {
    pub shared: Arc<Shared>,
    pub program: Program,
    /// How many workers it should have.
    pub target: usize,
    /// Failed starts in a row (at most [`START_ATTEMPTS`]).
    failures: u32,
    backoff_until: Option<Instant>,
}

impl PoolRun {
    pub fn new(shared: Arc<Shared>, program: Program, target: usize) -> PoolRun {
        PoolRun {
            shared,
            program,
            target,
            failures: 0,
            backoff_until: None,
        }
    }

    /// Counts one failed start (`what` happened, for `reason`) and logs it: the pool
    /// backs off, or, at the last allowed start, is FAILED. Only a running or backing-off
    /// pool counts (a failed pool's stragglers do not), so the count never passes its
    /// limit.
    pub fn boot_failed(&mut self, state: &mut State, what: &str, reason: String) {
        debug_assert!(matches!(state.status, Status::Running | Status::Backoff));
        self.failures = (self.failures + 1).min(START_ATTEMPTS);
        let name = &self.shared.name;
        eprintln!(
            "pool {name}: {what} (boot failure {} of {START_ATTEMPTS}): {reason}",
            self.failures
        );
        if self.failures == START_ATTEMPTS {
            eprintln!("pool {name}: FAILED, send SIGHUP to try again: {reason}");
            state.status = Status::Failed(reason);
            self.backoff_until = None;
            for other in &mut state.workers {
                other.retire = true;
            }
            self.shared.notify();
        } else {
            let wait = BACKOFF_FIRST * 2u32.pow(self.failures - 1);
            self.backoff_until = Some(Instant::now() + wait);
            state.status = Status::Backoff;
        }
    }

    /// SIGHUP: a failed or backing-off pool starts counting again from zero.
    pub fn try_again(&mut self, state: &mut State) {
        if matches!(state.status, Status::Failed(_) | Status::Backoff) {
            state.status = Status::Running;
            self.failures = 0;
            self.backoff_until = None;
        }
    }

    /// Whether this pool may start workers now: not failed or stopped, and not waiting
    /// out a back-off.
    pub fn may_start(&self, state: &State) -> bool {
        match state.status {
            Status::Failed(_) | Status::Stopped => false,
            Status::Backoff => self.backoff_until.is_none_or(|t| Instant::now() >= t),
            _ => true,
        }
    }

    /// How many workers to start now to reach the target.
    pub fn wanted(&self, state: &State) -> usize {
        // A start not yet ready holds its place until it is ready or reaped (and
        // counted), even once killed: its successor waits for the count.
        let unresolved = |w: &&Worker| w.doomed.is_none() && !w.ready;
        let live = state
            .workers
            .iter()
            .filter(|w| (w.doomed.is_none() && w.phase != Phase::Stopping) || unresolved(w))
            .count();
        // After a failed start, one worker at a time until one is ready: each start
        // is then one of the START_ATTEMPTS, and none is made after the last.
        let booting = state.workers.iter().any(|w| unresolved(&w));
        match self.failures {
            0 => self.target.saturating_sub(live),
            _ if booting => 0,
            _ => self.target.saturating_sub(live).min(1),
        }
    }

    /// A readiness probe answered (or not): a ready worker joins the idle ones and the
    /// count of failed starts is cleared.
    pub fn booted(&mut self, id: u64, ready: Result<(), String>) {
        let shared = self.shared.clone();
        let mut state = shared.lock();
        let Some(w) = state.workers.iter_mut().find(|w| w.id == id) else {
            return;
        };
        if w.phase != Phase::Starting {
            return;
        }
        match ready {
            Ok(()) => {
                w.ready = true;
                w.phase = Phase::Idle;
                let conn = w
                    .conn
                    .take()
                    .expect("a starting worker holds its connection");
                eprintln!(
                    "pool {}: worker {} started ({} ms to ready)",
                    shared.name,
                    w.pid,
                    w.started.elapsed().as_millis()
                );
                state.idle.push((id, conn));
                state.booted = true;
                if state.status == Status::Backoff {
                    state.status = Status::Running;
                }
                self.failures = 0;
                shared.notify();
            }
            Err(why) => {
                // Dead already (reaped as a boot failure) or hung: either way, it goes.
                w.kill = Some(format!("not ready: {why}"));
            }
        }
    }

    /// Starts one worker (`id`, of pool number `index`), a thread that copies its log,
    /// and a readiness probe that reports to `events`; false if it could not be started,
    /// which counts as a failed start.
    pub fn start_worker(
        &mut self,
        index: usize,
        id: u64,
        dir: &Path,
        events: &Sender<PoolEvent>,
    ) -> bool {
        let shared = self.shared.clone();
        let spawned = match spawn::spawn(&self.program, dir, id) {
            Ok(spawned) => spawned,
            Err(e) => {
                let reason = format!("cannot start {}: {e}", self.program.program.display());
                let mut state = shared.lock();
                self.boot_failed(&mut state, "a worker could not be started", reason);
                return false;
            }
        };
        let pid = spawned.child.id();
        let name = shared.name.clone();
        let last_line = Arc::new(LastLine::default());
        let tail = last_line.clone();
        thread::spawn(move || {
            spawn::read_log(spawned.log, |line| {
                eprintln!("pool {name} pid {pid}: {line}");
                tail.set(line);
            });
            tail.close();
        });
        let events = events.clone();
        let probe = spawned.probe;
        thread::spawn(move || {
            let mut conn = Connection::new(probe);
            let deadline = Instant::now() + BOOT_TIMEOUT;
            let ready = conn
                .get_values(&["FCGI_MPXS_CONNS"], deadline)
                .map(|_| ())
                .map_err(|e| e.to_string());
            let _ = events.send(PoolEvent::Booted {
                pool: index,
                id,
                ready,
            });
        });
        shared.lock().workers.push(Worker {
            id,
            pid,
            child: spawned.child,
            phase: Phase::Starting,
            started: Instant::now(),
            served: 0,
            busy_since: None,
            doomed: None,
            ready: false,
            retire: false,
            kill: None,
            signalled: None,
            conn: Some(Connection::new(spawned.conn)),
            socket: spawned.socket.into(),
            last_line,
            group: spawned.group,
        });
        true
    }
}
