//! `cgilab bench`: a bounded load generator that puts CGI and gateway twins side by side.
//!
//! Without `--url` it starts its own server (this same binary, `serve --quiet`, on
//! 127.0.0.1:0) over a temporary cgi-bin holding the hello twins, loads each target at
//! each concurrency over keep-alive connections, and measures in the same run the raw
//! spawn floor of each script: spawn, drain stdout, wait, with no HTTP at all. The
//! difference between a CGI hello and the gateway hello is what a process per request
//! costs; the floor says how much of that is the operating system's.

pub mod load;

use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};

use crate::bench::load::{Run, load};
use crate::cgi::script::Script;
use crate::request::environ::{self, Invocation, RequestHead, Site};

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
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Csv,
    Json,
}

/// The hello twins, as they stand in cgi-bin, so the bench needs no checkout.
const HELLO_SCRIPTS: [(&str, &str); 3] = [
    ("hello.sh", include_str!("../../cgi-bin/hello.sh")),
    ("hello.pl", include_str!("../../cgi-bin/hello.pl")),
    ("hello.py", include_str!("../../cgi-bin/hello.py")),
];
/// Length of one turn of a target, in seconds.
const SLICE_SECS: f64 = 0.5;
/// The compiled twin, built next to `cgilab`.
const COMPILED: &str = "hello-cgi";

