//! Lesson 7 (The supervisor's jobs): the check of its exercise.

use std::sync::{Arc, Mutex};

use super::tally::require_wsgi;
use super::*;

/// Requests sent one after another, and then at once (by so many clients, so many each).
/// The burst is large enough that an app with no lock loses counts on nearly every run
/// (20 requests let one through about one run in three).
const IN_TURN: u32 = 9;
const CLIENTS: u32 = 8;
const EACH: u32 = 25;

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

    // At once: every count from there on, each exactly once. On a server of its own with
    // no recycling, so that the burst is the two workers racing, not workers booting.
    drop(server);
    let server = c.serve(
        &args[..2]
            .iter()
            .chain(&args[3..])
            .cloned()
            .collect::<Vec<_>>(),
    )?;
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
        // The count survived new workers and a restart above, so it is in the file: what
        // goes wrong now is two workers at the file at once. A count that falls back to 1
        // was read from a file another worker had just emptied (`open(path, "w")`
        // empties it before any lock is taken).
        let hint = "two workers read and wrote the count at the same moment: hold an exclusive fcntl.flock on the file from the read to the write, and empty it only while you hold the lock (open(path, \"w\") empties it before you can lock it)";
        // Two hundred numbers do not fit on a line: say what went wrong, with a few examples.
        let missing = want
            .iter()
            .filter(|n| got.binary_search(n).is_err())
            .count();
        let few = |v: &[u32]| {
            let shown: Vec<String> = v.iter().take(8).map(u32::to_string).collect();
            let more = if v.len() > 8 { ", ..." } else { "" };
            format!("{}{more}", shown.join(", "))
        };
        return Err(fail(
            format!(
                "{} requests, {CLIENTS} at a time: {missing} of the counts {} to {} never came, and {} came more than once ({})",
                CLIENTS * EACH,
                after + 1,
                after + CLIENTS * EACH,
                twice.len(),
                few(&twice),
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
