//! Starting workers and counting the starts that fail, after supervisord's `startsecs`
//! and `startretries`: a worker that dies before it is ready, or within
//! [`START_SECS`] of it, puts its pool in BACKOFF (a wait that doubles each time). The
//! last allowed failure gives up until SIGHUP: the pool is FAILED (FATAL) when no worker
//! is left to serve, and HELD when older workers still serve (a reload whose new code
//! cannot start keeps the old code running).
//!
//! A start that fails because the machine is out of something (descriptors, processes,
//! memory) is not the app's fault: it backs off and tries again, and never gives up.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::Arc;
use std::thread;
use std::time::Instant;

use crate::fastcgi::Connection;

use super::events::{Events, PoolEvent};
use super::policy::{BOOT_TIMEOUT, START_ATTEMPTS, START_SECS, backoff};
use super::preload::pidfd_open;
use super::preloaders::Preloaders;
use super::shared_accept::Heartbeat;
use super::spawn::{self, Door, Ends, Program};
use super::state::{Shared, State, Status};
use super::worker::{Born, Cause, Leaving, Process, Worker, WorkerDoor};
use super::worker_log::{self, LastLine};

/// One pool, as the arbiter runs it.
pub struct PoolRun {
    pub shared: Arc<Shared>,
    pub program: Program,
    /// With `--preload`: where workers are forked from, instead of started with `program`.
    pub preload: Option<Preloaders>,
    /// Requests one worker serves at once.
    pub capacity: usize,
    /// With `--accept shared`: whether its workers keep a heartbeat (cgilab's own WSGI
    /// worker does; another FastCGI program cannot).
    pub beats: bool,
    /// Failed starts in a row (at most [`START_ATTEMPTS`]).
    failures: u32,
    /// Starts in a row the machine refused (out of descriptors, processes, memory).
    refusals: u32,
    /// No start before this (BACKOFF).
    pub backoff_until: Option<Instant>,
    /// When the last start failed: a worker started after it and up for START_SECS
    /// clears the count.
    pub last_failure: Option<Instant>,
}

impl PoolRun {
    pub fn new(
        shared: Arc<Shared>,
        program: Program,
        preload: Option<Preloaders>,
        capacity: usize,
    ) -> PoolRun {
        PoolRun {
            shared,
            program,
            preload,
            capacity,
            beats: false,
            failures: 0,
            refusals: 0,
            backoff_until: None,
            last_failure: None,
        }
    }

    /// Counts one failed start (`what` happened, for `reason`) and logs it: the pool
    /// backs off, or, at the last allowed start, gives up (FAILED, or HELD while older
    /// workers serve). Only a running or backing-off pool counts (a given-up pool's
    /// stragglers do not), so the count never passes its limit.
    pub fn boot_failed(&mut self, state: &mut State, what: &str, reason: String) {
        if !matches!(state.status, Status::Running | Status::Backoff) {
            return;
        }
        self.failures = (self.failures + 1).min(START_ATTEMPTS);
        self.last_failure = Some(Instant::now());
        let name = &self.shared.name;
        crate::log!(
            "pool {name}: {what} (boot failure {} of {START_ATTEMPTS}): {reason}",
            self.failures
        );
        if self.failures < START_ATTEMPTS {
            self.backoff_until = Some(Instant::now() + backoff(self.failures));
            state.status = Status::Backoff;
            return;
        }
        self.backoff_until = None;
        // Workers that serve (those a reload or a recycling meant to replace) stay.
        let serving: Vec<&mut Worker> = state
            .workers
            .iter_mut()
            .filter(|w| w.ready_at.is_some() && !w.is_stopping())
            .collect();
        if serving.is_empty() {
            crate::log!("pool {name}: FAILED, send SIGHUP to try again: {reason}");
            state.status = Status::Failed(reason);
        } else {
            crate::log!(
                "pool {name}: HELD: new workers cannot start; the {} that serve go on \
                 serving until SIGHUP: {reason}",
                serving.len()
            );
            for w in serving {
                w.leaving = None;
            }
            state.status = Status::Held(reason);
        }
        // Starts still under way are of no use now.
        for w in &mut state.workers {
            if w.ready_at.is_none() && !w.is_stopping() {
                w.stop(name, Cause::Superseded, libc::SIGKILL);
            }
        }
        self.shared.notify();
    }

