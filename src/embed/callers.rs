//! The threads that call Python, and what they say to the connection threads.
//!
//! A connection's thread never runs Python: it leases a caller thread, hands it the
//! request ([`Job`]) and waits, until `--timeout`, for what the call says ([`Said`]): the
//! head, pieces of body, the end. So a call that never returns costs its caller thread,
//! never the connection's: at the deadline the connection answers 504 and gives the
//! caller up ([`Callers::lose`]); should the call return one day, its thread says so in
//! the log and ends. Each caller stays attached to the interpreter for its whole life
//! (its Python thread state is made once) and lets the GIL go whenever it waits.
//!
//! Idle callers are kept on a stack: one connection at a time always gets the same
//! thread, whose caches are warm; eight at a time get eight threads.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pyo3::prelude::*;

use super::gil;
use super::interpreter::Helpers;
pub use super::link::{Job, Link, Said, What};

/// A caller's stack: Python's own threads get 8 MiB on Linux, and deep recursion in an
/// app needs as much here.
const STACK: usize = 8 * 1024 * 1024;
/// Pieces a call may produce ahead of a slow client.
const AHEAD: usize = 2;
/// How long a connection looks for a call's answer before it sleeps until it comes.
const LOOK_AGAIN: Duration = Duration::from_micros(50);

/// The connection's side of a leased caller.
pub struct Caller {
    jobs: Sender<Job>,
    said: Receiver<Said>,
    stop: Arc<AtomicBool>,
    /// Set when the connection gives this caller up at the deadline.
    lost: Arc<AtomicBool>,
}

/// Why nothing was heard.
pub enum Silence {
    /// The deadline passed.
    Late,
    /// The caller thread ended (a fault in the server, not in the app).
    Gone,
}

impl Caller {
    /// Hands the caller a request; false if its thread has ended.
    pub fn hand(&self, job: Job) -> bool {
        self.jobs.send(job).is_ok()
    }

    /// The next thing the call says, or why nothing came by `deadline`.
    pub fn hear(&self, deadline: Instant) -> Result<Said, Silence> {
        // A short app answers in tens of microseconds, less than it takes to put this
        // thread to sleep and wake it again: look again for a moment first, letting
        // any other thread that wants this core have it.
        let until = Instant::now() + LOOK_AGAIN;
        loop {
            match self.said.try_recv() {
                Ok(said) => return Ok(said),
                Err(TryRecvError::Disconnected) => return Err(Silence::Gone),
                Err(TryRecvError::Empty) if Instant::now() < until => std::thread::yield_now(),
                Err(TryRecvError::Empty) => break,
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        self.said.recv_timeout(left).map_err(|e| match e {
            RecvTimeoutError::Timeout => Silence::Late,
            RecvTimeoutError::Disconnected => Silence::Gone,
        })
    }

    /// Asks the call to stop taking pieces from the app's iterable.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Every caller thread of a server, idle or not.
pub struct Callers {
    idle: Mutex<Vec<Caller>>,
    pub helpers: Arc<Helpers>,
    /// Threads given up at `--timeout` whose calls have not returned.
    lost: Arc<AtomicUsize>,
    /// At most this many lost at once (`--threads`); past it, no new call is made.
    limit: usize,
}

impl Callers {
    pub fn new(helpers: Helpers, limit: usize) -> Callers {
        Callers {
            idle: Mutex::new(Vec::new()),
            helpers: Arc::new(helpers),
            lost: Arc::new(AtomicUsize::new(0)),
            limit,
        }
    }

    /// The caller that became idle last, or a new one.
    pub fn lease(&self) -> Result<Caller, String> {
        if let Some(caller) = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop() {
            return Ok(caller);
        }
        let lost = self.lost.load(Ordering::SeqCst);
        if lost >= self.limit {
            return Err(format!(
                "{lost} threads are held by calls that ran past --timeout (at most --threads \
                 {}); restart the server to get them back",
                self.limit
            ));
        }
        self.spawn()
    }

    /// A caller whose call has ended, idle again.
    pub fn give_back(&self, caller: Caller) {
        caller.stop.store(false, Ordering::Relaxed);
        self.idle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(caller);
    }

    /// Gives up a caller whose call is late; returns how many are lost now.
    pub fn lose(&self, caller: Caller) -> usize {
        // Counted before the caller can see it is lost, so its own count-down, should its
        // call return, never comes first.
        let now = self.lost.fetch_add(1, Ordering::SeqCst) + 1;
        caller.lost.store(true, Ordering::SeqCst);
        caller.stop();
        now
    }

    fn spawn(&self) -> Result<Caller, String> {
        let (jobs_tx, jobs) = mpsc::channel();
        let (said_tx, said) = mpsc::sync_channel(AHEAD);
        let stop = Arc::new(AtomicBool::new(false));
        let lost = Arc::new(AtomicBool::new(false));
        let link = Link::new(said_tx, stop.clone());
        let (helpers, is_lost, lost_count) =
            (self.helpers.clone(), lost.clone(), self.lost.clone());
        std::thread::Builder::new()
            .name("embed-caller".into())
            .stack_size(STACK)
            .spawn(move || serve_calls(&helpers, jobs, &Arc::new(link), &is_lost, &lost_count))
            .map_err(|e| format!("cannot start a thread for the call: {e}"))?;
        Ok(Caller {
            jobs: jobs_tx,
            said,
            stop,
            lost,
        })
    }
}

/// A caller thread's life: attached to the interpreter from start to end, it takes
/// requests one after another, holding the GIL only while Python runs.
fn serve_calls(
    helpers: &Helpers,
    mut jobs: Receiver<Job>,
    link: &Arc<Link>,
    lost: &AtomicBool,
    lost_count: &AtomicUsize,
) {
    Python::attach(|py| {
        loop {
            // (A receiver may not be shared between threads, only moved: it goes into the
            // closure and comes back.)
            let ((job, back), gil) = gil::detached(py, move || (jobs.recv(), jobs));
            jobs = back;
            // The connection gave this caller up (or the server is going).
            let Ok(job) = job else { return };
            let began = Instant::now();
            let name = job.app.name.clone();
            super::call::run(py, job, link, helpers, gil);
            if lost.load(Ordering::SeqCst) {
                lost_count.fetch_sub(1, Ordering::SeqCst);
                crate::log!(
                    "cgilab: embed {name}: a call given up at --timeout returned after {:.1} s; its thread ends",
                    began.elapsed().as_secs_f64()
                );
                return;
            }
        }
    });
}
