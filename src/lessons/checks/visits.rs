//! Lesson 12 (Workers that wait): the check of its exercise.

use std::collections::BTreeMap;
use std::path::Path;

use super::tally::require_wsgi;
use super::*;

/// Requests the pool check sends.
const POOL_REQUESTS: u32 = 10;

pub(super) fn visits(c: &mut Check) -> Result<(), Failure> {
    let hint = "open sqlite3.connect(os.environ[\"VISITS_DB\"]) on the first request, keep it in a global, and count in another global each time you connect; on every request insert a row (with conn: ...), then answer `pid PID`, `connects N` and `visits N`, the rows in the table";
    let name = require_wsgi(c, "visits", hint)?;
    let dir = tempfile::tempdir()
        .map_err(|e| fail(format!("cannot make a temporary directory: {e}"), ""))?;
    let db = dir.path().join("visits.db");
    let file = c.opts.cgi_bin.join(&name);
    let server = c.serve(&[
        format!("--wsgi=visits={}", file.display()),
        "--workers=2".into(),
        format!("--env=VISITS_DB={}", db.display()),
    ])?;
    let mut visits = 0;

    // As CGI: every request is a process of its own, which must connect to answer.
    let cgi = format!("/cgi-bin/{name}");
    let mut cgi_pids = Vec::new();
    for _ in 0..2 {
        let v = visit(c, &server, &cgi, &name, hint)?;
        visits = next_visit(&cgi, &v, visits)?;
        if v.connects != 1 {
            return Err(fail(
                format!(
                    "GET {cgi} says `connects {}`; a CGI process serves one request, for which it connects once",
                    v.connects
                ),
                "add one to the count each time your app calls sqlite3.connect, and only then",
            ));
        }
        cgi_pids.push(v.pid);
    }
    c.pass(format!(
        "as CGI, each request is a new process (pid {}, then {}) that connects: `connects 1`, visits {} and {}",
        cgi_pids[0],
        cgi_pids[1],
        visits - 1,
        visits
    ));

    // In a pool: the visits go on from the CGI ones (they are in the database, not in a
    // process), and no worker connects twice.
    let pool = "/pool/visits";
    let mut served: BTreeMap<u32, u32> = BTreeMap::new();
    for _ in 0..POOL_REQUESTS {
        let v = visit(c, &server, pool, &name, hint)?;
        visits = next_visit(pool, &v, visits)?;
        let n = served.entry(v.pid).or_insert(0);
        *n += 1;
        if v.connects != 1 {
            return Err(fail(
                format!(
                    "GET {pool}: worker {} says `connects {}` at its request {n}; a worker connects once and keeps the connection",
                    v.pid, v.connects
                ),
                "keep the connection in a global (connection = None at the top), connect only while it is None, and never close it",
            ));
        }
    }
    let counts: Vec<String> = served
        .iter()
        .map(|(pid, n)| format!("worker {pid} answered {n}"))
        .collect();
    c.pass(format!(
        "in a pool of 2, {POOL_REQUESTS} requests ({}): visits {} to {visits}, `connects 1` every time",
        counts.join(", "),
        visits + 1 - POOL_REQUESTS
    ));

    // Between requests each worker still holds its connection: a descriptor open on the
    // database file. An app that connected and closed on every request holds none.
    let wanted = db.canonicalize().unwrap_or(db.clone());
    for pid in served.keys() {
        let open = open_on(*pid, &wanted);
        if open != 1 {
            return Err(fail(
                format!(
                    "between requests, worker {pid} has {open} descriptors open on $VISITS_DB, not 1: {}",
                    if open == 0 {
                        "it does not keep its connection"
                    } else {
                        "it opened new connections and kept the old ones too"
                    }
                ),
                "one connection per process: open it once, keep it in a global, reuse it for every request, and do not close it",
            ));
        }
    }
    c.pass(format!(
        "between requests, each worker keeps its one connection open: one descriptor on $VISITS_DB in /proc/PID/fd of {}",
        served
            .keys()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(" and ")
    ));

    // One request at a time, the pool hands every request to the worker that went idle
    // last, so the other worker of the two has served none: connecting on the first
    // request, it has no connection yet; one made at import would be open already.
    let idle: Vec<u32> = started_workers(&server, "visits", 2)
        .into_iter()
        .filter(|pid| !served.contains_key(pid))
        .collect();
    for pid in &idle {
        if open_on(*pid, &wanted) != 0 {
            return Err(fail(
                format!(
                    "worker {pid} has served no request, yet has $VISITS_DB open: it connected at import"
                ),
                "connect on the first request (in a function the app calls), not at the top of the module: with --preload, a connection made at import is shared by every worker forked after it",
            ));
        }
    }
    if !idle.is_empty() {
        let idle: Vec<String> = idle.iter().map(u32::to_string).collect();
        c.pass(format!(
            "worker {}, which has served no request, has no connection yet: it connects on its first request, not at import",
            idle.join(" and ")
        ));
    }
    Ok(())
}

/// The pids of the workers of pool `name` that the server's log says have started,
/// once there are `want` of them (a worker may still be booting Python on a busy
/// machine), or as many as there are after a while.
fn started_workers(server: &ServerProcess, name: &str, want: usize) -> Vec<u32> {
    let prefix = format!("pool {name}: worker ");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let pids: Vec<u32> = server
            .log()
            .iter()
            .filter_map(|line| {
                let rest = &line[line.find(&prefix)? + prefix.len()..];
                let (pid, rest) = rest.split_once(' ')?;
                rest.starts_with("started (").then(|| pid.parse().ok())?
            })
            .collect();
        if pids.len() >= want || std::time::Instant::now() > deadline {
            return pids;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// What one visit answered.
struct Visit {
    pid: u32,
    connects: u32,
    visits: u32,
}

/// Fails unless `v` is visit number `last + 1`; returns it.
fn next_visit(target: &str, v: &Visit, last: u32) -> Result<u32, Failure> {
    if v.visits == last + 1 {
        return Ok(v.visits);
    }
    Err(fail(
        format!(
            "GET {target} says `visits {}` after `visits {last}`",
            v.visits
        ),
        if v.visits <= last {
            "count the rows of the table in $VISITS_DB (SELECT COUNT(*)), after inserting this visit's row and committing it; a count in memory starts again in every process"
        } else {
            "insert one row per request, and count the rows after the insert"
        },
    ))
}

/// GET `target` and read `pid`, `connects` and `visits` from the body.
fn visit(
    c: &Check,
    server: &ServerProcess,
    target: &str,
    script: &str,
    hint: &str,
) -> Result<Visit, Failure> {
    let n = counted_lines(
        c,
        server,
        target,
        script,
        &["pid", "connects", "visits"],
        hint,
    )?;
    Ok(Visit {
        pid: n[0],
        connects: n[1],
        visits: n[2],
    })
}

/// How many of `pid`'s open descriptors are on the file `path`.
fn open_on(pid: u32, path: &Path) -> usize {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return 0;
    };
    fds.filter_map(Result::ok)
        .filter(|fd| std::fs::read_link(fd.path()).is_ok_and(|target| target == path))
        .count()
}
