//! Worker pools, the third mode: processes that stay alive between requests, spoken to
//! over FastCGI, kept alive by a supervisor.
//!
//! - [`spawn`] starts one worker: its own listening socket as descriptor 0, its own
//!   process group, a clean signal state, death with the server;
//! - [`group`] ends what a worker started (its cgroup, its log) once it is reaped;
//! - [`state`] is what request threads and the supervisor share: workers, the idle
//!   ones, and the first-come-first-served line of requests waiting for one;
//! - [`arbiter`] is the supervisor's loop (after gunicorn's arbiter), whose steps are
//!   [`boot`] (starting workers, back-off, FAILED), [`reap`] (reaping, killing,
//!   stopping) and [`retire`] (reload, resize, graceful retirement);
//! - [`host`] answers one HTTP request with a leased worker;
//! - `wsgi_worker.py` is the worker cgilab ships for WSGI apps, written to be read.
//!
//! [`Pools::start`] starts them all; [`PoolEvent`]s (from signals) steer them.

pub mod arbiter;
pub mod boot;
pub mod group;
pub mod host;
pub mod reap;
pub mod retire;
pub mod spawn;
pub mod state;

use std::collections::HashMap;
use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crate::config::Config;
use crate::config::pools::PoolApp;
use crate::process::private_dir;
use std::time::{Duration, Instant};

pub use spawn::Program;
pub use state::{Ending, Lease, Phase, Shared, Status, Unavailable};

/// The WSGI worker's source, written to a private file when the server starts so that
/// cgilab runs from any directory.
pub const WSGI_WORKER: &str = include_str!("wsgi_worker.py");

/// What steers the supervisor: signals (through the server's signal handling) and the
/// pools themselves.
#[derive(Debug)]
pub enum PoolEvent {
    /// SIGHUP: replace every worker gracefully; a failed pool tries again.
    Reload,
    /// SIGTTIN: one worker more per pool.
    AddWorker,
    /// SIGTTOU: one worker fewer per pool (never below one).
    RemoveWorker,
    /// SIGINT/SIGTERM: stop every worker.
    Stop,
    /// Something changed (a worker was handed back); look again now.
    Wake,
    /// A worker's readiness probe ended.
    Booted {
        pool: usize,
        id: u64,
        ready: Result<(), String>,
    },
}

/// What a pool runs.
#[derive(Debug, Clone)]
pub enum Kind {
    /// A WSGI callable in a Python file, run by cgilab's worker.
    Wsgi {
        python: PathBuf,
        file: PathBuf,
        callable: String,
    },
    /// Any FastCGI responder program (php-cgi, a flup script, ...) serving `file`.
    FastCgi { program: Program, file: PathBuf },
}

/// One pool as configured.
#[derive(Debug, Clone)]
pub struct PoolSpec {
    pub name: String,
    pub kind: Kind,
    /// The environment every worker starts with (the same `PATH` and `--env` as scripts).
    pub env: Vec<(String, String)>,
    pub workers: usize,
    /// Recycle a worker after this many requests (0: never).
    pub max_requests: u64,
}

impl PoolSpec {
    /// The app file the pool serves.
    pub fn file(&self) -> &Path {
        match &self.kind {
            Kind::Wsgi { file, .. } | Kind::FastCgi { file, .. } => file,
        }
    }

    /// The pools `config` asks for.
    pub fn all_from(config: &Config) -> Vec<PoolSpec> {
        config
            .pools
            .iter()
            .map(|pool| PoolSpec {
                name: pool.name.clone(),
                kind: match &pool.app {
                    PoolApp::Wsgi { file, callable } => Kind::Wsgi {
                        python: config.python.clone(),
                        file: file.clone(),
                        callable: callable.clone(),
                    },
                    PoolApp::FastCgi {
                        program,
                        args,
                        file,
                    } => Kind::FastCgi {
                        program: Program {
                            program: program.clone(),
                            args: args.iter().map(OsString::from).collect(),
                            env: fastcgi_env(program),
                            dir: file.parent().unwrap_or(Path::new("/")).to_path_buf(),
                        },
                        file: file.clone(),
                    },
                },
                env: config.site.extra.clone(),
                workers: config.workers,
                max_requests: config.max_requests,
            })
            .collect()
    }
}

/// What a FastCGI program needs in its own environment besides PATH and `--env`.
fn fastcgi_env(program: &Path) -> Vec<(String, String)> {
    let php = program
        .file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with("php"));
    if php {
        // php-cgi exits after 500 requests by default; recycling is --max-requests' job.
        vec![("PHP_FCGI_MAX_REQUESTS".to_string(), "0".to_string())]
    } else {
        Vec::new()
    }
}

/// One pool, as the index page shows it.
#[derive(Debug, Clone)]
pub struct PoolView {
    pub name: String,
    pub file: PathBuf,
    pub status: Status,
    /// Oldest first.
    pub workers: Vec<WorkerView>,
}

