//! The one relay: every host's response reaches the client here, under one set of rules.
//!
//! A host (the CGI host, the gateway, a pool) parses its app's head, reads what body it
//! already has, and hands both over as a [`Reply`], with itself as the [`Source`] of the
//! rest. The relay chooses the framing, writes the head, pulls the body piece by piece,
//! and decides how the response ends. The rules (DESIGN.md, "The app's framing is law";
//! PEP 3333, RFC 9112 §6, RFC 3875 §6):
//!
//! - A declared `Content-Length` is sent as declared. HEAD carries it too, or no length at
//!   all when the app declared none: never an invented 0 (RFC 9110 §9.3.2).
//! - With no length declared, a body the host already holds whole goes out with its
//!   length; one still coming goes out chunked (to HTTP/1.0, until the connection ends).
//! - A body shorter than declared, or a host that fails after the head went out (an
//!   exception, a crash, a non-zero exit, the timeout): the connection is cut, never a
//!   terminating chunk, never a shrunk length.
//! - A body longer than declared: no byte past the length is sent, the app is stopped and
//!   the connection cut.
//! - Every one of these is one error in the request's log line.
//!
//! The head's own rules (a field with CR, LF or NUL, an invalid name, a malformed
//! `Status`) are [`crate::request::cgi_response`]'s, applied by the host before it hands
//! the head over, so a bad head is a 502 before anything is sent.

use tiny_http::{Method, Request};

use crate::http::response::{self, BodyWriter, Framing};
use crate::request::cgi_response::Head;
use crate::request::error::{Origin, RequestError};
use crate::request::outcome::Sent;

/// What a host has when its app's head is complete.
pub struct Reply {
    pub head: Head,
    /// Body bytes that came with the head.
    pub first: Vec<u8>,
    /// `first` is the whole body: the app has finished.
    pub whole: bool,
}

/// Why the relay stops pulling the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Done {
    /// The body ended, as the host said.
    Ended,
    /// HEAD: the body is not wanted; the host finishes the request without sending it.
    Unwanted,
    /// The client went away, or the app broke its own framing: stop the app now.
    Abandoned,
}

/// How the host saw its app end.
#[derive(Debug, Default)]
pub struct Settled {
    /// The app failed: a non-zero exit, a crash, the timeout, a broken connection.
    pub error: Option<RequestError>,
    /// How a process ended, for the log: `exit=N` or `signal=NAME`.
    pub exit: Option<String>,
}

/// A host's output after its head: pieces of body, each before the host's deadline.
pub trait Source {
    /// Who answers, for log lines.
    fn origin(&self) -> Origin;
    /// The next piece of the body; `Ok(None)` once it has ended. An error (the timeout,
    /// a broken connection, a panic) ends the response.
    fn next(&mut self) -> Result<Option<&[u8]>, RequestError>;
    /// The relay is done with the body: the host finishes its side of the request (reap
    /// the script, hand the worker back) and says how the app ended. Called once.
    fn settle(&mut self, done: Done) -> Settled;
    /// What to blame when the client cannot be written to: the client itself, unless
    /// the host's deadline had passed (then the watchdog cut it).
    fn client_gone(&mut self) -> RequestError {
        client_gone()
    }
}

