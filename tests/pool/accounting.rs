//! The supervisor's reasons and counts: which line a failed pool gives as its reason, how
//! failed starts are counted against their limit, and how many requests a worker serves
//! past `--max-requests`.

use std::collections::{BTreeMap, BTreeSet};

use crate::support::*;

/// The first worker to import it waits until another one is talking on its stderr, then
/// fails; every other one talks for 0.6 s, then fails. So one worker dies while another
/// is writing.
const CHATTY_BROKEN_APP: &str = r#"import os, sys, time
try:
    os.close(os.open("first-import", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    first = True
except FileExistsError:
    first = False
if first:
    for _ in range(400):
        if os.path.exists("talking"):
            break
        time.sleep(0.025)
else:
    open("talking", "w").close()
    for i in range(60):
        print("still importing, line %d" % i, file=sys.stderr, flush=True)
        time.sleep(0.01)
raise RuntimeError("cannot boot in pid %d" % os.getpid())
"#;

/// Workers are numbered in the order they import it; from the fourth on they wait for
/// the file `go` before they are ready, so that recycled workers' successors are late
/// while the third is idle.
const GATED_FOURTH_APP: &str = r#"import fcntl, os, time
with open("boots", "a+") as f:
    fcntl.flock(f, fcntl.LOCK_EX)
    f.seek(0)
    n = len(f.read()) + 1
    f.write("x")
if n >= 4:
    for _ in range(600):
        if os.path.exists("go"):
            break
        time.sleep(0.05)
def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"pid=%d\n" % os.getpid()]
"#;

/// The `(pid, count, limit, reason)` of every "boot failure K of N" line of pool `t`.
fn boot_failures(server: &cgilab::client::server_process::ServerProcess) -> Vec<Failure> {
    log_lines(server, &["pool t: worker ", "boot failure "])
        .iter()
        .map(|line| {
            let parse = || {
                let rest = line.split("pool t: worker ").nth(1)?;
                let pid = rest.split(' ').next()?.parse().ok()?;
                let (count, rest) = rest.split_once("(boot failure ")?.1.split_once(" of ")?;
                let (limit, reason) = rest.split_once("): ")?;
                Some(Failure {
                    pid,
                    count: count.parse().ok()?,
                    limit: limit.parse().ok()?,
                    reason: reason.to_string(),
                })
            };
            parse().unwrap_or_else(|| panic!("unexpected boot failure line: {line}"))
        })
        .collect()
}

struct Failure {
    pid: u32,
    count: u32,
    limit: u32,
    reason: String,
}

/// Every pid pool `t`'s log lines name: the workers it started.
fn started(server: &cgilab::client::server_process::ServerProcess) -> BTreeSet<u32> {
    let mut pids = BTreeSet::new();
    for line in server.log() {
        for prefix in ["pool t: worker ", "pool t pid "] {
            if let Some(rest) = line.split(prefix).nth(1) {
                let pid = rest.split([' ', ':']).next().unwrap_or_default();
                pids.extend(pid.parse::<u32>().ok());
            }
        }
    }
    pids
}

/// Two workers fail to boot while each writes to its own stderr: every boot failure, and
/// the pool's FAILED line, give the last line the failed worker itself wrote, never a
/// line of a worker still talking. The 503 says only that the pool cannot start.
#[test]
fn a_failed_pool_gives_the_last_line_its_last_failed_worker_wrote() {
    let site = Site::new().file("app.py", CHATTY_BROKEN_APP);
    let server = site.serve(&["--wsgi", &site.wsgi("t", "app.py"), "--workers", "2"]);
    wait_for_log(&server, 1, &["pool t: FAILED"]);
    let failures = boot_failures(&server);
    assert!(!failures.is_empty());
    for f in &failures {
        assert!(
            f.reason
                .ends_with(&format!("RuntimeError: cannot boot in pid {}", f.pid)),
            "worker {}'s boot failure {} gives another line as its reason: {:?}",
            f.pid,
            f.count,
            f.reason
        );
    }
    let last = failures.last().unwrap();
    let why = format!("RuntimeError: cannot boot in pid {}", last.pid);
    // The client hears that the pool cannot start; only the log says why.
    let res = get(&server, "/pool/t");
    assert_eq!(res.status, 503, "{}", res.text());
    assert!(
        res.text().contains("pool `t`: cannot start"),
        "{}",
        res.text()
    );
    assert!(!res.text().contains("RuntimeError"), "{}", res.text());
    let failed = wait_for_log(&server, 1, &["pool t: FAILED"]);
    assert!(failed[0].ends_with(&why), "{}", failed[0]);
}

/// Failed starts are counted 1 to N, N being the limit the log names; at N the pool is
/// FAILED and nothing more is started, even with more workers per round than starts
/// left (supervisord's startretries, then FATAL).
#[test]
fn failed_starts_are_counted_up_to_their_limit_and_none_follows() {
    let site = Site::new().file("app.py", "import no_such_module_anywhere\n");
    let server = site.serve(&["--wsgi", &site.wsgi("t", "app.py"), "--workers", "3"]);
    wait_for_log(&server, 1, &["pool t: FAILED"]);
    // Every worker started has ended and been reaped (and its end logged), and a whole
    // turn of the supervisor's loop after that started none.
    wait_for("every worker to be reaped", || {
        children(server.pid()).is_empty()
    });
    supervisor_turns(&server, "t", 1);
    assert!(
        children(server.pid()).is_empty(),
        "a worker was started after the pool failed"
    );
    let failures = boot_failures(&server);
    let limit = failures[0].limit;
    let counts: Vec<u32> = failures.iter().map(|f| f.count).collect();
    assert_eq!(counts, (1..=limit).collect::<Vec<_>>(), "{counts:?}");
    assert!(failures.iter().all(|f| f.limit == limit));
    assert_eq!(log_lines(&server, &["pool t: FAILED"]).len(), 1);
    let starts = started(&server);
    assert_eq!(
        starts.len(),
        3.max(limit as usize),
        "workers started for a limit of {limit} failed starts: {starts:?}"
    );
}

/// `--workers 2 --max-requests 3`, one request at a time: a worker past its three serves
/// only when no other ready worker has requests to spare; when every ready worker is past
/// its limit one of them does serve (no request waits on a boot), and the index page and
/// the log say by how much.
#[test]
fn a_worker_past_max_requests_serves_only_when_no_other_is_idle() {
    let site = Site::new().file("app.py", GATED_FOURTH_APP);
    let server = site.serve(&[
        "--wsgi",
        &site.wsgi("t", "app.py"),
        "--workers",
        "2",
        "--max-requests",
        "3",
    ]);
    // Workers that said they are ready (one request at a time: a ready worker not
    // serving is idle).
    let ready = |n: usize| -> Vec<u32> {
        wait_for_log(&server, n, &["pool t: worker ", " started ("])
            .iter()
            .filter_map(|l| {
                l.split("pool t: worker ")
                    .nth(1)?
                    .split(' ')
                    .next()?
                    .parse()
                    .ok()
            })
            .collect()
    };
    ready(2);
    let mut served: BTreeMap<u32, u32> = BTreeMap::new();
    let mut over = None;
    for n in 1..=12 {
        // By now one of the first two has served three and its successor was started:
        // the third worker (not gated) joins.
        let idle = ready(if n == 7 { 3 } else { 2 });
        let res = get(&server, "/pool/t");
        assert_eq!(res.status, 200, "{}", res.text());
        let pid = pid_of(&res);
        let count = served.entry(pid).or_default();
        *count += 1;
        if *count > 3 {
            let spare: Vec<_> = idle
                .iter()
                .filter(|&&q| q != pid && served.get(&q).copied().unwrap_or(0) < 3)
                .collect();
            assert!(
                spare.is_empty(),
                "request {n} went to {pid}, past --max-requests, while {spare:?} had requests to spare ({served:?})"
            );
            over = Some((n, pid));
            break;
        }
    }
    // Three ready workers, three requests each; the successors after them are gated.
    let (n, over) = over.expect("a worker served past its limit");
    assert_eq!(n, 10, "{served:?}");
    let page = get(&server, "/").text();
    let row =
        format!("<tr><td>{over}</td><td>idle, recycled</td><td>4 (1 past --max-requests)</td>");
    assert!(page.contains(&row), "no row {row} in:\n{page}");
    std::fs::write(site.path("go"), "").unwrap();
    wait_for_log(
        &server,
        1,
        &[&format!(
            "worker {over} exited with code 0 (recycled, 4 requests served: \
             1 past --max-requests 3"
        )],
    );
    let on_time = wait_for_log(&server, 2, &["(recycled, 3 requests served;"]);
    assert_eq!(on_time.len(), 2, "{on_time:?}");
}

/// `--max-requests-jitter`: each worker's limit is `--max-requests` plus its own draw
/// from 0 to the jitter, so workers started together leave at different times.
#[test]
fn each_worker_draws_its_own_max_requests_within_the_jitter() {
    let site = Site::new().file("app.py", PID_APP);
    let wsgi = site.wsgi("t", "app.py");
    let server = site.serve(&[
        "--wsgi",
        &wsgi,
        "--workers",
        "6",
        "--max-requests",
        "100",
        "--max-requests-jitter",
        "1000000",
    ]);
    wait_for_log(&server, 6, &["pool t: worker", "started"]);
    let page = get(&server, "/").text();
    let limits: Vec<u64> = page
        .split(" of ")
        .skip(1)
        .filter_map(|rest| rest.split('<').next()?.parse().ok())
        .collect();
    assert_eq!(limits.len(), 6, "{page}");
    assert!(
        limits.iter().all(|&l| (100..=1_000_100).contains(&l)),
        "{limits:?}"
    );
    // Six draws from a million and one values: all equal would be a broken draw.
    let distinct: std::collections::BTreeSet<_> = limits.iter().collect();
    assert!(distinct.len() > 1, "{limits:?}");
}
