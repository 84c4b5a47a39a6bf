//! One request, start to finish: check its size, hear what a trusted proxy says about it,
//! route it, read its body, build its environ, hand it to the CGI host, the gateway, a
//! pool or an embedded app, and write its access log line (and its `--access-log` line).

use std::sync::Arc;

use tiny_http::Request;

use crate::cgi;
use crate::cgi::script;
use crate::config::Config;
use crate::gateway::{self, Apps};
use crate::http::body::Body;
use crate::http::endpoint::Endpoint;
use crate::http::request::{check_size, read_body, request_head};
use crate::http::response;
use crate::log::access_file::AccessFile;
use crate::measure::access_log::Answered;
use crate::measure::stats::Stats;
use crate::measure::timing::{Mode, Timing};
use crate::pool::{self, Pools};
use crate::process::slots::Slots;
use crate::request::environ::{self, Invocation, RequestHead};
use crate::request::error::{AppHost, RequestError};
use crate::request::forwarded;
use crate::request::outcome::{Failed, Outcome, Sent};
use crate::request::route::{self, Route, Target};
use crate::server::gate::Gate;
use crate::server::{index, static_files};

/// Most local redirects (RFC 3875 §6.2.2) followed for one request.
const MAX_REDIRECTS: usize = 5;

/// What every request handler shares: the settings, the apps, the pools, the
/// `--threads` gate, the `--max-procs` slots, the latency counters and the address the
/// server listens on.
pub struct ServerState {
    pub config: Config,
    pub apps: Apps,
    pub pools: Option<Pools>,
    /// The Python apps called in this process (`--embed`), if any.
    pub embedded: Option<crate::embed::Embedded>,
    pub gate: Gate,
    pub slots: Slots,
    pub stats: Stats,
    pub local: Endpoint,
    /// The requests being answered: a graceful stop waits for them.
    pub in_flight: super::in_flight::InFlight,
    /// `--access-log`, open.
    pub access_log: Option<AccessFile>,
}

impl ServerState {
    pub fn new(config: Config, apps: Apps, pools: Option<Pools>, local: Endpoint) -> ServerState {
        ServerState {
            access_log: None,
            pools,
            embedded: None,
            gate: Gate::new(config.threads),
            slots: Slots::new(config.max_procs),
            stats: Stats::default(),
            config,
            apps,
            local,
            in_flight: Default::default(),
        }
    }
}

/// Who finished a request.
pub enum Handled {
    /// The thread that took it: its turn and its count end with it.
    Here,
    /// Another thread answered and logged it, and gave back its `--threads` turn and its
    /// in-flight count (an embedded call that streams, or ran past `--timeout`).
    Elsewhere,
}

/// Answers one request and logs it.
pub fn handle(ctx: &Arc<ServerState>, request: Request) -> Handled {
    let mut timing = Timing::start();
    // Shared, not copied, with a thread that may finish the request (an embedded call).
    let mut head = Arc::new(request_head(&request, &ctx.local));
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
            let _turn = ctx.gate.enter();
            refuse(request, error, Mode::Server, &timing)
        }
        None => match forwarded::read(
            &head.headers,
            head.remote.tcp().map(|a| a.ip()),
            &ctx.config.forwarded_allow,
        ) {
            Ok(said) => {
                Arc::get_mut(&mut head)
                    .expect("nothing holds the head before dispatch")
                    .forwarded = said;
                dispatch(ctx, request, &head, &mut timing, 0)
            }
            Err(e) => refuse(request, e, Mode::Server, &timing),
        },
    };
    if served.elsewhere {
        return Handled::Elsewhere;
    }
    log_answered(ctx, &served, &head, &timing);
    Handled::Here
}

/// A request's latency record, its `--access-log` line and its log line.
fn log_answered(ctx: &ServerState, served: &Answered, head: &RequestHead, timing: &Timing) {
    if let Some(ran) = &served.ran {
        ctx.stats
            .record(ran, served.mode, served.status, timing.elapsed());
    }
    if let Some(access) = &ctx.access_log {
        access.write_line(&served.formatted(&ctx.config.access_log_format, head, timing));
    }
    if ctx.config.quiet && served.error.is_none() {
        return;
    }
    crate::log!("{}", served.line(head, timing));
}

