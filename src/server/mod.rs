//! The HTTP side: a listener, tiny_http on top of it, and the function that answers each
//! request by handing it to [`crate::server::dispatch`].
//!
//! Each connection has a thread in tiny_http that reads one request at a time; the
//! request is answered on that same thread, with no hop to a worker and back (on two
//! cores the hops cost more than the gateway call). `--threads` bounds how many requests
//! are answered at once: past it, a request waits for a turn ([`gate`]), which it takes
//! only once its body has been read.
//!
//! tiny_http has no read timeout of its own. A socket accepted on Linux inherits
//! `SO_RCVTIMEO` and `SO_SNDTIMEO` from the listening socket, so they are set there: a
//! client that stalls mid-request, sits idle on a keep-alive connection or stops reading
//! a response is dropped after `--read-timeout` and holds up no one else.
//!
//! The listening socket ([`listener`]) is a TCP address, a unix socket, or one systemd
//! passed ([`systemd`], which also hears when the server is ready and when it stops);
//! `--pid` writes the server's id to a file ([`pidfile`]).

pub mod dispatch;
pub mod gate;
pub mod in_flight;
pub mod index;
pub mod listener;
pub mod pidfile;
pub mod shutdown;
pub mod static_files;
pub mod systemd;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::config::Config;
use crate::gateway::Apps;
use crate::http::endpoint::Endpoint;
use crate::pool::{PoolEvent, Pools};
use crate::process::signals::Signal;
use dispatch::ServerState;
use listener::{Listener, SocketFile};
use pidfile::PidFile;
use systemd::{Notifier, Systemd};

/// A route answered straight from the worker loop, as a baseline for benchmarks.
pub const RAW_ROUTE: &str = "/raw";

/// A bound server, not yet answering.
pub struct Server {
    listener: tiny_http::Listener,
    ctx: Arc<ServerState>,
    /// The unix socket file it made, removed when it stops.
    socket_file: Option<SocketFile>,
    /// `--pid`'s file, removed when it stops.
    pid_file: Option<PidFile>,
    /// systemd's notify socket.
    notify: Option<Notifier>,
    /// Serving a socket systemd passed.
    activated: bool,
}

impl Server {
    /// Binds the listening socket; the error says what to do about it.
    pub fn bind(config: Config) -> Result<Server, String> {
        Server::open(config, Apps::builtin(), Systemd::default())
    }

    /// Binds, with a set of gateway apps of the caller's choosing.
    pub fn bind_with_apps(config: Config, apps: Apps) -> Result<Server, String> {
        Server::open(config, apps, Systemd::default())
    }

    /// Serves the socket systemd passed, if it passed one (otherwise binds), and tells
    /// systemd when it is ready and when it stops, if it listens ([`systemd::take`]).
    pub fn bind_for(config: Config, systemd: Systemd) -> Result<Server, String> {
        Server::open(config, Apps::builtin(), systemd)
    }

    fn open(config: Config, apps: Apps, systemd: Systemd) -> Result<Server, String> {
        // First: while the file names a live server, nothing is touched, not even a
        // unix socket that looks stale.
        if let Some(path) = &config.pid_file {
            pidfile::check(path)?;
        }
        let activated = systemd.socket.is_some();
        let listener = match systemd.socket {
            Some(fd) => Listener::inherited(fd)?,
            None => Listener::bind(&config.listen)?,
        };
        listener
            .set_options(config.read_timeout)
            .map_err(|e| format!("cannot set socket options on {}: {e}", listener.endpoint))?;
        let local = listener.endpoint.clone();
        let (listener, socket_file) = listener.into_parts();
        let access_log = config
            .access_log
            .clone()
            .map(crate::log::access_file::AccessFile::open)
            .transpose()?;
        let pid_file = config.pid_file.as_deref().map(pidfile::write).transpose()?;
        let pools = start_pools(&config)?;
        let embedded = crate::embed::Embedded::start(&config)?;
        let mut state = ServerState::new(config, apps, pools, local);
        state.access_log = access_log;
        state.embedded = embedded;
        let ctx = Arc::new(state);
        Ok(Server {
            listener,
            ctx,
            socket_file,
            pid_file,
            notify: systemd.notify,
            activated,
        })
    }

    /// Where it listens (with the real port when bound to port 0).
    pub fn endpoint(&self) -> &Endpoint {
        &self.ctx.local
    }

