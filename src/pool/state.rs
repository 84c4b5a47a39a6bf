//! What the request threads and the arbiter share about one pool: its workers, which of
//! them are idle, and the line of requests waiting for one (first come, first served).
//!
//! A request thread takes an idle worker with [`Shared::checkout`] and gives it back with
//! [`Lease::give_back`]; everything else about a worker's life (starting, reaping, killing,
//! retiring) is the arbiter's, which reads the flags set here.

use std::collections::VecDeque;
use std::process::Child;
use std::sync::mpsc::Sender;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use std::os::unix::net::UnixStream;
use std::path::Path;

use crate::fastcgi::{Connection, Idle};

use super::PoolEvent;
use super::group::WorkerGroup;
use super::spawn::BOOT_TIMEOUT;
use super::spawn::LastLine;

/// Where a worker is in its life (after supervisord's process states).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Started; not yet answering (importing the app).
    Starting,
    /// Ready, waiting for a request.
    Idle,
    /// Serving a request.
    Busy,
    /// Out of service, told to exit (or killed); waiting to be reaped.
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

/// The pool as a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Serving (or starting its first workers).
    Running,
    /// Workers failed to boot; the next try waits a while.
    Backoff,
    /// Workers kept failing to boot: requests get 503 with this reason until SIGHUP.
    Failed(String),
    /// The server is stopping.
    Stopped,
}

/// One worker process.
pub struct Worker {
    pub id: u64,
    pub pid: u32,
    pub child: Child,
    pub phase: Phase,
    pub started: Instant,
    /// Requests answered.
    pub served: u64,
    /// When the request it is serving was handed over.
    pub busy_since: Option<Instant>,
    /// Why a successor is wanted (reload, recycle, fewer workers): it no longer counts.
    pub doomed: Option<&'static str>,
    /// It answered the readiness probe.
    pub ready: bool,
    /// Leave service at the next chance.
    pub retire: bool,
    /// Kill it now, for this reason (a timeout, a broken connection).
    pub kill: Option<String>,
    /// When it was told to stop.
    pub signalled: Option<Instant>,
    /// The connection, while the worker boots.
    pub conn: Option<Connection>,
    /// Its listening socket: a new connection when it closed the last one.
    pub socket: Arc<Path>,
    /// The last line it wrote to its log: why it failed, if it did.
    pub last_line: Arc<LastLine>,
    /// What it starts: killed, and its log ended, once it is reaped.
    pub group: WorkerGroup,
}

impl Worker {
    /// Requests served past `--max-requests` (while no other worker was idle).
    pub fn past_limit(&self, max_requests: u64) -> u64 {
        if max_requests == 0 {
            0
        } else {
            self.served.saturating_sub(max_requests)
        }
    }

    /// Has served its `--max-requests`, or is being replaced for another reason.
    fn spent(&self) -> bool {
        self.doomed.is_some()
    }
}

/// The mutable part of a pool.
pub struct State {
    pub status: Status,
    pub workers: Vec<Worker>,
    /// Connections of idle workers, the most recently idle last: a request takes the
    /// last (see [`Shared::checkout`]).
    pub idle: Vec<(u64, Connection)>,
    /// Tickets of the requests waiting for a worker, in arrival order.
    queue: VecDeque<u64>,
    next_ticket: u64,
    /// Recycle a worker after this many requests (0: never).
    pub max_requests: u64,
    /// A worker has been ready at least once.
    pub booted: bool,
}

/// One pool, as everyone sees it.
pub struct Shared {
    pub name: String,
    /// The app file it serves: SCRIPT_FILENAME.
    pub file: std::path::PathBuf,
    state: Mutex<State>,
    changed: Condvar,
    events: Sender<PoolEvent>,
}

/// Why no worker was handed out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unavailable {
    /// Every worker stayed busy until the deadline.
    QueueTimeout(Duration),
    /// The pool cannot boot its app.
    Failed(String),
    /// The server is stopping.
    Stopped,
}

/// How a request on a leased worker ended.
#[derive(Debug)]
pub enum Ending {
    /// Answered; the connection is ready for the next request.
    Done,
    /// The request passed its deadline: kill the worker's group.
    TimedOut,
    /// The connection broke or the worker misbehaved: the worker is replaced.
    Broken(String),
}

