//! What a call says to the connection waiting for it, and how: the request a caller
//! thread is given ([`Job`]), what it says back ([`What`], [`Said`]) and the channel it
//! says it on ([`Link`]), which lets the GIL go while a slow client catches up.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError};
use std::time::Duration;

use pyo3::prelude::*;

use super::gil;
use super::live::App;
use crate::http::body::Body;
use crate::request::environ::Environ;

/// One request for a caller thread.
pub struct Job {
    pub app: Arc<App>,
    pub environ: Environ,
    pub body: Body,
}

/// What a call says, with the time its thread has waited for the GIL so far.
pub struct Said {
    pub what: What,
    pub gil: Duration,
}

pub enum What {
    /// The status line and headers from `start_response`, with the first non-empty piece
    /// of body (PEP 3333: the headers go with it). `whole`: that was the whole body,
    /// `close()` has been called, and the caller is idle again.
    Head {
        status: String,
        headers: Vec<(String, String)>,
        first: Vec<u8>,
        whole: bool,
    },
    /// The next piece of body.
    Piece(Vec<u8>),
    /// The body ended; `close()` has been called and the caller is idle again.
    End,
    /// The app raised (its traceback is in the log): `Type: message`. `close()` has been
    /// called and the caller is idle again.
    Raised { exception: String },
}

/// A caller's side of its connection: where it says things, whether to stop.
pub struct Link {
    said: SyncSender<Said>,
    /// Set by the connection: the body is not wanted any more (HEAD, a client gone).
    stop: Arc<AtomicBool>,
    /// This request's waits for the GIL, in nanoseconds.
    gil_ns: AtomicU64,
}

impl Link {
    /// A caller's link: it says things on `said`; the connection sets `stop`.
    pub fn new(said: SyncSender<Said>, stop: Arc<AtomicBool>) -> Link {
        Link {
            said,
            stop,
            gil_ns: AtomicU64::new(0),
        }
    }

    /// A new request, whose thread waited `gil` to take the GIL for it.
    pub fn begin(&self, gil: Duration) {
        self.gil_ns.store(nanos(gil), Ordering::Relaxed);
    }

    fn gil(&self) -> Duration {
        Duration::from_nanos(self.gil_ns.load(Ordering::Relaxed))
    }

    /// True once the connection wants no more of this body.
    pub fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Says the head or a piece of body; false when the connection wants no more.
    pub fn piece(&self, py: Python<'_>, what: What) -> bool {
        !self.stop.load(Ordering::Relaxed) && self.say(py, what)
    }

    /// Says how the call ended, which the connection waits for even after a stop.
    pub fn last(&self, py: Python<'_>, what: What) {
        self.say(py, what);
    }

    /// Sends at once when there is room; else waits for the connection without the GIL
    /// (the client is slower than the app), and counts taking it back. False when the
    /// connection has given this caller up.
    fn say(&self, py: Python<'_>, what: What) -> bool {
        let said = Said {
            what,
            gil: self.gil(),
        };
        match self.said.try_send(said) {
            Ok(()) => true,
            Err(TrySendError::Disconnected(_)) => false,
            Err(TrySendError::Full(said)) => {
                let (sent, waited) = gil::detached(py, || self.said.send(said));
                self.gil_ns.fetch_add(nanos(waited), Ordering::Relaxed);
                sent.is_ok()
            }
        }
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}
