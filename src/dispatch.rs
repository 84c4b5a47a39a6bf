//! One request, start to finish: check its size, route it, read its body, build its
//! environ, hand it to the CGI host or the gateway, and write one access log line.

use std::io::ErrorKind;
use std::net::SocketAddr;

use tiny_http::Request;

use crate::body::{Body, BodyError};
use crate::cgi;
use crate::child::Slots;
use crate::config::Config;
use crate::environ::{self, Invocation, RequestHead};
use crate::error::RequestError;
use crate::gateway::{self, Apps};
use crate::index;
use crate::response;
use crate::route::{self, Route, Target};
use crate::script;
use crate::stats::Stats;
use crate::timing::{Mode, Timing};

/// Longest request target passed on: env strings go through exec, which caps each one.
pub const MAX_TARGET: usize = 8 * 1024;
/// Largest request header block accepted.
pub const MAX_HEADERS: usize = 32 * 1024;
/// Most local redirects (RFC 3875 §6.2.2) followed for one request.
const MAX_REDIRECTS: usize = 5;

/// What every request handler shares.
pub struct Ctx {
    pub config: Config,
    pub apps: Apps,
    pub slots: Slots,
    pub stats: Stats,
    pub local: SocketAddr,
}

impl Ctx {
    pub fn new(config: Config, apps: Apps, local: SocketAddr) -> Ctx {
        Ctx {
            slots: Slots::new(config.max_procs),
            stats: Stats::default(),
            config,
            apps,
            local,
        }
    }
}

/// How a script run or an app call ended.
pub enum Outcome {
    /// A response was sent; `error` says what went wrong after it started, if anything.
    Sent {
        status: u16,
        bytes: u64,
        error: Option<RequestError>,
    },
    /// The script asked for a local redirect (§6.2.2): serve `location` instead.
    LocalRedirect { location: String, request: Request },
    /// Nothing was sent; the caller answers with the error's status.
    Failed {
        error: RequestError,
        request: Request,
    },
}

/// How a request was answered, for the access log.
pub struct Served {
    pub status: u16,
    pub bytes: u64,
    pub mode: Mode,
    pub error: Option<RequestError>,
    /// The paths of the local redirects followed (RFC 3875 §6.2.2), in order.
    pub redirects: Vec<String>,
    /// The script or app that answered (its SCRIPT_NAME), if one existed: the latency
    /// stats are kept by it, so they are bounded by what is installed, not by the paths
    /// clients ask for.
    pub ran: Option<String>,
}

impl Served {
    fn new(status: u16, bytes: u64, mode: Mode, error: Option<RequestError>) -> Served {
        Served {
            status,
            bytes,
            mode,
            error,
            redirects: Vec::new(),
            ran: None,
        }
    }

    fn ran(mut self, script_name: &str) -> Served {
        self.ran = Some(script_name.to_string());
        self
    }
}

/// Answers one request and logs it.
pub fn handle(ctx: &Ctx, request: Request) {
    let mut timing = Timing::start();
    let head = request_head(&request, ctx.local);
    let served = match request.refusal() {
        // A head the front refused is answered and logged here like any other request;
        // its clock starts at the head's first byte (a 408 took that long).
        Some((status, why)) => {
            let error = RequestError::Refused {
                status,
                why: why.to_string(),
            };
            if let Some(arrived) = request.arrived() {
                timing = Timing::start_at(arrived);
            }
            refuse(request, error, Mode::Server, &timing)
        }
        None => dispatch(ctx, request, &head, &mut timing, 0),
    };
    if let Some(ran) = &served.ran {
        ctx.stats
            .record(ran, served.mode, served.status, timing.elapsed());
    }
    if ctx.config.quiet && served.error.is_none() {
        return;
    }
    let mut line = format!(
        "{} {} {} {} {}B mode={}{}",
        head.remote,
        head.method,
        head.target.escape_debug(),
        served.status,
        served.bytes,
        served.mode.as_str(),
        timing.log_fields()
    );
    // A local redirect is served inside this one request: name where it led.
    if !served.redirects.is_empty() {
        line.push_str(&format!(
            " local-redirect={}",
            served.redirects.join(",").escape_debug()
        ));
    }
    if let Some(e) = &served.error {
        line.push_str(&format!(" error=\"{}\"", e.to_string().escape_debug()));
    }
    eprintln!("{line}");
}

