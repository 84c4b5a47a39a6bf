//! What the request threads and the arbiter share about one pool: its workers (each a
//! [`Worker`] state machine), and the line of requests waiting for one (first come,
//! first served).
//!
//! A request thread takes an idle worker with [`Shared::checkout`] and gives it back with
//! [`Lease::give_back`]; everything else about a worker's life (starting, reaping,
//! killing, retiring) is the arbiter's.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use std::path::Path;

use crate::fastcgi::{Connection, Idle};

use super::events::{Events, PoolEvent};
use super::policy::BOOT_TIMEOUT;
use super::shared_accept::{ConnectError, SharedSocket};
use super::spawn::connect_again;
use super::worker::{Cause, Leaving, Worker};
use super::worker_log::CopiedLog;

/// The pool as a whole (after supervisord's BACKOFF and FATAL, which it keeps per
/// process; here they belong to the pool, since its workers all run the same app).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// No worker yet: the pool starts on its first request (php-fpm's `pm = ondemand`).
    /// A pool the server made for a `NAME_wsgi.py` twin begins so, and once woken stays
    /// running until the server stops (no idle timeout: one boot per server is cheap).
    Dormant,
    /// Serving (or starting its first workers).
    Running,
    /// Workers failed to start; the next try waits a while.
    Backoff,
    /// New workers kept failing to start while older ones were serving: those keep
    /// serving, and nothing more is started until SIGHUP. Holds the reason.
    Held(String),
    /// Workers kept failing to start and none is left: requests get 503 until SIGHUP.
    /// Holds the reason (for the log and the index page, never for a client).
    Failed(String),
    /// The server is stopping: no request is handed a worker any more.
    Stopping,
}

/// The mutable part of a pool.
pub struct State {
    pub status: Status,
    pub workers: Vec<Worker>,
    /// How many workers it should have.
    pub target: usize,
    /// Tickets of the requests waiting for a worker, in arrival order.
    queue: VecDeque<u64>,
    next_ticket: u64,
    /// Recycle a worker after this many requests (0: never)...
    pub max_requests: u64,
    /// ... plus up to this many more, drawn for each worker, so that workers started
    /// together do not all leave together (gunicorn's `--max-requests-jitter`).
    pub max_requests_jitter: u64,
    /// A worker has been ready at least once.
    pub booted: bool,
    /// With `--preload`: the pid of the preloader new workers are forked from.
    pub preloader: Option<u32>,
}

/// One pool, as everyone sees it.
pub struct Shared {
    pub name: String,
    /// What it runs, as SCRIPT_FILENAME: the app's file, or `module:callable`.
    pub app: String,
    /// `--timeout` for its requests (its own, or the server's).
    pub timeout: Duration,
    /// With `--accept shared`: the one socket every worker accepts on.
    pub socket: Option<SharedSocket>,
    state: Mutex<State>,
    changed: Condvar,
    events: Events,
}

/// Why no worker was handed out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unavailable {
    /// Every worker stayed busy until the deadline.
    QueueTimeout(Duration),
    /// The pool cannot start its app (the reason, for the log).
    Failed(String),
    /// The server is stopping.
    Stopped,
    /// The shared socket's listen backlog is full (`--backlog`).
    BacklogFull(u32),
    /// No connection could be made to the shared socket.
    NoConnection(String),
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

/// A worker handed to one request, or a connection to the shared socket that one of
/// the workers will accept.
pub struct Lease {
    pool: Arc<Shared>,
    conn: Option<Connection>,
    held: Held,
}

/// What a lease holds besides its connection.
enum Held {
    /// A worker the server chose (`--accept dispatch`).
    Worker {
        id: u64,
        pid: u32,
        socket: Arc<Path>,
        /// When it was handed over: the worker's record of this request.
        since: Instant,
        /// How long the request waited for it.
        queued: Duration,
        /// The worker's log, which the request catches up with before its access line.
        log: Arc<CopiedLog>,
    },
    /// A connection in the shared socket's backlog (`--accept shared`): which worker
    /// takes it, and when, only the kernel knows.
    Shared,
}

