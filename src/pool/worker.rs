//! One worker's life, as a state machine with supervisord's names:
//!
//! ```text
//!   spawn ──> STARTING ──ready──> RUNNING: idle <──hand back──> busy (1..capacity)
//!                │                    │                                │
//!                └──────── stop(cause): SIGTERM or SIGKILL ────────────┘
//!                                     ▼
//!                                  STOPPING ──exit (pidfd)──> EXITED (reaped, gone)
//! ```
//!
//! On the pool's shared socket (`--accept shared`) a RUNNING worker is ACCEPTING: the
//! kernel, not the server, hands it connections, so idle and busy cannot be told apart,
//! and only its heartbeat ([`super::shared_accept`]) says whether it holds a request
//! too long.
//!
//! A worker can also exit by itself from any state; the reaping says how and why. The
//! state owns what only it has: a starting worker owns the connection it was born with, a
//! running one its idle connections and the start of each request it serves (a sync
//! worker serves one at a time; a gthread or gevent worker up to its capacity, each on a
//! connection of its own), a stopping one knows why and since when. Whether the worker
//! counts for its pool is a separate question, `leaving`: a busy worker can already be on
//! its way out (recycled, reloaded, one too many).

use std::fmt;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, ExitStatus};
use std::sync::Arc;
use std::time::Instant;

use crate::fastcgi::Connection;
use crate::process::memory::{self, Memory};

use super::group::WorkerGroup;
use super::preload::Link;
use super::shared_accept::Heartbeat;
use super::spawn;
use super::worker_log::{CopiedLog, LastLine};

/// Where a worker is in its life, with what only that state has.
pub enum Life {
    /// STARTING: importing its app; the readiness probe has not answered yet. A worker
    /// of its own socket holds the connection requests will use; one that accepts on
    /// the pool's shared socket holds none.
    Starting { conn: Option<Connection> },
    /// RUNNING: serving one request per entry of `busy` (when each was handed over),
    /// each on a connection lent to it; `idle` connections wait for the next. Idle when
    /// `busy` is empty, since `since`. A worker on the shared socket is never lent
    /// anything: it is ACCEPTING, and only its heartbeat says what it does.
    Running {
        idle: Vec<Connection>,
        busy: Vec<Instant>,
        since: Instant,
    },
    /// STOPPING: told to leave (`signal` SIGTERM), killed (SIGKILL), or expected to exit
    /// by itself (`signal` 0), for `cause`, since `since`; waiting to be reaped.
    Stopping {
        cause: Cause,
        signal: i32,
        since: Instant,
    },
}

/// The name of a [`Life`] state, as the index page and tests show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Starting,
    Idle,
    Busy,
    /// RUNNING on the pool's shared socket: idle or busy, the server cannot see.
    Accepting,
    Stopping,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Starting => "starting",
            Phase::Idle => "idle",
            Phase::Busy => "busy",
            Phase::Accepting => "accepting",
            Phase::Stopping => "stopping",
        }
    }
}

/// Why a worker no longer counts for its pool: a successor is started first, and it
/// leaves once the successors are ready and it is idle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leaving {
    /// It served `--max-requests`.
    Recycled,
    /// SIGHUP: new workers import the app anew.
    Reloaded,
    /// SIGTTOU: the pool has one worker too many.
    Fewer,
}

impl Leaving {
    pub fn as_str(self) -> &'static str {
        match self {
            Leaving::Recycled => "recycled",
            Leaving::Reloaded => "reloaded",
            Leaving::Fewer => "fewer workers",
        }
    }
}