/// A worker handed to one request.
pub struct Lease {
    pool: Arc<Shared>,
    pub id: u64,
    pub pid: u32,
    socket: Arc<Path>,
    conn: Option<Connection>,
    /// How long the request waited for it.
    pub queued: Duration,
}

impl State {
    /// Takes the idle worker to serve the next request: the most recently idle one that is
    /// not being replaced (its code and data are still in the CPU caches, and the others
    /// sleep on: at one connection, taking turns over two workers made the Flask hello
    /// slower than one worker alone; BENCHMARKS.md, "Worker pools"). A worker past --max-requests serves only when no other worker is
    /// idle (then the one that has overshot least): its successor is started first, so no
    /// request waits on a boot, and gunicorn's "serve N, then exit" holds whenever the
    /// pool has another worker to spare.
    fn take_idle(&mut self) -> Option<(u64, Connection)> {
        let worker = |id: u64| self.workers.iter().find(|w| w.id == id);
        let fresh = self
            .idle
            .iter()
            .rposition(|(id, _)| worker(*id).is_some_and(|w| !w.spent()));
        let at = fresh.or_else(|| {
            (0..self.idle.len())
                .rev()
                .min_by_key(|&i| worker(self.idle[i].0).map_or(0, |w| w.served))
        })?;
        Some(self.idle.remove(at))
    }
}

impl Shared {
    pub fn new(
        name: &str,
        file: &std::path::Path,
        max_requests: u64,
        events: Sender<PoolEvent>,
    ) -> Shared {
        Shared {
            name: name.to_string(),
            file: file.to_path_buf(),
            state: Mutex::new(State {
                status: Status::Running,
                workers: Vec::new(),
                idle: Vec::new(),
                queue: VecDeque::new(),
                next_ticket: 0,
                max_requests,
                booted: false,
            }),
            changed: Condvar::new(),
            events,
        }
    }

    pub fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves the state consistent enough to serve.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Wakes the requests waiting for a worker (a worker became idle, the pool failed).
    pub fn notify(&self) {
        self.changed.notify_all();
    }

