//! Lesson 5 (The gateway idea): the check of its exercise.

use super::*;

pub(super) fn counter(c: &mut Check) -> Result<(), Failure> {
    let source = c.opts.workdir.join("examples/counter.rs");
    if !source.is_file() {
        return Err(fail(
            "examples/counter.rs does not exist",
            "start from a copy of examples/custom_app.rs: `cp examples/custom_app.rs examples/counter.rs`",
        ));
    }
    c.pass("examples/counter.rs exists");
    if c.live {
        println!("    (building and starting it: cargo run --quiet --example counter)");
    }
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.args([
        "run",
        "--quiet",
        "--example",
        "counter",
        "--",
        "127.0.0.1:0",
    ])
    .current_dir(&c.opts.workdir);
    let server = ServerProcess::start(cmd, Duration::from_secs(600)).map_err(|why| {
        let hint = if why.contains("could not compile") {
            "fix what the compiler says; `cargo build --example counter` shows it too"
        } else {
            "like custom_app.rs, take the address from the first argument and call `server.run()`"
        };
        Failure {
            what: "examples/counter.rs did not build, or did not start listening".into(),
            details: last_lines(&why, 30),
            hint: hint.into(),
        }
    })?;
    c.pass(format!("it listens on {}", server.addr));
    counter_requests(c, server.addr)
}

/// Checks a counter app that has just started: two GETs of /app/counter, counted
/// in-process, must answer `count 1`, then `count 2`.
fn counter_requests(c: &mut Check, addr: SocketAddr) -> Result<(), Failure> {
    let mut counts = Vec::new();
    for _ in 0..2 {
        let req = Req::get("/app/counter");
        let resp = crate::client::request(addr, &req).map_err(|why| fail(why, ""))?;
        if resp.status != 200 {
            return Err(fail(
                format!("GET /app/counter answered {}", resp.status_line()),
                "register the app under the name `counter`: `.with(\"counter\", counter)`",
            ));
        }
        if resp.timing("call").is_none() {
            return Err(fail(
                "GET /app/counter was not answered by an in-process app",
                "serve it as a gateway app (Apps::with), not as a script",
            ));
        }
        expect_plain_text(
            &resp,
            "GET /app/counter",
            "answer with AppResponse::text, which says text/plain",
        )?;
        let text = resp.text();
        let Some(n) = text
            .trim_end()
            .strip_prefix("count ")
            .and_then(|n| n.parse::<u64>().ok())
        else {
            return Err(fail(
                format!("its body is `{}`", text.escape_debug()),
                "answer `count N`, where N is how many requests the app has answered",
            ));
        };
        counts.push(n);
    }
    // The example was just started: its first request is the first it answers.
    if counts != [1, 2] {
        let hint = if counts == [0, 1] {
            "count the request being answered too: `fetch_add` returns the value before the add, so answer that plus one"
        } else if counts[1] == counts[0] + 1 {
            "start the count at 0, so that a fresh server answers `count 1`, then `count 2`"
        } else {
            "keep the count in an AtomicU64 that outlives the calls, and add one per call"
        };
        return Err(fail(
            format!(
                "two requests in a row answered count {} then count {}, not count 1 then count 2",
                counts[0], counts[1]
            ),
            hint,
        ));
    }
    c.pass(format!(
        "GET /app/counter twice: count {}, then count {}",
        counts[0], counts[1]
    ));
    Ok(())
}

/// Checks a counter app already listening on `addr` that has answered no request yet
/// (what lesson 5's check does once the example is running).
pub fn check_counter_app(addr: SocketAddr) -> Outcome {
    let opts = Options {
        cgi_bin: PathBuf::new(),
        cgilab: PathBuf::new(),
        workdir: PathBuf::new(),
        lang: Default::default(),
    };
    let mut check = Check {
        opts: &opts,
        outcome: Outcome::default(),
        live: false,
    };
    if let Err(f) = counter_requests(&mut check, addr) {
        check.outcome.failure = Some(f);
    }
    check.outcome
}