    /// A start the machine refused: back off, never give up.
    fn start_refused(&mut self, state: &mut State, e: &io::Error) {
        self.refusals += 1;
        let wait = backoff(self.refusals);
        crate::log!(
            "pool {}: cannot start a worker: {e}; the machine is out of resources, \
             trying again in {:.2} s",
            self.shared.name,
            wait.as_secs_f64()
        );
        self.backoff_until = Some(Instant::now() + wait);
        if state.status == Status::Running {
            state.status = Status::Backoff;
        }
    }

    /// SIGHUP: new workers; the ones serving now leave (as `Reloaded`) once the new
    /// ones are ready. A given-up pool starts counting again from zero. A HUP while a
    /// reload is still under way replaces only its workers that are not yet ready (they
    /// might hold the code before the last edit), so workers never pass twice the target.
    pub fn reload(&mut self) {
        let shared = self.shared.clone();
        let mut state = shared.lock();
        state.status = match state.status {
            Status::Stopping => return,
            // Nothing to reload: its first request starts workers from the file as it
            // is then.
            Status::Dormant => {
                crate::log!(
                    "pool {}: reload: dormant, it starts on its first request",
                    shared.name
                );
                return;
            }
            _ => Status::Running,
        };
        self.failures = 0;
        self.last_failure = None;
        self.refusals = 0;
        self.backoff_until = None;
        if let Some(preload) = &mut self.preload {
            preload.reload();
        }
        let (mut old, mut superseded) = (0, 0);
        for w in &mut state.workers {
            if w.is_stopping() {
                continue;
            }
            if w.ready_at.is_none() {
                w.stop(&shared.name, Cause::Superseded, libc::SIGKILL);
                superseded += 1;
            } else if w.leaving.is_none() || w.leaving == Some(Leaving::Reloaded) {
                w.leaving = Some(Leaving::Reloaded);
                old += 1;
            }
        }
        let under_way = match superseded {
            0 => String::new(),
            n => format!("; {n} still starting from the last reload were stopped"),
        };
        let when = match shared.socket {
            None => "when idle",
            // It cannot be seen idle: it stops accepting, finishes what it holds, exits.
            Some(_) => "once the new ones are ready",
        };
        crate::log!(
            "pool {}: reload: starting {} new workers; {old} old ones retire {when}{under_way}",
            shared.name,
            state.target
        );
    }

    /// Whether this pool may start workers now: running, or backing off and done
    /// waiting.
    pub fn may_start(&self, state: &State) -> bool {
        match state.status {
            Status::Running => true,
            Status::Backoff => self.backoff_until.is_none_or(|t| Instant::now() >= t),
            Status::Dormant | Status::Held(_) | Status::Failed(_) | Status::Stopping => false,
        }
    }

    /// How many workers to start now to reach the target.
    pub fn wanted(&self, state: &State) -> usize {
        // A worker whose readiness probe failed is still a start under way until its
        // exit is reaped and judged: its socket can close before its exit is seen.
        let live = state
            .workers
            .iter()
            .filter(|w| w.counts() || w.not_ready())
            .count();
        // After a failed start, one at a time until one is ready: each start is then one
        // of the START_ATTEMPTS, and none is made after the last.
        let starting = state
            .workers
            .iter()
            .any(|w| (w.counts() && w.ready_at.is_none()) || w.not_ready());
        match self.failures {
            0 => state.target.saturating_sub(live),
            _ if starting => 0,
            _ => state.target.saturating_sub(live).min(1),
        }
    }

