//! The exercises, one check each. A check looks at the learner's work the way a client
//! would: it starts a server of its own on 127.0.0.1 and sends real requests.
//!
//! A check is a list of steps; each passing step prints a `✓` line, and the first step that
//! fails ends the check with a `✗` line, what the server logged about it, and a hint.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::probe::{Req, Response, Served};

/// One lesson's exercise.
pub struct Exercise {
    /// The lesson's number.
    pub lesson: usize,
    /// The lesson's title, as in its README's first heading.
    pub title: &'static str,
    /// The exercise in one line.
    pub task: &'static str,
    check: fn(&mut Check) -> Result<(), Failure>,
}

/// The eight exercises, in order.
pub const EXERCISES: [Exercise; 8] = [
    Exercise {
        lesson: 1,
        title: "Hello, CGI",
        task: "cgi-bin/me.sh answers 200 text/plain with `Hello from NAME!`",
        check: hello,
    },
    Exercise {
        lesson: 2,
        title: "The environment",
        task: "cgi-bin/echo.sh echoes PATH_INFO, QUERY_STRING, an X-Color header and the body",
        check: echo,
    },
    Exercise {
        lesson: 3,
        title: "Responses and failures",
        task: "cgi-bin/create.sh answers a POST with 201 and a Location, anything else with 405",
        check: create,
    },
    Exercise {
        lesson: 4,
        title: "The price of a process",
        task: "a compiled cgi-bin/hello-cgi answers faster than hello.py",
        check: compiled,
    },
    Exercise {
        lesson: 5,
        title: "The gateway idea",
        task: "examples/counter.rs serves /app/counter, which counts the requests it has answered",
        check: counter,
    },
    Exercise {
        lesson: 6,
        title: "Head to head",
        task: "bench.csv holds a `cgilab bench` run of a CGI script and /app/hello at two concurrencies",
        check: bench_csv,
    },
    Exercise {
        lesson: 7,
        title: "What a host must refuse",
        task: "cgi-bin/notes.sh serves a note from $NOTES_DIR and refuses every way out of it",
        check: notes,
    },
    Exercise {
        lesson: 8,
        title: "The three layers",
        task: "cgi-bin/client-ip.sh names the real client, trusting X-Forwarded-For only from the proxy",
        check: client_ip,
    },
];

/// Where a check looks.
#[derive(Debug, Clone)]
pub struct Options {
    /// The learner's scripts.
    pub cgi_bin: PathBuf,
    /// The cgilab binary that serves them.
    pub cgilab: PathBuf,
    /// The directory commands run in: the repository's root, where `examples/` and
    /// `bench.csv` are.
    pub workdir: PathBuf,
}

/// How a check went: the steps that passed, then the failure, if any.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub passed: Vec<String>,
    pub failure: Option<Failure>,
}

impl Outcome {
    /// True when every step passed.
    pub fn ok(&self) -> bool {
        self.failure.is_none()
    }
}

/// The step that failed: what happened, what the server said about it, what to do.
#[derive(Debug, Clone)]
pub struct Failure {
    pub what: String,
    pub details: Vec<String>,
    pub hint: String,
}

fn fail(what: impl Into<String>, hint: impl Into<String>) -> Failure {
    Failure {
        what: what.into(),
        details: Vec::new(),
        hint: hint.into(),
    }
}

/// A check in progress.
pub struct Check<'a> {
    opts: &'a Options,
    outcome: Outcome,
    /// Print each step as it passes (for `check`; `list` only wants the summary).
    live: bool,
}

