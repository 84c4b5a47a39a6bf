//! Worker pools, the third mode: processes that stay alive between requests, spoken to
//! over FastCGI, kept alive by a supervisor. Read it in this order:
//!
//! - [`worker`]: one worker's life as a state machine (STARTING, RUNNING idle or busy,
//!   STOPPING), with supervisord's names;
//! - [`state`]: what request threads and the supervisor share about a pool: its workers,
//!   its status (DORMANT, RUNNING, BACKOFF, HELD, FAILED) and the line of requests
//!   waiting;
//! - [`arbiter`]: the supervisor's loop (after gunicorn's arbiter), which sleeps on the
//!   workers' pidfds and on [`events`], and whose steps are [`boot`] (starting workers,
//!   counting failed starts), [`reap`] (reaping and killing) and [`retire`] (resizing and
//!   graceful retirement), all timed by [`policy`];
//! - [`spawn`]: starting one process: its own listening socket as descriptor 0, its own
//!   process group, a clean signal state, death with the server;
//! - [`shared_accept`]: the other design, `--accept shared`: one listening socket every
//!   worker accepts on, and the heartbeat that tells the supervisor a worker is stuck;
//! - [`worker_log`]: a worker's stdout and stderr, copied into the server's log line by line;
//! - [`group`]: ending what a worker started (its cgroup, its log) once it is reaped;
//! - [`host`]: one HTTP request answered with a leased worker;
//! - `wsgi_worker.py`: the worker cgilab ships for WSGI apps, written to be read.
//!
//! [`Pools::start`] starts them all; [`PoolEvent`]s (from signals) steer them.

pub mod arbiter;
pub mod boot;
pub mod events;
pub mod group;
pub mod host;
pub mod policy;
pub mod preload;
pub mod preloaders;
pub mod program;
pub mod reap;
pub mod retire;
pub mod shared_accept;
pub mod spawn;
pub mod state;
pub mod worker;
pub mod worker_log;

use std::collections::HashMap;
use std::io;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crate::config::Config;
use crate::config::pool_settings::Accept;
use crate::config::pools::PoolStart;
use crate::process::private_dir;
use std::time::{Duration, Instant};

pub use events::PoolEvent;
pub use spawn::Program;
pub use state::{Ending, Lease, Shared, Status, Unavailable};
pub use worker::Phase;

/// The WSGI worker's source, written to a private file when the server starts so that
/// cgilab runs from any directory.
pub const WSGI_WORKER: &str = include_str!("wsgi_worker.py");

/// One pool, as the index page shows it.
#[derive(Debug, Clone)]
pub struct PoolView {
    pub name: String,
    /// What it runs: the app's file, or `module:callable`.
    pub app: String,
    pub status: Status,
    /// How its workers get their requests; with `shared`, the socket's listen backlog
    /// and the connections waiting in it now (if the kernel said).
    pub accept: crate::config::pool_settings::Accept,
    pub backlog: Option<(u32, Option<u32>)>,
    /// With `--preload`: the process new workers are forked from, and its memory.
    pub preloader: Option<(u32, Option<crate::process::memory::Memory>)>,
    /// Oldest first.
    pub workers: Vec<WorkerView>,
}

/// One worker, as the index page shows it.
#[derive(Debug, Clone)]
pub struct WorkerView {
    pub pid: u32,
    pub phase: Phase,
    /// Requests it serves now, and at most at once.
    pub in_flight: usize,
    pub capacity: usize,
    pub served: u64,
    pub age: Duration,
    /// Why it is being replaced (recycled, reloaded, fewer workers), if it is.
    pub leaving: Option<&'static str>,
    /// Requests it served past `--max-requests`, when no other worker was idle.
    pub past_limit: u64,
    /// Its own `--max-requests` (jitter included), 0 for never.
    pub max_requests: u64,
    /// Its memory now (RSS, PSS, USS), if it could be read.
    pub memory: Option<crate::process::memory::Memory>,
}

/// Every pool of a server, and the supervisor that runs them.
pub struct Pools {
    pools: HashMap<String, Arc<Shared>>,
    names: Vec<String>,
    events: events::Events,
    arbiter: Mutex<Option<JoinHandle<()>>>,
    /// The worker's source and the sockets' directory; removed when the pools go.
    _dir: tempfile::TempDir,
}