    /// A readiness probe answered (or not). A ready worker joins the idle ones; one that
    /// is not ready is given a little time to exit by itself and say why.
    pub fn booted(&mut self, id: u64, ready: Result<(), String>) {
        let shared = self.shared.clone();
        let mut state = shared.lock();
        let Some(w) = state.workers.iter_mut().find(|w| w.id == id) else {
            return;
        };
        if w.ready_at.is_some() || w.is_stopping() {
            return;
        }
        match ready {
            Ok(()) => {
                w.ready(&shared.name);
                state.booted = true;
                if state.status == Status::Backoff {
                    state.status = Status::Running;
                }
                self.backoff_until = None;
                self.refusals = 0;
                shared.notify();
            }
            // Its socket closed or reset: it is most likely exiting, and its last words
            // (a traceback) say why better than the probe could. It is killed if it
            // does not exit in time.
            Err(why) => w.expect_exit(Cause::NotReady(why)),
        }
    }

    /// A worker stayed up past START_SECS: the pool's starts are good again.
    pub fn proven(&mut self) {
        self.failures = 0;
        self.last_failure = None;
    }

    /// Starts one worker (`id`, of pool number `index`), a thread that copies its log,
    /// and a readiness probe that reports to `events`; false if it could not be started
    /// (or, with `--preload`, not yet: its preloader is still importing the app).
    pub fn start_worker(&mut self, index: usize, id: u64, dir: &Path, events: &Events) -> bool {
        let shared = self.shared.clone();
        let started = match self.start_process(dir, id) {
            Ok(Some(parts)) => parts,
            Ok(None) => return false,
            Err(e) if out_of_resources(&e) => {
                let mut state = shared.lock();
                self.start_refused(&mut state, &e);
                return false;
            }
            Err(e) => {
                let reason = format!(
                    "cannot start {} in {}: {e}",
                    self.program.program.display(),
                    self.program.dir.display()
                );
                let mut state = shared.lock();
                self.boot_failed(&mut state, "a worker could not be started", reason);
                return false;
            }
        };
        let (process, ends) = started;
        let pid = process.pid();
        let pidfd = match pidfd_open(pid) {
            Ok(fd) => fd,
            Err(e) => {
                // Unwatched, it would serve nobody: it goes at once.
                spawn::signal_group(pid, libc::SIGKILL);
                process.abandon();
                ends.discard();
                let mut state = shared.lock();
                self.start_refused(&mut state, &e);
                return false;
            }
        };
        let last_line = Arc::new(LastLine::default());
        let log = worker_log::follow_log(shared.name.clone(), pid, ends.log, last_line.clone());
        let (conn, door, probe) = match ends.door {
            Door::Own {
                socket,
                conn,
                probe,
            } => (
                Some(Connection::new(conn)),
                WorkerDoor::Own(socket.into()),
                Probe::Values(probe),
            ),
            Door::Shared { beat } => {
                let probe = match (&beat, pidfd.try_clone()) {
                    (_, Err(e)) => Probe::Failed(e.to_string()),
                    (Some(beat), Ok(exit)) => match beat.try_clone() {
                        Ok(beat) => Probe::FirstBeat { beat, exit },
                        Err(e) => Probe::Failed(e.to_string()),
                    },
                    (None, Ok(exit)) => Probe::StaysUp { exit },
                };
                (None, WorkerDoor::Shared(beat), probe)
            }
        };
        let born = Born {
            process,
            pidfd,
            conn,
            door,
            group: ends.group,
            log,
            last_line,
        };
        let mut worker = Worker::new(id, self.capacity, born);
        {
            let state = shared.lock();
            // On the shared socket the worker counts its own (and draws its own jitter).
            if state.max_requests > 0 && shared.socket.is_none() {
                worker.max_requests = state.max_requests + jitter(state.max_requests_jitter);
            }
        }
        let events = events.clone();
        thread::spawn(move || {
            let ready = probe.wait();
            events.send(PoolEvent::Booted {
                pool: index,
                id,
                ready,
            });
        });
        shared.lock().workers.push(worker);
        true
    }

