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

pub mod embeds;
pub mod file;
pub mod mounts;
pub mod pools;

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::request::environ::Site;

/// The server's settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where to listen; port 0 picks a free port.
    pub listen: SocketAddr,
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
    /// No access log lines.
    pub quiet: bool,
    /// What every environment is built with.
    pub site: Site,
    /// The lab's routes (on or off) and the pools mounted at prefixes of their own.
    pub routes: crate::request::route::Table,
    /// Worker pools, in the order given ([`pools`] checks them).
    pub pools: Vec<pools::PoolConfig>,
    /// Workers per pool.
    pub workers: usize,
    /// How a WSGI worker serves requests: one at a time, on threads, or on greenlets.
    pub worker_class: pools::WorkerClass,
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
    /// The Python that runs WSGI workers.
    pub python: PathBuf,
    /// WSGI apps called in the server's own process (`--embed`).
    pub embeds: Vec<embeds::EmbedConfig>,
}

/// Workers per pool when `--workers` is not given.
pub const DEFAULT_WORKERS: usize = 2;

/// The `PATH` scripts get when the server itself has none.
const DEFAULT_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

impl Default for Config {
    /// The defaults of `cgilab serve` with no flags (cgi-bin `./cgi-bin`, not yet
    /// checked: [`Config::new`] checks it).
    fn default() -> Config {
        let path = std::env::var("PATH").unwrap_or_else(|_| DEFAULT_PATH.to_string());
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8000)),
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
            pools: Vec::new(),
            workers: DEFAULT_WORKERS,
            worker_class: pools::WorkerClass::Sync,
            worker_threads: 1,
            worker_connections: 1000, // gunicorn's default
            max_requests: 0,
            max_requests_jitter: 0,
            preload: false,
            python: PathBuf::from("python3"),
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
    /// The defaults, listening on `listen` (`HOST:PORT`) and serving the scripts in
    /// `cgi_bin`, which must exist.
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
    /// cgi-bin, and no cgi-bin needed), listening on `listen` (`HOST:PORT`).
    pub fn without_lab(listen: &str) -> Result<Config, String> {
        let listen = listen
            .to_socket_addrs()
            .ok()
            .and_then(|mut addrs| addrs.next())
            .ok_or_else(|| {
                format!(
                    "--listen {listen}: not an address to listen on; pass HOST:PORT, e.g. 127.0.0.1:8000"
                )
            })?;
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
            Err(_) => eprintln!(
                "cgilab: warning: --pass-env {name}: not set in the server's environment; scripts will not get it"
            ),
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