/// The request, as the environ sees it.
pub fn request_head(request: &Request, local: SocketAddr) -> RequestHead {
    let v = request.http_version();
    let mut headers: Vec<(String, String)> = request
        .headers()
        .iter()
        .map(|h| (h.field.as_str().to_string(), h.value.as_str().to_string()))
        .collect();
    let mut target = request.url().to_string();
    // RFC 9112 §3.2.2: a server must accept the absolute form (`GET http://host/path`),
    // and its authority replaces the Host header.
    if let Some(rest) = target.strip_prefix("http://") {
        let (authority, path) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
        let path = if path.starts_with('/') {
            path.to_string()
        } else {
            format!("/{path}")
        };
        headers.retain(|(n, _)| !n.eq_ignore_ascii_case("Host"));
        headers.push(("Host".to_string(), authority.to_string()));
        target = path;
    }
    RequestHead {
        method: request.method().as_str().to_string(),
        target,
        protocol: match (v.0, v.1) {
            (1, 1) => "HTTP/1.1".to_string(),
            (1, 0) => "HTTP/1.0".to_string(),
            (major, minor) => format!("HTTP/{major}.{minor}"),
        },
        headers,
        remote: request
            .remote_addr()
            .copied()
            .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0))),
        local,
    }
}

fn dispatch(
    ctx: &Ctx,
    request: Request,
    head: &RequestHead,
    timing: &mut Timing,
    redirects: usize,
) -> Served {
    if let Err(e) = check_size(head) {
        return refuse(request, e, Mode::Server, timing);
    }
    match route::route(&head.target) {
        Ok(Route::Index) => {
            let page = index::page(ctx);
            let headers = vec![
                (
                    "Content-Type".to_string(),
                    "text/html; charset=utf-8".to_string(),
                ),
                timing.header(),
            ];
            let bytes = response::send(request, 200, &headers, page.as_bytes(), false).unwrap_or(0);
            Served::new(200, bytes, Mode::Server, None)
        }
        Ok(Route::Cgi(target)) => serve_cgi(ctx, request, head, &target, timing, redirects),
        Ok(Route::App(target)) => serve_app(ctx, request, head, &target, timing),
        Err(e) => refuse(request, e, Mode::Server, timing),
    }
}

fn serve_cgi(
    ctx: &Ctx,
    mut request: Request,
    head: &RequestHead,
    target: &Target,
    timing: &mut Timing,
    redirects: usize,
) -> Served {
    let (url_path, query) = route::split_target(&head.target);
    let script = match script::find(&ctx.config.cgi_bin, &target.name, url_path) {
        Ok(s) => s,
        Err(e) => return refuse(request, e, Mode::Cgi, timing),
    };
    let Some(slot) = ctx.slots.try_acquire() else {
        let e = RequestError::TooManyProcesses {
            limit: ctx.slots.limit(),
        };
        return refuse(request, e, Mode::Cgi, timing);
    };
    let body = match read_body(&mut request, head, ctx.config.max_body) {
        Ok(body) => body,
        Err(e) => return refuse(request, e, Mode::Cgi, timing),
    };
    let filename = script.path.to_string_lossy();
    let inv = Invocation {
        script_name: &target.script_name,
        path_info: &target.path_info,
        script_filename: &filename,
        content_length: body.as_ref().map(Body::len),
    };
    let env = environ::build(head, &inv, &ctx.config.site);
    let job = cgi::Job {
        script: &script,
        env: &env,
        query,
        body: body.unwrap_or_else(Body::empty),
        timeout: ctx.config.timeout,
    };
    match cgi::run(job, request, slot, timing) {
        Outcome::Sent {
            status,
            bytes,
            error,
        } => Served::new(status, bytes, Mode::Cgi, error).ran(&target.script_name),
        Outcome::Failed { error, request } => refuse(request, error, Mode::Cgi, timing),
        Outcome::LocalRedirect { location, request } => {
            if redirects >= MAX_REDIRECTS {
                let e = RequestError::RedirectLoop { location };
                return refuse(request, e, Mode::Cgi, timing);
            }
            // §6.2.2: answer as if the client had asked for `location`; like Apache, as a
            // GET, since the body was meant for the first script.
            let mut next = head.clone();
            next.target = location;
            next.method = "GET".to_string();
            next.headers.retain(|(n, _)| {
                !["Content-Length", "Content-Type", "Transfer-Encoding"]
                    .iter()
                    .any(|h| n.eq_ignore_ascii_case(h))
            });
            let mut served = dispatch(ctx, request, &next, timing, redirects + 1);
            served.redirects.insert(0, next.target);
            served
        }
    }
}

fn serve_app(
    ctx: &Ctx,
    mut request: Request,
    head: &RequestHead,
    target: &Target,
    timing: &mut Timing,
) -> Served {
    let Some(app) = ctx.apps.get(&target.name) else {
        let e = RequestError::NotFound {
            path: route::split_target(&head.target).0.to_string(),
        };
        return refuse(request, e, Mode::Gateway, timing);
    };
    let body = match read_body(&mut request, head, ctx.config.max_body) {
        Ok(body) => body,
        Err(e) => return refuse(request, e, Mode::Gateway, timing),
    };
    let inv = Invocation {
        script_name: &target.script_name,
        path_info: &target.path_info,
        script_filename: &target.name,
        content_length: body.as_ref().map(Body::len),
    };
    let env = environ::build(head, &inv, &ctx.config.site);
    let call = gateway::Call {
        name: &target.name,
        app,
        environ: &env,
        body: body.unwrap_or_else(Body::empty),
        timeout: ctx.config.timeout,
    };
    match gateway::serve(call, request, timing) {
        Outcome::Sent {
            status,
            bytes,
            error,
        } => Served::new(status, bytes, Mode::Gateway, error).ran(&target.script_name),
        Outcome::Failed { error, request } => refuse(request, error, Mode::Gateway, timing),
        // The gateway answers with what the app returned; it has no local redirects.
        Outcome::LocalRedirect { request, location } => {
            let why = format!("local redirect to `{location}` from an app");
            let e = RequestError::BadOutput {
                script: target.name.clone(),
                why,
            };
            refuse(request, e, Mode::Gateway, timing)
        }
    }
}

