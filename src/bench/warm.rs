//! Before `cgilab bench` measures: one uncounted request to each target, then a wait until
//! every pool it loads on its own server is ready.
//!
//! The first request to anything pays for cold caches, and the first request to a pool
//! the server starts on demand (a `NAME_wsgi.py` twin) starts its workers. The request
//! returns once one worker is ready; the others are still booting Python on the same
//! cores, and a turn timed then measures the boot, not the pool. So the bench reads the
//! server's index page, which shows each worker's state, until no worker of the pool is
//! starting, and says in one line that it waited.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::bench::load::{GRACE, load};
use crate::bench::target::Target;
use crate::client::http::{Req, request};
use crate::request::route::POOL_PREFIX;
use crate::server::index::escape;

/// How long the uncounted first request to each target may take, besides the grace.
const WARM_UP: Duration = Duration::from_secs(8);
/// How long a pool may take to have every worker ready: a booting Flask or Django app on
/// a busy machine takes seconds per worker, and a failed start is tried again a few times.
const READY_WITHIN: Duration = Duration::from_secs(60);
/// How often the index page is read while a pool boots.
const LOOK_EVERY: Duration = Duration::from_millis(50);

/// A pool as the index page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    /// Running, with this many workers, none of them starting.
    Ready(usize),
    /// Dormant, backing off, or some worker is still starting.
    Starting,
    /// It gave up starting its app (FAILED or HELD): waiting will not help.
    GaveUp,
    /// The page does not show it (no index page: `--no-lab`, or a mount at `/`).
    Unknown,
}

/// Sends one uncounted request to each target and, for the pools of the bench's own
/// server, waits until each is ready. Returns each target's first latency (the slowest
/// so far, which sets the grace of its first turn).
pub fn warm_up(targets: &[Target]) -> Vec<Duration> {
    let first: Vec<Duration> = targets
        .iter()
        .map(|t| {
            let first = load(t.addr, &t.host, &t.path, 1, WARM_UP, 1, GRACE);
            first.latencies.last().copied().unwrap_or_default()
        })
        .collect();
    let mut pools: Vec<(SocketAddr, &str)> = Vec::new();
    for t in targets.iter().filter(|t| t.own) {
        if let Some(name) = pool_name(&t.path)
            && !pools.contains(&(t.addr, name))
        {
            pools.push((t.addr, name));
        }
    }
    if pools.is_empty() {
        return first;
    }
    let started = Instant::now();
    let said: Vec<String> = pools
        .iter()
        .map(|&(addr, name)| match wait_until_ready(addr, name) {
            Readiness::Ready(n) => format!("{POOL_PREFIX}{name} ({n} ready)"),
            Readiness::GaveUp => format!("{POOL_PREFIX}{name} (cannot start its app)"),
            Readiness::Starting => format!("{POOL_PREFIX}{name} (still starting)"),
            Readiness::Unknown => format!("{POOL_PREFIX}{name} (not shown on the index page)"),
        })
        .collect();
    eprintln!(
        "bench: waited {:.1} s for every worker of {} before measuring",
        started.elapsed().as_secs_f64(),
        said.join(", ")
    );
    first
}

/// `hello` in `/pool/hello/more?x`.
fn pool_name(path: &str) -> Option<&str> {
    let rest = path.strip_prefix(POOL_PREFIX)?;
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    (end > 0).then(|| &rest[..end])
}

/// Reads the index page of the server at `addr` until pool `name` is ready, gives up,
/// or [`READY_WITHIN`] passes.
fn wait_until_ready(addr: SocketAddr, name: &str) -> Readiness {
    let deadline = Instant::now() + READY_WITHIN;
    loop {
        let seen = match request(addr, &Req::get("/")) {
            Ok(page) if page.status == 200 => readiness(&String::from_utf8_lossy(&page.body), name),
            _ => Readiness::Unknown,
        };
        if seen != Readiness::Starting || Instant::now() >= deadline {
            return seen;
        }
        std::thread::sleep(LOOK_EVERY);
    }
}

/// Pool `name`'s readiness, from the index page `html` ([`crate::server::index`]): its
/// heading, a line `APP: STATUS`, and a table with a row per worker whose second cell is
/// its state.
pub fn readiness(html: &str, name: &str) -> Readiness {
    let heading = format!("<h3>{}</h3>\n<p>", escape(name));
    let Some(at) = html.find(&heading) else {
        return Readiness::Unknown;
    };
    let rest = &html[at + heading.len()..];
    let (status, rest) = rest.split_once("</p>").unwrap_or((rest, ""));
    let table = rest.split("</table>").next().unwrap_or("");
    let states: Vec<&str> = table
        .lines()
        .filter_map(|row| row.strip_prefix("<tr><td>")?.split("</td><td>").nth(1))
        .filter(|state| !state.starts_with("preloader"))
        .collect();
    if status.contains(": FAILED") || status.contains(": HELD") {
        Readiness::GaveUp
    } else if status.ends_with(": running")
        && !states.is_empty()
        && !states.iter().any(|s| s.starts_with("starting"))
    {
        Readiness::Ready(states.len())
    } else {
        Readiness::Starting
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::stats::Stats;
    use crate::pool::{Phase, PoolView, Status, WorkerView};

    fn page(status: Status, phases: &[Phase]) -> String {
        let workers = phases
            .iter()
            .enumerate()
            .map(|(i, &phase)| WorkerView {
                pid: 100 + i as u32,
                phase,
                in_flight: 0,
                capacity: 1,
                served: 0,
                age: Duration::from_secs(1),
                leaving: None,
                past_limit: 0,
                max_requests: 0,
                memory: None,
            })
            .collect();
        let pools = [PoolView {
            name: "hello".into(),
            app: "/srv/a: b/hello_wsgi.py".into(),
            status,
            preloader: Some((99, None)),
            workers,
            accept: crate::config::pool_settings::Accept::Dispatch,
            backlog: None,
        }];
        crate::server::index::page(["hello"].into_iter(), &[], &pools, &[], &Stats::default())
    }

    #[test]
    fn a_pool_is_ready_once_it_runs_and_no_worker_is_starting() {
        use Phase::*;
        let ready = |status, phases: &[Phase]| readiness(&page(status, phases), "hello");
        assert_eq!(ready(Status::Running, &[Idle, Busy]), Readiness::Ready(2));
        assert_eq!(
            ready(Status::Running, &[Idle, Starting]),
            Readiness::Starting
        );
        assert_eq!(ready(Status::Running, &[]), Readiness::Starting);
        assert_eq!(ready(Status::Dormant, &[]), Readiness::Starting);
        assert_eq!(ready(Status::Backoff, &[Idle]), Readiness::Starting);
        assert_eq!(ready(Status::Failed("boom".into()), &[]), Readiness::GaveUp);
        assert_eq!(
            readiness(&page(Status::Running, &[Idle]), "other"),
            Readiness::Unknown
        );
    }

    #[test]
    fn a_pool_target_names_its_pool() {
        assert_eq!(pool_name("/pool/hello"), Some("hello"));
        assert_eq!(pool_name("/pool/notes/notes/1?x"), Some("notes"));
        assert_eq!(pool_name("/pool/"), None);
        assert_eq!(pool_name("/app/hello"), None);
    }
}
