//! `cgilab bench`: a bounded load generator that puts CGI, gateway and pool twins side by
//! side, and other servers beside them.
//!
//! Without `--url` it starts its own server ([`own_server`]: this same binary, `serve
//! --quiet`, on 127.0.0.1:0, with the pool flags and `serve` arguments it was given) over
//! `--cgi-bin` or a temporary cgi-bin holding the hello twins (whose `hello_wsgi.py` also
//! gets a pool, started on its first request), loads each target at each concurrency over
//! keep-alive connections ([`load`](mod@load)), and measures in the same run the raw spawn
//! floor of each script ([`floor`]): spawn, drain stdout, wait, with no HTTP at all.
//! Nothing is timed before each target has had one request and each pool it loads is
//! ready ([`warm`]). `--url LABEL=URL` adds
//! other servers ([`target`]), gunicorn say, to the same interleaved run. The report
//! ([`report`]) is a table, CSV or JSON, and `--chart` draws it ([`chart`]). A run in
//! which anything answered an error is reported, then fails.

pub mod chart;
pub mod floor;
pub mod load;
pub mod own_server;
pub mod phase_chart;
pub mod phases;
pub mod report;
pub mod target;
pub mod warm;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use crate::bench::floor::spawn_times;
use crate::bench::load::{Run, grace_after, load};
use crate::bench::own_server::{COMPILED, HELLO_SCRIPTS, OwnServer};
use crate::bench::report::{csv, json, problems, table};
use crate::bench::target::{OWN, Target, mode, parse_url};
use crate::request::route::{APP_PREFIX, CGI_PREFIX, POOL_PREFIX};

/// What `cgilab bench` runs: the command line's arguments, as plain values.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Servers already running, as `[LABEL=]http://HOST:PORT[/PATH]`. One without a path
    /// is loaded with `targets` instead of the bench's own server; one with a path is a
    /// target of its own, beside the bench's own server.
    pub urls: Vec<String>,
    /// The bench's own server's scripts; `None` for the hello twins.
    pub cgi_bin: Option<PathBuf>,
    /// More arguments for the bench's own `cgilab serve`.
    pub serve_args: Vec<String>,
    /// How long to load each target at each concurrency, in turns of half a second.
    pub duration: Duration,
    /// Concurrent keep-alive connections.
    pub concurrency: Vec<usize>,
    /// Paths to load; empty for the hello twins and /raw.
    pub targets: Vec<String>,
    /// Most requests in one run, a bound besides `duration`.
    pub max_requests: u64,
    /// Output format.
    pub format: Format,
    /// Allow a `url` that is not on this machine.
    pub allow_remote: bool,
    /// Where to draw the latencies as SVG.
    pub chart: Option<PathBuf>,
    /// Where to draw each target's `Server-Timing` phases as SVG.
    pub chart_phases: Option<PathBuf>,
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Csv,
    Json,
}

/// Length of one turn of a target, in seconds.
const SLICE_SECS: f64 = 0.5;

