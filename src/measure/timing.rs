//! What a request cost, made visible: the `Server-Timing` header (W3C Server Timing) and
//! the access log line carry the same phases.
//!
//! For CGI: `queue` (the wait for a `--max-procs` slot, when there was one), `spawn`
//! (fork and exec of the script), `headers` (from the request's arrival until the
//! script's header block was parsed) and `total`. For the gateway: `call` (the
//! app's call until its status and headers) and `total`. For a pool: `queue` (the wait
//! for an idle worker), `app` (from handing the request to the worker until its header
//! block was parsed) and `total`. For an embedded app: `gil` (the time its thread waited to
//! take the GIL, part of `app`), `app` (from handing the request to its thread until its
//! status and headers were known) and `total`; the log line's `gil` adds the waits while
//! the body streamed. A streamed body goes out after the header does, so the header's `total` is the time until the response head was sent; the
//! access log line, written when the body is done, has the final `total`.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

/// How the request was answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A process spawned for this request.
    Cgi,
    /// An app that is already running.
    Gateway,
    /// A worker of a pool, over FastCGI.
    Pool,
    /// A Python app in the server's own process (`--embed`).
    Embed,
    /// Answered by the server itself (index page, errors before dispatch).
    Server,
    /// A file from a directory mounted with `--static`.
    Static,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Cgi => "cgi",
            Mode::Gateway => "gateway",
            Mode::Pool => "pool",
            Mode::Embed => "embed",
            Mode::Server => "server",
            Mode::Static => "static",
        }
    }
}

/// The clock of one request.
#[derive(Debug, Clone)]
pub struct Timing {
    start: Instant,
    /// Time spent waiting for a `--max-procs` slot, or for an idle pool worker.
    pub queue: Option<Duration>,
    /// Time spent spawning the script.
    pub spawn: Option<Duration>,
    /// Time from the request's start until the script's headers were parsed.
    pub headers: Option<Duration>,
    /// Time the gateway app took to answer with status and headers.
    pub call: Option<Duration>,
    /// Time a pool worker took, from the request handed over to its header block parsed;
    /// for an embedded app, until its status and headers were known.
    pub app: Option<Duration>,
    /// Time an embedded app's thread waited to take the GIL.
    pub gil: Option<Duration>,
}

impl Timing {
    /// Starts the clock.
    pub fn start() -> Timing {
        Timing {
            start: Instant::now(),
            queue: None,
            spawn: None,
            headers: None,
            call: None,
            app: None,
            gil: None,
        }
    }

    /// Starts the clock at `start` (when the request's first byte arrived).
    pub fn start_at(start: Instant) -> Timing {
        Timing {
            start,
            ..Timing::start()
        }
    }

    /// Time since the request started.
    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// Marks the script's headers as parsed, now.
    pub fn mark_headers(&mut self) {
        self.headers = Some(self.start.elapsed());
    }

    fn phases(&self) -> impl Iterator<Item = (&'static str, Duration)> {
        [
            ("queue", self.queue),
            ("spawn", self.spawn),
            ("headers", self.headers),
            ("call", self.call),
            ("gil", self.gil),
            ("app", self.app),
        ]
        .into_iter()
        .filter_map(|(name, d)| Some((name, d?)))
    }

    /// The `Server-Timing` header value, with `total` as of now.
    pub fn header(&self) -> (String, String) {
        let mut value = String::with_capacity(64);
        for (name, d) in self.phases() {
            let _ = write!(value, "{name};dur={}, ", Millis(d));
        }
        let _ = write!(value, "total;dur={}", Millis(self.elapsed()));
        ("Server-Timing".to_string(), value)
    }

    /// The timing fields of an access log line, with `total` as of now.
    pub fn log_fields(&self) -> String {
        let mut out = String::new();
        for (name, d) in self.phases() {
            let _ = write!(out, " {name}={}ms", Millis(d));
        }
        let _ = write!(out, " total={}ms", Millis(self.elapsed()));
        out
    }
}

/// A duration in milliseconds with three decimals, written with integer arithmetic
/// (this runs for every response).
pub struct Millis(pub Duration);

impl std::fmt::Display for Millis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // u64 holds 584,000 years of microseconds, and its division is one instruction
        // where u128's is a library call.
        let micros = u64::try_from(self.0.as_micros()).unwrap_or(u64::MAX);
        write!(f, "{}.{:03}", micros / 1000, micros % 1000)
    }
}

/// Milliseconds, as a float.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_lists_known_phases_then_total() {
        let mut t = Timing::start();
        t.spawn = Some(Duration::from_micros(410));
        let (name, value) = t.header();
        assert_eq!(name, "Server-Timing");
        assert!(value.starts_with("spawn;dur=0.410, total;dur="), "{value}");
    }
}