/// One worker, as the index page shows it.
#[derive(Debug, Clone)]
pub struct WorkerView {
    pub pid: u32,
    pub phase: Phase,
    pub served: u64,
    pub age: Duration,
    /// Why it is being replaced (recycled, reloaded, fewer workers), if it is.
    pub leaving: Option<&'static str>,
    /// Requests it served past `--max-requests`, when no other worker was idle.
    pub past_limit: u64,
}

/// Every pool of a server, and the supervisor that runs them.
pub struct Pools {
    pools: HashMap<String, Arc<Shared>>,
    names: Vec<String>,
    events: Sender<PoolEvent>,
    arbiter: Mutex<Option<JoinHandle<()>>>,
    /// The worker's source and the sockets' directory; removed when the pools go.
    _dir: tempfile::TempDir,
}

impl Pools {
    /// Starts the supervisor with `specs`; workers boot in the background, and requests
    /// that come before one is ready wait for it. `timeout` is `--timeout`.
    pub fn start(specs: &[PoolSpec], timeout: Duration) -> io::Result<Pools> {
        remove_stale_dirs();
        let dir = private_dir::create(&format!("{DIR_PREFIX}{}-", std::process::id()))?;
        let worker = dir.path().join("wsgi_worker.py");
        std::fs::write(&worker, WSGI_WORKER)?;
        let (sender, receiver) = mpsc::channel();
        let mut runs = Vec::new();
        let mut pools = HashMap::new();
        for spec in specs {
            let shared = Arc::new(Shared::new(
                &spec.name,
                spec.file(),
                spec.max_requests,
                sender.clone(),
            ));
            pools.insert(spec.name.clone(), shared.clone());
            let program = program_for(spec, &worker);
            runs.push(arbiter::PoolRun::new(shared, program, spec.workers.max(1)));
        }
        let arbiter = arbiter::Arbiter {
            pools: runs,
            events: receiver,
            sender: sender.clone(),
            dir: dir.path().to_path_buf(),
            timeout,
            next_id: 1,
        };
        let handle = std::thread::Builder::new()
            .name("pool-arbiter".into())
            .spawn(move || arbiter.run())?;
        Ok(Pools {
            pools,
            names: specs.iter().map(|s| s.name.clone()).collect(),
            events: sender,
            arbiter: Mutex::new(Some(handle)),
            _dir: dir,
        })
    }

    /// The pool called `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<Shared>> {
        self.pools.get(name)
    }

    /// Pool names, in the order given.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Where signals send their events.
    pub fn events(&self) -> Sender<PoolEvent> {
        self.events.clone()
    }

    /// Sends the supervisor an event.
    pub fn send(&self, event: PoolEvent) {
        let _ = self.events.send(event);
    }

    /// Each pool's status and workers, for the index page.
    pub fn view(&self) -> Vec<PoolView> {
        self.names
            .iter()
            .map(|name| {
                let pool = &self.pools[name];
                let state = pool.lock();
                let now = Instant::now();
                let mut workers: Vec<WorkerView> = state
                    .workers
                    .iter()
                    .map(|w| WorkerView {
                        pid: w.pid,
                        phase: w.phase,
                        served: w.served,
                        age: now - w.started,
                        leaving: w.doomed,
                        past_limit: w.past_limit(state.max_requests),
                    })
                    .collect();
                workers.sort_by_key(|w| std::cmp::Reverse(w.age));
                PoolView {
                    name: name.clone(),
                    file: pool.file.clone(),
                    status: state.status.clone(),
                    workers,
                }
            })
            .collect()
    }

    /// Stops every worker and waits until they are reaped, then removes the pools'
    /// directory (the server exits without running destructors on SIGTERM).
    pub fn stop(&self) {
        let _ = self.events.send(PoolEvent::Stop);
        let handle = self.arbiter.lock().ok().and_then(|mut h| h.take());
        if let Some(handle) = handle {
            let _ = handle.join();
        }
        let _ = std::fs::remove_dir_all(self._dir.path());
    }
}

/// The pools' directory in the temp folder: `cgilab-pools-PID-XXXXXX`, 0700, with a
/// marker that says whose it is.
const DIR_PREFIX: &str = "cgilab-pools-";

/// Removes the directories of servers that are gone without cleaning up (killed with
/// SIGKILL): only ours, of this pid namespace, whose marker names a process that is gone
/// ([`private_dir`]).
fn remove_stale_dirs() {
    private_dir::remove_stale(&std::env::temp_dir(), DIR_PREFIX);
}

impl Drop for Pools {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The command line of a pool's workers.
fn program_for(spec: &PoolSpec, worker: &Path) -> Program {
    match &spec.kind {
        Kind::Wsgi {
            python,
            file,
            callable,
        } => Program {
            program: python.clone(),
            // -u: the log gets lines as they are written.
            args: vec![
                OsString::from("-u"),
                worker.into(),
                file.into(),
                callable.into(),
            ],
            env: spec.env.clone(),
            dir: file.parent().unwrap_or(Path::new("/")).to_path_buf(),
        },
        Kind::FastCgi { program, .. } => {
            let mut program = program.clone();
            program.env.extend(spec.env.iter().cloned());
            program
        }
    }
}

#[cfg(test)]
mod tests;
