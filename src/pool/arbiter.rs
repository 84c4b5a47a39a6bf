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
//! Workers are spawned from this thread only, which lives as long as the server: a
//! worker's `PR_SET_PDEATHSIG` fires when the thread that spawned it exits.

use std::path::PathBuf;
use std::process::ExitStatus;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::thread;
use std::time::{Duration, Instant};

use crate::fastcgi::Connection;

use super::PoolEvent;
use super::spawn::{self, LastLine, Program};
use super::state::{Phase, Shared, State, Status, Worker};

/// How often the loop looks at its workers when no event comes.
const TICK: Duration = Duration::from_millis(50);
/// How long a worker may take to import its app and answer the readiness probe.
pub const BOOT_TIMEOUT: Duration = Duration::from_secs(30);
/// Failed starts in a row after which a pool is FAILED and nothing more is started
/// (supervisord's FATAL; its `startretries = 3` allows the same four starts). The log
/// counts them as "boot failure K of START_ATTEMPTS".
pub const START_ATTEMPTS: u32 = 4;
/// How long a dead worker's log may stay open (held by a process it started) before its
/// last line is taken as it is.
const LAST_WORDS: Duration = Duration::from_millis(500);
/// The first wait after a boot failure; it doubles with each one.
const BACKOFF_FIRST: Duration = Duration::from_millis(250);
/// How long a worker told to stop (SIGTERM) may take before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(5);

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
    fn boot_failed(&mut self, state: &mut State, what: &str, reason: String) {
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
}

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
        self.stop_workers();
    }

    /// Handles one event; true means stop.
    fn handle(&mut self, event: PoolEvent) -> bool {
        match event {
            PoolEvent::Stop => return true,
            PoolEvent::Wake => {}
            PoolEvent::Reload => self.handle_hup(),
            PoolEvent::AddWorker => self.handle_ttin(),
            PoolEvent::RemoveWorker => self.handle_ttou(),
            PoolEvent::Booted { pool, id, ready } => self.handle_booted(pool, id, ready),
        }
        false
    }

    /// SIGHUP: new workers for every pool (importing the app anew); the old ones retire
    /// once the new ones are ready and they have finished their request. A failed pool
    /// tries again.
    fn handle_hup(&mut self) {
        for pool in &mut self.pools {
            let mut state = pool.shared.lock();
            if matches!(state.status, Status::Failed(_) | Status::Backoff) {
                state.status = Status::Running;
                pool.failures = 0;
                pool.backoff_until = None;
            }
            let mut old = 0;
            for w in &mut state.workers {
                if w.doomed.is_none() && w.phase != Phase::Stopping {
                    w.doomed = Some("reloaded");
                    old += 1;
                }
            }
            eprintln!(
                "pool {}: reload: starting {} new workers; {old} old ones retire when idle",
                pool.shared.name, pool.target
            );
        }
    }

    /// SIGTTIN: one worker more in every pool.
    fn handle_ttin(&mut self) {
        for pool in &mut self.pools {
            pool.target += 1;
            eprintln!(
                "pool {}: {} workers (SIGTTIN)",
                pool.shared.name, pool.target
            );
        }
    }

    /// SIGTTOU: one worker fewer in every pool, never below one.
    fn handle_ttou(&mut self) {
        for pool in &mut self.pools {
            if pool.target > 1 {
                pool.target -= 1;
                eprintln!(
                    "pool {}: {} workers (SIGTTOU)",
                    pool.shared.name, pool.target
                );
            } else {
                eprintln!(
                    "pool {}: keeping its last worker (SIGTTOU)",
                    pool.shared.name
                );
            }
        }
    }

    /// A readiness probe answered (or not): a ready worker joins the idle ones.
    fn handle_booted(&mut self, pool: usize, id: u64, ready: Result<(), String>) {
        let Some(run) = self.pools.get_mut(pool) else {
            return;
        };
        let shared = run.shared.clone();
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
                run.failures = 0;
                shared.notify();
            }
            Err(why) => {
                // Dead already (reaped as a boot failure) or hung: either way, it goes.
                w.kill = Some(format!("not ready: {why}"));
            }
        }
    }

    /// Collects every exited worker and logs how it ended; one that died before it was
    /// ready is a failed start, and its own last log line says why.
    fn reap_workers(&mut self) {
        for run in &mut self.pools {
            let shared = run.shared.clone();
            let mut state = shared.lock();
            let max_requests = state.max_requests;
            let mut exited = Vec::new();
            let mut i = 0;
            while i < state.workers.len() {
                let status = match state.workers[i].child.try_wait() {
                    Ok(Some(status)) => status,
                    Ok(None) => {
                        i += 1;
                        continue;
                    }
                    Err(_) => ExitStatus::default(),
                };
                let w = state.workers.swap_remove(i);
                state.idle.retain(|(id, _)| *id != w.id);
                exited.push((w, status));
            }
            // Oldest first, so that the count follows the order in which they started.
            exited.sort_by_key(|(w, _)| w.id);
            for (w, status) in exited {
                let how = describe(status);
                // A worker that dies before it is ready counts against the pool, unless
                // the pool has already given up or is stopping.
                let booting = !w.ready
                    && w.doomed.is_none()
                    && matches!(state.status, Status::Running | Status::Backoff);
                if !booting {
                    let after = match (w.phase, w.doomed) {
                        (Phase::Busy, _) => " while serving a request".to_string(),
                        (_, Some(why)) => {
                            let past = match w.past_limit(max_requests) {
                                0 => String::new(),
                                n => format!(
                                    ": {n} past --max-requests {max_requests}, \
                                     while no other worker was idle"
                                ),
                            };
                            format!(" ({why}, {} requests served{past})", w.served)
                        }
                        _ => format!(" after {} requests", w.served),
                    };
                    eprintln!("pool {}: worker {} {how}{after}", shared.name, w.pid);
                    continue;
                }
                // Its log thread may still hold its last words: wait for them unlocked.
                drop(state);
                let reason = last_words(&w.last_line, &how);
                state = shared.lock();
                let what = format!("worker {} {how} before it was ready", w.pid);
                run.boot_failed(&mut state, &what, reason);
            }
        }
    }

    /// Kills (SIGKILL to the whole process group) workers marked for it, busy workers
    /// well past the timeout, and workers that did not stop when told.
    fn murder_workers(&mut self) {
        let late = self.timeout + Duration::from_secs(2);
        for run in &self.pools {
            let mut state = run.shared.lock();
            let mut killed = Vec::new();
            for w in &mut state.workers {
                let reason = if let Some(reason) = w.kill.take() {
                    Some(reason)
                } else if w.busy_since.is_some_and(|t| t.elapsed() > late) {
                    Some(format!("busy for more than {} s", late.as_secs()))
                } else if w.phase == Phase::Starting && w.started.elapsed() > BOOT_TIMEOUT {
                    Some(format!("not ready after {} s", BOOT_TIMEOUT.as_secs()))
                } else if w.signalled.is_some_and(|t| t.elapsed() > STOP_GRACE) {
                    Some("did not stop after SIGTERM".to_string())
                } else {
                    None
                };
                if let Some(reason) = reason {
                    spawn::signal_group(w.pid, libc::SIGKILL);
                    eprintln!(
                        "pool {}: worker {} killed: {reason}",
                        run.shared.name, w.pid
                    );
                    w.phase = Phase::Stopping;
                    w.busy_since = None;
                    // Killed: nothing more to wait for but the reaping.
                    w.signalled = Some(Instant::now() + Duration::from_secs(3600));
                    killed.push(w.id);
                }
            }
            state.idle.retain(|(id, _)| !killed.contains(id));
        }
    }

    /// Tells replaced workers to exit (SIGTERM to the group), once their successors are
    /// ready and they are idle: no request is cut short and none waits for a boot.
    fn retire_workers(&mut self) {
        for run in &self.pools {
            let mut state = run.shared.lock();
            let fresh = state
                .workers
                .iter()
                .filter(|w| w.doomed.is_none() && w.ready && w.phase != Phase::Stopping)
                .count();
            let successors_ready = fresh >= run.target;
            let mut retired = Vec::new();
            for w in &mut state.workers {
                if w.doomed.is_some() && successors_ready {
                    w.retire = true;
                }
                let idle = matches!(w.phase, Phase::Idle | Phase::Starting);
                let handed_back = w.phase == Phase::Stopping && w.signalled.is_none();
                if (w.retire && idle) || handed_back {
                    spawn::signal_group(w.pid, libc::SIGTERM);
                    w.phase = Phase::Stopping;
                    w.signalled = Some(Instant::now());
                    retired.push(w.id);
                }
            }
            state.idle.retain(|(id, _)| !retired.contains(id));
        }
    }

    /// Starts workers until every running pool has its number, and marks the oldest
    /// extra ones for retirement when it has too many.
    fn manage_workers(&mut self) {
        for index in 0..self.pools.len() {
            let run = &mut self.pools[index];
            let shared = run.shared.clone();
            let mut state = shared.lock();
            match state.status {
                Status::Failed(_) | Status::Stopped => continue,
                Status::Backoff if run.backoff_until.is_some_and(|t| Instant::now() < t) => {
                    continue;
                }
                _ => {}
            }
            let mut live: Vec<&mut Worker> = state
                .workers
                .iter_mut()
                .filter(|w| w.doomed.is_none() && w.phase != Phase::Stopping)
                .collect();
            live.sort_by_key(|w| w.started);
            let extra = live.len().saturating_sub(run.target);
            for w in live.into_iter().take(extra) {
                w.doomed = Some("fewer workers");
            }
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
            let wanted = match run.failures {
                0 => run.target.saturating_sub(live),
                _ if booting => 0,
                _ => run.target.saturating_sub(live).min(1),
            };
            drop(state);
            for _ in 0..wanted {
                if !self.spawn_worker(index) {
                    break;
                }
            }
        }
    }

    /// Starts one worker and its readiness probe; false if it could not be started.
    fn spawn_worker(&mut self, index: usize) -> bool {
        let id = self.next_id;
        self.next_id += 1;
        let run = &mut self.pools[index];
        let shared = run.shared.clone();
        let spawned = match spawn::spawn(&run.program, &self.dir, id) {
            Ok(spawned) => spawned,
            Err(e) => {
                let reason = format!("cannot start {}: {e}", run.program.program.display());
                let mut state = shared.lock();
                run.boot_failed(&mut state, "a worker could not be started", reason);
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
        let events = self.sender.clone();
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
            last_line,
        });
        true
    }

    /// SIGINT/SIGTERM: every worker group gets SIGTERM, then SIGKILL after a grace
    /// period; every worker is reaped before the server exits.
    fn stop_workers(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(3);
        for run in &self.pools {
            let mut state = run.shared.lock();
            state.status = Status::Stopped;
            state.idle.clear();
            for w in &state.workers {
                spawn::signal_group(w.pid, libc::SIGTERM);
            }
            run.shared.notify();
        }
        for run in &self.pools {
            let mut state = run.shared.lock();
            for w in &mut state.workers {
                loop {
                    match w.child.try_wait() {
                        Ok(None) if Instant::now() < deadline => {
                            thread::sleep(Duration::from_millis(10))
                        }
                        Ok(None) => {
                            spawn::signal_group(w.pid, libc::SIGKILL);
                            let _ = w.child.wait();
                            break;
                        }
                        _ => break,
                    }
                }
                // Whatever it started in its group goes with it.
                spawn::signal_group(w.pid, libc::SIGKILL);
            }
            let n = state.workers.len();
            state.workers.clear();
            eprintln!("pool {}: stopped {n} workers", run.shared.name);
        }
    }
}

/// Why a worker failed to start: the last line it wrote (waiting briefly for its log to
/// close), or how it ended when it wrote nothing.
fn last_words(last_line: &LastLine, how: &str) -> String {
    let line = last_line.wait(LAST_WORDS);
    if line.trim().is_empty() {
        how.to_string()
    } else {
        line
    }
}

/// "exited with code 1", "killed by signal 9".
fn describe(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with code {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        _ => "ended".to_string(),
    }
}