impl Check<'_> {
    fn pass(&mut self, step: impl Into<String>) {
        let step = step.into();
        if self.live {
            println!("  ✓ {step}");
        }
        self.outcome.passed.push(step);
    }

    /// A path under cgi-bin, as the learner would write it.
    fn script_path(&self, name: &str) -> String {
        shown(&self.opts.cgi_bin.join(name))
    }

    /// Starts `cgilab serve` on the learner's cgi-bin, with `extra` arguments.
    fn serve(&self, extra: &[String]) -> Result<Served, Failure> {
        let mut cmd = Command::new(&self.opts.cgilab);
        cmd.arg("serve")
            .args(["--listen", "127.0.0.1:0", "--quiet", "--timeout", "10"])
            .arg("--cgi-bin")
            .arg(&self.opts.cgi_bin)
            .args(extra)
            .current_dir(&self.opts.workdir);
        Served::start(cmd, Duration::from_secs(10)).map_err(|why| Failure {
            what: "cgilab serve did not start".into(),
            details: why.lines().map(String::from).collect(),
            hint: "run `cgilab serve --cgi-bin DIR` yourself to see why".into(),
        })
    }

    /// Sends a request; a failure says which request and, from the log, why.
    fn fetch(&self, server: &Served, req: &Req<'_>, script: &str) -> Result<Response, Failure> {
        server.request(req).map_err(|why| Failure {
            what: why,
            details: logged(server, script),
            hint: "the script must finish its answer; does it wait for input that never comes?"
                .into(),
        })
    }

    /// Fails unless `resp` has status `want`, quoting the server's log about `script`.
    fn expect_status(
        &self,
        server: &Served,
        req: &Req<'_>,
        resp: &Response,
        script: &str,
        want: u16,
        hint: &str,
    ) -> Result<(), Failure> {
        if resp.status == want {
            return Ok(());
        }
        let general = match resp.status {
            404 => "there is no such script: is the file in cgi-bin, under that name?",
            403 => "cgilab refused to run it; the log line says why",
            500 => "the script could not start: if it is executable, check its `#!` line",
            502 => {
                "the script's output is not a CGI response (header lines, an empty line, then the body); the log line says what is wrong"
            }
            504 => "the script ran past the timeout",
            _ => hint,
        };
        Err(Failure {
            what: format!(
                "{} {} answered {}, not {want}",
                req.method,
                req.target,
                resp.status_line()
            ),
            details: logged(server, script),
            hint: general.to_string(),
        })
    }
}

/// What the server logged about `script`, ready to print.
fn logged(server: &Served, script: &str) -> Vec<String> {
    let lines = server.log_about(script);
    if lines.is_empty() {
        return Vec::new();
    }
    let mut out = vec!["the server logged:".to_string()];
    out.extend(lines.into_iter().rev().take(5).rev());
    out
}

/// Runs exercise `n`'s check. `live` prints each step as it passes.
pub fn run(n: usize, opts: &Options, live: bool) -> Outcome {
    let exercise = &EXERCISES[n - 1];
    let mut check = Check {
        opts,
        outcome: Outcome::default(),
        live,
    };
    if let Err(failure) = (exercise.check)(&mut check) {
        check.outcome.failure = Some(failure);
    }
    check.outcome
}

/// A path for messages: relative paths without their leading `./`.
pub fn shown(path: &Path) -> String {
    let s = path.display().to_string();
    s.strip_prefix("./").map(String::from).unwrap_or(s)
}

/// The script named `stem` in cgi-bin, in any of the languages cgilab runs.
fn find_script(cgi_bin: &Path, stem: &str) -> Option<String> {
    [".sh", ".py", ".pl", ""]
        .iter()
        .map(|ext| format!("{stem}{ext}"))
        .find(|name| cgi_bin.join(name).is_file())
}

fn missing(c: &Check, stem: &str, hint: &str) -> Failure {
    fail(
        format!(
            "{} does not exist (nor {stem}.py, {stem}.pl)",
            c.script_path(&format!("{stem}.sh"))
        ),
        hint,
    )
}

/// The last `n` lines of `text`.
fn last_lines(text: &str, n: usize) -> Vec<String> {
    let lines: Vec<String> = text.lines().map(String::from).collect();
    lines[lines.len().saturating_sub(n)..].to_vec()
}

/// A number that differs from run to run, so an answer cannot be written in advance.
fn nonce() -> u32 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    1000 + (nanos ^ std::process::id()) % 9000
}