/// Runs `cgilab bench`.
pub fn run(plan: &Plan) -> Result<(), String> {
    if plan.concurrency.iter().any(|&c| c == 0 || c > 1024) {
        return Err("--concurrency takes numbers from 1 to 1024, e.g. --concurrency 1,8".into());
    }
    if let Some(bad) = plan.targets.iter().find(|t| !t.starts_with('/')) {
        return Err(format!(
            "--targets {bad}: a target is a path starting with `/`"
        ));
    }
    let servers = plan
        .urls
        .iter()
        .map(|u| parse_url(u, plan.allow_remote))
        .collect::<Result<Vec<_>, _>>()?;
    let (whole, single): (Vec<_>, Vec<_>) = servers.into_iter().partition(|s| s.path.is_none());
    let for_own = plan.cgi_bin.is_some() || !plan.serve_args.is_empty();
    if !whole.is_empty() && for_own {
        return Err(format!(
            "--cgi-bin and the `serve` arguments after `--` are for the bench's own server, which does not start when --url {} names a server to load; give that URL a path, or drop --url",
            whole[0].label
        ));
    }
    // The bench's own server runs unless other servers take its place: a --url without a
    // path, or only --url targets with a path and nothing asked of it.
    let own = if whole.is_empty() && (single.is_empty() || !plan.targets.is_empty() || for_own) {
        Some(OwnServer::start(plan.cgi_bin.as_deref(), &plan.serve_args)?)
    } else {
        None
    };

    let mut targets: Vec<Target> = Vec::new();
    if let Some(s) = &own {
        let paths = if plan.targets.is_empty() {
            let mut paths = default_targets(|name| s.cgi_bin().join(name).is_file());
            // The server's default pool for hello_wsgi.py, unless pools were given, and
            // when there is a python3 to run it.
            let own_pools = plan
                .serve_args
                .iter()
                .any(|a| a == "--wsgi" || a == "--fastcgi");
            let python = crate::process::interpreter::find(std::path::Path::new("python3"));
            if s.cgi_bin().join("hello_wsgi.py").is_file() && !own_pools && python.is_some() {
                paths.insert(paths.len() - 1, format!("{POOL_PREFIX}hello"));
            }
            paths
        } else {
            plan.targets.clone()
        };
        for path in paths {
            if let Some(name) = script_name(&path)
                && !s.cgi_bin().join(name).is_file()
            {
                return Err(missing_script(&path, s.has_given_cgi_bin()));
            }
            targets.push(Target {
                label: OWN.into(),
                addr: s.process.addr,
                host: s.process.addr.to_string(),
                path,
                own: true,
            });
        }
    }
    for s in &whole {
        let paths = if plan.targets.is_empty() {
            default_targets(|_| true)
        } else {
            plan.targets.clone()
        };
        for path in paths {
            targets.push(Target {
                label: s.label.clone(),
                addr: s.addr,
                host: s.host.clone(),
                path,
                own: false,
            });
        }
    }
    for s in single {
        targets.push(Target {
            label: s.label,
            addr: s.addr,
            host: s.host,
            path: s.path.expect("has a path"),
            own: false,
        });
    }

    let (runs, floors) = load_in_turns(plan, &targets, own.as_ref());
    let rss = own.as_ref().and_then(OwnServer::peak_rss_kib);
    drop(own);

    let out = match plan.format {
        Format::Table => table(&runs, &floors, rss),
        Format::Csv => csv(&runs),
        Format::Json => json(&runs, &floors, rss),
    };
    // A reader that stopped early (`| head -1`) is no failure; the charts still go out.
    match std::io::stdout()
        .write_all(out.as_bytes())
        .and_then(|_| std::io::stdout().flush())
    {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            return Err(format!("cannot write the report: {e}"));
        }
        _ => {}
    }
    if let Some(path) = &plan.chart {
        std::fs::write(path, chart::svg(&runs))
            .map_err(|e| format!("--chart {}: cannot write it: {e}", path.display()))?;
    }
    if let Some(path) = &plan.chart_phases {
        std::fs::write(path, phase_chart::svg(&runs))
            .map_err(|e| format!("--chart-phases {}: cannot write it: {e}", path.display()))?;
    }
    let bad = problems(&runs);
    if !bad.is_empty() {
        for line in &bad {
            eprintln!("bench: {line}");
        }
        return Err(format!(
            "{} of {} runs answered errors or unexpected statuses; their figures time the failures, not the targets",
            bad.len(),
            runs.len()
        ));
    }
    Ok(())
}

