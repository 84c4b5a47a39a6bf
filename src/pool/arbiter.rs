//! The arbiter: one loop that owns every worker of every pool, shaped like gunicorn's
//! `arbiter.py`. Signals and request threads only send it events; each turn of the loop
//! handles them, then runs its named steps in order:
//!
//! - `reap_workers`: collect exited workers, log how each died, count boot
//!   failures (supervisord's BACKOFF, then FATAL: the pool fails);
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
use super::spawn::{self, Program};
use super::state::{Phase, Shared, Status, Worker};

/// How often the loop looks at its workers when no event comes.
const TICK: Duration = Duration::from_millis(50);
/// How long a worker may take to import its app and answer the readiness probe.
pub const BOOT_TIMEOUT: Duration = Duration::from_secs(30);
/// Boot failures in a row before a pool is FAILED (supervisord's `startretries`).
pub const START_RETRIES: u32 = 3;
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
    /// Boot failures in a row.
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

    /// Collects every exited worker and logs how it ended.
    fn reap_workers(&mut self) {
        for run in &mut self.pools {
            let shared = run.shared.clone();
            let mut state = shared.lock();
            let mut i = 0;
            while i < state.workers.len() {
                let status = match state.workers[i].child.try_wait() {
                    Ok(Some(status)) => Some(status),
                    Ok(None) => None,
                    Err(_) => Some(ExitStatus::default()),
                };
                let Some(status) = status else {
                    i += 1;
                    continue;
                };
                let w = state.workers.swap_remove(i);
                state.idle.retain(|(id, _)| *id != w.id);
                // A worker that dies before it is ready counts against the pool, unless
                // the pool has already given up or is stopping.
                let booting = !w.ready
                    && w.doomed.is_none()
                    && matches!(state.status, Status::Running | Status::Backoff);
                let how = describe(status);
                if !booting {
                    let after = match (w.phase, w.doomed) {
                        (Phase::Busy, _) => " while serving a request".to_string(),
                        (_, Some(why)) => format!(" ({why}, {} requests served)", w.served),
                        _ => format!(" after {} requests", w.served),
                    };
                    eprintln!("pool {}: worker {} {how}{after}", shared.name, w.pid);
                    continue;
                }
                run.failures += 1;
                drop(state);
                // The log thread may still hold the worker's last words.
                thread::sleep(Duration::from_millis(30));
                state = shared.lock();
                let reason = state.last_log_line.clone();
                eprintln!(
                    "pool {}: worker {} {how} before it was ready (boot failure {} of {}): {reason}",
                    shared.name,
                    w.pid,
                    run.failures,
                    START_RETRIES + 1
                );
                if run.failures > START_RETRIES {
                    let reason = if reason.is_empty() { how } else { reason };
                    eprintln!(
                        "pool {}: FAILED, send SIGHUP to try again: {reason}",
                        shared.name
                    );
                    state.status = Status::Failed(reason);
                    for other in &mut state.workers {
                        other.retire = true;
                    }
                    shared.notify();
                } else {
                    let wait = BACKOFF_FIRST * 2u32.pow(run.failures - 1);
                    run.backoff_until = Some(Instant::now() + wait);
                    state.status = Status::Backoff;
                }
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
            let live = state
                .workers
                .iter()
                .filter(|w| w.doomed.is_none() && w.phase != Phase::Stopping)
                .count();
            drop(state);
            for _ in live..run.target {
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
                eprintln!("pool {}: {reason}", shared.name);
                shared.lock().last_log_line = reason;
                run.failures += 1;
                let mut state = shared.lock();
                if run.failures > START_RETRIES {
                    state.status = Status::Failed(state.last_log_line.clone());
                    shared.notify();
                } else {
                    state.status = Status::Backoff;
                    run.backoff_until =
                        Some(Instant::now() + BACKOFF_FIRST * 2u32.pow(run.failures - 1));
                }
                return false;
            }
        };
        let pid = spawned.child.id();
        let log_pool = shared.clone();
        thread::spawn(move || {
            spawn::read_log(spawned.log, |line| {
                eprintln!("pool {} pid {pid}: {line}", log_pool.name);
                log_pool.lock().last_log_line = line.to_string();
            })
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

/// "exited with code 1", "killed by signal 9".
fn describe(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with code {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        _ => "ended".to_string(),
    }
}