impl State {
    /// Workers that count for the pool and are ready to serve.
    pub fn ready_and_counted(&self) -> usize {
        self.workers
            .iter()
            .filter(|w| w.counts() && w.ready_at.is_some())
            .count()
    }

    /// Chooses the worker to serve the next request: one with room that is not on its way
    /// out, the least busy first (a threaded worker's requests share one process, so they
    /// are spread over the processes), then the most recently idle (its code and data are
    /// still in the CPU caches, and the others sleep on: at one connection, taking turns
    /// over two workers made the Flask hello slower than one worker alone; BENCHMARKS.md,
    /// "Worker pools"). A worker on its way out serves only while its successors are not
    /// all ready and no other worker has room (then the one that has served least): a
    /// recycled worker's successor is started first, so no request waits on a boot, and
    /// gunicorn's "serve N, then exit" holds whenever the pool has another worker to spare.
    fn take_free(&self) -> Option<usize> {
        let fresh = (0..self.workers.len())
            .filter(|&i| self.workers[i].leaving.is_none())
            .filter_map(|i| {
                let w = &self.workers[i];
                let since = w.free_since()?;
                Some((std::cmp::Reverse(w.in_flight()), since, i))
            })
            .max()
            .map(|(_, _, i)| i);
        if fresh.is_some() {
            return fresh;
        }
        if self.ready_and_counted() >= self.target {
            return None; // the successors are ready: the old ones only wait to retire
        }
        (0..self.workers.len())
            .filter(|&i| self.workers[i].free_since().is_some())
            .min_by_key(|&i| self.workers[i].served)
    }
}

impl Shared {
    pub fn new(
        name: &str,
        app: &str,
        target: usize,
        (max_requests, max_requests_jitter): (u64, u64),
        timeout: Duration,
        events: Events,
    ) -> Shared {
        Shared {
            name: name.to_string(),
            app: app.to_string(),
            timeout,
            socket: None,
            state: Mutex::new(State {
                status: Status::Running,
                workers: Vec::new(),
                target,
                queue: VecDeque::new(),
                next_ticket: 0,
                max_requests,
                max_requests_jitter,
                booted: false,
                preloader: None,
            }),
            changed: Condvar::new(),
            events,
        }
    }

    /// The same pool, whose workers accept on `socket` (`--accept shared`).
    pub fn sharing(mut self, socket: SharedSocket) -> Shared {
        self.socket = Some(socket);
        self
    }

    pub fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves the state consistent enough to serve.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Wakes the requests waiting for a worker (a worker became idle, the pool failed).
    pub fn notify(&self) {
        self.changed.notify_all();
    }