/// Why the server stopped a worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cause {
    /// Retired gracefully: its successors are ready and it is idle.
    Retired(Leaving),
    /// A reload came while it was still starting: it would have served the old code.
    Superseded,
    /// Its request passed `--timeout`.
    TimedOut,
    /// Busy well past `--timeout` with no word from its request thread.
    Hung { secs: u64 },
    /// On the shared socket: its heartbeat says it has held a request longer than
    /// `--timeout`.
    Stale { secs: u64 },
    /// Its connection broke, or it broke the FastCGI protocol.
    Broken(String),
    /// Its readiness probe failed.
    NotReady(String),
    /// It did not exit in time after SIGTERM.
    Unresponsive,
    /// The server is stopping.
    ServerStop,
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::Retired(why) => write!(f, "{}", why.as_str()),
            Cause::Superseded => write!(f, "superseded by another reload before it was ready"),
            Cause::TimedOut => write!(f, "request past --timeout"),
            Cause::Hung { secs } => write!(f, "busy for more than {secs} s"),
            Cause::Stale { secs } => write!(
                f,
                "its heartbeat says it has held a request for more than {secs} s (--timeout)"
            ),
            Cause::Broken(why) => write!(f, "{why}"),
            Cause::NotReady(why) => write!(f, "not ready: {why}"),
            Cause::Unresponsive => write!(f, "did not stop after SIGTERM"),
            Cause::ServerStop => write!(f, "the server is stopping"),
        }
    }
}

/// How the server holds a worker's process.
pub enum Process {
    /// Spawned by the server, which is its parent and collects its exit itself.
    Child(Child),
    /// Forked by the pool's preloader, which reports its exit through `link`
    /// ([`super::preload`]).
    Forked { pid: u32, link: Arc<Link> },
}

impl Process {
    pub fn pid(&self) -> u32 {
        match self {
            Process::Child(child) => child.id(),
            Process::Forked { pid, .. } => *pid,
        }
    }

    /// Gives up on a process the server could not watch, once it has been killed: it
    /// is reaped when it exits, and never becomes a worker.
    pub fn abandon(self) {
        match self {
            Process::Child(mut child) => {
                let _ = child.wait();
            }
            Process::Forked { pid, link } => link.abandon(pid),
        }
    }
}

/// A process just started, with what comes with it.
pub struct Born {
    pub process: Process,
    /// Readable once it has exited (a forked worker's pid stays its own until the
    /// server releases it, so this is always the right process).
    pub pidfd: OwnedFd,
    /// The connection queued on its own socket before it ran, if it has one.
    pub conn: Option<Connection>,
    /// How requests reach it.
    pub door: WorkerDoor,
    pub group: WorkerGroup,
    /// Its log, copied into the server's; its last line kept in `last_line`.
    pub log: Arc<CopiedLog>,
    pub last_line: Arc<LastLine>,
}

/// How requests reach a running worker.
pub enum WorkerDoor {
    /// Its own listening socket (`--accept dispatch`): a new connection when it closed
    /// the last one.
    Own(Arc<Path>),
    /// The pool's shared socket (`--accept shared`), with its heartbeat if it keeps one.
    Shared(Option<Heartbeat>),
}

/// One worker process.
pub struct Worker {
    pub id: u64,
    pub pid: u32,
    process: Process,
    /// Readable once the process has exited: the arbiter sleeps on it.
    pidfd: OwnedFd,
    pub started: Instant,
    /// When it answered the readiness probe.
    pub ready_at: Option<Instant>,
    /// Requests answered.
    pub served: u64,
    /// Recycled after this many (0: never): `--max-requests` plus its own jitter.
    pub max_requests: u64,
    /// Why it no longer counts for its pool, if it does not.
    pub leaving: Option<Leaving>,
    /// How many requests it serves at once (1 for a sync worker).
    pub capacity: usize,
    /// Its memory when it was told to stop: what it had grown to.
    pub memory_at_stop: Option<Memory>,
    /// How requests reach it.
    pub door: WorkerDoor,
    /// The last line it wrote to its log: why it failed, if it did.
    pub last_line: Arc<LastLine>,
    /// Its log on its way into the server's: a request it answered catches up with it.
    pub log: Arc<CopiedLog>,
    /// What it starts (its cgroup) and its log, ended once it is reaped.
    pub group: WorkerGroup,
    pub life: Life,
}

impl Worker {
    /// A worker just spawned, STARTING.
    pub fn new(id: u64, capacity: usize, born: Born) -> Worker {
        Worker {
            id,
            pid: born.process.pid(),
            pidfd: born.pidfd,
            process: born.process,
            started: Instant::now(),
            ready_at: None,
            served: 0,
            max_requests: 0,
            leaving: None,
            memory_at_stop: None,
            capacity: capacity.max(1),
            door: born.door,
            last_line: born.last_line,
            log: born.log,
            group: born.group,
            life: Life::Starting { conn: born.conn },
        }
    }

