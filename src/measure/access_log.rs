//! The access log: one line per request, with the same phases as `Server-Timing`, in
//! the server's log; and, with `--access-log`, one in a log tool's format
//! ([`crate::measure::access_format`]).
//!
//! The line's first field is the client: the peer's address and port, or, behind a proxy
//! trusted by `--forwarded-allow-ips`, the address its `X-Forwarded-For` names, with the
//! proxy in a `proxy=` field.

use crate::log::clock::Utc;
use crate::measure::access_format::{AccessFormat, Entry};
use crate::measure::timing::{Mode, Timing};
use crate::request::environ::{Environ, RequestHead};
use crate::request::error::RequestError;
use crate::request::outcome::Sent;

/// How a request was answered, for its log line.
pub struct Answered {
    pub status: u16,
    pub bytes: u64,
    pub mode: Mode,
    pub error: Option<RequestError>,
    /// How a script ended: `exit=N` or `signal=NAME`.
    pub exit: Option<String>,
    /// The paths of the local redirects followed (RFC 3875 §6.2.2), in order.
    pub redirects: Vec<String>,
    /// The script or app that answered (its SCRIPT_NAME), if one existed: the latency
    /// stats are kept by it, so they are bounded by what is installed, not by the paths
    /// clients ask for.
    pub ran: Option<String>,
    /// The pool, and the pid of the worker that answered, for a pool request.
    pub pool: Option<(String, Option<u32>)>,
    /// The response's header fields.
    pub headers: Vec<(String, String)>,
    /// The request's meta-variables, if it got as far as having them.
    pub environ: Option<Environ>,
    /// Another thread answered the request and logged it (an embedded call that streams,
    /// or ran past `--timeout`): the thread that took it logs nothing.
    pub elsewhere: bool,
}

impl Answered {
    /// What a host sent, answered in `mode`.
    pub fn new(sent: Sent, mode: Mode) -> Answered {
        Answered {
            status: sent.status,
            bytes: sent.bytes,
            mode,
            error: sent.error,
            exit: sent.exit,
            redirects: Vec::new(),
            ran: None,
            pool: None,
            headers: sent.headers,
            environ: None,
            elsewhere: false,
        }
    }

    /// A request another thread answered and logged.
    pub fn elsewhere(mode: Mode) -> Answered {
        let mut answered = Answered::new(Sent::default(), mode);
        answered.elsewhere = true;
        answered
    }

    /// Names the script or app that answered.
    pub fn ran(mut self, script_name: &str) -> Answered {
        self.ran = Some(script_name.to_string());
        self
    }

    /// With the meta-variables the request was answered with.
    pub fn with_environ(mut self, environ: Environ) -> Answered {
        self.environ = Some(environ);
        self
    }

    /// The log line: who asked what, the status, bytes, mode, phases, and what went wrong.
    pub fn line(&self, head: &RequestHead, timing: &Timing) -> String {
        use std::fmt::Write as _;
        let mut line = String::with_capacity(160);
        let _ = match head.forwarded.client {
            Some(ip) => write!(line, "{ip}"),
            None => write!(line, "{}", head.remote),
        };
        let _ = write!(
            line,
            " {} {} {} {}B mode={}",
            head.method,
            head.target.escape_debug(),
            self.status,
            self.bytes,
            self.mode.as_str(),
        );
        let _ = match &self.pool {
            Some((pool, Some(pid))) => write!(line, " pool={pool} worker={pid}"),
            Some((pool, None)) => write!(line, " pool={pool}"),
            None => Ok(()),
        };
        if head.forwarded.client.is_some() {
            let _ = write!(line, " proxy={}", head.remote);
        }
        line.push_str(&timing.log_fields());
        if let Some(exit) = &self.exit {
            line.push(' ');
            line.push_str(exit);
        }
        // A local redirect is served inside this one request: name where it led.
        if !self.redirects.is_empty() {
            line.push_str(&format!(
                " local-redirect={}",
                self.redirects.join(",").escape_debug()
            ));
        }
        if let Some(e) = &self.error {
            line.push_str(&format!(" error=\"{}\"", e.to_string().escape_debug()));
        }
        line
    }

    /// The line `format` makes of this request, for `--access-log`.
    pub fn formatted(&self, format: &AccessFormat, head: &RequestHead, timing: &Timing) -> String {
        let entry = Entry {
            head,
            status: self.status,
            bytes: self.bytes,
            elapsed: timing.elapsed(),
            headers: &self.headers,
            environ: self.environ.as_ref(),
        };
        format.render(&entry, &Utc::now())
    }
}
