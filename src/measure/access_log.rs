//! The access log: one line per request, with the same phases as `Server-Timing`.

use crate::measure::timing::{Mode, Timing};
use crate::request::environ::RequestHead;
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
        }
    }

    /// Names the script or app that answered.
    pub fn ran(mut self, script_name: &str) -> Answered {
        self.ran = Some(script_name.to_string());
        self
    }

    /// The log line: who asked what, the status, bytes, mode, phases, and what went wrong.
    pub fn line(&self, head: &RequestHead, timing: &Timing) -> String {
        let mut line = format!(
            "{} {} {} {} {}B mode={}{}",
            head.remote,
            head.method,
            head.target.escape_debug(),
            self.status,
            self.bytes,
            self.mode.as_str(),
            match &self.pool {
                Some((pool, Some(pid))) => format!(" pool={pool} worker={pid}"),
                Some((pool, None)) => format!(" pool={pool}"),
                None => String::new(),
            } + &timing.log_fields()
        );
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
}