    pub fn phase(&self) -> Phase {
        match &self.life {
            Life::Starting { .. } => Phase::Starting,
            Life::Running { .. } if matches!(self.door, WorkerDoor::Shared(_)) => Phase::Accepting,
            Life::Running { busy, .. } if busy.is_empty() => Phase::Idle,
            Life::Running { .. } => Phase::Busy,
            Life::Stopping { .. } => Phase::Stopping,
        }
    }

    /// Requests it is serving now.
    pub fn in_flight(&self) -> usize {
        match &self.life {
            Life::Running { busy, .. } => busy.len(),
            _ => 0,
        }
    }

    /// When it last became idle, if it can take a request now.
    pub fn free_since(&self) -> Option<Instant> {
        match &self.life {
            Life::Running { busy, since, .. } if busy.len() < self.capacity => Some(*since),
            _ => None,
        }
    }

    /// Counts for its pool: alive, not stopping, not on its way out.
    pub fn counts(&self) -> bool {
        self.leaving.is_none() && !self.is_stopping()
    }

    pub fn is_stopping(&self) -> bool {
        matches!(self.life, Life::Stopping { .. })
    }

    /// What the arbiter sleeps on to learn that it exited: its pidfd, unless its
    /// preloader will say so (which it does once it has the exit status).
    pub fn exit_fd(&self) -> Option<BorrowedFd<'_>> {
        match &self.process {
            Process::Forked { link, .. } if !link.is_dead() => None,
            _ => Some(self.pidfd.as_fd()),
        }
    }

    /// The preloader it was forked from, if it was.
    pub fn preloader(&self) -> Option<&Arc<Link>> {
        match &self.process {
            Process::Forked { link, .. } => Some(link),
            Process::Child(_) => None,
        }
    }

    /// Its exit status, once it has exited (the process is then reaped).
    pub fn try_exit(&mut self) -> Option<ExitStatus> {
        match &mut self.process {
            Process::Child(child) => match child.try_wait() {
                Ok(status) => status,
                Err(_) => Some(ExitStatus::default()),
            },
            Process::Forked { pid, link } => link.take_exit(*pid).or_else(|| {
                // Its preloader is gone, and with it the worker (PR_SET_PDEATHSIG), once
                // its pidfd says it has exited; nobody is left to say how.
                let gone = link.is_dead() && readable(self.pidfd.as_fd());
                gone.then(|| ExitStatus::from_raw(libc::SIGKILL))
            }),
        }
    }

    /// STARTING -> RUNNING idle: the readiness probe answered.
    pub fn ready(&mut self, pool: &str) {
        let now = Instant::now();
        let Life::Starting { .. } = self.life else {
            return;
        };
        let running = Life::Running {
            idle: Vec::new(),
            busy: Vec::new(),
            since: now,
        };
        if let Life::Starting { conn: Some(conn) } = std::mem::replace(&mut self.life, running)
            && let Life::Running { idle, .. } = &mut self.life
        {
            idle.push(conn);
        }
        self.ready_at = Some(now);
        let memory = memory::of(self.pid)
            .map(|m| format!("; {m}"))
            .unwrap_or_default();
        crate::log!(
            "pool {pool}: worker {} started ({} ms to ready{memory})",
            self.pid,
            (now - self.started).as_millis()
        );
    }

    /// RUNNING with room -> RUNNING with one more request: lends it a connection (an idle
    /// one, else a new one to its socket) and returns it with the request's start.
    pub fn lend(&mut self) -> Option<(Connection, Instant, bool)> {
        let capacity = self.capacity;
        let WorkerDoor::Own(socket) = &self.door else {
            return None; // the kernel hands it connections
        };
        let Life::Running { idle, busy, .. } = &mut self.life else {
            return None;
        };
        if busy.len() >= capacity {
            return None;
        }
        let (conn, reused) = match idle.pop() {
            Some(conn) => (conn, true),
            None => (Connection::new(UnixStream::connect(socket).ok()?), false),
        };
        let now = Instant::now();
        busy.push(now);
        Some((conn, now, reused))
    }

    /// A request that started at `since` ended well: its connection waits for the next.
    pub fn hand_back(&mut self, conn: Connection, since: Instant) {
        if let Life::Running {
            idle,
            busy,
            since: idle_since,
        } = &mut self.life
            && let Some(at) = busy.iter().position(|&t| t == since)
        {
            busy.swap_remove(at);
            idle.push(conn);
            self.served += 1;
            if busy.is_empty() {
                *idle_since = Instant::now();
            }
        }
    }

    /// A request that started at `since` ended without its connection (given up with the
    /// worker, or lost): it no longer counts as in flight.
    pub fn forget(&mut self, since: Instant) {
        if let Life::Running { busy, .. } = &mut self.life
            && let Some(at) = busy.iter().position(|&t| t == since)
        {
            busy.swap_remove(at);
        }
    }

    /// Any state -> STOPPING: sends `signal` to the worker's process group (what it
    /// started goes with it) and logs why, unless it is a polite retirement or the server
    /// stopping, which say so elsewhere. A worker already stopping can only be escalated
    /// from SIGTERM to SIGKILL.
    pub fn stop(&mut self, pool: &str, cause: Cause, signal: i32) {
        if let Life::Stopping { signal: sent, .. } = &self.life
            && (*sent == libc::SIGKILL || signal != libc::SIGKILL)
        {
            return;
        }
        if !self.is_stopping() {
            self.memory_at_stop = memory::of(self.pid);
        }
        spawn::signal_group(self.pid, signal);
        if signal == libc::SIGKILL && !matches!(cause, Cause::ServerStop) {
            // A worker serving several requests takes them all with it.
            let others = match self.in_flight().saturating_sub(1) {
                0 => String::new(),
                1 => " (the other request it was serving fails with it)".to_string(),
                n => format!(" (the {n} other requests it was serving fail with it)"),
            };
            crate::log!("pool {pool}: worker {} killed: {cause}{others}", self.pid);
        }
        self.life = Life::Stopping {
            cause,
            signal,
            since: Instant::now(),
        };
    }

    /// Any state but STOPPING -> STOPPING without a signal: it is expected to exit by
    /// itself (its readiness probe found its socket closed), and gets the time to write
    /// its last words before it is killed.
    pub fn expect_exit(&mut self, cause: Cause) {
        if !self.is_stopping() {
            self.life = Life::Stopping {
                cause,
                signal: 0,
                since: Instant::now(),
            };
        }
    }

    /// Its readiness probe failed and it is expected to exit: whether its start failed
    /// is judged when it is reaped.
    pub fn not_ready(&self) -> bool {
        self.ready_at.is_none() && matches!(self.cause(), Some(Cause::NotReady(_)))
    }

    /// Why the server stopped it, if it did.
    pub fn cause(&self) -> Option<&Cause> {
        match &self.life {
            Life::Stopping { cause, .. } => Some(cause),
            _ => None,
        }
    }

    /// Its heartbeat, if it accepts on the shared socket and keeps one.
    pub fn heartbeat(&self) -> Option<&Heartbeat> {
        match &self.door {
            WorkerDoor::Shared(beat) => beat.as_ref(),
            WorkerDoor::Own(_) => None,
        }
    }

    /// Its own listening socket, if it has one.
    pub fn own_socket(&self) -> Option<&Arc<Path>> {
        match &self.door {
            WorkerDoor::Own(socket) => Some(socket),
            WorkerDoor::Shared(_) => None,
        }
    }

    /// Requests served past `--max-requests` (while no other worker was idle).
    pub fn past_limit(&self) -> u64 {
        if self.max_requests == 0 {
            0
        } else {
            self.served.saturating_sub(self.max_requests)
        }
    }
}

/// True when `fd` is readable now.
fn readable(fd: BorrowedFd<'_>) -> bool {
    let mut fds = [crate::process::poll::want(fd.as_raw_fd(), libc::POLLIN)];
    crate::process::poll::poll(&mut fds, Some(std::time::Duration::ZERO)) > 0
}