/// The body's lines, without trailing whitespace.
fn lines(resp: &Response) -> Vec<String> {
    resp.text()
        .lines()
        .map(|l| l.trim_end().to_string())
        .collect()
}

// ---- Lesson 1 ----

fn hello(c: &mut Check) -> Result<(), Failure> {
    let name = "me.sh";
    if !c.opts.cgi_bin.join(name).is_file() {
        return Err(fail(
            format!("{} does not exist", c.script_path(name)),
            "create it: a `Content-Type: text/plain` line, an empty line, then `Hello from NAME!`",
        ));
    }
    c.pass(format!("{} exists", c.script_path(name)));
    let server = c.serve(&[])?;
    let req = Req::get("/cgi-bin/me.sh");
    let resp = c.fetch(&server, &req, name)?;
    c.expect_status(
        &server,
        &req,
        &resp,
        name,
        200,
        "answer with the default status",
    )?;
    let ctype = resp.header("Content-Type").unwrap_or("");
    if !ctype.starts_with("text/plain") {
        return Err(fail(
            format!("its Content-Type is `{ctype}`, not text/plain"),
            "print `Content-Type: text/plain` as the header line",
        ));
    }
    c.pass("GET /cgi-bin/me.sh answers 200 text/plain");
    let body = resp.text();
    let said = body.trim_end_matches('\n');
    let who = said
        .strip_prefix("Hello from ")
        .and_then(|rest| rest.strip_suffix('!'))
        .filter(|who| !who.trim().is_empty() && !said.contains('\n'));
    match who {
        Some(who) if who == "NAME" || who == "world" => Err(fail(
            format!("it says `{said}`"),
            "put your own name in place of NAME",
        )),
        Some(_) => {
            c.pass(format!("it says: {said}"));
            Ok(())
        }
        None => Err(fail(
            format!("its body is `{}`", body.escape_debug()),
            "the body must be one line, `Hello from NAME!`, with your name for NAME",
        )),
    }
}

// ---- Lesson 2 ----

fn echo(c: &mut Check) -> Result<(), Failure> {
    let Some(name) = find_script(&c.opts.cgi_bin, "echo") else {
        return Err(missing(
            c,
            "echo",
            "lesson 2's exercise says what it prints: path, query, color and body lines",
        ));
    };
    c.pass(format!("{} exists", c.script_path(&name)));
    let server = c.serve(&[])?;
    let n = nonce();
    let post_target = format!("/cgi-bin/{name}/lesson/two?color=teal&n={n}");
    let post_body = format!("a body of {n}");
    let color = format!("teal-{n}");
    let get_target = format!("/cgi-bin/{name}/{n}/b%20c");
    let requests = [
        (
            Req::post(&post_target, post_body.as_bytes()).header("X-Color", &color),
            [
                "path /lesson/two".to_string(),
                format!("query color=teal&n={n}"),
                format!("color {color}"),
                format!("body {post_body}"),
            ],
        ),
        (
            Req::get(&get_target).header("X-Color", "red"),
            [
                format!("path /{n}/b c"),
                "query".to_string(),
                "color red".to_string(),
                "body".to_string(),
            ],
        ),
    ];
    for (req, want) in &requests {
        let resp = c.fetch(&server, req, &name)?;
        c.expect_status(
            &server,
            req,
            &resp,
            &name,
            200,
            "answer with the default status",
        )?;
        let got = lines(&resp);
        for (i, want) in want.iter().enumerate() {
            let have = got.get(i).map_or("(nothing)", String::as_str);
            if have != want {
                let hint = match i {
                    0 => "print `path ` and then $PATH_INFO (it is already decoded)",
                    1 => "print `query ` and then $QUERY_STRING, as it is",
                    2 => "the X-Color header reaches a script as $HTTP_X_COLOR",
                    _ => {
                        "read $CONTENT_LENGTH bytes from stdin (`head -c \"${CONTENT_LENGTH:-0}\"`); a GET has no body"
                    }
                };
                return Err(fail(
                    format!(
                        "{} {}: line {} is `{have}`, expected `{want}`",
                        req.method,
                        req.target,
                        i + 1
                    ),
                    hint,
                ));
            }
        }
        c.pass(format!(
            "{} {} echoes path, query, color and body",
            req.method, req.target
        ));
    }
    Ok(())
}

