//! How a host (the CGI host, the gateway, and the coming FastCGI host) handled a
//! request. The layer above turns it into the access log line; a host never logs.

use tiny_http::Request;

use crate::request::error::RequestError;

/// A response went out (perhaps cut short: `error` says what went wrong after it started).
#[derive(Debug, Default)]
pub struct Sent {
    pub status: u16,
    /// Body bytes sent.
    pub bytes: u64,
    pub error: Option<RequestError>,
    /// How a script ended, for the log: `exit=N` or `signal=NAME`.
    pub exit: Option<String>,
    /// The response's header fields as the host gave them (the front adds `Date` and
    /// `Server`), for an access log that shows one.
    pub headers: Vec<(String, String)>,
}

/// Nothing was sent; the caller answers with the error's status.
pub struct Failed {
    pub error: RequestError,
    pub request: Request,
}

/// How a host that runs CGI responses ended: one of the two above, or a local redirect.
pub enum Outcome {
    Sent(Sent),
    Failed(Failed),
    /// The response asked for a local redirect (RFC 3875 §6.2.2): serve `location` instead.
    LocalRedirect {
        location: String,
        request: Request,
    },
}

impl From<Failed> for Outcome {
    fn from(failed: Failed) -> Outcome {
        Outcome::Failed(failed)
    }
}
