//! What the server runs with: a plain [`Config`], built from plain values. The command
//! line ([`crate::cli`]) is one way to fill it in; a program that embeds cgilab is another:
//!
//! ```no_run
//! # fn main() -> Result<(), String> {
//! let mut config = cgilab::config::Config::new("127.0.0.1:0", "./cgi-bin")?;
//! config.quiet = true;
//! # Ok(()) }
//! ```
//!
//! The checking steps ([`Config::new`], [`Config::add_env`], [`Config::pass_env`]) are
//! where every startup error gets a message that says what to do.

pub mod app_spec;
pub mod embeds;
pub mod file;
pub mod mounts;
pub mod pool_settings;
pub mod pools;
pub mod spec;

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::http::endpoint::Endpoint;
use crate::log::access_file::Destination;
use crate::measure::access_format::AccessFormat;
use crate::request::environ::Site;
use crate::request::forwarded::ProxyTrust;

/// The server's settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where to listen: an address (port 0 picks a free port) or a unix socket. A socket
    /// systemd passes (socket activation) takes its place.
    pub listen: Endpoint,
    /// `--pid FILE`: the server's process id, written once it listens.
    pub pid_file: Option<PathBuf>,
    /// The scripts' directory, canonical.
    pub cgi_bin: PathBuf,
    /// Wall-clock limit for one script or app call.
    pub timeout: Duration,
    /// How long a client may stall mid-request or sit idle between requests.
    pub read_timeout: Duration,
    /// On SIGTERM, how long the requests in flight get to finish.
    pub graceful_timeout: Duration,
    /// Largest request body accepted.
    pub max_body: u64,
    /// Most scripts running at once.
    pub max_procs: usize,
    /// How long a request waits for one of the `max_procs` slots before it gets 503.
    pub queue_timeout: Duration,
    /// Most requests answered at once.
    pub threads: usize,
    /// No access lines in the server's log (an `access_log` still gets its lines).
    pub quiet: bool,
    /// The peers whose proxy headers count (`--forwarded-allow-ips`).
    pub forwarded_allow: ProxyTrust,
    /// `--access-log`: where a line per request in `access_log_format` goes, if anywhere.
    pub access_log: Option<Destination>,
    /// `--access-log-format`.
    pub access_log_format: AccessFormat,
    /// What every environment is built with.
    pub site: Site,
    /// The lab's routes (on or off) and the pools mounted at prefixes of their own.
    pub routes: crate::request::route::Table,
    /// Worker pools, in the order given ([`pools`] checks them).
    pub pools: Vec<pools::PoolConfig>,
    /// Workers per pool.
    pub workers: usize,
    /// How a WSGI worker serves requests: one at a time, on threads, or on greenlets.
    pub worker_class: pool_settings::WorkerClass,
    /// Threads per gthread worker (`--worker-threads`, gunicorn's `--threads`).
    pub worker_threads: usize,
    /// Requests at once per gevent worker (gunicorn's `--worker-connections`).
    pub worker_connections: usize,
    /// Recycle a worker after this many requests (0: never)...
    pub max_requests: u64,
    /// ... plus up to this many more, drawn for each worker.
    pub max_requests_jitter: u64,
    /// Fork WSGI workers from one process that imported the app (`--preload`).
    pub preload: bool,
    /// How every pool's workers get their requests, unless a pool says (`--accept`).
    pub accept: pool_settings::Accept,
    /// `--backlog`: the listen backlog of a pool's shared socket.
    pub backlog: u32,
    /// The Python that runs WSGI workers.
    pub python: PathBuf,
    /// `--chdir`: where every pool's workers work, unless a pool has its own.
    pub chdir: Option<PathBuf>,
    /// `--pythonpath`: directories every WSGI pool puts first on `sys.path`.
    pub pythonpath: Vec<PathBuf>,
    /// WSGI apps called in the server's own process (`--embed`).
    pub embeds: Vec<embeds::EmbedConfig>,
}

/// Workers per pool when `--workers` is not given.
pub const DEFAULT_WORKERS: usize = 2;

/// The listen backlog of a shared pool socket when `--backlog` is not given: nginx's
/// default for its `listen` sockets on Linux.
pub const DEFAULT_BACKLOG: u32 = 511;

/// The `PATH` scripts get when the server itself has none.
const DEFAULT_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

impl Default for Config {
    /// The defaults of `cgilab serve` with no flags (cgi-bin `./cgi-bin`, not yet
    /// checked: [`Config::new`] checks it).
    fn default() -> Config {
        let path = std::env::var("PATH").unwrap_or_else(|_| DEFAULT_PATH.to_string());
        Config {
            listen: Endpoint::Tcp(SocketAddr::from(([127, 0, 0, 1], 8000))),
            pid_file: None,
            cgi_bin: PathBuf::from("./cgi-bin"),
            timeout: Duration::from_secs(30),
            read_timeout: Duration::from_secs(15),
            graceful_timeout: Duration::from_secs(30), // gunicorn's default
            max_body: 16 * 1024 * 1024,
            max_procs: 32,
            queue_timeout: Duration::from_secs(30),
            threads: 64,
            quiet: false,
            routes: Default::default(),
            forwarded_allow: ProxyTrust::default(), // gunicorn's: 127.0.0.1 and ::1
            access_log: None,
            access_log_format: AccessFormat::default(), // gunicorn's: combined
            pools: Vec::new(),
            workers: DEFAULT_WORKERS,
            worker_class: pool_settings::WorkerClass::Sync,
            worker_threads: 1,
            worker_connections: 1000, // gunicorn's default
            max_requests: 0,
            max_requests_jitter: 0,
            preload: false,
            accept: pool_settings::Accept::Dispatch,
            backlog: DEFAULT_BACKLOG,
            python: PathBuf::from("python3"),
            chdir: None,
            pythonpath: Vec::new(),
            embeds: Vec::new(),
            site: Site {
                software: crate::http::response::SERVER.to_string(),
                document_root: PathBuf::from("."),
                extra: vec![("PATH".to_string(), path)],
                pass_auth: false,
            },
        }
    }
}