fn dispatch(
    ctx: &Arc<ServerState>,
    request: Request,
    head: &Arc<RequestHead>,
    timing: &mut Timing,
    redirects: usize,
) -> Answered {
    if let Err(e) = check_size(head) {
        return refuse(request, e, Mode::Server, timing);
    }
    match route::route_in(&head.target, &ctx.config.routes) {
        Ok(Route::Index) => {
            let _turn = ctx.gate.enter();
            let scripts = script::list(&ctx.config.cgi_bin);
            let pools = ctx.pools.as_ref().map(Pools::view).unwrap_or_default();
            let embedded: Vec<&str> = ctx.embedded.iter().flat_map(|e| e.names()).collect();
            let page = index::page(ctx.apps.names(), &scripts, &pools, &embedded, &ctx.stats);
            let headers = vec![
                (
                    "Content-Type".to_string(),
                    "text/html; charset=utf-8".to_string(),
                ),
                timing.header(),
            ];
            let bytes = response::send(request, 200, &headers, page.as_bytes(), false).unwrap_or(0);
            Answered::new(
                Sent {
                    status: 200,
                    bytes,
                    error: None,
                    exit: None,
                    headers,
                },
                Mode::Server,
            )
        }
        Ok(Route::Cgi(target)) => serve_cgi(ctx, request, head, &target, timing, redirects),
        Ok(Route::App(target)) => serve_app(ctx, request, head, &target, timing),
        Ok(Route::Pool(target)) => serve_pool(ctx, request, head, &target, timing, redirects),
        Ok(Route::Wsgi(target)) => serve_embedded(ctx, request, head, &target, timing),
        Ok(Route::Static { dir, path }) => {
            let _turn = ctx.gate.enter();
            let served = static_files::serve(request, head, &dir, &path, vec![timing.header()]);
            Answered::new(
                Sent {
                    status: served.status,
                    bytes: served.bytes,
                    error: served.error,
                    exit: None,
                    headers: served.headers,
                },
                Mode::Static,
            )
        }
        Err(e) => refuse(request, e, Mode::Server, timing),
    }
}

fn serve_cgi(
    ctx: &Arc<ServerState>,
    mut request: Request,
    head: &RequestHead,
    target: &Target,
    timing: &mut Timing,
    redirects: usize,
) -> Answered {
    let (url_path, query) = route::split_target(&head.target);
    let script = match script::find(&ctx.config.cgi_bin, &target.name, url_path) {
        Ok(s) => s,
        Err(e) => return refuse(request, e, Mode::Cgi, timing),
    };
    // The whole body first, checked against its length: a slow or short upload holds
    // no slot and never reaches a script.
    let body = match read_body(&mut request, head, ctx.config.max_body) {
        Ok(body) => body,
        Err(e) => return refuse(request, e, Mode::Cgi, timing),
    };
    // Its `--threads` turn, only now that the body is in.
    let turn = ctx.gate.enter();
    // A request that had to wait for its slot says how long (`queue`); one that did not
    // shows no queue phase.
    let slot = match ctx.slots.try_acquire() {
        Some(slot) => Ok(slot),
        None => {
            let queued = std::time::Instant::now();
            let slot = ctx.slots.acquire(ctx.config.queue_timeout);
            timing.queue = Some(queued.elapsed());
            slot
        }
    };
    let slot = match slot {
        Ok(slot) => slot,
        Err(full) => {
            let e = RequestError::TooManyProcesses {
                limit: ctx.slots.limit(),
                waited: full.waited.as_secs_f64(),
            };
            return refuse(request, e, Mode::Cgi, timing);
        }
    };
    let env = environ_for(ctx, head, target, &script.path.to_string_lossy(), &body);
    let job = cgi::Job {
        script: &script,
        env: &env,
        query,
        body: body.unwrap_or_else(Body::empty),
        timeout: ctx.config.timeout,
    };
    match cgi::run(job, request, slot, timing) {
        Outcome::Sent(sent) => Answered::new(sent, Mode::Cgi)
            .ran(&target.script_name)
            .with_environ(env),
        Outcome::Failed(Failed { error, request }) => refuse(request, error, Mode::Cgi, timing),
        Outcome::LocalRedirect { location, request } => {
            // The redirect's target takes a turn of its own.
            drop(turn);
            local_redirect(ctx, request, head, location, timing, redirects, Mode::Cgi)
        }
    }
}

/// RFC 3875 §6.2.2: answers as if the client had asked for `location`; like Apache, as
/// a GET, since the body was meant for the first script.
fn local_redirect(
    ctx: &Arc<ServerState>,
    request: Request,
    head: &RequestHead,
    location: String,
    timing: &mut Timing,
    redirects: usize,
    mode: Mode,
) -> Answered {
    if redirects >= MAX_REDIRECTS {
        let e = RequestError::RedirectLoop { location };
        return refuse(request, e, mode, timing);
    }
    let mut next = RequestHead::clone(head);
    next.target = location;
    next.method = "GET".into();
    next.headers.retain(|(n, _)| {
        !["Content-Length", "Content-Type", "Transfer-Encoding"]
            .iter()
            .any(|h| n.eq_ignore_ascii_case(h))
    });
    let next = Arc::new(next);
    let mut served = dispatch(ctx, request, &next, timing, redirects + 1);
    served.redirects.insert(0, next.target.clone());
    served
}

fn serve_app(
    ctx: &ServerState,
    mut request: Request,
    head: &RequestHead,
    target: &Target,
    timing: &mut Timing,
) -> Answered {
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
    let _turn = ctx.gate.enter();
    let env = environ_for(ctx, head, target, &target.name, &body);
    let call = gateway::Call {
        name: &target.name,
        app,
        environ: &env,
        body: body.unwrap_or_else(Body::empty),
        timeout: ctx.config.timeout,
    };
    match gateway::serve(call, request, timing) {
        Ok(sent) => Answered::new(sent, Mode::Gateway)
            .ran(&target.script_name)
            .with_environ(env),
        Err(Failed { error, request }) => refuse(request, error, Mode::Gateway, timing),
    }
}