    /// With `--accept shared`: a connection to the shared socket, queued in its backlog
    /// until a worker accepts it. Before the pool's first worker is up, it waits for that
    /// boot (as [`Shared::checkout`] does); past the backlog, it is refused at once.
    pub fn connect_shared(self: &Arc<Self>) -> Result<Lease, Unavailable> {
        let Some(socket) = &self.socket else {
            return Err(Unavailable::NoConnection(
                "the pool has no shared socket".into(),
            ));
        };
        let arrived = Instant::now();
        let mut state = self.lock();
        self.wake(&mut state);
        loop {
            match &state.status {
                Status::Failed(reason) => return Err(Unavailable::Failed(reason.clone())),
                Status::Stopping => return Err(Unavailable::Stopped),
                _ if state.booted => break,
                _ => {}
            }
            let left = (arrived + BOOT_TIMEOUT).saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Unavailable::QueueTimeout(arrived.elapsed()));
            }
            state = match self.changed.wait_timeout(state, left) {
                Ok((s, _)) => s,
                Err(e) => e.into_inner().0,
            };
        }
        drop(state);
        match socket.connect() {
            Ok(stream) => Ok(Lease {
                pool: self.clone(),
                conn: Some(Connection::new(stream)),
                held: Held::Shared,
            }),
            Err(ConnectError::BacklogFull) => Err(Unavailable::BacklogFull(socket.backlog)),
            Err(ConnectError::Other(e)) => Err(Unavailable::NoConnection(e.to_string())),
        }
    }

    /// The first request to a dormant pool starts it: the arbiter is told to start its
    /// workers. The requests that come while it boots find it running and wait like the
    /// first one, so it is started once.
    fn wake(&self, state: &mut State) {
        if state.status != Status::Dormant {
            return;
        }
        state.status = Status::Running;
        let n = state.target;
        crate::log!(
            "pool {}: first request, starting {n} worker{}",
            self.name,
            if n == 1 { "" } else { "s" }
        );
        self.events.send(PoolEvent::Wake);
    }

    /// Waits, first come first served, for an idle worker until `deadline`; of several idle
    /// workers, the one idle for the shortest time is handed out.
    pub fn checkout(self: &Arc<Self>, deadline: Instant) -> Result<Lease, Unavailable> {
        let arrived = Instant::now();
        let mut state = self.lock();
        let ticket = state.next_ticket;
        state.next_ticket += 1;
        state.queue.push_back(ticket);
        self.wake(&mut state);
        loop {
            let refusal = match &state.status {
                Status::Failed(reason) => Some(Unavailable::Failed(reason.clone())),
                Status::Stopping => Some(Unavailable::Stopped),
                _ => None,
            };
            if let Some(refusal) = refusal {
                state.queue.retain(|&t| t != ticket);
                self.changed.notify_all(); // whoever is behind us may be first now
                return Err(refusal);
            }
            if state.queue.front() == Some(&ticket)
                && let Some(at) = state.take_free()
            {
                let Some((conn, since)) = self.check_idle(&mut state.workers[at]) else {
                    continue;
                };
                state.queue.pop_front();
                let worker = &state.workers[at];
                let (id, pid) = (worker.id, worker.pid);
                let socket = worker
                    .own_socket()
                    .expect("lent only by its own socket")
                    .clone();
                let log = worker.log.clone();
                if !state.queue.is_empty() && state.take_free().is_some() {
                    self.changed.notify_all(); // the next in line may go too
                }
                return Ok(Lease {
                    pool: self.clone(),
                    conn: Some(conn),
                    held: Held::Worker {
                        id,
                        pid,
                        socket,
                        since,
                        queued: arrived.elapsed(),
                        log,
                    },
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

    /// Lends a worker's connection for one request: an idle one if it is quiet, else a
    /// new one. One the worker closed is replaced by a new one to the same worker (a
    /// FastCGI program that ignores `FCGI_KEEP_CONN` closes after every request); if none
    /// can be made, or the worker is exiting (a process it started may hold its socket,
    /// never answering), it is given up. One that holds bytes nobody asked for is out of
    /// step: the worker is replaced.
    fn check_idle(&self, worker: &mut Worker) -> Option<(Connection, Instant)> {
        let Some((conn, since, reused)) = worker.lend() else {
            // No connection could be made: the worker no longer accepts.
            worker.stop(
                &self.name,
                Cause::Broken("cannot connect".into()),
                libc::SIGKILL,
            );
            self.events.send(PoolEvent::Wake);
            return None;
        };
        if !reused {
            return Some((conn, since));
        }
        // This look costs a system call per request, and no later step can do its work:
        // every answer carries the same request id, so bytes a worker wrote out of turn
        // would be read as this request's answer once it is sent.
        let why = match conn.idle() {
            Idle::Quiet => return Some((conn, since)),
            Idle::Closed => match worker
                .own_socket()
                .and_then(|socket| connect_again(worker.pid, socket))
            {
                Some(stream) => return Some((Connection::new(stream), since)),
                None => "connection closed while idle",
            },
            Idle::Junk => "unexpected FastCGI record: bytes sent while idle",
        };
        worker.stop(&self.name, Cause::Broken(why.into()), libc::SIGKILL);
        self.events.send(PoolEvent::Wake);
        None
    }

    fn give_back(&self, id: u64, since: Instant, conn: Option<Connection>, ending: Ending) {
        let mut state = self.lock();
        let Some(worker) = state.workers.iter_mut().find(|w| w.id == id) else {
            return; // already reaped: it died during the request
        };
        let cause = match (ending, conn) {
            (Ending::Done, Some(conn)) => {
                worker.hand_back(conn, since);
                let limit = worker.max_requests;
                if limit > 0 && worker.served >= limit && worker.leaving.is_none() {
                    // Recycle: a successor starts first; until it is up this one serves
                    // only when no other worker is idle (see `take_idle`).
                    worker.leaving = Some(Leaving::Recycled);
                    crate::log!(
                        "pool {}: worker {} served its {limit} requests (--max-requests): \
                         recycled once its successor is ready",
                        self.name,
                        worker.pid
                    );
                }
                let leaving = worker.leaving.is_some();
                if !state.queue.is_empty() {
                    self.changed.notify_all(); // only a request in line waits here
                }
                drop(state);
                if leaving {
                    self.events.send(PoolEvent::Wake); // the arbiter retires it
                }
                return;
            }
            (Ending::TimedOut, _) => Cause::TimedOut,
            (Ending::Broken(reason), _) => Cause::Broken(reason),
            (Ending::Done, None) => Cause::Broken("connection lost".into()),
        };
        worker.stop(&self.name, cause, libc::SIGKILL);
        drop(state);
        self.events.send(PoolEvent::Wake);
    }
}

impl Lease {
    /// The worker's pid, when the server chose the worker.
    pub fn pid(&self) -> Option<u32> {
        match &self.held {
            Held::Worker { pid, .. } => Some(*pid),
            Held::Shared => None,
        }
    }

    /// How long the request waited in the server's line for a worker; `None` on the
    /// shared socket, where it waits in the kernel's backlog, unseen.
    pub fn queued(&self) -> Option<Duration> {
        match &self.held {
            Held::Worker { queued, .. } => Some(*queued),
            Held::Shared => None,
        }
    }

    /// The connection to the worker.
    pub fn conn(&mut self) -> &mut Connection {
        self.conn
            .as_mut()
            .expect("a lease holds its connection until given back")
    }

    /// Gives the worker back, saying how the request ended. Only the first call counts.
    pub fn give_back(&mut self, ending: Ending) {
        let Some(conn) = self.conn.take() else {
            return;
        };
        match &self.held {
            Held::Worker { id, since, .. } => {
                let conn = matches!(ending, Ending::Done).then_some(conn);
                self.pool.give_back(*id, *since, conn, ending);
            }
            // The connection closes: the worker that took it goes back to accept().
            // One stuck past the timeout is for the arbiter to find by its heartbeat.
            Held::Shared => drop(conn),
        }
    }

    /// Replaces the connection with a new one to the same worker; false if the worker
    /// no longer accepts (it has died).
    pub fn reconnect(&mut self) -> bool {
        let Held::Worker { pid, socket, .. } = &self.held else {
            return false; // another connection would be another worker's
        };
        match connect_again(*pid, socket) {
            Some(stream) if self.conn.is_some() => {
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

    /// Logs what the worker has written to its log so far (a traceback, what the app
    /// printed), so it comes before the request's access line.
    pub fn catch_up_log(&self) {
        if let Held::Worker { log, .. } = &self.held {
            log.catch_up();
        }
    }
}

impl Drop for Lease {
    /// A lease dropped without [`Lease::give_back`] (a panic mid-request) cannot vouch
    /// for its connection: the worker is replaced.
    fn drop(&mut self) {
        if let (Some(_), Held::Worker { id, since, .. }) = (self.conn.take(), &self.held) {
            self.pool.give_back(
                *id,
                *since,
                None,
                Ending::Broken("request abandoned".into()),
            );
        }
    }
}
