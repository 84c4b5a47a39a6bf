//! Lesson 13 (The server calls the app): the check of its exercise.

use super::tally::require_wsgi;
use super::*;

/// Pairs sent at once, in the step that needs a lock.
const PAIRS: usize = 3;

pub(super) fn meet(c: &mut Check) -> Result<(), Failure> {
    let hint = "keep who waits in a global, guarded by a threading.Lock: the first request leaves its name and a threading.Event there and waits on the event (at most 2 s); the second takes them, leaves its own name and sets the event; each answers `NAME met OTHER`, or `nobody came for NAME`";
    let name = require_wsgi(c, "meet", hint)?;
    let file = c.opts.cgi_bin.join(&name);
    let server = c
        .serve(&[
            format!("--embed=meet={}", file.display()),
            format!("--wsgi=meet={}", file.display()),
            "--workers=2".into(),
        ])
        .map_err(|failure| {
            if failure.details.iter().any(|l| l.contains("--features python")) {
                fail(
                    "this cgilab was built without embedded Python",
                    "build it with `cargo build --release --features python` (on Debian, `apt-get install python3-dev` first), as this lesson's first step does",
                )
            } else {
                failure
            }
        })?;

    // Embedded: two requests at once meet, each naming the other.
    let n = nonce();
    let (ann, bob) = (format!("ann{n}"), format!("bob{n}"));
    let answers = at_once(&server, "/wsgi/meet", &[&ann, &bob]);
    for (me, other, answer) in [(&ann, &bob, &answers[0]), (&bob, &ann, &answers[1])] {
        let want = format!("{me} met {other}");
        if answer.as_deref() != Ok(want.as_str()) {
            return Err(Failure {
                what: format!(
                    "GET /wsgi/meet?{me}, at once with ?{other}, says {}, not `{want}`",
                    shown_answer(answer)
                ),
                details: logged(&server, "meet"),
                hint: hint.into(),
            });
        }
    }
    c.pass(format!(
        "embedded, two requests at once meet: `{ann} met {bob}` and `{bob} met {ann}`"
    ));

    // Several pairs at once: everyone meets exactly one other, who met them back.
    let names: Vec<String> = (0..2 * PAIRS).map(|i| format!("p{i}x{n}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let answers = at_once(&server, "/wsgi/meet", &refs);
    let mut partner = std::collections::BTreeMap::new();
    for (me, answer) in names.iter().zip(&answers) {
        let other = answer
            .as_deref()
            .ok()
            .and_then(|a| a.strip_prefix(&format!("{me} met ")));
        match other {
            Some(other) if other != me && names.iter().any(|n| n == other) => {
                partner.insert(me.clone(), other.to_string());
            }
            _ => {
                return Err(Failure {
                    what: format!(
                        "{} requests at once: GET /wsgi/meet?{me} says {}",
                        names.len(),
                        shown_answer(answer)
                    ),
                    details: logged(&server, "meet"),
                    hint: "take the lock around looking at and changing who waits: without it, two requests can both find nobody waiting, or both take the same one".into(),
                });
            }
        }
    }
    if let Some((me, other)) = partner
        .iter()
        .find(|(me, other)| partner.get(*other) != Some(*me))
    {
        return Err(fail(
            format!(
                "{} requests at once: {me} says it met {other}, but {other} met {}",
                names.len(),
                partner[other]
            ),
            "the second request must take the first one's place in a single step, under the lock",
        ));
    }
    c.pass(format!(
        "embedded, {} requests at once: each met one other, who met it back",
        names.len()
    ));

    // In a pool of two single-threaded workers, each process waits alone.
    let (cy, dan) = (format!("cy{n}"), format!("dan{n}"));
    let answers = at_once(&server, "/pool/meet", &[&cy, &dan]);
    for (me, answer) in [(&cy, &answers[0]), (&dan, &answers[1])] {
        let want = format!("nobody came for {me}");
        if answer.as_deref() != Ok(want.as_str()) {
            return Err(Failure {
                what: format!(
                    "GET /pool/meet?{me} says {}, not `{want}`",
                    shown_answer(answer)
                ),
                details: logged(&server, "meet"),
                hint: "wait at most 2 seconds, then answer `nobody came for NAME`".into(),
            });
        }
    }
    c.pass(format!(
        "in a pool of 2 workers, two requests at once wait in two processes: `nobody came for {cy}`, `nobody came for {dan}`"
    ));
    Ok(())
}

/// Sends `GET target?NAME` for each name at once; the answers' first lines, in order.
fn at_once(server: &ServerProcess, target: &str, names: &[&str]) -> Vec<Result<String, String>> {
    let addr = server.addr;
    std::thread::scope(|s| {
        let asks: Vec<_> = names
            .iter()
            .map(|name| {
                let url = format!("{target}?{name}");
                s.spawn(move || {
                    let res = crate::client::request(addr, &Req::get(&url))?;
                    if res.status != 200 {
                        return Err(res.status_line());
                    }
                    Ok(res
                        .text()
                        .lines()
                        .next()
                        .unwrap_or("")
                        .trim_end()
                        .to_string())
                })
            })
            .collect();
        asks.into_iter()
            .map(|a| {
                a.join()
                    .unwrap_or_else(|_| Err("the request failed".into()))
            })
            .collect()
    })
}

fn shown_answer(answer: &Result<String, String>) -> String {
    match answer {
        Ok(text) => format!("`{text}`"),
        Err(why) => why.clone(),
    }
}