fn serve_pool(
    ctx: &Arc<ServerState>,
    mut request: Request,
    head: &RequestHead,
    target: &Target,
    timing: &mut Timing,
    redirects: usize,
) -> Answered {
    let Some(pool) = ctx.pools.as_ref().and_then(|p| p.get(&target.name)) else {
        let e = RequestError::NoApp {
            path: route::split_target(&head.target).0.to_string(),
            name: target.name.clone(),
            host: AppHost::Pool,
        };
        return refuse(request, e, Mode::Pool, timing);
    };
    let body = match read_body(&mut request, head, ctx.config.max_body) {
        Ok(body) => body,
        Err(e) => return refuse(request, e, Mode::Pool, timing),
    };
    let turn = ctx.gate.enter();
    let env = environ_for(ctx, head, target, &pool.app, &body);
    let job = pool::host::Job {
        pool,
        env: &env,
        body: body.unwrap_or_else(Body::empty),
        timeout: pool.timeout,
        logged: !ctx.config.quiet,
    };
    let (outcome, worker) = pool::host::run(job, request, timing);
    let mut answered = match outcome {
        Outcome::Sent(sent) => Answered::new(sent, Mode::Pool)
            .ran(&target.script_name)
            .with_environ(env),
        Outcome::Failed(Failed { error, request }) => refuse(request, error, Mode::Pool, timing),
        Outcome::LocalRedirect { location, request } => {
            drop(turn);
            return local_redirect(ctx, request, head, location, timing, redirects, Mode::Pool);
        }
    };
    answered.pool = Some((target.name.clone(), worker));
    answered
}

fn serve_embedded(
    ctx: &Arc<ServerState>,
    mut request: Request,
    head: &Arc<RequestHead>,
    target: &Target,
    timing: &mut Timing,
) -> Answered {
    let Some(app) = ctx.embedded.as_ref().and_then(|e| e.get(&target.name)) else {
        let e = RequestError::NoApp {
            path: route::split_target(&head.target).0.to_string(),
            name: target.name.clone(),
            host: AppHost::Embedded,
        };
        return refuse(request, e, Mode::Embed, timing);
    };
    let body = match read_body(&mut request, head, ctx.config.max_body) {
        Ok(body) => body,
        Err(e) => return refuse(request, e, Mode::Embed, timing),
    };
    let turn = ctx.gate.enter();
    let file = ctx.config.embeds.iter().find(|e| e.name == target.name);
    let file = file.map(|e| e.file.to_string_lossy()).unwrap_or_default();
    let env = environ_for(ctx, head, target, &file, &body);
    let call = crate::embed::Call {
        app,
        environ: &env,
        body: body.unwrap_or_else(Body::empty),
        timeout: ctx.config.timeout,
    };
    // Should another thread finish the request (the call streams, or runs past the
    // timeout), it answers, logs, and gives back this thread's turn and count.
    let finish: crate::embed::Finish = {
        let (ctx, head) = (Arc::clone(ctx), Arc::clone(head));
        let script_name = target.script_name.clone();
        Box::new(move |outcome, timing| {
            let answered = match outcome {
                Ok(sent) => Answered::new(sent, Mode::Embed).ran(&script_name),
                Err(Failed { error, request }) => refuse(request, error, Mode::Embed, &timing),
            };
            log_answered(&ctx, &answered, &head, &timing);
            ctx.gate.leave();
            ctx.in_flight.leave();
        })
    };
    match crate::embed::serve(call, request, timing, finish) {
        crate::embed::Served::Here(Ok(sent)) => {
            Answered::new(sent, Mode::Embed).ran(&target.script_name)
        }
        crate::embed::Served::Here(Err(Failed { error, request })) => {
            refuse(request, error, Mode::Embed, timing)
        }
        crate::embed::Served::Elsewhere => {
            turn.handed_over();
            Answered::elsewhere(Mode::Embed)
        }
    }
}

/// The meta-variables of a request for `target`, the same function for every mode;
/// `script_filename` is what runs it (a script, an app's name, a pool's file).
fn environ_for(
    ctx: &ServerState,
    head: &RequestHead,
    target: &Target,
    script_filename: &str,
    body: &Option<Body>,
) -> environ::Environ {
    let inv = Invocation {
        script_name: &target.script_name,
        path_info: &target.path_info,
        script_filename,
        content_length: body.as_ref().map(Body::len),
    };
    environ::build(head, &inv, &ctx.config.site)
}

/// Answers with the status of `error`; the log line carries the error itself.
fn refuse(request: Request, error: RequestError, mode: Mode, timing: &Timing) -> Answered {
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
    // details are in the log, except why a pool cannot serve (its app does not start).
    let text = if status < 500 || matches!(error, RequestError::PoolUnavailable { .. }) {
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
    Answered::new(
        Sent {
            status,
            bytes,
            error: Some(error),
            exit: None,
            headers,
        },
        mode,
    )
}