    /// Answers requests until SIGTERM (a graceful stop: see [`shutdown`]) or SIGINT, then
    /// exits. SIGHUP reloads the pools; SIGTTIN and SIGTTOU resize them; SIGUSR1 reopens
    /// the access log.
    pub fn run(mut self) -> ! {
        let ctx = self.ctx.clone();
        let (stops, stopped) = std::sync::mpsc::channel();
        crate::process::signals::handle(move |signal| {
            let event = match signal {
                Signal::Stop(raw) => {
                    let _ = stops.send(raw);
                    return;
                }
                Signal::Reload => PoolEvent::Reload,
                Signal::MoreWorkers => PoolEvent::AddWorker,
                Signal::FewerWorkers => PoolEvent::RemoveWorker,
                Signal::ReopenLogs => {
                    reopen_logs(&ctx);
                    return;
                }
            };
            if let Some(pools) = &ctx.pools {
                pools.send(event);
            }
        });
        let config = &self.ctx.config;
        if self.activated {
            crate::log!("cgilab: serving the socket systemd passed (LISTEN_FDS), not --listen");
        }
        // `http://ADDR` or `unix:PATH`: what `client::server_process` looks for.
        let listening = match &self.ctx.local {
            Endpoint::Tcp(addr) => format!("http://{addr}"),
            unix => unix.to_string(),
        };
        if config.routes.lab {
            crate::log!(
                "cgilab: listening on {listening} (cgi-bin {}, {} threads, --max-procs {})",
                config.cgi_bin.display(),
                config.threads,
                config.max_procs
            );
        } else {
            crate::log!(
                "cgilab: listening on {listening} (--no-lab: pools only, {} threads)",
                config.threads
            );
        }
        for m in &config.routes.mounts {
            match &m.to {
                crate::request::route::MountTo::Pool(pool) => {
                    crate::log!("cgilab: pool {pool} mounted at {}", m.prefix)
                }
                crate::request::route::MountTo::Dir(dir) => {
                    crate::log!("cgilab: files of {} served at {}", dir.display(), m.prefix)
                }
            }
        }
        if let Some(warning) = crate::process::keeper::warning() {
            crate::log!("cgilab: {warning}");
        }
        if let Some(pools) = &self.ctx.pools {
            let config = &self.ctx.config;
            let class = match config.worker_class {
                crate::config::pool_settings::WorkerClass::Sync => String::new(),
                class => format!(
                    "; WSGI workers are {}, {} requests at once each",
                    class.as_str(),
                    config.settings_with(&Default::default()).capacity()
                ),
            };
            crate::log!(
                "cgilab: worker pools at /pool/NAME: {} ({} workers each{class})",
                pools.names().join(", "),
                config.workers
            );
            // A pool that sets its own says so.
            for pool in config.pools.iter().filter(|p| p.own != Default::default()) {
                let s = config.settings(pool);
                crate::log!(
                    "cgilab: pool {}: {} {} workers, {} at once each, --timeout {} s{}",
                    pool.name,
                    s.workers,
                    s.worker_class.as_str(),
                    s.capacity(),
                    s.timeout.as_secs_f64(),
                    if s.preload { ", --preload" } else { "" }
                );
            }
        }
        if let Some(embedded) = &self.ctx.embedded {
            let names: Vec<&str> = embedded.names().collect();
            crate::log!(
                "cgilab: embedded at /wsgi/NAME: {} ({}; one interpreter, one GIL)",
                names.join(", "),
                embedded.python()
            );
        }
        let notify = self.notify.take();
        let mut running = self.start();
        // Once it listens and its pools have started, as gunicorn tells systemd: from
        // here a request is answered, or waits for a worker that is on its way.
        if let Some(notify) = &notify {
            notify.notify(&format!("READY=1\nSTATUS=listening on {listening}"));
        }
        // Until the first SIGINT or SIGTERM (the channel stays open: its sender lives in
        // the signal thread).
        let first = stopped.recv().unwrap_or(libc::SIGINT);
        if let Some(notify) = &notify {
            notify.notify("STOPPING=1");
        }
        shutdown::stop(&running.ctx, &running.http, first, stopped);
        // `exit` runs no destructor: the files go now.
        drop(running.socket_file.take());
        drop(running.pid_file.take());
        std::process::exit(0)
    }

    /// Answers requests on background threads until the returned [`Spawned`] is dropped.
    /// For benches, tests and programs that embed cgilab.
    pub fn spawn(self) -> Spawned {
        self.start()
    }

    fn start(self) -> Spawned {
        let ctx = self.ctx.clone();
        // No turn is taken here: a request takes its turn (`ctx.gate`) once its body is
        // read, so connections that trickle a body hold none while they do.
        let handler: tiny_http::Handler = Arc::new(move |request| answer(&ctx, request));
        // The handler is in place before the first connection is accepted: a request
        // already waiting in the backlog must not go the `recv()` way below, where it
        // would be answered on that one thread, behind another request's slow body.
        // Heads the front refuses are answered and logged here too.
        let http = tiny_http::Server::from_listener_inline(self.listener, None, handler, true)
            .expect("a bound listener is accepted");
        let http = Arc::new(http);
        let stopping = Arc::new(AtomicBool::new(false));
        let (front, ctx, stop) = (http.clone(), self.ctx.clone(), stopping.clone());
        // Accept errors (EMFILE) arrive through `recv()`; the accept thread pauses and
        // goes on, and this thread logs them.
        let errors = thread::Builder::new()
            .name("accept-errors".into())
            .spawn(move || work(&front, &ctx, &stop))
            .expect("a thread starts");
        Spawned {
            http,
            ctx: self.ctx,
            stopping,
            errors: Some(errors),
            socket_file: self.socket_file,
            pid_file: self.pid_file,
        }
    }
}