/// RFC 9112 §3 and RFC 6585 §5: refuse what is too large to pass on.
fn check_size(head: &RequestHead) -> Result<(), RequestError> {
    if head.target.len() > MAX_TARGET {
        return Err(RequestError::UriTooLong {
            len: head.target.len(),
            limit: MAX_TARGET,
        });
    }
    let len: usize = head
        .headers
        .iter()
        .map(|(n, v)| n.len() + v.len() + 4)
        .sum();
    if len > MAX_HEADERS {
        return Err(RequestError::HeadersTooLarge {
            len,
            limit: MAX_HEADERS,
        });
    }
    if !head.target.starts_with('/') {
        return Err(RequestError::BadRequest {
            why: "the request target must be a path".into(),
        });
    }
    // RFC 9112 §6.3: a body's length must be unambiguous, or the bytes after it could be
    // taken for another request (request smuggling).
    if head.header("Transfer-Encoding").is_some() && head.header("Content-Length").is_some() {
        return Err(RequestError::BadRequest {
            why: "both Transfer-Encoding and Content-Length".into(),
        });
    }
    let lengths: Vec<&str> = head
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("Content-Length"))
        .map(|(_, v)| v.trim())
        .collect();
    let valid = lengths
        .iter()
        .all(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()));
    if !valid || lengths.windows(2).any(|w| w[0] != w[1]) {
        return Err(RequestError::BadRequest {
            why: "malformed or conflicting Content-Length".into(),
        });
    }
    Ok(())
}

/// The declared body length: `Ok(None)` without a Content-Length header; a length too
/// large for any integer is over every limit.
fn declared_length(head: &RequestHead, limit: u64) -> Result<Option<u64>, RequestError> {
    match head.header("Content-Length") {
        None => Ok(None),
        Some(v) => match v.trim().parse::<u64>() {
            Ok(n) if n <= limit => Ok(Some(n)),
            _ => Err(RequestError::BodyTooLarge { limit }),
        },
    }
}

/// Reads the request body in full, if there is one (§4.2).
fn read_body(
    request: &mut Request,
    head: &RequestHead,
    limit: u64,
) -> Result<Option<Body>, RequestError> {
    // The head, not the request, says whether there is a body: a local redirect drops it.
    let chunked = head.header("Transfer-Encoding").is_some();
    let declared = declared_length(head, limit)?;
    if declared.is_none() && !chunked {
        return Ok(None);
    }
    match Body::read_from(request.as_reader(), limit) {
        Ok(body) => Ok(Some(body)),
        Err(BodyError::TooLarge) => Err(RequestError::BodyTooLarge { limit }),
        Err(BodyError::Io(cause))
            if matches!(cause.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
        {
            Err(RequestError::ClientTimeout)
        }
        Err(BodyError::Io(cause)) => Err(RequestError::BadRequest {
            why: format!("reading the request body: {cause}"),
        }),
    }
}

/// Answers with the status of `error`; the log line carries the error itself.
fn refuse(request: Request, error: RequestError, mode: Mode, timing: &Timing) -> Served {
    let status = error.status();
    let mut headers = vec![
        (
            "Content-Type".to_string(),
            "text/plain; charset=utf-8".to_string(),
        ),
        timing.header(),
    ];
    if status == 503 {
        headers.push(("Retry-After".to_string(), "1".to_string()));
    }
    // Client errors say what was wrong with the request; server errors stay generic, the
    // details are in the log.
    let text = if status < 500 {
        format!("{status} {}: {error}\n", response::reason(status))
    } else {
        format!("{status} {}\n", response::reason(status))
    };
    // A body that may be left unread (413, or an error before reading it) must not be
    // taken for the next request on this connection.
    let has_body = request.body_length().is_some_and(|n| n > 0)
        || request
            .headers()
            .iter()
            .any(|h| h.field.equiv("Transfer-Encoding"));
    let close = has_body
        || matches!(status, 400 | 408 | 413)
        || matches!(error, RequestError::Refused { .. });
    let bytes = response::send(request, status, &headers, text.as_bytes(), close).unwrap_or(0);
    Served::new(status, bytes, mode, Some(error))
}
