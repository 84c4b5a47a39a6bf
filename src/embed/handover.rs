//! The request, parked while its connection's thread runs Python.
//!
//! The app is called on the thread that read the request, with no hop to another thread
//! and back: that hop cost more than the call of a short app. But a call may never
//! return, and its client must still get its 504 at `--timeout`. So while Python runs,
//! the request (the client's socket) waits here, where three threads can find it, and
//! whichever comes first takes it:
//!
//! - the connection's thread, when the call returned whole: it answers as any host does;
//! - a relay thread, when the call says its first piece of a body that streams: it relays
//!   the pieces while Python goes on computing the next ones ([`super::relays`]);
//! - the watch, when the deadline passed first ([`super::watch`]): it answers 504 and the
//!   call's thread is given up.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tiny_http::Request;

use super::Finish;
use crate::measure::timing::Timing;
use crate::request::error::{Origin, RequestError};
use crate::request::outcome::Failed;

/// What the thread that takes the request needs to finish it.
pub struct Parked {
    pub request: Request,
    /// The request's timing when the call began.
    pub timing: Timing,
    /// Answers and logs the request on the thread that takes it.
    pub finish: Finish,
}

/// Where the request is.
// One per request, made in place inside its `Handover`: a box around `Parked` would be
// one more allocation for every request.
#[allow(clippy::large_enum_variant)]
enum Held {
    /// Python runs on the connection's thread; nobody has taken the request yet.
    Parked(Parked),
    /// Someone took it.
    Taken,
}

pub struct Handover {
    held: Mutex<Held>,
    pub name: Arc<str>,
    pub deadline: Instant,
    pub timeout: Duration,
    /// Set when the call is given up at the deadline: by the watch before its head, by
    /// the relay thread after.
    lost: AtomicBool,
    /// How many calls of this server are given up and still running.
    lost_count: Arc<AtomicUsize>,
    /// Tells the call the body is not wanted any more.
    pub stop: Arc<AtomicBool>,
}

impl Handover {
    pub fn new(
        parked: Parked,
        name: &Arc<str>,
        timeout: Duration,
        lost_count: Arc<AtomicUsize>,
    ) -> Arc<Handover> {
        Arc::new(Handover {
            held: Mutex::new(Held::Parked(parked)),
            name: Arc::clone(name),
            deadline: Instant::now() + timeout,
            timeout,
            lost: AtomicBool::new(false),
            lost_count,
            stop: Arc::new(AtomicBool::new(false)),
        })
    }

    fn held(&self) -> MutexGuard<'_, Held> {
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes the request, if nobody has: the connection's thread when its call returned
    /// whole, a relay thread for a body that streams. `None`: another thread answers it.
    pub fn take(&self) -> Option<Parked> {
        match std::mem::replace(&mut *self.held(), Held::Taken) {
            Held::Parked(parked) => Some(parked),
            Held::Taken => None,
        }
    }

    /// The watch: the request, if its deadline passed and nobody took it. The call is
    /// then given up, and the error says how many are.
    pub fn take_late(&self, now: Instant) -> Option<(Parked, RequestError)> {
        if now < self.deadline {
            return None;
        }
        let parked = self.take()?;
        Some((parked, self.lose()))
    }

    /// Gives the call up: it is told to stop, counted among the lost, and the error says
    /// so. The count goes up before the call can see it is lost, so that its own count
    /// down, should it return, never comes first.
    pub fn lose(&self) -> RequestError {
        let lost = self.lost_count.fetch_add(1, Ordering::SeqCst) + 1;
        self.lost.store(true, Ordering::SeqCst);
        self.stop.store(true, Ordering::SeqCst);
        RequestError::CallLost {
            origin: Origin::Embedded(self.name.to_string()),
            secs: self.timeout.as_secs_f64(),
            lost,
        }
    }

    /// The call's thread, back from Python: if the call had been given up, it is not
    /// any more, and the log says so.
    pub fn returned(&self, began: Instant) {
        if self.lost.load(Ordering::SeqCst) {
            self.lost_count.fetch_sub(1, Ordering::SeqCst);
            crate::log!(
                "cgilab: embed {}: a call given up at --timeout returned after {:.1} s; its thread ends",
                self.name,
                began.elapsed().as_secs_f64()
            );
        }
    }
}

/// Answers the request the watch took, on the watch's thread.
pub fn answer_late(parked: Parked, error: RequestError) {
    let Parked {
        request,
        timing,
        finish,
    } = parked;
    finish(Err(Failed { error, request }), timing);
}