/// A server answering on background threads ([`Server::spawn`]). Dropping it stops it:
/// the listening socket closes and every pool's workers stop. A connection already open
/// is served until its client closes it.
pub struct Spawned {
    http: Arc<tiny_http::Server>,
    ctx: Arc<ServerState>,
    stopping: Arc<AtomicBool>,
    /// The thread that logs accept errors; it returns once `stopping` is set.
    errors: Option<thread::JoinHandle<()>>,
    // After `http`, so dropped after it: tiny_http unblocks its accept thread by
    // connecting to the socket, by its path.
    socket_file: Option<SocketFile>,
    pid_file: Option<PidFile>,
}

impl Spawned {
    /// The address it listens on (with the real port when bound to port 0).
    ///
    /// # Panics
    /// If it listens on a unix socket: see [`Spawned::endpoint`].
    pub fn addr(&self) -> SocketAddr {
        self.ctx
            .local
            .tcp()
            .expect("a server listening on TCP (see `endpoint`)")
    }

    /// Where it listens.
    pub fn endpoint(&self) -> &Endpoint {
        &self.ctx.local
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        self.http.unblock();
        if let Some(errors) = self.errors.take() {
            let _ = errors.join();
        }
        if let Some(pools) = &self.ctx.pools {
            pools.stop(crate::pool::policy::QUICK_STOP_GRACE);
        }
        // `http` goes last: tiny_http then closes the listening socket.
    }
}

/// Answers one request.
fn answer(ctx: &Arc<ServerState>, request: tiny_http::Request) {
    // The ceiling: an answer with no routing, environ, dispatch or log line, so benches
    // can tell the cost of HTTP itself from the cost of a mode.
    if request.url() == RAW_ROUTE && ctx.config.routes.lab && request.refusal().is_none() {
        let _turn = ctx.gate.enter();
        let headers = [("Content-Type".to_string(), "text/plain".to_string())];
        let _ = crate::http::response::send(request, 200, &headers, b"Hello, world!\n", false);
        return;
    }
    let counted = ctx.in_flight.enter();
    // A panic costs its request (tiny_http answers an unanswered request with 500 when
    // it is dropped), never the connection's thread.
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        dispatch::handle(ctx, request)
    }));
    match outcome {
        Ok(dispatch::Handled::Here) => {}
        Ok(dispatch::Handled::Elsewhere) => counted.handed_over(),
        Err(_) => crate::log!("cgilab: a request handler panicked; answered 500"),
    }
}

/// SIGUSR1: opens the access log file again by its name. The server's own log is its
/// stderr, which belongs to whoever started it (a supervisor rotates that one).
fn reopen_logs(ctx: &ServerState) {
    use crate::log::access_file::Destination;
    match &ctx.access_log {
        Some(log) if *log.destination() != Destination::Stdout => match log.reopen() {
            Ok(()) => crate::log!(
                "cgilab: SIGUSR1: reopened the access log {}",
                log.destination()
            ),
            Err(e) => crate::log!(
                "cgilab: SIGUSR1: cannot reopen the access log {}: {e}; its lines go on into the file it had",
                log.destination()
            ),
        },
        _ => crate::log!("cgilab: SIGUSR1: no --access-log file to reopen"),
    }
}

/// Starts the configured pools, if any; their workers boot in the background.
fn start_pools(config: &Config) -> Result<Option<Pools>, String> {
    if config.pools.is_empty() {
        return Ok(None);
    }
    Pools::start(config)
        .map(Some)
        .map_err(|e| format!("cannot start the worker pools: {e}"))
}

/// Takes what comes through `recv()`: accept errors, logged at most once a second.
/// (Requests are answered by the inline handler; none arrives here.) Returns once
/// `stopping` is set and `recv()` is unblocked.
fn work(http: &tiny_http::Server, ctx: &Arc<ServerState>, stopping: &AtomicBool) {
    let mut last_accept_log = Instant::now() - Duration::from_secs(60);
    loop {
        match http.recv() {
            Ok(request) => answer(ctx, request),
            Err(_) if stopping.load(Ordering::SeqCst) => return,
            Err(e) => {
                if last_accept_log.elapsed() > Duration::from_secs(1) {
                    crate::log!(
                        "cgilab: accept failed: {e}; shedding load until descriptors free up"
                    );
                    last_accept_log = Instant::now();
                }
            }
        }
    }
}

/// Makes a panic print one log line (where, and what) instead of several; a panic in a
/// gateway app prints none here, since its request's access log line reports it.
pub fn one_line_panics() {
    std::panic::set_hook(Box::new(|info| {
        let message = crate::gateway::panics::payload_text(info.payload()).unwrap_or_default();
        let place = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        // A panic inside an app call is reported once, on that request's log line.
        if crate::gateway::panics::keep_panic_place(&place) {
            return;
        }
        let thread = std::thread::current();
        let name = thread.name().unwrap_or("?");
        crate::log!(
            "cgilab: panic in {name} at {place}: {}",
            message.escape_debug()
        );
    }));
}
