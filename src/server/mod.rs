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

pub mod dispatch;
pub mod gate;
pub mod in_flight;
pub mod index;
pub mod shutdown;
pub mod static_files;

use std::net::{SocketAddr, TcpListener};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::config::Config;
use crate::gateway::Apps;
use crate::pool::{PoolEvent, Pools};
use crate::process::signals::Signal;
use dispatch::ServerState;

/// A route answered straight from the worker loop, as a baseline for benchmarks.
pub const RAW_ROUTE: &str = "/raw";

/// A bound server, not yet answering.
pub struct Server {
    listener: TcpListener,
    ctx: Arc<ServerState>,
}

impl Server {
    /// Binds the listening socket; the error says what to do about it.
    pub fn bind(config: Config) -> Result<Server, String> {
        Server::bind_with_apps(config, Apps::builtin())
    }

    /// Binds, with a set of gateway apps of the caller's choosing.
    pub fn bind_with_apps(config: Config, apps: Apps) -> Result<Server, String> {
        let addr = config.listen;
        let listener = TcpListener::bind(addr).map_err(|e| match e.kind() {
            std::io::ErrorKind::AddrInUse => format!(
                "cannot listen on {addr}: the address is in use; stop the other server or pass --listen {}:0 for a free port",
                addr.ip()
            ),
            _ => format!("cannot listen on {addr}: {e}; pass --listen ADDR"),
        })?;
        set_socket_options(&listener, config.read_timeout)
            .map_err(|e| format!("cannot set socket options on {addr}: {e}"))?;
        let local = listener.local_addr().map_err(|e| e.to_string())?;
        let pools = start_pools(&config)?;
        let embedded = crate::embed::Embedded::start(&config)?;
        let mut state = ServerState::new(config, apps, pools, local);
        state.embedded = embedded;
        let ctx = Arc::new(state);
        Ok(Server { listener, ctx })
    }

    /// The address it listens on (with the real port when bound to port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.ctx.local
    }

    /// Answers requests until SIGTERM (a graceful stop: see [`shutdown`]) or SIGINT, then
    /// exits. SIGHUP reloads the pools; SIGTTIN and SIGTTOU resize them.
    pub fn run(self) -> ! {
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
            };
            if let Some(pools) = &ctx.pools {
                pools.send(event);
            }
        });
        let config = &self.ctx.config;
        if config.routes.lab {
            eprintln!(
                "cgilab: listening on http://{} (cgi-bin {}, {} threads, --max-procs {})",
                self.ctx.local,
                config.cgi_bin.display(),
                config.threads,
                config.max_procs
            );
        } else {
            eprintln!(
                "cgilab: listening on http://{} (--no-lab: pools only, {} threads)",
                self.ctx.local, config.threads
            );
        }
        for m in &config.routes.mounts {
            match &m.to {
                crate::request::route::MountTo::Pool(pool) => {
                    eprintln!("cgilab: pool {pool} mounted at {}", m.prefix)
                }
                crate::request::route::MountTo::Dir(dir) => {
                    eprintln!("cgilab: files of {} served at {}", dir.display(), m.prefix)
                }
            }
        }
        if let Some(warning) = crate::process::keeper::warning() {
            eprintln!("cgilab: {warning}");
        }
        if let Some(pools) = &self.ctx.pools {
            let config = &self.ctx.config;
            let class = match config.worker_class {
                crate::config::pools::WorkerClass::Sync => String::new(),
                class => format!(
                    "; WSGI workers are {}, {} requests at once each",
                    class.as_str(),
                    config.settings_with(&Default::default()).capacity()
                ),
            };
            eprintln!(
                "cgilab: worker pools at /pool/NAME: {} ({} workers each{class})",
                pools.names().join(", "),
                config.workers
            );
            // A pool that sets its own says so.
            for pool in config.pools.iter().filter(|p| p.own != Default::default()) {
                let s = config.settings(pool);
                eprintln!(
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
            eprintln!(
                "cgilab: embedded at /wsgi/NAME: {} ({}; one interpreter, one GIL)",
                names.join(", "),
                embedded.python()
            );
        }
        let running = self.start();
        // Until the first SIGINT or SIGTERM (the channel stays open: its sender lives in
        // the signal thread).
        let first = stopped.recv().unwrap_or(libc::SIGINT);
        let code = shutdown::stop(&running.ctx, &running.http, first, stopped);
        std::process::exit(code)
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
            .expect("a bound TCP listener is accepted");
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
}

impl Spawned {
    /// The address it listens on (with the real port when bound to port 0).
    pub fn addr(&self) -> SocketAddr {
        self.ctx.local
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
fn answer(ctx: &ServerState, request: tiny_http::Request) {
    // The ceiling: an answer with no routing, environ, dispatch or log line, so benches
    // can tell the cost of HTTP itself from the cost of a mode.
    if request.url() == RAW_ROUTE && ctx.config.routes.lab && request.refusal().is_none() {
        let _turn = ctx.gate.enter();
        let headers = [("Content-Type".to_string(), "text/plain".to_string())];
        let _ = crate::http::response::send(request, 200, &headers, b"Hello, world!\n", false);
        return;
    }
    let _counted = ctx.in_flight.enter();
    // A panic costs its request (tiny_http answers an unanswered request with 500 when
    // it is dropped), never the connection's thread.
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        dispatch::handle(ctx, request)
    }));
    if outcome.is_err() {
        eprintln!("cgilab: a request handler panicked; answered 500");
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
fn work(http: &tiny_http::Server, ctx: &ServerState, stopping: &AtomicBool) {
    let mut last_accept_log = Instant::now() - Duration::from_secs(60);
    loop {
        match http.recv() {
            Ok(request) => answer(ctx, request),
            Err(_) if stopping.load(Ordering::SeqCst) => return,
            Err(e) => {
                if last_accept_log.elapsed() > Duration::from_secs(1) {
                    eprintln!(
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
        eprintln!(
            "cgilab: panic in {name} at {place}: {}",
            message.escape_debug()
        );
    }));
}

/// Sets the options that accepted sockets inherit: the read and write timeouts, and
/// TCP_NODELAY, so the small last write of a response (the end of a chunked body) is not
/// held back by Nagle's algorithm until the client's delayed ACK, 40 ms later.
fn set_socket_options(listener: &TcpListener, timeout: Duration) -> std::io::Result<()> {
    let tv = libc::timeval {
        tv_sec: timeout.as_secs() as libc::time_t,
        tv_usec: timeout.subsec_micros() as libc::suseconds_t,
    };
    let one: libc::c_int = 1;
    let fd = listener.as_raw_fd();
    for (level, option, value, len) in [
        (
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&tv as *const libc::timeval).cast(),
            size_of::<libc::timeval>(),
        ),
        (
            libc::SOL_SOCKET,
            libc::SO_SNDTIMEO,
            (&tv as *const libc::timeval).cast(),
            size_of::<libc::timeval>(),
        ),
        (
            libc::IPPROTO_TCP,
            libc::TCP_NODELAY,
            (&one as *const libc::c_int).cast(),
            size_of::<libc::c_int>(),
        ),
    ] {
        let rc = unsafe { libc::setsockopt(fd, level, option, value, len as libc::socklen_t) };
        if rc != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}