/// A server the bench started, and where its scripts are.
struct OwnServer {
    child: Child,
    addr: SocketAddr,
    cgi_bin: tempfile::TempDir,
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `cgilab bench`.
pub fn run(args: &Plan) -> Result<(), String> {
    if args.concurrency.iter().any(|&c| c == 0 || c > 1024) {
        return Err("--concurrency takes numbers from 1 to 1024, e.g. --concurrency 1,8".into());
    }
    let (server, addr) = match &args.url {
        Some(url) => (None, target_addr(url, args.allow_remote)?),
        None => {
            let s = start_server()?;
            let addr = s.addr;
            (Some(s), addr)
        }
    };
    let targets = if args.targets.is_empty() {
        let mut t: Vec<String> = HELLO_SCRIPTS
            .iter()
            .map(|(n, _)| format!("/cgi-bin/{n}"))
            .collect();
        let compiled = server
            .as_ref()
            .is_none_or(|s| s.cgi_bin.path().join(COMPILED).exists());
        if compiled {
            t.insert(0, format!("/cgi-bin/{COMPILED}"));
        }
        t.extend([
            "/app/hello".to_string(),
            crate::server::RAW_ROUTE.to_string(),
        ]);
        t
    } else {
        args.targets.clone()
    };
    if let Some(bad) = targets.iter().find(|t| !t.starts_with('/')) {
        return Err(format!(
            "--targets {bad}: a target is a path starting with `/`"
        ));
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
                    target.strip_prefix("/cgi-bin/"),
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
    let rss = server.as_ref().and_then(|s| peak_rss_kib(s.child.id()));
    drop(server);

    let out = match args.format {
        Format::Table => table(&runs, &floors, rss),
        Format::Csv => csv(&runs),
        Format::Json => json(&runs, &floors, rss),
    };
    print!("{out}");
    Ok(())
}

/// Starts `cgilab serve` on a free port over a temporary cgi-bin of hello twins.
fn start_server() -> Result<OwnServer, String> {
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
    let mut child = Command::new(&exe)
        .args([
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
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start the server: {e}"))?;
    let mut lines = BufReader::new(child.stderr.take().expect("piped")).lines();
    let addr = lines.next().and_then(Result::ok).and_then(|l| {
        let rest = l.split("http://").nth(1)?;
        rest.split_whitespace().next()?.parse().ok()
    });
    // Keep draining the server's stderr so it never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines.by_ref() {});
    let mut server = OwnServer {
        child,
        addr: "127.0.0.1:0".parse().unwrap(),
        cgi_bin: dir,
    };
    // On error, dropping `server` stops the child.
    server.addr = addr.ok_or("the server did not say where it listens")?;
    Ok(server)
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

/// Times of spawning `name` the way the server does, draining its stdout and waiting for
/// it, repeated for `budget` (at least 3 times, at most 2000).
pub fn spawn_times(cgi_bin: &Path, name: &str, budget: Duration) -> Vec<Duration> {
    let mut times = Vec::new();
    let Ok(script) = crate::cgi::script::find(cgi_bin, name, name) else {
        return times;
    };
    let env = sample_environ(&script);
    let deadline = Instant::now() + budget;
    while times.len() < 2000 && (times.len() < 3 || Instant::now() < deadline) {
        let t = Instant::now();
        let spawned = crate::cgi::command(&script, &env, "")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn();
        let Ok(mut child) = spawned else { break };
        let mut sink = Vec::new();
        if let Some(mut out) = child.stdout.take() {
            let _ = out.read_to_end(&mut sink);
        }
        let _ = child.wait();
        times.push(t.elapsed());
    }
    times
}

/// The environ of a plain GET for `script`, as the server would build it.
pub fn sample_environ(script: &Script) -> environ::Environ {
    let head = RequestHead {
        method: "GET".into(),
        target: format!("/cgi-bin/{}", script.name),
        protocol: "HTTP/1.1".into(),
        headers: vec![
            ("Host".into(), "127.0.0.1:8000".into()),
            ("User-Agent".into(), "cgilab-bench".into()),
        ],
        remote: "127.0.0.1:40000".parse().unwrap(),
        local: "127.0.0.1:8000".parse().unwrap(),
    };
    let filename = script.path.to_string_lossy();
    let script_name = format!("/cgi-bin/{}", script.name);
    let inv = Invocation {
        script_name: &script_name,
        path_info: "",
        script_filename: &filename,
        content_length: None,
    };
    let site = Site {
        software: crate::http::response::SERVER.into(),
        document_root: script.path.parent().map(PathBuf::from).unwrap_or_default(),
        extra: vec![("PATH".into(), std::env::var("PATH").unwrap_or_default())],
    };
    environ::build(&head, &inv, &site)
}

/// The server's peak resident set (VmHWM), in KiB.
fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn ms(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1000.0)
}

fn table(runs: &[Run], floors: &[(String, Duration)], rss: Option<u64>) -> String {
    let mut t = Table::new();
    t.load_style(UTF8_FULL_CONDENSED).set_header([
        "target", "mode", "conc", "requests", "req/s", "mean ms", "p50 ms", "p90 ms", "p99 ms",
        "max ms", "errors",
    ]);
    for r in runs {
        t.add_row([
            r.target.clone(),
            r.mode.to_string(),
            r.concurrency.to_string(),
            r.requests.to_string(),
            format!("{:.0}", r.rate()),
            ms(r.mean()),
            ms(r.pct(0.5)),
            ms(r.pct(0.9)),
            ms(r.pct(0.99)),
            ms(r.pct(1.0)),
            r.errors.to_string(),
        ]);
    }
    let mut out = format!("{}\n", t.trim_fmt());
    let gateway = |c: usize| {
        runs.iter()
            .find(|r| r.target == "/app/hello" && r.concurrency == c)
    };
    let mut costs = Table::new();
    costs.load_style(UTF8_FULL_CONDENSED).set_header([
        "script",
        "conc",
        "cgi mean ms",
        "gateway mean ms",
        "process cost ms",
        "spawn floor ms",
        "cgi / floor",
    ]);
    let mut any = false;
    for r in runs.iter().filter(|r| r.mode == "cgi") {
        let Some(g) = gateway(r.concurrency) else {
            continue;
        };
        let floor = floors.iter().find(|(t, _)| *t == r.target).map(|(_, d)| *d);
        let cost = r.mean().saturating_sub(g.mean());
        costs.add_row([
            r.target.clone(),
            r.concurrency.to_string(),
            ms(r.mean()),
            ms(g.mean()),
            ms(cost),
            floor.map_or("-".into(), ms),
            floor.map_or("-".into(), |f| {
                format!("{:.2}x", r.mean().as_secs_f64() / f.as_secs_f64())
            }),
        ]);
        any = true;
    }
    if any {
        out.push_str("\nWhat a process per request costs (CGI minus gateway), next to the bare spawn of the same script:\n");
        out.push_str(&costs.trim_fmt());
        out.push('\n');
    }
    for g in runs.iter().filter(|r| r.target == "/app/hello") {
        if let Some(raw) = runs
            .iter()
            .find(|r| r.target == crate::server::RAW_ROUTE && r.concurrency == g.concurrency)
        {
            out.push_str(&format!(
                "gateway /app/hello at concurrency {}: {:.2}x the req/s of /raw (no dispatch)\n",
                g.concurrency,
                g.rate() / raw.rate().max(1e-9)
            ));
        }
    }
    if let Some(kib) = rss {
        out.push_str(&format!(
            "server peak RSS: {:.1} MiB\n",
            kib as f64 / 1024.0
        ));
    }
    out.push_str("One benchmark is never the whole story: rerun, vary --concurrency, and compare ratios, not lone numbers.\n");
    out
}

fn csv(runs: &[Run]) -> String {
    let mut out = String::from(
        "target,mode,concurrency,requests,req_per_s,mean_ms,p50_ms,p90_ms,p99_ms,max_ms,errors\n",
    );
    for r in runs {
        out.push_str(&format!(
            "{},{},{},{},{:.1},{},{},{},{},{},{}\n",
            r.target,
            r.mode,
            r.concurrency,
            r.requests,
            r.rate(),
            ms(r.mean()),
            ms(r.pct(0.5)),
            ms(r.pct(0.9)),
            ms(r.pct(0.99)),
            ms(r.pct(1.0)),
            r.errors
        ));
    }
    out
}

fn json(runs: &[Run], floors: &[(String, Duration)], rss: Option<u64>) -> String {
    let esc = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
    let rows: Vec<String> = runs
        .iter()
        .map(|r| {
            format!(
                "{{\"target\":\"{}\",\"mode\":\"{}\",\"concurrency\":{},\"requests\":{},\"req_per_s\":{:.1},\"mean_ms\":{},\"p50_ms\":{},\"p90_ms\":{},\"p99_ms\":{},\"max_ms\":{},\"errors\":{}}}",
                esc(&r.target), r.mode, r.concurrency, r.requests, r.rate(), ms(r.mean()),
                ms(r.pct(0.5)), ms(r.pct(0.9)), ms(r.pct(0.99)), ms(r.pct(1.0)), r.errors
            )
        })
        .collect();
    let floors: Vec<String> = floors
        .iter()
        .map(|(t, d)| format!("{{\"target\":\"{}\",\"mean_ms\":{}}}", esc(t), ms(*d)))
        .collect();
    let rss = rss.map_or("null".to_string(), |k| format!("{:.1}", k as f64 / 1024.0));
    format!(
        "{{\"runs\":[{}],\"spawn_floors\":[{}],\"server_peak_rss_mib\":{}}}\n",
        rows.join(","),
        floors.join(","),
        rss
    )
}
