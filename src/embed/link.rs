//! What a call says, and how: the request ([`Job`]), what the call says about its
//! response ([`What`], [`Said`]) and where it says it ([`Link`]). A call that answers
//! whole says nothing until it has ended, and its last word is kept for the connection's
//! thread that made it. A call whose body streams hands the request to a relay thread
//! with its first piece, then says each piece on a channel to that thread, letting the
//! GIL go while a slow client catches up.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use pyo3::prelude::*;

use super::gil;
use super::live::App;
use crate::http::body::Body;
use crate::request::environ::Environ;

/// One request for an embedded app, called on the thread that holds these.
pub struct Job<'a> {
    pub app: &'a App,
    pub environ: &'a Environ,
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
    /// and `close()` has been called.
    Head {
        status: String,
        headers: Vec<(String, String)>,
        first: Vec<u8>,
        whole: bool,
    },
    /// The next piece of body.
    Piece(Vec<u8>),
    /// The body ended; `close()` has been called.
    End,
    /// The app raised (its traceback is in the log): `Type: message`. `close()` has been
    /// called.
    Raised { exception: String },
}

/// Pieces a call may say ahead of a slow client.
const AHEAD: usize = 2;

/// Hands the request to a relay thread, which hears the call's pieces on the receiver;
/// false if it was taken already (the deadline passed), and then the body is not wanted.
pub type StartRelay = Box<dyn FnOnce(Receiver<Said>) -> bool + Send>;

/// A call's side of its response: where it says things, whether to stop.
pub struct Link {
    /// Made when the first piece is said: a call that answers whole needs none.
    said: OnceLock<SyncSender<Said>>,
    /// Set by whoever holds the request: the body is not wanted any more (HEAD, a client
    /// gone, the deadline).
    stop: Arc<AtomicBool>,
    /// This request's waits for the GIL, in nanoseconds.
    gil_ns: AtomicU64,
    /// Until the call says its first piece: how to hand the request to a relay thread.
    relay: Mutex<Option<StartRelay>>,
    /// The last word of a call that said nothing before it.
    kept: Mutex<Option<What>>,
}

impl Link {
    /// A call's link: it says things to the relay thread once `relay` has handed the
    /// request over; the holder of the request sets `stop`.
    pub fn new(stop: Arc<AtomicBool>, relay: StartRelay) -> Link {
        Link {
            said: OnceLock::new(),
            stop,
            gil_ns: AtomicU64::new(0),
            relay: Mutex::new(Some(relay)),
            kept: Mutex::new(None),
        }
    }

    /// The last word of a call that said nothing before it (it answered whole, or raised
    /// before its head).
    pub fn kept(&self) -> Option<What> {
        self.kept.lock().unwrap_or_else(|e| e.into_inner()).take()
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

    /// Says how the call ended, which the relay waits for even after a stop; kept for the
    /// connection's thread when the call said nothing before.
    pub fn last(&self, py: Python<'_>, what: What) {
        let mut relay = self.relay.lock().unwrap_or_else(|e| e.into_inner());
        if relay.take().is_some() {
            *self.kept.lock().unwrap_or_else(|e| e.into_inner()) = Some(what);
            return;
        }
        drop(relay);
        self.say(py, what);
    }

    /// Hands the request to a relay thread first, if nobody has yet. Sends at once when
    /// there is room; else waits for the relay without the GIL (the client is slower than
    /// the app), and counts taking it back. False when the call was given up.
    fn say(&self, py: Python<'_>, what: What) -> bool {
        let relay = self.relay.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(start) = relay {
            let (sender, receiver) = mpsc::sync_channel(AHEAD);
            let _ = self.said.set(sender);
            if !start(receiver) {
                return false;
            }
        }
        let Some(sender) = self.said.get() else {
            return false; // the relay never started
        };
        let said = Said {
            what,
            gil: self.gil(),
        };
        match sender.try_send(said) {
            Ok(()) => true,
            Err(TrySendError::Disconnected(_)) => false,
            Err(TrySendError::Full(said)) => {
                let (sent, waited) = gil::detached(py, || sender.send(said));
                self.gil_ns.fetch_add(nanos(waited), Ordering::Relaxed);
                sent.is_ok()
            }
        }
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}