    /// Starts worker `id`'s process: spawned with `program`, or forked by the preloader.
    /// `Ok(None)`: no preloader is ready yet (one is started if there is none).
    fn start_process(&mut self, dir: &Path, id: u64) -> io::Result<Option<(Process, Ends)>> {
        let prepare = || match &self.shared.socket {
            Some(socket) => spawn::prepare_shared(socket, dir, id, self.beats),
            None => spawn::prepare(dir, id),
        };
        let Some(preload) = &mut self.preload else {
            let spawned = spawn::spawn(&self.program, prepare()?)?;
            return Ok(Some((Process::Child(spawned.child), spawned.ends)));
        };
        let name = self.shared.name.clone();
        let Some(preloader) = preload.ready(&name, id)? else {
            return Ok(None);
        };
        let (ends, given) = prepare()?;
        match preloader.fork(id, given) {
            Ok(pid) => {
                let link = preloader.link.clone();
                Ok(Some((Process::Forked { pid, link }, ends)))
            }
            Err(e) => {
                ends.discard();
                if !out_of_resources(&e) {
                    // It cannot fork: it is of no use, and its failure is counted here.
                    crate::log!("pool {name}: preloader {} cannot fork: {e}", preloader.pid);
                    preloader.stop(libc::SIGKILL);
                }
                Err(e)
            }
        }
    }
}

/// A number from 0 to `most`, different for each worker.
fn jitter(most: u64) -> u64 {
    use std::hash::{BuildHasher, RandomState};
    match most {
        0 => 0,
        _ => RandomState::new().hash_one(Instant::now()) % (most + 1),
    }
}

/// The machine, not the program, refused: out of descriptors, processes or memory.
fn out_of_resources(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::EAGAIN | libc::ENOMEM | libc::ENOBUFS)
    )
}

/// How a new worker is known to be ready.
enum Probe {
    /// Its own socket: it answers FCGI_GET_VALUES on the connection queued first.
    Values(UnixStream),
    /// On the shared socket, our worker: its first heartbeat.
    FirstBeat { beat: Heartbeat, exit: OwnedFd },
    /// On the shared socket, a program that cannot beat: still up after START_SECS,
    /// supervisord's `startsecs` (nothing can ask it alone whether it is ready).
    StaysUp { exit: OwnedFd },
    /// Nothing could be watched.
    Failed(String),
}

impl Probe {
    /// Waits, at most BOOT_TIMEOUT, until the worker is ready or has failed.
    fn wait(self) -> Result<(), String> {
        let deadline = Instant::now() + BOOT_TIMEOUT;
        match self {
            Probe::Values(stream) => Connection::new(stream)
                .get_values(&["FCGI_MPXS_CONNS"], deadline)
                .map(|_| ())
                .map_err(|e| e.to_string()),
            Probe::FirstBeat { beat, exit } => {
                // A file's time cannot be waited on: it is looked at every few ms, while
                // the wait for an exit is on the pidfd itself.
                while beat.last().is_none() {
                    if Instant::now() >= deadline {
                        return Err(format!("no heartbeat after {} s", BOOT_TIMEOUT.as_secs()));
                    }
                    if exited(&exit, BEAT_LOOK) {
                        return Err("exited before its first heartbeat".into());
                    }
                }
                Ok(())
            }
            Probe::StaysUp { exit } => match exited(&exit, START_SECS) {
                true => Err(format!(
                    "exited within {} ms of its start",
                    START_SECS.as_millis()
                )),
                false => Ok(()),
            },
            Probe::Failed(why) => Err(why),
        }
    }
}

/// How often a starting worker's heartbeat file is looked at.
const BEAT_LOOK: std::time::Duration = std::time::Duration::from_millis(5);

/// True if the process of `pidfd` exits within `wait`.
fn exited(pidfd: &OwnedFd, wait: std::time::Duration) -> bool {
    let mut fds = [crate::process::poll::want(pidfd.as_raw_fd(), libc::POLLIN)];
    crate::process::poll::poll(&mut fds, Some(wait)) > 0
}