/// Loads every target at every concurrency, taking turns, and times the spawn floor of
/// the own server's scripts beside them. Returns the runs and the floors (sorted times
/// by path).
fn load_in_turns(
    plan: &Plan,
    targets: &[Target],
    own: Option<&OwnServer>,
) -> (Vec<Run>, Vec<(String, Vec<Duration>)>) {
    // Targets take turns in short slices, round after round, so a machine that gets
    // busier or quieter during the run weighs on every target alike: the ratios between
    // them are what this command is for.
    let rounds = (plan.duration.as_secs_f64() / SLICE_SECS).ceil().max(1.0) as u32;
    let slice = plan.duration / rounds;
    let per_slice = (plan.max_requests / u64::from(rounds)).max(1);
    // One request each first, not counted, and every pool of the bench's own server
    // ready ([`warm`]). The slowest response of each target so far sets the grace of its
    // next turn.
    let mut slowest: Vec<Duration> = warm::warm_up(targets);
    // The floor of each script is timed as the bench's own server starts it.
    let floor_server = own.map(|s| floor::Server {
        addr: s.process.addr,
        cgi_bin: s
            .cgi_bin()
            .canonicalize()
            .unwrap_or_else(|_| s.cgi_bin().into()),
        serve_args: plan.serve_args.clone(),
    });
    let progress = Progress::new(rounds as usize * plan.concurrency.len() * targets.len());
    let mut runs: Vec<Run> = Vec::new();
    let mut floors: Vec<(String, Vec<Duration>)> = Vec::new();
    for &c in &plan.concurrency {
        for round in 1..=rounds {
            for (t, slowest) in targets.iter().zip(&mut slowest) {
                progress.step(&format!(
                    "concurrency {c}, round {round} of {rounds}: {} {}",
                    t.label, t.path
                ));
                // The bare spawn takes its turn beside the script's own slices.
                if let (Some(server), Some(_), true) = (
                    &floor_server,
                    script_name(&t.path),
                    c == plan.concurrency[0] && t.own,
                ) {
                    let times = spawn_times(server, &t.path, slice / 2);
                    match floors.iter_mut().find(|(p, _)| *p == t.path) {
                        Some((_, all)) => all.extend(times),
                        None => floors.push((t.path.clone(), times)),
                    }
                }
                let grace = grace_after(*slowest);
                let mut slice_run = load(t.addr, &t.host, &t.path, c, slice, per_slice, grace);
                *slowest = (*slowest).max(slice_run.latencies.last().copied().unwrap_or_default());
                slice_run.server = t.label.clone();
                match runs
                    .iter_mut()
                    .find(|r| r.server == t.label && r.target == t.path && r.concurrency == c)
                {
                    Some(run) => run.merge(slice_run),
                    None => runs.push(slice_run),
                }
            }
        }
    }
    progress.done();
    for r in &mut runs {
        let own = targets
            .iter()
            .any(|t| t.own && t.label == r.server && t.path == r.target);
        r.mode = mode(own, r.software.as_deref(), &r.target).to_string();
    }
    floors.retain(|(_, times)| !times.is_empty());
    for (_, times) in &mut floors {
        times.sort();
    }
    (runs, floors)
}

/// The hello twins that `present` says are there, the gateway hello and /raw.
fn default_targets(present: impl Fn(&str) -> bool) -> Vec<String> {
    let mut t: Vec<String> = std::iter::once(COMPILED)
        .chain(HELLO_SCRIPTS.iter().map(|(n, _)| *n))
        // Its rows would be one more Python start; /pool/hello is its row.
        .filter(|n| *n != "hello_wsgi.py")
        .filter(|n| present(n))
        .map(|n| format!("{CGI_PREFIX}{n}"))
        .collect();
    t.extend([
        format!("{APP_PREFIX}hello"),
        crate::server::RAW_ROUTE.to_string(),
    ]);
    t
}

/// `hello.sh` in `/cgi-bin/hello.sh/more?x`.
fn script_name(path: &str) -> Option<&str> {
    let rest = path.strip_prefix(CGI_PREFIX)?;
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    (end > 0).then(|| &rest[..end])
}

/// Why a script target cannot be loaded on the bench's own server, and what to do.
fn missing_script(path: &str, given: bool) -> String {
    if given {
        format!("{path}: no such script in --cgi-bin; check its name")
    } else {
        format!(
            "{path}: the bench's own server has only the hello twins; pass --cgi-bin ./cgi-bin to load your scripts, or --url http://127.0.0.1:8000 to load your running server"
        )
    }
}

/// A progress line on a terminal, rewritten in place; nothing when stderr is not one.
struct Progress {
    tty: bool,
    total: usize,
    done: std::cell::Cell<usize>,
}

impl Progress {
    fn new(total: usize) -> Progress {
        Progress {
            tty: std::io::stderr().is_terminal(),
            total,
            done: std::cell::Cell::new(0),
        }
    }

    fn step(&self, what: &str) {
        let n = self.done.get() + 1;
        self.done.set(n);
        if self.tty {
            // `\r` back to the start, ESC [K clears what a longer line left.
            eprint!("\r\x1b[Kbench: {n}/{} {what}", self.total);
        }
    }

    fn done(&self) {
        if self.tty {
            eprint!("\r\x1b[K");
        }
    }
}
