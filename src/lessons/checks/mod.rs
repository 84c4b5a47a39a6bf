//! The exercises, one check each. A check looks at the learner's work the way a client
//! would: it starts a server of its own on 127.0.0.1 and sends real requests.
//!
//! A check is a list of steps; each passing step prints a `✓` line, and the first step that
//! fails ends the check with a `✗` line, what the server logged about it, and a hint.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::client::{Req, Response, ServerProcess};

mod bench_csv;
mod client_ip;
mod compiled;
mod counter;
mod create;
mod deploy;
mod echo;
mod flask_app;
mod hello;
mod hits;
mod meet;
mod notes;
mod tally;
mod visits;

use bench_csv::bench_csv;
use client_ip::client_ip;
use compiled::compiled;
pub use counter::check_counter_app;
use counter::counter;
use create::create;
use deploy::deploy;
use echo::echo;
use flask_app::flask_app;
use hello::hello;
use hits::hits;
use meet::meet;
use notes::notes;
use tally::tally;
use visits::visits;

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

/// The exercises, in order.
pub const EXERCISES: [Exercise; 14] = [
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
        title: "Workers that stay",
        task: "cgi-bin/tally_wsgi.py says its pid and how many requests its process has answered",
        check: tally,
    },
    Exercise {
        lesson: 7,
        title: "The supervisor's jobs",
        task: "cgi-bin/hits_wsgi.py counts every request in $HITS_FILE, across workers that come and go",
        check: hits,
    },
    Exercise {
        lesson: 8,
        title: "Head to head",
        task: "bench.csv holds a `cgilab bench` run of a CGI script and /app/hello at two concurrencies",
        check: bench_csv,
    },
    Exercise {
        lesson: 9,
        title: "What a host must refuse",
        task: "cgi-bin/notes.sh serves a note from $NOTES_DIR and refuses every way out of it",
        check: notes,
    },
    Exercise {
        lesson: 10,
        title: "Your Flask app",
        task: "cgi-bin/flask_app.py greets /hello/NAME with Flask, the same as CGI and in a pool",
        check: flask_app,
    },
    Exercise {
        lesson: 11,
        title: "The three layers",
        task: "cgi-bin/client-ip.sh names the real client, trusting X-Forwarded-For only from the proxy",
        check: client_ip,
    },
    Exercise {
        lesson: 12,
        title: "Workers that wait",
        task: "cgi-bin/visits_wsgi.py counts visits in SQLite, on one connection kept per worker",
        check: visits,
    },
    Exercise {
        lesson: 13,
        title: "The server calls the app",
        task: "cgi-bin/meet_wsgi.py lets two requests meet: embedded they do, in a pool they cannot",
        check: meet,
    },
    Exercise {
        lesson: 14,
        title: "Your app in production",
        task: "deploy.toml deploys shop.py at /shop, its secret key for its pool alone, with no lab routes",
        check: deploy,
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
    /// The language the steps are shown in.
    pub lang: super::Lang,
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
            println!("  ✓ {}", self.opts.lang.say(&step));
        }
        self.outcome.passed.push(step);
    }

    /// A path under cgi-bin, as the learner would write it.
    fn script_path(&self, name: &str) -> String {
        shown(&self.opts.cgi_bin.join(name))
    }

    /// Starts `cgilab serve` on the learner's cgi-bin, with `extra` arguments. It logs
    /// errors and the scripts' stderr, not every request (`--quiet`).
    fn serve(&self, extra: &[String]) -> Result<ServerProcess, Failure> {
        self.start_server(true, extra, None)
    }

    /// Like [`Check::serve`], with `dir` first on the server's `PATH`: its `python3` then
    /// runs the scripts and the workers.
    fn serve_with_path(&self, extra: &[String], dir: &Path) -> Result<ServerProcess, Failure> {
        self.start_server(true, extra, Some(dir))
    }

    /// Like [`Check::serve`], but the server logs every request's access line too.
    fn serve_logging(&self, extra: &[String]) -> Result<ServerProcess, Failure> {
        self.start_server(false, extra, None)
    }

    fn start_server(
        &self,
        quiet: bool,
        extra: &[String],
        path_first: Option<&Path>,
    ) -> Result<ServerProcess, Failure> {
        let mut cmd = Command::new(&self.opts.cgilab);
        if let Some(dir) = path_first {
            let path = std::env::var("PATH").unwrap_or_default();
            cmd.env("PATH", format!("{}:{path}", dir.display()));
        }
        cmd.arg("serve")
            .args(["--listen", "127.0.0.1:0", "--timeout", "10"])
            .args(quiet.then_some("--quiet"))
            .arg("--cgi-bin")
            .arg(&self.opts.cgi_bin)
            .args(extra)
            .current_dir(&self.opts.workdir);
        ServerProcess::start(cmd, Duration::from_secs(10)).map_err(|why| Failure {
            what: "cgilab serve did not start".into(),
            details: why.lines().map(String::from).collect(),
            hint: "run `cgilab serve --cgi-bin DIR` yourself to see why".into(),
        })
    }

    /// Sends a request; a failure says which request and, from the log, why.
    fn fetch(
        &self,
        server: &ServerProcess,
        req: &Req<'_>,
        script: &str,
    ) -> Result<Response, Failure> {
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
        server: &ServerProcess,
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
fn logged(server: &ServerProcess, script: &str) -> Vec<String> {
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
    let exercise = EXERCISES
        .iter()
        .find(|e| e.lesson == n)
        .expect("a lesson with an exercise");
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

/// The learner's script `stem.sh` (or `.py`, `.pl`, no extension): its file name, with a
/// passing step, or the failure that says it is missing, with `hint`.
fn require_script(c: &mut Check, stem: &str, hint: &str) -> Result<String, Failure> {
    let Some(name) = find_script(&c.opts.cgi_bin, stem) else {
        return Err(fail(
            format!(
                "{} does not exist (nor {stem}.py, {stem}.pl)",
                c.script_path(&format!("{stem}.sh"))
            ),
            hint,
        ));
    };
    c.pass(format!("{} exists", c.script_path(&name)));
    Ok(name)
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
/// Fails unless `resp` is plain text (`text/plain`, with any parameters), as the task
/// says: a browser shows text/html as a page, not as the lines the task asks for.
fn expect_plain_text(resp: &Response, what: &str, hint: &str) -> Result<(), Failure> {
    let content_type = resp.header("Content-Type").unwrap_or("(none)");
    let essence = content_type.split(';').next().unwrap_or("").trim();
    if essence.eq_ignore_ascii_case("text/plain") {
        return Ok(());
    }
    Err(fail(
        format!("{what} answered with Content-Type `{content_type}`, not text/plain"),
        hint,
    ))
}

/// GET `target`: a 200 in plain text whose lines `KEY N` give a number for each of
/// `keys`, in their order; else what it answered instead, with the server's log.
fn counted_lines(
    c: &Check,
    server: &ServerProcess,
    target: &str,
    script: &str,
    keys: &[&str],
    hint: &str,
) -> Result<Vec<u32>, Failure> {
    let req = Req::get(target);
    let resp = c.fetch(server, &req, script)?;
    c.expect_status(server, &req, &resp, script, 200, hint)?;
    expect_plain_text(
        &resp,
        &format!("GET {target}"),
        "start_response(\"200 OK\", [(\"Content-Type\", \"text/plain\")])",
    )?;
    let body = lines(&resp);
    let number = |key: &str| {
        body.iter().find_map(|l| {
            l.strip_prefix(key)?
                .strip_prefix(' ')?
                .trim()
                .parse::<u32>()
                .ok()
        })
    };
    keys.iter()
        .map(|key| number(key))
        .collect::<Option<Vec<u32>>>()
        .ok_or_else(|| {
            let wanted: Vec<String> = keys.iter().map(|k| format!("`{k} N`")).collect();
            Failure {
                what: format!(
                    "GET {target} answered `{}`, not the lines {}",
                    resp.text().trim_end().escape_debug(),
                    wanted.join(", ")
                ),
                details: logged(server, script),
                hint: hint.into(),
            }
        })
}

fn lines(resp: &Response) -> Vec<String> {
    resp.text()
        .lines()
        .map(|l| l.trim_end().to_string())
        .collect()
}