// ---- Lesson 3 ----

fn create(c: &mut Check) -> Result<(), Failure> {
    let Some(name) = find_script(&c.opts.cgi_bin, "create") else {
        return Err(missing(
            c,
            "create",
            "answer a POST with `Status: 201 Created` and a `Location:` line",
        ));
    };
    c.pass(format!("{} exists", c.script_path(&name)));
    let server = c.serve(&[])?;
    let target = format!("/cgi-bin/{name}");
    let req = Req::post(&target, b"title=hello")
        .header("Content-Type", "application/x-www-form-urlencoded");
    let resp = c.fetch(&server, &req, &name)?;
    let hint = match resp.status {
        302 => "a Location without a Status is a redirect: print `Status: 201 Created` too",
        200 => "print `Status: 201 Created` among the header lines",
        405 => "a POST is the one method to accept: compare $REQUEST_METHOD with POST",
        _ => "print `Status: 201 Created` and `Location: /cgi-bin/...` for a POST",
    };
    c.expect_status(&server, &req, &resp, &name, 201, hint)?;
    let Some(location) = resp.header("Location") else {
        return Err(fail(
            format!("POST {target} answered 201 with no Location"),
            "print `Location: /cgi-bin/create.sh/1` (where the new thing lives) with the Status",
        ));
    };
    c.pass(format!(
        "POST {target} answers 201 Created, Location {location}"
    ));
    for method in ["GET", "PUT"] {
        let req = Req {
            method,
            ..Req::get(&target)
        };
        let resp = c.fetch(&server, &req, &name)?;
        c.expect_status(
            &server,
            &req,
            &resp,
            &name,
            405,
            "answer every method but POST with `Status: 405 Method Not Allowed`",
        )?;
        let allow = resp.header("Allow").unwrap_or("");
        if !allow.split(',').any(|m| m.trim() == "POST") {
            return Err(fail(
                format!("{method} {target} answered 405 with Allow `{allow}`"),
                "a 405 must say what is allowed: print `Allow: POST`",
            ));
        }
    }
    c.pass(format!("GET and PUT {target} answer 405, Allow: POST"));
    Ok(())
}

// ---- Lesson 4 ----

/// How many times each hello is timed.
const TIMED: usize = 9;