/// Sends `reply` and the rest of `source` to the client; returns what went out.
pub fn relay(request: Request, reply: Reply, source: &mut dyn Source) -> Sent {
    let head_only = *request.method() == Method::Head;
    let Reply { head, first, whole } = reply;
    let declared = head.content_length;
    // A whole answer frees its host first: a pool's worker is idle again before the
    // client has the response, so the client's next request finds it.
    let settled = (whole || head_only).then(|| {
        let done = if head_only {
            Done::Unwanted
        } else {
            Done::Ended
        };
        source.settle(done)
    });
    // A host that failed after its head must not get a length that makes its body look
    // whole: the body goes chunked, and the cut shows.
    let failed = settled.as_ref().is_some_and(|s| s.error.is_some());
    let framing = match declared {
        Some(n) => Framing::Length(n),
        None if whole && !head_only && !failed => Framing::Length(first.len() as u64),
        None => Framing::Stream,
    };
    let reason = head.reason.as_deref();
    let out =
        response::start_with_reason(request, head.status, reason, &head.headers, framing, false);
    let mut body = Body {
        out,
        status: head.status,
        headers: head.headers,
        declared,
        sent: 0,
        error: None,
    };
    let settled = match settled {
        // HEAD: the head is the whole response; a failure to finish is logged only.
        Some(settled) if head_only => {
            let mut sent = body.end(None, settled.exit);
            sent.error = sent.error.or(settled.error);
            return sent;
        }
        Some(settled) => {
            let wrote = body.write(&first);
            body.note(wrote, source);
            settled
        }
        None => {
            let wrote = body.write(&first);
            body.note(wrote, source);
            while body.error.is_none() {
                let wrote = match source.next() {
                    Ok(Some(piece)) => body.write(piece),
                    Ok(None) => break,
                    Err(e) => {
                        body.error = Some(e);
                        break;
                    }
                };
                body.note(wrote, source);
            }
            let done = if body.error.is_none() {
                Done::Ended
            } else {
                Done::Abandoned
            };
            source.settle(done)
        }
    };
    if body.error.is_none() {
        body.check_length(source);
    }
    // The relay's own finding first (it explains the cut); then the host's.
    let error = body.error.take().or(settled.error);
    body.end(error, settled.exit)
}

/// The body on its way out, checked against the declared length.
struct Body {
    out: BodyWriter,
    status: u16,
    /// The head's fields, kept for the access log.
    headers: Vec<(String, String)>,
    declared: Option<u64>,
    sent: u64,
    error: Option<RequestError>,
}

/// How one write went.
enum Wrote {
    All,
    /// The client cannot be written to.
    ClientGone,
    /// The piece ran past the declared length; what fitted was sent.
    PastLength,
}

impl Body {
    /// Writes `data`, never past the declared length.
    fn write(&mut self, data: &[u8]) -> Wrote {
        let room = self
            .declared
            .map_or(u64::MAX, |n| n.saturating_sub(self.sent));
        let take = data.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        // An empty piece still sends the head: a streaming client sees it at once.
        if self.out.write(&data[..take]).is_err() {
            return Wrote::ClientGone;
        }
        self.sent += take as u64;
        if take < data.len() {
            Wrote::PastLength
        } else {
            Wrote::All
        }
    }

    /// Turns a write that went wrong into the error that ends the response.
    fn note(&mut self, wrote: Wrote, source: &mut dyn Source) {
        self.error = match wrote {
            Wrote::All => return,
            Wrote::ClientGone => Some(source.client_gone()),
            Wrote::PastLength => Some(RequestError::BadOutput {
                origin: source.origin(),
                why: format!(
                    "body longer than its Content-Length {}; connection cut",
                    self.declared.unwrap_or_default()
                ),
            }),
        };
    }

    /// A body that ended before its declared length.
    fn check_length(&mut self, source: &dyn Source) {
        if let Some(n) = self.declared
            && self.sent < n
        {
            self.error = Some(RequestError::BadOutput {
                origin: source.origin(),
                why: format!(
                    "body of {} bytes is shorter than its Content-Length {n}; connection cut",
                    self.sent
                ),
            });
        }
    }

    /// Ends the response: properly, or cut when anything went wrong.
    fn end(self, error: Option<RequestError>, exit: Option<String>) -> Sent {
        let (error, bytes) = match error {
            Some(e) => (Some(e), self.out.abort()),
            None => match self.out.finish() {
                Ok(n) => (None, n),
                Err(_) => (Some(client_gone()), self.sent),
            },
        };
        Sent {
            status: self.status,
            bytes,
            error,
            exit,
            headers: self.headers,
        }
    }
}

/// The client stopped reading mid-response.
pub fn client_gone() -> RequestError {
    RequestError::Io {
        context: "client went away mid-response",
        cause: std::io::ErrorKind::BrokenPipe.into(),
    }
}
