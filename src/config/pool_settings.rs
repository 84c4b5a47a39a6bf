//! A pool's settings: the worker class, and what one pool may set for itself in its
//! `[pool.NAME]` section of a config file, over the server's flags.

use std::path::PathBuf;

use super::Config;

/// How a WSGI worker serves requests, with gunicorn's names (`-k`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WorkerClass {
    /// One request at a time (gunicorn's `sync`).
    #[default]
    Sync,
    /// A request per thread, up to `--worker-threads` at once (gunicorn's `gthread`).
    Gthread,
    /// A request per greenlet, up to `--worker-connections` at once, after gevent's
    /// `monkey.patch_all()` (gunicorn's `gevent`).
    Gevent,
}

impl WorkerClass {
    pub fn as_str(self) -> &'static str {
        match self {
            WorkerClass::Sync => "sync",
            WorkerClass::Gthread => "gthread",
            WorkerClass::Gevent => "gevent",
        }
    }
}

impl std::str::FromStr for WorkerClass {
    type Err = String;

    fn from_str(s: &str) -> Result<WorkerClass, String> {
        match s {
            "sync" => Ok(WorkerClass::Sync),
            "gthread" => Ok(WorkerClass::Gthread),
            "gevent" => Ok(WorkerClass::Gevent),
            _ => Err(format!(
                "`{s}` is not a worker class; use sync, gthread or gevent"
            )),
        }
    }
}

/// How a pool's workers get their requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Accept {
    /// Each worker listens on a socket of its own, and the server hands each request to
    /// an idle worker it chose (Apache's mod_fcgid): it knows which worker holds which
    /// request.
    #[default]
    Dispatch,
    /// Every worker accepts on one listening socket, and the kernel hands each
    /// connection to whichever worker calls `accept()` first (php-fpm's children,
    /// gunicorn's workers): the server connects and does not know which worker took it.
    Shared,
}

impl Accept {
    pub fn as_str(self) -> &'static str {
        match self {
            Accept::Dispatch => "dispatch",
            Accept::Shared => "shared",
        }
    }
}

impl std::str::FromStr for Accept {
    type Err = String;

    fn from_str(s: &str) -> Result<Accept, String> {
        match s {
            "dispatch" => Ok(Accept::Dispatch),
            "shared" => Ok(Accept::Shared),
            _ => Err(format!(
                "`{s}` is not an accept mode; use dispatch or shared"
            )),
        }
    }
}

/// Settings one pool may give itself; `None` takes the server's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PoolOwn {
    pub workers: Option<usize>,
    pub worker_class: Option<WorkerClass>,
    pub worker_threads: Option<usize>,
    pub worker_connections: Option<usize>,
    pub max_requests: Option<u64>,
    pub max_requests_jitter: Option<u64>,
    pub timeout: Option<std::time::Duration>,
    pub python: Option<PathBuf>,
    pub preload: Option<bool>,
    pub accept: Option<Accept>,
}

/// One pool's settings: its own, else the server's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolSettings {
    pub workers: usize,
    pub worker_class: WorkerClass,
    pub worker_threads: usize,
    pub worker_connections: usize,
    pub max_requests: u64,
    pub max_requests_jitter: u64,
    pub timeout: std::time::Duration,
    pub python: PathBuf,
    pub preload: bool,
    pub accept: Accept,
    /// With `accept = shared`: the shared socket's listen backlog.
    pub backlog: u32,
}

impl PoolSettings {
    /// How many requests one WSGI worker serves at once.
    pub fn capacity(&self) -> usize {
        match self.worker_class {
            WorkerClass::Sync => 1,
            WorkerClass::Gthread => self.worker_threads,
            WorkerClass::Gevent => self.worker_connections,
        }
    }
}

impl Config {
    /// The settings of a pool that sets `own` for itself.
    pub fn settings_with(&self, own: &PoolOwn) -> PoolSettings {
        let worker_threads = own.worker_threads.unwrap_or(self.worker_threads);
        let mut worker_class = own.worker_class.unwrap_or(self.worker_class);
        if worker_class == WorkerClass::Sync && worker_threads > 1 {
            worker_class = WorkerClass::Gthread;
        }
        PoolSettings {
            workers: own.workers.unwrap_or(self.workers),
            worker_class,
            worker_threads,
            worker_connections: own.worker_connections.unwrap_or(self.worker_connections),
            max_requests: own.max_requests.unwrap_or(self.max_requests),
            max_requests_jitter: own.max_requests_jitter.unwrap_or(self.max_requests_jitter),
            timeout: own.timeout.unwrap_or(self.timeout),
            python: own.python.clone().unwrap_or_else(|| self.python.clone()),
            preload: own.preload.unwrap_or(self.preload),
            accept: own.accept.unwrap_or(self.accept),
            backlog: self.backlog,
        }
    }
}