impl Config {
    /// The defaults, listening on `listen` (`HOST:PORT` or `unix:PATH`) and serving the
    /// scripts in `cgi_bin`, which must exist.
    pub fn new(listen: &str, cgi_bin: impl AsRef<Path>) -> Result<Config, String> {
        let cgi_bin = cgi_bin.as_ref();
        let mut config = Config::without_lab(listen)?;
        config.routes.lab = true;
        let canonical = cgi_bin.canonicalize().map_err(|_| {
            format!(
                "cgi-bin directory {} does not exist; pass --cgi-bin DIR (or --no-lab to serve only pools)",
                cgi_bin.display()
            )
        })?;
        if !canonical.is_dir() {
            return Err(format!(
                "--cgi-bin {} is not a directory; pass --cgi-bin DIR",
                cgi_bin.display()
            ));
        }
        config.site.document_root = canonical.parent().unwrap_or(&canonical).to_path_buf();
        config.cgi_bin = canonical;
        Ok(config)
    }

    /// The defaults with the lab's routes off (no index page, built-in apps, /raw or
    /// cgi-bin, and no cgi-bin needed), listening on `listen` (`HOST:PORT` or `unix:PATH`).
    pub fn without_lab(listen: &str) -> Result<Config, String> {
        let listen = parse_listen(listen)?;
        let mut config = Config {
            listen,
            ..Config::default()
        };
        config.routes.lab = false;
        Ok(config)
    }

    /// Refuses limits that would serve nothing.
    pub fn check_limits(&self) -> Result<(), String> {
        if self.max_procs == 0 || self.threads == 0 {
            return Err("--max-procs and --threads must be at least 1".into());
        }
        Ok(())
    }

    /// Copies variable `name` from the server's own environment to every script; a name
    /// that is not set is a warning, not an error.
    pub fn pass_env(&mut self, name: &str) -> Result<(), String> {
        check_name(name, "--pass-env")?;
        match std::env::var(name) {
            Ok(value) => self.site.extra.push((name.to_string(), value)),
            Err(_) => crate::log!(
                "cgilab: warning: --pass-env {name}: not set in the server's environment; scripts will not get it"
            ),
        }
        Ok(())
    }

    /// Trusts the proxies of `list` (`--forwarded-allow-ips`): addresses and networks
    /// separated by commas, or `*`.
    pub fn set_forwarded_allow_ips(&mut self, list: &str) -> Result<(), String> {
        self.forwarded_allow = ProxyTrust::parse(list)?;
        Ok(())
    }

    /// Writes an access log to `destination` (`-`: standard output) in `format`
    /// (`common`, `combined` or a format string; combined when `None`). A format with no
    /// destination is an error: it would have nothing to format.
    pub fn set_access_log(
        &mut self,
        destination: Option<&str>,
        format: Option<&str>,
    ) -> Result<(), String> {
        if let Some(format) = format {
            if destination.is_none() {
                return Err(format!(
                    "--access-log-format {format} needs --access-log FILE (or - for standard output); the server's own log keeps its line with timings"
                ));
            }
            self.access_log_format = AccessFormat::parse(format)?;
        }
        if let Some(destination) = destination {
            if destination.is_empty() {
                return Err(
                    "--access-log is empty; pass a FILE, or - for standard output".to_string(),
                );
            }
            self.access_log = Some(Destination::parse(destination));
        }
        Ok(())
    }

    /// Gives every script the variable of `pair`, written `KEY=VALUE`.
    pub fn add_env(&mut self, pair: &str) -> Result<(), String> {
        let (name, value) = pair.split_once('=').ok_or_else(|| {
            format!("--env {pair}: expected KEY=VALUE, e.g. --env GIT_PROJECT_ROOT=/srv/git")
        })?;
        check_name(name, "--env")?;
        if value.contains('\0') {
            return Err(format!("--env {name}: the value contains a NUL byte"));
        }
        self.site.extra.push((name.to_string(), value.to_string()));
        Ok(())
    }
}

/// `--listen`: `unix:PATH`, or `HOST:PORT` (a name is looked up).
fn parse_listen(listen: &str) -> Result<Endpoint, String> {
    if let Some(path) = listen.strip_prefix("unix:") {
        if path.is_empty() {
            return Err("--listen unix: needs a path, e.g. unix:/run/cgilab.sock".into());
        }
        if path.starts_with('@') {
            return Err(format!(
                "--listen {listen}: an abstract socket cannot be bound here; pass a path \
                 (a socket systemd passes may be abstract)"
            ));
        }
        return Ok(Endpoint::Unix(PathBuf::from(path)));
    }
    listen
        .to_socket_addrs()
        .ok()
        .and_then(|mut addrs| addrs.next())
        .map(Endpoint::Tcp)
        .ok_or_else(|| {
            format!(
                "--listen {listen}: not an address to listen on; pass HOST:PORT (e.g. \
                 127.0.0.1:8000) or unix:PATH"
            )
        })
}

/// An environment variable name: letters, digits and `_`, not starting with a digit.
fn check_name(name: &str, flag: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{flag} {name}: not a variable name; use letters, digits and `_`"
        ))
    }
}
