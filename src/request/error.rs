//! Every way a request can fail, as one enum: a noun with its context, a human message
//! for the log line, and one `match` that chooses the HTTP status the client sees.

use std::fmt;

/// Where [`RequestError::NoApp`] looked for an app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppHost {
    /// A worker pool, `/pool/NAME`.
    Pool,
    /// Embedded Python, `/wsgi/NAME`.
    Embedded,
}

/// Why a request was not answered by a script or an app.
#[derive(Debug)]
pub enum RequestError {
    /// The URL names no script, app or page.
    NotFound { path: String },
    /// `/pool/NAME` or `/wsgi/NAME` names no pool or embedded app: the 404 says how to
    /// start one there.
    NoApp {
        path: String,
        name: String,
        host: AppHost,
    },
    /// The URL names something cgilab will not run (RFC 3875 §9.8).
    Forbidden { path: String, why: &'static str },
    /// The request itself is malformed.
    BadRequest { why: String },
    /// The client stopped sending its body for longer than `--read-timeout`.
    ClientTimeout,
    /// The request body is over `--max-body`.
    BodyTooLarge { limit: u64 },
    /// The request target is too long to pass to a script.
    UriTooLong { len: usize, limit: usize },
    /// The request header block is too large.
    HeadersTooLarge { len: usize, limit: usize },
    /// `--max-procs` scripts were running for all of `--queue-timeout`.
    TooManyProcesses { limit: usize, waited: f64 },
    /// The script could not be started.
    SpawnFailed {
        script: String,
        cause: std::io::Error,
    },
    /// What a script, app or worker answered is not a valid response (RFC 3875 §6), or
    /// broke its own framing after the response started.
    BadOutput { origin: Origin, why: String },
    /// The script or app ran past `--timeout`.
    Timeout { script: String, secs: f64 },
    /// An app panicked.
    AppPanicked { app: String, message: String },
    /// An embedded Python app raised an exception (its traceback is in the log).
    AppRaised { origin: Origin, exception: String },
    /// An embedded app's call ran past `--timeout`. A call in the server's own process
    /// cannot be stopped: its thread is given up, and `lost` counts the threads still
    /// held by such calls.
    CallLost {
        origin: Origin,
        secs: f64,
        lost: usize,
    },
    /// An embedded app cannot take the request now (no thread for its call).
    Unavailable { origin: Origin, why: String },
    /// A pool has no worker to give: its app cannot start, every worker stayed busy past
    /// `--timeout`, or the server is stopping.
    PoolUnavailable { pool: String, why: String },
    /// A pool's worker failed the request: it closed the connection, sent something that
    /// is not FastCGI or not a CGI response. The worker is replaced.
    WorkerFailed { pool: String, pid: u32, why: String },
    /// A local redirect (RFC 3875 §6.2.2) led to another one too many times.
    RedirectLoop { location: String },
    /// The HTTP front refused the request head (RFC 9112): a malformed or ambiguous head,
    /// an unsupported version or transfer coding, one too large or too slow.
    Refused { status: u16, why: String },
    /// Reading the request body or talking to a script failed.
    Io {
        context: &'static str,
        cause: std::io::Error,
    },
}

impl RequestError {
    /// The HTTP status this failure is answered with.
    pub fn status(&self) -> u16 {
        use RequestError::*;
        match self {
            NotFound { .. } | NoApp { .. } => 404,
            Forbidden { .. } => 403,
            BadRequest { .. } => 400,
            ClientTimeout => 408,
            BodyTooLarge { .. } => 413,
            UriTooLong { .. } => 414,
            HeadersTooLarge { .. } => 431,
            TooManyProcesses { .. } | PoolUnavailable { .. } | Unavailable { .. } => 503,
            SpawnFailed { .. }
            | AppPanicked { .. }
            | AppRaised { .. }
            | RedirectLoop { .. }
            | Io { .. } => 500,
            BadOutput { .. } | WorkerFailed { .. } => 502,
            Timeout { .. } | CallLost { .. } => 504,
            Refused { status, .. } => *status,
        }
    }
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use RequestError::*;
        match self {
            NotFound { path } => write!(f, "no script or app at `{path}`"),
            NoApp {
                path,
                name,
                host: AppHost::Pool,
            } => write!(
                f,
                "no pool `{name}` at `{path}`: start the server with --wsgi {name}=FILE \
                 (or --fastcgi {name}=FILE) to serve one there"
            ),
            NoApp { path, name, .. } if cfg!(feature = "python") => write!(
                f,
                "no app embedded as `{name}` at `{path}`: start the server with \
                 --embed {name}=FILE (lesson 13)"
            ),
            NoApp { path, name, .. } => write!(
                f,
                "no app embedded as `{name}` at `{path}`: this build has no embedded \
                 Python; build it with --features python and start it with \
                 --embed {name}=FILE (lesson 13)"
            ),
            Forbidden { path, why } => write!(f, "refused `{path}`: {why}"),
            BadRequest { why } => write!(f, "bad request: {why}"),
            ClientTimeout => write!(f, "the client stopped sending its body (--read-timeout)"),
            BodyTooLarge { limit } => write!(f, "request body over --max-body {limit} bytes"),
            UriTooLong { len, limit } => {
                write!(
                    f,
                    "request target of {len} bytes is over the {limit}-byte limit"
                )
            }
            HeadersTooLarge { len, limit } => {
                write!(
                    f,
                    "request headers of {len} bytes are over the {limit}-byte limit"
                )
            }
            TooManyProcesses { limit, waited } => {
                write!(
                    f,
                    "waited {waited:.1}s (--queue-timeout) for one of --max-procs {limit} slots; answered 503"
                )
            }
            SpawnFailed { script, cause } => write!(f, "cgi: cannot start `{script}`: {cause}"),
            BadOutput { origin, why } => write!(f, "{origin}: {why}"),
            Timeout { script, secs } => write!(f, "`{script}` ran past --timeout {secs}s"),
            AppPanicked { app, message } => write!(f, "app `{app}` panicked: {message}"),
            AppRaised { origin, exception } => write!(f, "{origin} raised {exception}"),
            CallLost { origin, secs, lost } => write!(
                f,
                "{origin} ran past --timeout {secs}s and cannot be stopped in-process: its \
                 thread is lost ({lost} held by such calls now)"
            ),
            Unavailable { origin, why } => write!(f, "{origin}: {why}"),
            PoolUnavailable { pool, why } => write!(f, "pool `{pool}`: {why}"),
            WorkerFailed { pool, pid, why } => write!(f, "pool `{pool}` worker {pid}: {why}"),
            RedirectLoop { location } => {
                write!(f, "cgi: too many local redirects, the last to `{location}`")
            }
            Io { context, cause } => write!(f, "{context}: {cause}"),
            Refused { why, .. } => write!(f, "refused by the HTTP front: {why}"),
        }
    }
}

impl std::error::Error for RequestError {}

/// Who answered a request, as log lines name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A CGI script, by its name in cgi-bin.
    Cgi(String),
    /// An in-process app, by its name.
    App(String),
    /// A pool's worker.
    Worker { pool: String, pid: u32 },
    /// One of a pool's workers that accept on a shared socket: which one, the server
    /// cannot know (`--accept shared`).
    SharedPool(String),
    /// A Python app embedded in the server, by its name.
    Embedded(String),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Cgi(script) => write!(f, "cgi: `{script}`"),
            Origin::App(app) => write!(f, "app `{app}`"),
            Origin::Worker { pool, pid } => write!(f, "pool `{pool}` worker {pid}"),
            Origin::SharedPool(pool) => write!(f, "pool `{pool}` (shared socket)"),
            Origin::Embedded(app) => write!(f, "embed `{app}`"),
        }
    }
}
