//! One worker's life, as a state machine with supervisord's names:
//!
//! ```text
//!   spawn ──> STARTING ──ready──> RUNNING idle <──hand back── RUNNING busy
//!                │                    │    └──────lend──────────────^  │
//!                │                    │                                │
//!                └──────── stop(cause): SIGTERM or SIGKILL ────────────┘
//!                                     ▼
//!                                  STOPPING ──exit (pidfd)──> EXITED (reaped, gone)
//! ```
//!
//! A worker can also exit by itself from any state; the reaping says how and why. The
//! state owns what only it has: a starting or idle worker owns its connection, a busy one
//! lent it to a request ([`super::state::Lease`]), a stopping one knows why and since when.
//! Whether the worker counts for its pool is a separate question, `leaving`: a busy worker
//! can already be on its way out (recycled, reloaded, one too many).

use std::fmt;
use std::os::fd::{AsFd, BorrowedFd, FromRawFd, OwnedFd};
use std::path::Path;
use std::process::{Child, ExitStatus};
use std::sync::Arc;
use std::time::Instant;

use crate::fastcgi::Connection;

use super::group::WorkerGroup;
use super::spawn::{self, LastLine};

/// Where a worker is in its life, with what only that state has.
pub enum Life {
    /// STARTING: importing its app; the readiness probe has not answered yet.
    Starting { conn: Connection },
    /// RUNNING, idle: waiting for a request, since `since`.
    Idle { conn: Connection, since: Instant },
    /// RUNNING, busy: a request holds its connection, since `since`.
    Busy { since: Instant },
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
    Stopping,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Starting => "starting",
            Phase::Idle => "idle",
            Phase::Busy => "busy",
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
            Cause::Broken(why) => write!(f, "{why}"),
            Cause::NotReady(why) => write!(f, "not ready: {why}"),
            Cause::Unresponsive => write!(f, "did not stop after SIGTERM"),
            Cause::ServerStop => write!(f, "the server is stopping"),
        }
    }
}

/// One worker process.
pub struct Worker {
    pub id: u64,
    pub pid: u32,
    child: Child,
    /// Readable once the process has exited: the arbiter sleeps on it.
    pidfd: OwnedFd,
    /// The reload it belongs to.
    pub generation: u64,
    pub started: Instant,
    /// When it answered the readiness probe.
    pub ready_at: Option<Instant>,
    /// Requests answered.
    pub served: u64,
    /// Why it no longer counts for its pool, if it does not.
    pub leaving: Option<Leaving>,
    /// Its listening socket: a new connection when it closed the last one.
    pub socket: Arc<Path>,
    /// The last line it wrote to its log: why it failed, if it did.
    pub last_line: Arc<LastLine>,
    /// What it starts (its cgroup) and its log, ended once it is reaped.
    pub group: WorkerGroup,
    pub life: Life,
}

impl Worker {
    /// A worker just spawned, STARTING; `conn` is queued on its socket.
    pub fn new(
        id: u64,
        generation: u64,
        child: Child,
        conn: Connection,
        socket: Arc<Path>,
        last_line: Arc<LastLine>,
        group: WorkerGroup,
    ) -> std::io::Result<Worker> {
        let pid = child.id();
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(Worker {
            id,
            pid,
            child,
            pidfd: unsafe { OwnedFd::from_raw_fd(fd as i32) },
            generation,
            started: Instant::now(),
            ready_at: None,
            served: 0,
            leaving: None,
            socket,
            last_line,
            group,
            life: Life::Starting { conn },
        })
    }

    pub fn phase(&self) -> Phase {
        match self.life {
            Life::Starting { .. } => Phase::Starting,
            Life::Idle { .. } => Phase::Idle,
            Life::Busy { .. } => Phase::Busy,
            Life::Stopping { .. } => Phase::Stopping,
        }
    }

    /// Counts for its pool: alive, not stopping, not on its way out.
    pub fn counts(&self) -> bool {
        self.leaving.is_none() && !self.is_stopping()
    }

    pub fn is_stopping(&self) -> bool {
        matches!(self.life, Life::Stopping { .. })
    }

    /// The descriptor that becomes readable when the process exits.
    pub fn pidfd(&self) -> BorrowedFd<'_> {
        self.pidfd.as_fd()
    }

    /// Its exit status, once it has exited (the process is then reaped).
    pub fn try_exit(&mut self) -> Option<ExitStatus> {
        match self.child.try_wait() {
            Ok(status) => status,
            Err(_) => Some(ExitStatus::default()),
        }
    }

    /// STARTING -> RUNNING idle: the readiness probe answered.
    pub fn ready(&mut self, pool: &str) {
        let now = Instant::now();
        let Life::Starting { .. } = self.life else {
            return;
        };
        let Life::Starting { conn } = std::mem::replace(&mut self.life, Life::Busy { since: now })
        else {
            unreachable!()
        };
        self.life = Life::Idle { conn, since: now };
        self.ready_at = Some(now);
        eprintln!(
            "pool {pool}: worker {} started ({} ms to ready)",
            self.pid,
            (now - self.started).as_millis()
        );
    }

    /// RUNNING idle -> RUNNING busy: its connection is lent to a request.
    pub fn lend(&mut self) -> Option<Connection> {
        let Life::Idle { .. } = self.life else {
            return None;
        };
        let busy = Life::Busy {
            since: Instant::now(),
        };
        match std::mem::replace(&mut self.life, busy) {
            Life::Idle { conn, .. } => Some(conn),
            _ => unreachable!(),
        }
    }

    /// RUNNING busy -> RUNNING idle: its request ended well.
    pub fn hand_back(&mut self, conn: Connection) {
        if let Life::Busy { .. } = self.life {
            self.served += 1;
            self.life = Life::Idle {
                conn,
                since: Instant::now(),
            };
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
        spawn::signal_group(self.pid, signal);
        if signal == libc::SIGKILL && !matches!(cause, Cause::ServerStop) {
            eprintln!("pool {pool}: worker {} killed: {cause}", self.pid);
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

    /// Why the server stopped it, if it did.
    pub fn cause(&self) -> Option<&Cause> {
        match &self.life {
            Life::Stopping { cause, .. } => Some(cause),
            _ => None,
        }
    }

    /// Requests served past `--max-requests` (while no other worker was idle).
    pub fn past_limit(&self, max_requests: u64) -> u64 {
        if max_requests == 0 {
            0
        } else {
            self.served.saturating_sub(max_requests)
        }
    }
}
