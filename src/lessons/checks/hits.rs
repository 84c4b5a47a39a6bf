//! Lesson 7 (The supervisor's jobs): the check of its exercise.

use std::sync::{Arc, Mutex};

use super::tally::require_wsgi;
use super::*;

/// Requests sent one after another, and then at once (by so many clients, so many each).
const IN_TURN: u32 = 9;
const CLIENTS: u32 = 4;
const EACH: u32 = 5;

pub(super) fn hits(c: &mut Check) -> Result<(), Failure> {
    let hint = "keep the count in the file $HITS_FILE, not in memory: open it, take a lock (fcntl.flock), read, add one, write, then answer `hits N`";
    let name = require_wsgi(c, "hits", hint)?;
    let dir = tempfile::tempdir()
        .map_err(|e| fail(format!("cannot make a temporary directory: {e}"), ""))?;
    let file = c.opts.cgi_bin.join(&name);
    let args = [
        format!("--wsgi=hits={}", file.display()),
        "--workers=2".into(),
        "--max-requests=3".into(),
        format!("--env=HITS_FILE={}", dir.path().join("hits").display()),
    ];
    let server = c.serve(&args)?;
    let target = "/pool/hits";

    // One after another: 1, 2, 3, ..., while the workers are replaced every 3 requests.
    for want in 1..=IN_TURN {
        let got = hits_of(c, &server, target, &name, hint)?;
        if got != want {
            return Err(fail(
                format!("request {want} to {target} says `hits {got}`, not `hits {want}`"),
                if got == 1 || got < want {
                    "a worker's memory goes with it: --max-requests 3 replaces each worker after 3 requests; count in $HITS_FILE"
                } else {
                    "add one per request, and start from 0 when $HITS_FILE does not exist yet"
                },
            ));
        }
    }
    c.pass(format!(
        "{IN_TURN} requests in turn, through workers replaced every 3 (--max-requests 3): hits 1 to {IN_TURN}"
    ));

    // A new server: every worker is new, and the count goes on.
    drop(server);
    let server = c.serve(&args)?;
    let after = IN_TURN + 1;
    let got = hits_of(c, &server, target, &name, hint)?;
    if got != after {
        return Err(fail(
            format!(
                "after a restart of the server, {target} says `hits {got}`, not `hits {after}`"
            ),
            if got <= IN_TURN {
                "a worker's memory goes with it, and a restart takes every worker: keep the count in $HITS_FILE"
            } else {
                "add one per request to the count in $HITS_FILE"
            },
        ));
    }
    c.pass(format!(
        "after a restart, with every worker new: hits {after}"
    ));

    // At once: every count from there on, each exactly once.
    let counts = Arc::new(Mutex::new(Vec::new()));
    let addr = server.addr;
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let counts = counts.clone();
            std::thread::spawn(move || {
                for _ in 0..EACH {
                    let got = crate::client::request(addr, &Req::get(target))
                        .map_err(|e| e.to_string())
                        .and_then(|r| hits_in(&r).ok_or_else(|| r.text()));
                    counts.lock().unwrap_or_else(|e| e.into_inner()).push(got);
                }
            })
        })
        .collect();
    for client in clients {
        let _ = client.join();
    }
    let counts = std::mem::take(&mut *counts.lock().unwrap_or_else(|e| e.into_inner()));
    let mut got = Vec::new();
    for count in counts {
        match count {
            Ok(n) => got.push(n),
            Err(why) => {
                return Err(Failure {
                    what: format!("GET {target}, {CLIENTS} at a time: {why}"),
                    details: logged(&server, "hits"),
                    hint: hint.into(),
                });
            }
        }
    }
    got.sort_unstable();
    let want: Vec<u32> = (after + 1..=after + CLIENTS * EACH).collect();
    if got != want {
        let mut twice: Vec<u32> = got
            .windows(2)
            .filter(|w| w[0] == w[1])
            .map(|w| w[0])
            .collect();
        twice.dedup();
        // A count kept in the file never goes back below what it reached in turn; one
        // that does was kept by a worker that started again from 0.
        let hint = if got.first().is_some_and(|&n| n <= after) {
            "each worker counts its own, and a new worker starts again from 0: a worker's memory goes with it; keep the count in $HITS_FILE"
        } else {
            "two workers read the same count before either wrote it: hold an exclusive fcntl.flock on the file from the read to the write"
        };
        return Err(fail(
            format!(
                "{} requests, {CLIENTS} at a time, said hits {got:?}; want each of {} to {} once{}",
                CLIENTS * EACH,
                after + 1,
                after + CLIENTS * EACH,
                if twice.is_empty() {
                    String::new()
                } else {
                    format!(" ({twice:?} came twice)")
                }
            ),
            hint,
        ));
    }
    c.pass(format!(
        "{} requests, {CLIENTS} at a time, on 2 workers: hits {} to {}, none lost, none twice",
        CLIENTS * EACH,
        after + 1,
        after + CLIENTS * EACH
    ));
    Ok(())
}

fn hits_of(
    c: &Check,
    server: &ServerProcess,
    target: &str,
    script: &str,
    hint: &str,
) -> Result<u32, Failure> {
    let req = Req::get(target);
    let resp = c.fetch(server, &req, script)?;
    c.expect_status(server, &req, &resp, script, 200, hint)?;
    hits_in(&resp).ok_or_else(|| Failure {
        what: format!(
            "GET {target} answered `{}`, not `hits N`",
            resp.text().trim_end().escape_debug()
        ),
        details: logged(server, "hits"),
        hint: hint.into(),
    })
}

/// N in a body `hits N`.
fn hits_in(resp: &Response) -> Option<u32> {
    if resp.status != 200 {
        return None;
    }
    lines(resp)
        .iter()
        .find_map(|l| l.strip_prefix("hits ")?.trim().parse().ok())
}
