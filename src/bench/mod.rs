//! `cgilab bench`: a bounded load generator that puts CGI, gateway and pool twins side by
//! side.
//!
//! Without `--url` it starts its own server (this same binary, `serve --quiet`, on
//! 127.0.0.1:0, with the pool flags it was given) over a temporary cgi-bin holding the
//! hello twins (whose `hello_wsgi.py` also gets a pool when python3 is there), loads each
//! target at
//! each concurrency over keep-alive connections, and measures in the same run the raw
//! spawn floor of each script: spawn, drain stdout, wait, with no HTTP at all. The
//! difference between a CGI hello and the gateway hello is what a process per request
//! costs; the floor says how much of that is the operating system's.

pub mod floor;
pub mod load;
pub mod report;

use std::net::{SocketAddr, ToSocketAddrs};
use std::process::Command;
use std::time::Duration;

use crate::bench::floor::spawn_times;
use crate::bench::load::{Run, load};
use crate::bench::report::{csv, json, table};
use crate::client::ServerProcess;
use crate::request::route::{APP_PREFIX, CGI_PREFIX, POOL_PREFIX};

/// What `cgilab bench` runs: the command line's arguments, as plain values.
#[derive(Debug, Clone)]
pub struct Plan {
    /// A server that is already running (e.g. http://127.0.0.1:8000), or `None` to start one.
    pub url: Option<String>,
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
    /// Flags for the server the bench starts: `--wsgi`, `--fastcgi`, `--workers`, `--python`.
    pub server_args: Vec<String>,
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Csv,
    Json,
}

/// The hello twins, as they stand in cgi-bin, so the bench needs no checkout.
const HELLO_SCRIPTS: [(&str, &str); 4] = [
    ("hello.sh", include_str!("../../cgi-bin/hello.sh")),
    ("hello.pl", include_str!("../../cgi-bin/hello.pl")),
    ("hello.py", include_str!("../../cgi-bin/hello.py")),
    ("hello_wsgi.py", include_str!("../../cgi-bin/hello_wsgi.py")),
];
/// Length of one turn of a target, in seconds.
const SLICE_SECS: f64 = 0.5;
/// The compiled twin, built next to `cgilab`.
const COMPILED: &str = "hello-cgi";

/// A server the bench started, and where its scripts are.
struct OwnServer {
    process: ServerProcess,
    cgi_bin: tempfile::TempDir,
}