impl Pools {
    /// Starts the supervisor with the pools `config` asks for; workers boot in the
    /// background (an on-demand pool's on its first request), and requests that come
    /// before one is ready wait for it.
    pub fn start(config: &Config) -> io::Result<Pools> {
        remove_stale_dirs();
        let dir = private_dir::create(&format!("{DIR_PREFIX}{}-", std::process::id()))?;
        let worker = dir.path().join("wsgi_worker.py");
        std::fs::write(&worker, WSGI_WORKER)?;
        let (events, inbox) = events::channel()?;
        let mut runs = Vec::new();
        let mut pools = HashMap::new();
        for (index, pool) in config.pools.iter().enumerate() {
            let settings = config.settings(pool);
            let mut shared = Shared::new(
                &pool.name,
                &pool.app.describe(),
                settings.workers.max(1),
                (settings.max_requests, settings.max_requests_jitter),
                settings.timeout,
                events.clone(),
            );
            if settings.accept == Accept::Shared {
                let path = dir.path().join(format!("pool-{index}.sock"));
                let socket = shared_accept::SharedSocket::bind(path, settings.backlog)?;
                shared = shared.sharing(socket);
            }
            let shared = Arc::new(shared);
            if pool.start == PoolStart::OnDemand {
                shared.lock().status = Status::Dormant;
            }
            pools.insert(pool.name.clone(), shared.clone());
            let program = program::for_pool(pool, config, &worker);
            let preload = program::preloader(pool, config, &worker);
            if settings.preload && preload.is_none() {
                crate::log!(
                    "pool {}: --preload is for WSGI pools; {} starts each worker itself",
                    pool.name,
                    program.program.display()
                );
            }
            let preload = preload.map(preloaders::Preloaders::new);
            let capacity = program::capacity(pool, config);
            let mut run = boot::PoolRun::new(shared, program, preload, capacity);
            run.beats = program::beats(pool, config);
            if settings.accept == Accept::Shared && !run.beats {
                crate::log!(
                    "pool {}: --accept shared: its program keeps no heartbeat, so a request \
                     stuck in it past --timeout leaves its worker stuck, and --max-requests \
                     is not counted",
                    pool.name
                );
            }
            runs.push(run);
        }
        let dir_path = dir.path().to_path_buf();
        let arbiter = arbiter::Arbiter::new(runs, inbox, events.clone(), dir_path);
        let handle = std::thread::Builder::new()
            .name("pool-arbiter".into())
            .spawn(move || arbiter.run())?;
        Ok(Pools {
            pools,
            names: config.pools.iter().map(|p| p.name.clone()).collect(),
            events,
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

    /// Sends the supervisor an event.
    pub fn send(&self, event: PoolEvent) {
        self.events.send(event);
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
                        phase: w.phase(),
                        in_flight: w.in_flight(),
                        capacity: w.capacity,
                        served: w.served,
                        age: now - w.started,
                        leaving: w.leaving.map(|l| l.as_str()),
                        past_limit: w.past_limit(),
                        max_requests: w.max_requests,
                        memory: crate::process::memory::of(w.pid),
                    })
                    .collect();
                workers.sort_by_key(|w| std::cmp::Reverse(w.age));
                PoolView {
                    name: name.clone(),
                    app: pool.app.clone(),
                    status: state.status.clone(),
                    accept: match pool.socket {
                        Some(_) => Accept::Shared,
                        None => Accept::Dispatch,
                    },
                    backlog: pool.socket.as_ref().map(|s| (s.backlog, s.waiting())),
                    preloader: state
                        .preloader
                        .map(|pid| (pid, crate::process::memory::of(pid))),
                    workers,
                }
            })
            .collect()
    }

    /// Stops every worker (SIGTERM, and SIGKILL after `grace`) and waits until they are
    /// reaped, then removes the pools' directory (the server exits without running
    /// destructors). The supervisor does the work in its own loop; requests still waiting
    /// for a worker get 503.
    pub fn stop(&self, grace: Duration) {
        self.events.send(PoolEvent::Stop { grace });
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
        self.stop(policy::QUICK_STOP_GRACE);
    }
}

#[cfg(test)]
mod tests;