    /// Waits, first come first served, for an idle worker until `deadline`; of several idle
    /// workers, the one idle for the shortest time is handed out.
    pub fn checkout(self: &Arc<Self>, deadline: Instant) -> Result<Lease, Unavailable> {
        let arrived = Instant::now();
        let mut state = self.lock();
        let ticket = state.next_ticket;
        state.next_ticket += 1;
        state.queue.push_back(ticket);
        loop {
            let refusal = match &state.status {
                Status::Failed(reason) => Some(Unavailable::Failed(reason.clone())),
                Status::Stopped => Some(Unavailable::Stopped),
                _ => None,
            };
            if let Some(refusal) = refusal {
                state.queue.retain(|&t| t != ticket);
                return Err(refusal);
            }
            if state.queue.front() == Some(&ticket)
                && let Some((id, conn)) = state.take_idle()
            {
                let conn = match self.check_idle(&mut state, id, conn) {
                    Some(conn) => conn,
                    None => continue,
                };
                state.queue.pop_front();
                let now = Instant::now();
                let worker = state.workers.iter_mut().find(|w| w.id == id);
                let worker = worker.expect("an idle connection belongs to a worker");
                worker.phase = Phase::Busy;
                worker.busy_since = Some(now);
                let pid = worker.pid;
                let socket = worker.socket.clone();
                if !state.queue.is_empty() && !state.idle.is_empty() {
                    self.changed.notify_all(); // the next in line may go too
                }
                return Ok(Lease {
                    pool: self.clone(),
                    id,
                    pid,
                    socket,
                    conn: Some(conn),
                    queued: now - arrived,
                });
            }
            // Before the pool's first worker is up, a request waits for that boot too.
            let deadline = if !state.booted {
                deadline.max(arrived + BOOT_TIMEOUT)
            } else {
                deadline
            };
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                state.queue.retain(|&t| t != ticket);
                self.changed.notify_all(); // whoever is behind us may be first now
                return Err(Unavailable::QueueTimeout(arrived.elapsed()));
            }
            state = match self.changed.wait_timeout(state, left) {
                Ok((s, _)) => s,
                Err(e) => e.into_inner().0,
            };
        }
    }

    /// An idle connection is handed out only if it is quiet. One the worker closed is
    /// replaced by a new one to the same worker (a FastCGI program that ignores
    /// `FCGI_KEEP_CONN` closes after every request); if none can be made, the worker has
    /// died. One that holds bytes nobody asked for is out of step: the worker is replaced.
    fn check_idle(&self, state: &mut State, id: u64, conn: Connection) -> Option<Connection> {
        let worker = state.workers.iter_mut().find(|w| w.id == id)?;
        let why = match conn.idle() {
            Idle::Quiet => return Some(conn),
            // Unless it died (a process it started may hold its socket, never answering).
            Idle::Closed if !super::spawn::exited(worker.pid) => {
                match UnixStream::connect(&worker.socket) {
                    Ok(stream) => return Some(Connection::new(stream)),
                    Err(_) => "connection closed while idle".to_string(),
                }
            }
            Idle::Closed => "connection closed while idle".to_string(),
            Idle::Junk => "unexpected FastCGI record: bytes sent while idle".to_string(),
        };
        worker.phase = Phase::Stopping;
        worker.kill = Some(why);
        let _ = self.events.send(PoolEvent::Wake);
        None
    }

    fn give_back(&self, id: u64, conn: Option<Connection>, ending: Ending) {
        let mut state = self.lock();
        let max_requests = state.max_requests;
        let Some(worker) = state.workers.iter_mut().find(|w| w.id == id) else {
            return; // already reaped: it died during the request
        };
        worker.busy_since = None;
        let mut wake_arbiter = true;
        match (ending, conn) {
            (Ending::Done, Some(conn)) => {
                worker.served += 1;
                if max_requests > 0 && worker.served >= max_requests && worker.doomed.is_none() {
                    // Recycle: a successor starts first; until it is up this one serves
                    // only when no other worker is idle (see `take_idle`).
                    worker.doomed = Some("recycled");
                    eprintln!(
                        "pool {}: worker {} served its {max_requests} requests (--max-requests): \
                         recycled once its successor is ready",
                        self.name, worker.pid
                    );
                } else if worker.doomed.is_none() {
                    wake_arbiter = false;
                }
                if worker.retire {
                    worker.phase = Phase::Stopping;
                } else {
                    worker.phase = Phase::Idle;
                    state.idle.push((id, conn));
                    if !state.queue.is_empty() {
                        self.changed.notify_all(); // only a request in line waits here
                    }
                }
            }
            (Ending::TimedOut, _) => {
                worker.phase = Phase::Stopping;
                worker.kill = Some("request past --timeout".into());
            }
            (Ending::Broken(reason), _) => {
                worker.phase = Phase::Stopping;
                worker.kill = Some(reason);
            }
            (Ending::Done, None) => {
                worker.phase = Phase::Stopping;
                worker.kill = Some("connection lost".into());
            }
        }
        drop(state);
        if wake_arbiter {
            let _ = self.events.send(PoolEvent::Wake);
        }
    }
}

impl Lease {
    /// The connection to the worker.
    pub fn conn(&mut self) -> &mut Connection {
        self.conn
            .as_mut()
            .expect("a lease holds its connection until given back")
    }

    /// Gives the worker back, saying how the request ended. Only the first call counts.
    pub fn give_back(&mut self, ending: Ending) {
        if let Some(conn) = self.conn.take() {
            let conn = matches!(ending, Ending::Done).then_some(conn);
            self.pool.give_back(self.id, conn, ending);
        }
    }

    /// Replaces the connection with a new one to the same worker; false if the worker
    /// no longer accepts (it has died).
    pub fn reconnect(&mut self) -> bool {
        // A dead worker's socket may still accept: a process it started can hold the
        // listening descriptor, and would never answer.
        if super::spawn::exited(self.pid) {
            return false;
        }
        match UnixStream::connect(&self.socket) {
            Ok(stream) if self.conn.is_some() => {
                self.conn = Some(Connection::new(stream));
                true
            }
            _ => false,
        }
    }

    /// True once the worker was given back.
    pub fn is_given_back(&self) -> bool {
        self.conn.is_none()
    }
}

impl Drop for Lease {
    /// A lease dropped without [`Lease::give_back`] (a panic mid-request) cannot vouch
    /// for its connection: the worker is replaced.
    fn drop(&mut self) {
        if self.conn.take().is_some() {
            self.pool
                .give_back(self.id, None, Ending::Broken("request abandoned".into()));
        }
    }
}