fn compiled(c: &mut Check) -> Result<(), Failure> {
    let name = "hello-cgi";
    let path = c.opts.cgi_bin.join(name);
    let shown_path = c.script_path(name);
    let copy = "copy it: `cp target/release/hello-cgi cgi-bin/` (after `cargo build --release`)";
    let Ok(meta) = path.symlink_metadata() else {
        return Err(fail(format!("{shown_path} does not exist"), copy));
    };
    if meta.file_type().is_symlink() {
        return Err(fail(
            format!("{shown_path} is a symlink"),
            format!(
                "cgilab refuses to run a file whose real path leaves cgi-bin (lesson 7 says why); {copy}"
            ),
        ));
    }
    let head = std::fs::read(&path).unwrap_or_default();
    if !head.starts_with(b"\x7fELF") {
        return Err(fail(
            format!("{shown_path} is not a compiled program"),
            format!("the point is a process with no interpreter to start; {copy}"),
        ));
    }
    c.pass(format!("{shown_path} is a compiled program"));
    let server = c.serve(&[])?;
    let req = Req::get("/cgi-bin/hello-cgi");
    let resp = c.fetch(&server, &req, name)?;
    c.expect_status(
        &server,
        &req,
        &resp,
        name,
        200,
        "answer with the default status",
    )?;
    if resp.body != b"Hello, world!\n" {
        return Err(fail(
            format!("its body is `{}`", resp.text().escape_debug()),
            "it should say `Hello, world!`, like hello.sh",
        ));
    }
    c.pass("GET /cgi-bin/hello-cgi answers Hello, world!");
    let mut timed = Vec::new();
    for script in [name, "hello.sh", "hello.py"] {
        if script != name && !c.opts.cgi_bin.join(script).is_file() {
            continue;
        }
        let target = format!("/cgi-bin/{script}");
        let mut times = Vec::with_capacity(TIMED);
        for _ in 0..TIMED {
            let req = Req::get(&target);
            // The whole round trip, as a client sees it: until the script has exited
            // and the response is complete.
            let started = std::time::Instant::now();
            let resp = c.fetch(&server, &req, script)?;
            times.push(crate::timing::ms(started.elapsed()));
            c.expect_status(&server, &req, &resp, script, 200, "it should answer 200")?;
        }
        times.sort_by(f64::total_cmp);
        timed.push((script, times[TIMED / 2]));
    }
    let table: Vec<String> = timed
        .iter()
        .map(|(s, ms)| format!("{s} {ms:.2} ms"))
        .collect();
    let table = table.join(", ");
    if let Some((_, python)) = timed.iter().find(|(s, _)| *s == "hello.py")
        && timed[0].1 >= *python
    {
        return Err(fail(
            format!("hello-cgi is not faster than hello.py: {table}"),
            "is the machine busy? run the check again; a compiled hello should win easily",
        ));
    }
    c.pass(format!(
        "median time per request, {TIMED} requests each: {table}"
    ));
    Ok(())
}

// ---- Lesson 5 ----

