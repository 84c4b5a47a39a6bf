//! Lesson 6 (Workers that stay): the check of its exercise.

use std::collections::BTreeMap;

use super::*;

/// Requests the pool check sends in a round, and how many at once: one at a time, the
/// pool hands every request to the worker that went idle last, so one worker would answer
/// them all and a count shared by the workers would pass for each worker's own.
const POOL_REQUESTS: u32 = 40;
const AT_ONCE: u32 = 4;
/// Rounds sent until both workers have answered: on a busy machine the second worker may
/// still be starting, or four clients may not overlap, for a round or two.
const ROUNDS: u32 = 10;

pub(super) fn tally(c: &mut Check) -> Result<(), Failure> {
    let hint = "answer two lines, `pid PID` (os.getpid()) and `requests N`, N counted in a global that the app adds one to on each call; run it as CGI with wsgiref's CGIHandler under `if __name__ == \"__main__\":`";
    let name = require_wsgi(c, "tally", hint)?;
    let file = c.opts.cgi_bin.join(&name);
    let server = c.serve(&[
        format!("--wsgi=tally={}", file.display()),
        "--workers=2".into(),
    ])?;

    // As CGI: every request is a process of its own, which has answered one request.
    let cgi = format!("/cgi-bin/{name}");
    let mut cgi_pids = Vec::new();
    for _ in 0..2 {
        let (pid, n) = tally_of(c, &server, &cgi, &name, hint)?;
        if n != 1 {
            return Err(fail(
                format!("GET {cgi} says `requests {n}`; as CGI every request is a new process"),
                "count in a global of the module: a new process starts it at 0 again",
            ));
        }
        cgi_pids.push(pid);
    }
    if cgi_pids[0] == cgi_pids[1] {
        return Err(fail(
            format!("GET {cgi} twice says the same pid {}", cgi_pids[0]),
            "print os.getpid(), the pid of the process that answers",
        ));
    }
    c.pass(format!(
        "as CGI, each request is a new process (pid {}, then {}) that answers `requests 1`",
        cgi_pids[0], cgi_pids[1]
    ));

    // In a pool of two, several requests at once so that both workers answer: each counts
    // its own, so the counts one pid said are 1, 2, 3, ... with none missing or repeated
    // (the answers of one worker may arrive in any order), and no more than two pids.
    let pool = "/pool/tally";
    let mut said: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    for _ in 0..ROUNDS {
        for answer in round(c, &server, pool, &name, hint) {
            let (pid, n) = answer?;
            said.entry(pid).or_default().push(n);
        }
        if said.len() >= 2 {
            break;
        }
    }
    let mut seen: BTreeMap<u32, u32> = BTreeMap::new();
    for (pid, counts) in &mut said {
        counts.sort_unstable();
        let want: Vec<u32> = (1..=counts.len() as u32).collect();
        if *counts != want {
            let said: Vec<String> = counts.iter().map(u32::to_string).collect();
            return Err(fail(
                format!(
                    "GET {pool}, {AT_ONCE} at a time: worker {pid} answered {} requests and said `requests` {}, not 1 to {}",
                    counts.len(),
                    said.join(", "),
                    counts.len()
                ),
                "count in a global of the module, one per process: add one on every call and print it after adding",
            ));
        }
        seen.insert(*pid, counts.len() as u32);
    }
    if seen.len() < 2 {
        let sent = POOL_REQUESTS * ROUNDS;
        return Err(fail(
            format!(
                "GET {pool}: one worker answered all {sent} requests, sent {AT_ONCE} at a time to a pool of 2"
            ),
            "the app must answer at once, so that the other worker takes the requests that come while one is busy",
        ));
    }
    if seen.len() > 2 {
        return Err(fail(
            format!("{} pids answered a pool of 2 workers", seen.len()),
            "print os.getpid() of the process that answers, not of a child it starts",
        ));
    }
    let counts: Vec<String> = seen
        .iter()
        .map(|(pid, n)| format!("worker {pid} answered {n}"))
        .collect();
    c.pass(format!(
        "in a pool of 2, {AT_ONCE} at a time: {}, each counting its own",
        counts.join(", ")
    ));
    Ok(())
}

/// One round: `POOL_REQUESTS` requests from `AT_ONCE` clients at once.
fn round(
    c: &Check,
    server: &ServerProcess,
    pool: &str,
    name: &str,
    hint: &str,
) -> Vec<Result<(u32, u32), Failure>> {
    std::thread::scope(|s| {
        let clients: Vec<_> = (0..AT_ONCE)
            .map(|_| {
                s.spawn(move || {
                    (0..POOL_REQUESTS / AT_ONCE)
                        .map(|_| tally_of(c, server, pool, name, hint))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        clients
            .into_iter()
            .flat_map(|t| t.join().expect("a client thread panicked"))
            .collect()
    })
}

/// The learner's `stem_wsgi.py` in cgi-bin: its name, with a passing step.
pub(super) fn require_wsgi(c: &mut Check, stem: &str, hint: &str) -> Result<String, Failure> {
    let name = format!("{stem}_wsgi.py");
    if !c.opts.cgi_bin.join(&name).is_file() {
        return Err(fail(
            format!("{} does not exist", c.script_path(&name)),
            hint,
        ));
    }
    c.pass(format!("{} exists", c.script_path(&name)));
    Ok(name)
}

/// GET `target` and read `pid PID` and `requests N` from the body.
fn tally_of(
    c: &Check,
    server: &ServerProcess,
    target: &str,
    script: &str,
    hint: &str,
) -> Result<(u32, u32), Failure> {
    let n = counted_lines(c, server, target, script, &["pid", "requests"], hint)?;
    Ok((n[0], n[1]))
}