/// Runs `cgilab bench`.
pub fn run(args: &Plan) -> Result<(), String> {
    if args.concurrency.iter().any(|&c| c == 0 || c > 1024) {
        return Err("--concurrency takes numbers from 1 to 1024, e.g. --concurrency 1,8".into());
    }
    let (server, addr) = match &args.url {
        Some(url) => (None, target_addr(url, args.allow_remote)?),
        None => {
            let s = start_server(&args.server_args)?;
            let addr = s.process.addr;
            (Some(s), addr)
        }
    };
    let targets = if args.targets.is_empty() {
        let mut t: Vec<String> = HELLO_SCRIPTS
            .iter()
            .map(|(n, _)| format!("{CGI_PREFIX}{n}"))
            .collect();
        let compiled = server
            .as_ref()
            .is_none_or(|s| s.cgi_bin.path().join(COMPILED).exists());
        if compiled {
            t.insert(0, format!("/cgi-bin/{COMPILED}"));
        }
        t.push(format!("{APP_PREFIX}hello"));
        // The default pool for hello_wsgi.py, when python3 is there to run it.
        let python = crate::config::pools::find_program(std::path::Path::new("python3"));
        let own_pools = args
            .server_args
            .iter()
            .any(|a| a == "--wsgi" || a == "--fastcgi");
        if server.is_some() && !own_pools && python.is_some() {
            t.push(format!("{POOL_PREFIX}hello"));
        }
        t.push(crate::server::RAW_ROUTE.to_string());
        t
    } else {
        args.targets.clone()
    };
    if let Some(bad) = targets.iter().find(|t| !t.starts_with('/')) {
        return Err(format!(
            "--targets {bad}: a target is a path starting with `/`"
        ));
    }

    // A pool's workers boot in the background: wait for them before measuring.
    for target in targets.iter().filter(|t| t.starts_with(POOL_PREFIX)) {
        let req = crate::client::http::Req::get(target);
        crate::client::http::request(addr, &req)
            .map_err(|e| format!("warming up {target}: {e}"))?;
    }

    // Targets take turns in short slices, round after round, so a machine that gets
    // busier or quieter during the run weighs on every target alike: the ratios between
    // them are what this command is for.
    let rounds = (args.duration.as_secs_f64() / SLICE_SECS).ceil().max(1.0) as u32;
    let slice = args.duration / rounds;
    let per_slice = (args.max_requests / u64::from(rounds)).max(1);
    let mut runs: Vec<Run> = Vec::new();
    let mut floor_samples: Vec<(String, Vec<Duration>)> = Vec::new();
    for &c in &args.concurrency {
        for round in 1..=rounds {
            eprintln!("bench: concurrency {c}, round {round} of {rounds}");
            for target in &targets {
                // The bare spawn takes its turn beside the script's own slices.
                if let (Some(s), Some(name), true) = (
                    &server,
                    target.strip_prefix(CGI_PREFIX),
                    c == args.concurrency[0],
                ) {
                    let times = spawn_times(s.cgi_bin.path(), name, slice / 2);
                    match floor_samples.iter_mut().find(|(t, _)| t == target) {
                        Some((_, all)) => all.extend(times),
                        None => floor_samples.push((target.clone(), times)),
                    }
                }
                let slice_run = load(addr, target, c, slice, per_slice);
                match runs
                    .iter_mut()
                    .find(|r| r.target == *target && r.concurrency == c)
                {
                    Some(run) => run.merge(slice_run),
                    None => runs.push(slice_run),
                }
            }
        }
    }
    let floors: Vec<(String, Duration)> = floor_samples
        .into_iter()
        .filter(|(_, times)| !times.is_empty())
        .map(|(t, times)| (t, times.iter().sum::<Duration>() / times.len() as u32))
        .collect();
    let rss = server.as_ref().and_then(|s| peak_rss_kib(s.process.pid()));
    drop(server);

    let out = match args.format {
        Format::Table => table(&runs, &floors, rss),
        Format::Csv => csv(&runs),
        Format::Json => json(&runs, &floors, rss),
    };
    print!("{out}");
    Ok(())
}

/// Starts `cgilab serve` on a free port over a temporary cgi-bin of hello twins, with
/// `extra` arguments (pool flags).
fn start_server(extra: &[String]) -> Result<OwnServer, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
    let dir = tempfile::tempdir().map_err(|e| format!("cannot make a temporary cgi-bin: {e}"))?;
    for (name, text) in HELLO_SCRIPTS {
        std::fs::write(dir.path().join(name), text).map_err(|e| e.to_string())?;
    }
    let compiled = exe.with_file_name(COMPILED);
    if compiled.exists() {
        std::fs::copy(&compiled, dir.path().join(COMPILED)).map_err(|e| e.to_string())?;
    } else {
        eprintln!(
            "bench: no {COMPILED} next to cgilab (build it with `cargo build --release`); skipping it"
        );
    }
    let mut cmd = Command::new(&exe);
    cmd.args([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--quiet",
        "--max-procs",
        "256",
        "--threads",
        "128",
    ])
    .arg("--cgi-bin")
    .arg(dir.path())
    .args(extra);
    let process = ServerProcess::start(cmd, Duration::from_secs(10))
        .map_err(|e| format!("the server did not start: {e}"))?;
    Ok(OwnServer {
        process,
        cgi_bin: dir,
    })
}

/// The address of `--url`, refusing one that is not on this machine.
fn target_addr(url: &str, allow_remote: bool) -> Result<SocketAddr, String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("--url {url}: only http:// URLs, e.g. http://127.0.0.1:8000"))?;
    let authority = rest.split('/').next().unwrap_or("");
    let with_port = if authority.contains(':') && !authority.ends_with(']') {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    let addr = with_port
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .ok_or_else(|| format!("--url {url}: cannot resolve `{authority}`"))?;
    if !addr.ip().is_loopback() && !allow_remote {
        return Err(format!(
            "--url {url} is not on this machine; a load test of another host needs --allow-remote"
        ));
    }
    Ok(addr)
}

/// The server's peak resident set (VmHWM), in KiB.
fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