fn counter(c: &mut Check) -> Result<(), Failure> {
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
    let server = Served::start(cmd, Duration::from_secs(600)).map_err(|why| {
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

/// Checks a running counter app: two GETs of /app/counter, counted in-process.
fn counter_requests(c: &mut Check, addr: SocketAddr) -> Result<(), Failure> {
    let mut counts = Vec::new();
    for _ in 0..2 {
        let req = Req::get("/app/counter");
        let resp = super::probe::request(addr, &req).map_err(|why| fail(why, ""))?;
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
    if counts[1] != counts[0] + 1 {
        return Err(fail(
            format!(
                "two requests in a row answered count {} then count {}",
                counts[0], counts[1]
            ),
            "keep the count in an AtomicU64 that outlives the calls, and add one per call",
        ));
    }
    c.pass(format!(
        "GET /app/counter twice: count {}, then count {}",
        counts[0], counts[1]
    ));
    Ok(())
}

/// Checks a counter app already listening on `addr` (what lesson 5's check does once
/// the example is running).
pub fn check_counter_app(addr: SocketAddr) -> Outcome {
    let opts = Options {
        cgi_bin: PathBuf::new(),
        cgilab: PathBuf::new(),
        workdir: PathBuf::new(),
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

// ---- Lesson 6 ----

fn bench_csv(c: &mut Check) -> Result<(), Failure> {
    let how = "with the server running: cgilab bench --url http://127.0.0.1:8000 --targets /cgi-bin/hello.pl,/app/hello --concurrency 1,8 --format csv > bench.csv";
    let Ok(text) = std::fs::read_to_string(c.opts.workdir.join("bench.csv")) else {
        return Err(fail("bench.csv does not exist", how));
    };
    let mut lines = text.lines();
    let columns: Vec<&str> = lines.next().unwrap_or("").split(',').collect();
    let col = |name: &str| columns.iter().position(|c| *c == name);
    let (Some(target), Some(conc), Some(requests), Some(mean), Some(rate)) = (
        col("target"),
        col("concurrency"),
        col("requests"),
        col("mean_ms"),
        col("req_per_s"),
    ) else {
        return Err(fail(
            "bench.csv is not the output of `cgilab bench --format csv`",
            how,
        ));
    };
    // (target, concurrency, requests, mean ms, requests per second)
    let rows: Vec<(String, usize, u64, f64, f64)> = lines
        .map(|l| l.split(',').collect::<Vec<&str>>())
        .filter_map(|f| {
            Some((
                f.get(target)?.to_string(),
                f.get(conc)?.parse().ok()?,
                f.get(requests)?.parse().ok()?,
                f.get(mean)?.parse().ok()?,
                f.get(rate)?.parse().ok()?,
            ))
        })
        .collect();
    c.pass(format!(
        "bench.csv holds {} runs of cgilab bench",
        rows.len()
    ));
    let at = |t: &str| -> Vec<usize> {
        let mut v: Vec<usize> = rows.iter().filter(|r| r.0 == t).map(|r| r.1).collect();
        v.sort_unstable();
        v
    };
    let gateway = at("/app/hello");
    let script = rows
        .iter()
        .map(|r| r.0.as_str())
        .find(|t| t.starts_with("/cgi-bin/") && at(t).len() >= 2 && at(t) == gateway);
    let Some(script) = script else {
        return Err(fail(
            "bench.csv needs a /cgi-bin/ script and /app/hello, both at the same two or more concurrencies",
            how,
        ));
    };
    if let Some(r) = rows.iter().find(|r| r.2 == 0) {
        return Err(fail(
            format!("{} at concurrency {} answered no request", r.0, r.1),
            "was the server running, and does the script answer 200? bench again",
        ));
    }
    let row = |t: &str, n: usize| rows.iter().find(|r| r.0 == t && r.1 == n).expect("listed");
    for n in &gateway {
        let (s, g) = (row(script, *n), row("/app/hello", *n));
        c.pass(format!(
            "at concurrency {n}: {script} {:.2} ms a request, /app/hello {:.2} ms; the gateway answers {:.0}x as many per second",
            s.3,
            g.3,
            g.4 / s.4.max(1e-9)
        ));
    }
    Ok(())
}

// ---- Lesson 7 ----

fn notes(c: &mut Check) -> Result<(), Failure> {
    let Some(name) = find_script(&c.opts.cgi_bin, "notes") else {
        return Err(missing(
            c,
            "notes",
            "start from lessons/07-what-a-host-must-refuse/naive-notes.sh",
        ));
    };
    c.pass(format!("{} exists", c.script_path(&name)));
    let n = nonce();
    let dir = tempfile::tempdir()
        .map_err(|e| fail(format!("cannot make a temporary directory: {e}"), ""))?;
    let notes_dir = dir.path().join("notes");
    let secret = format!("the secret is {n}\n");
    let write = |path: PathBuf, text: &str| {
        std::fs::create_dir_all(path.parent().expect("has a parent"))
            .and_then(|_| std::fs::write(&path, text))
            .map_err(|e| fail(format!("cannot write {}: {e}", path.display()), ""))
    };
    write(notes_dir.join("welcome.txt"), "welcome to the notes\n")?;
    write(notes_dir.join(format!("n{n}.txt")), &format!("note {n}\n"))?;
    write(dir.path().join("secret.txt"), &secret)?;
    let server = c.serve(&[format!("--env=NOTES_DIR={}", notes_dir.display())])?;
    let base = format!("/cgi-bin/{name}?name=");

    for (note, text) in [
        (
            "welcome.txt".to_string(),
            "welcome to the notes\n".to_string(),
        ),
        (format!("n{n}.txt"), format!("note {n}\n")),
    ] {
        let target = format!("{base}{note}");
        let req = Req::get(&target);
        let resp = c.fetch(&server, &req, &name)?;
        c.expect_status(
            &server,
            &req,
            &resp,
            &name,
            200,
            "print the note with the default status",
        )?;
        if resp.text() != text {
            return Err(fail(
                format!(
                    "GET {target}: the body is `{}`, expected `{}`",
                    resp.text().escape_debug(),
                    text.escape_debug()
                ),
                "print the file $NOTES_DIR/NAME, where NAME comes from the query `name=NAME`",
            ));
        }
    }
    c.pass("it serves the notes in $NOTES_DIR");

    let secret_path = dir.path().join("secret.txt").display().to_string();
    let attacks = [
        ("../secret.txt".to_string(), true),
        ("welcome.txt/../../secret.txt".to_string(), true),
        (secret_path, true),
        ("..%2fsecret.txt".to_string(), false),
        ("%2e%2e%2fsecret.txt".to_string(), false),
    ];
    for (attack, must_be_403) in &attacks {
        let target = format!("{base}{attack}");
        let req = Req::get(&target);
        let resp = c.fetch(&server, &req, &name)?;
        if resp.text().contains(secret.trim_end()) {
            return Err(fail(
                format!("GET {target} leaked the file next to $NOTES_DIR"),
                "refuse any name that contains `/` or `..` before you build a path from it",
            ));
        }
        let refused = if *must_be_403 {
            resp.status == 403
        } else {
            matches!(resp.status, 400 | 403 | 404)
        };
        if !refused {
            return Err(fail(
                format!("GET {target} answered {}", resp.status_line()),
                "answer a name that contains `/` or `..` with `Status: 403 Forbidden`",
            ));
        }
    }
    c.pass(format!(
        "{} ways out of $NOTES_DIR are refused",
        attacks.len()
    ));

    let target = format!("{base}no-such-note.txt");
    let req = Req::get(&target);
    let resp = c.fetch(&server, &req, &name)?;
    c.expect_status(
        &server,
        &req,
        &resp,
        &name,
        404,
        "answer a note that does not exist with `Status: 404 Not Found`",
    )?;
    c.pass("a missing note is 404");
    Ok(())
}

// ---- Lesson 8 ----

fn client_ip(c: &mut Check) -> Result<(), Failure> {
    let Some(name) = find_script(&c.opts.cgi_bin, "client-ip") else {
        return Err(missing(
            c,
            "client-ip",
            "print $REMOTE_ADDR, or the last address of $HTTP_X_FORWARDED_FOR when REMOTE_ADDR is 127.0.0.1",
        ));
    };
    c.pass(format!("{} exists", c.script_path(&name)));
    let server = c.serve(&[])?;
    let target = format!("/cgi-bin/{name}");
    let other = Ipv4Addr::new(127, 0, 0, 2);
    let cases = [
        (
            None,
            None,
            "127.0.0.1",
            "with no X-Forwarded-For, print $REMOTE_ADDR",
        ),
        (
            None,
            Some("203.0.113.7"),
            "203.0.113.7",
            "behind the proxy (REMOTE_ADDR 127.0.0.1), the client is in $HTTP_X_FORWARDED_FOR",
        ),
        (
            None,
            Some("198.51.100.23, 203.0.113.7"),
            "203.0.113.7",
            "take the last address: the one your proxy added; the ones before it came from the client and can be made up",
        ),
        (
            Some(other),
            Some("203.0.113.7"),
            "127.0.0.2",
            "from any address but 127.0.0.1 the header is not your proxy's: ignore it and print $REMOTE_ADDR",
        ),
    ];
    for (from, forwarded, want, hint) in cases {
        let mut req = Req::get(&target);
        req.from = from;
        if let Some(f) = forwarded {
            req = req.header("X-Forwarded-For", f);
        }
        let what = format!(
            "from {}{}",
            from.unwrap_or(Ipv4Addr::LOCALHOST),
            forwarded.map_or(String::new(), |f| format!(" with X-Forwarded-For `{f}`"))
        );
        let resp = match c.fetch(&server, &req, &name) {
            Err(_) if from.is_some() => {
                c.pass(format!("(skipped: cannot connect {what})"));
                continue;
            }
            r => r?,
        };
        c.expect_status(
            &server,
            &req,
            &resp,
            &name,
            200,
            "answer with the default status",
        )?;
        let got = resp.text();
        if got.trim() != want {
            return Err(fail(
                format!(
                    "{what}: it says `{}`, expected `{want}`",
                    got.trim().escape_debug()
                ),
                hint,
            ));
        }
        c.pass(format!("{what}: {want}"));
    }
    Ok(())
}
