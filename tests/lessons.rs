//! The course never rots: every console block of README.md and of every lesson runs here
//! against a real server, and its output must match what the page shows; the course's
//! structure is checked; and `cgilab lessons check` is tried on right and wrong answers.
//!
//! How a page is written for this runner (lessons/README.md says the same for authors):
//!
//! - A ```` ```console ```` block holds commands, each on a line starting with `$ `, each
//!   followed by its exact output (stdout and stderr together). Commands run with `sh -c`
//!   in a scratch copy of the repository, one page after another in page order, so files a
//!   page creates stay for its later blocks.
//! - In an expected line, `[..]` matches any part of that line; a line that is only `...`
//!   matches any number of lines. What must vary is normalised on both sides: the port
//!   (the test server listens on a free port; `127.0.0.1:8000` in commands is rewritten to
//!   it, and it back to 8000 in output), timings (`dur=1.178`, `0.305ms`, `1.10 ms`),
//!   `Date:` headers, client ports and `pid 1234`.
//! - `$ cgilab serve ARGS` (or `cargo run [--release] -- serve ARGS`) runs until stopped, so
//!   the runner starts (or restarts) its own server with the same ARGS on a free port, and
//!   compares the block's output with the server's first log lines. Every page starts with
//!   a server with no ARGS.
//! - In a ```` ```console timings ```` block every number is a measurement (a load test's
//!   table): every number becomes `#`, and runs of spaces and of table rules (`─`, `═`)
//!   shrink to one, so the page can show one real run and still be checked for its shape.
//! - A ```` ```log ```` block is what the server's terminal shows: each line must appear in
//!   the server's log, in order, after what the page's previous log block matched.
//! - A block whose info string is `LANG file=PATH` is a file the learner creates: the
//!   runner writes it to PATH.
//! - ```` ```console skip: REASON ```` is shown, not run (the server itself, cargo, nginx).
//!
//! The scratch copy holds cgi-bin/ and examples/ as git has them (so a learner's own work
//! in the checkout does not change the output), lessons/, src/, README.md, Cargo.toml, and
//! target/release/{cgilab,hello-cgi} pointing at the binaries this test was built with,
//! first on PATH. curl gets a .curlrc with `--silent --show-error`: in a terminal curl
//! shows no progress meter, but into a pipe it would.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const CGILAB: &str = env!("CARGO_BIN_EXE_cgilab");
const HELLO_CGI: &str = env!("CARGO_BIN_EXE_hello-cgi");
/// The port the pages show.
const PAGE_PORT: &str = "8000";
/// Longest a single command may run.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// Pages run at once.
const PARALLEL: usize = 3;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

// ---------------------------------------------------------------------------------------
// Pages and their blocks

#[derive(Debug, Clone)]
struct Block {
    /// 1-based line of the opening fence.
    line: usize,
    info: String,
    text: Vec<String>,
}

/// The fenced blocks of a markdown page; a longer fence can hold shorter ones as text.
fn blocks(page: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut open: Option<(usize, Block)> = None;
    for (i, line) in page.lines().enumerate() {
        let ticks = line.len() - line.trim_start_matches('`').len();
        match &mut open {
            None if ticks >= 3 => {
                let block = Block {
                    line: i + 1,
                    info: line[ticks..].trim().to_string(),
                    text: Vec::new(),
                };
                open = Some((ticks, block));
            }
            None => {}
            Some((n, _)) if ticks >= *n && line.trim() == "`".repeat(ticks) => {
                out.push(open.take().expect("open").1);
            }
            Some((_, block)) => block.text.push(line.to_string()),
        }
    }
    out
}

/// A console block's commands and their expected output.
fn commands(block: &Block) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for line in &block.text {
        if let Some(cmd) = line.strip_prefix("$ ") {
            out.push((cmd.to_string(), Vec::new()));
        } else if let Some((_, expected)) = out.last_mut() {
            expected.push(line.clone());
        }
    }
    out
}

fn skip_reason(info: &str) -> Option<&str> {
    info.strip_prefix("console skip:").map(str::trim)
}

fn file_target(info: &str) -> Option<&str> {
    info.split_whitespace()
        .find_map(|w| w.strip_prefix("file="))
}

/// The arguments of a command that starts the server, if it is one.
fn serve_args(cmd: &str) -> Option<String> {
    let rest = cmd
        .strip_prefix("cgilab serve")
        .or_else(|| cmd.strip_prefix("cargo run --release -- serve"))
        .or_else(|| cmd.strip_prefix("cargo run -- serve"))?;
    (rest.is_empty() || rest.starts_with(' ')).then(|| rest.trim().to_string())
}

// ---------------------------------------------------------------------------------------
// Matching

/// What must vary, made equal on both sides.
fn normalise(line: &str, port: &str) -> String {
    let mut s = line.trim_end().replace('\r', "");
    if port != PAGE_PORT {
        s = replace_number(&s, port, PAGE_PORT);
    }
    if s.starts_with("Date: ") && s.ends_with(" GMT") {
        return "Date: [date]".to_string();
    }
    s = number_after(&s, "dur=");
    s = number_after(&s, "REMOTE_PORT=");
    s = number_after(&s, "pid ");
    s = client_ports(&s);
    milliseconds(&s)
}

/// For `timings` blocks: numbers become `#`; runs of spaces and table rules shrink to one.
fn measurements(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            while chars
                .peek()
                .is_some_and(|d| d.is_ascii_digit() || *d == '.')
            {
                chars.next();
            }
            out.push('#');
        } else if c == ' ' || c == '─' || c == '═' {
            while chars.peek() == Some(&c) {
                chars.next();
            }
            out.push(c);
        } else {
            out.push(c);
        }
    }
    out
}

/// Replaces the whole number `from` (not part of a longer one) with `to`.
fn replace_number(s: &str, from: &str, to: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find(from) {
        let before = rest[..i].chars().last();
        let after = rest[i + from.len()..].chars().next();
        let whole = !before.is_some_and(|c| c.is_ascii_digit())
            && !after.is_some_and(|c| c.is_ascii_digit());
        out.push_str(&rest[..i]);
        out.push_str(if whole { to } else { from });
        rest = &rest[i + from.len()..];
    }
    out + rest
}

/// `dur=1.178` -> `dur=#`.
fn number_after(s: &str, key: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find(key) {
        out.push_str(&rest[..i + key.len()]);
        rest = &rest[i + key.len()..];
        let n = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if n > 0 {
            out.push('#');
            rest = &rest[n..];
        }
    }
    out + rest
}

/// `127.0.0.1:47534` -> `127.0.0.1:#`, except the server's own port.
fn client_ports(s: &str) -> String {
    let key = "127.0.0.1:";
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find(key) {
        out.push_str(&rest[..i + key.len()]);
        rest = &rest[i + key.len()..];
        let n = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if n > 0 && &rest[..n] != PAGE_PORT {
            out.push('#');
            rest = &rest[n..];
        }
    }
    out + rest
}

/// `0.305ms` and `1.10 ms` -> `#ms` and `# ms`.
fn milliseconds(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let start = i;
        if chars[i].is_ascii_digit() && (i == 0 || !chars[i - 1].is_ascii_alphanumeric()) {
            let mut j = i;
            while j < chars.len() && (chars[j].is_ascii_digit() || chars[j] == '.') {
                j += 1;
            }
            let number: String = chars[i..j].iter().collect();
            let unit_at = if chars.get(j) == Some(&' ') { j + 1 } else { j };
            let unit: String = chars[unit_at..(unit_at + 2).min(chars.len())]
                .iter()
                .collect();
            let unit_ends = !chars
                .get(unit_at + 2)
                .is_some_and(|c| c.is_ascii_alphanumeric());
            if number.contains('.') && unit == "ms" && unit_ends {
                out.push('#');
                out.extend(&chars[j..unit_at + 2]);
                i = unit_at + 2;
                continue;
            }
            out.extend(&chars[i..j]);
            i = j;
        }
        if i == start {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

/// One line against a pattern with `[..]` wildcards.
fn line_matches(pattern: &str, line: &str) -> bool {
    let parts: Vec<&str> = pattern.split("[..]").collect();
    if parts.len() == 1 {
        return pattern == line;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !line.starts_with(first) || !line[first.len()..].ends_with(last) {
        return false;
    }
    let mut rest = &line[first.len()..line.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    true
}

/// Lines against patterns, where a `...` pattern line matches any number of lines.
fn lines_match(patterns: &[String], lines: &[String]) -> bool {
    match patterns.split_first() {
        None => lines.is_empty(),
        Some((p, rest)) if p == "..." => (0..=lines.len()).any(|k| lines_match(rest, &lines[k..])),
        Some((p, rest)) => {
            !lines.is_empty() && line_matches(p, &lines[0]) && lines_match(rest, &lines[1..])
        }
    }
}

fn trim_blank_end(mut lines: Vec<String>) -> Vec<String> {
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    lines
}

// ---------------------------------------------------------------------------------------
// The scratch repository, the server and commands

/// Files git tracks under `dir`, or `None` if git cannot say.
fn tracked(dir: &str) -> Option<Vec<String>> {
    let out = Command::new("git")
        .args(["ls-files", "-z", "--", dir])
        .current_dir(root())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let files: Vec<String> = String::from_utf8(out.stdout)
        .ok()?
        .split('\0')
        .filter(|f| !f.is_empty())
        .map(String::from)
        .collect();
    (out.status.success() && !files.is_empty()).then_some(files)
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn scratch() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = root();
    for sub in ["cgi-bin", "examples"] {
        match tracked(sub) {
            Some(files) => {
                for f in files {
                    let target = dir.path().join(&f);
                    std::fs::create_dir_all(target.parent().unwrap()).unwrap();
                    // A file deleted in the work tree but still tracked is left out.
                    let _ = std::fs::copy(root.join(&f), target);
                }
            }
            None => copy_tree(&root.join(sub), &dir.path().join(sub)),
        }
    }
    for sub in ["lessons", "src"] {
        copy_tree(&root.join(sub), &dir.path().join(sub));
    }
    for file in ["README.md", "Cargo.toml"] {
        std::fs::copy(root.join(file), dir.path().join(file)).unwrap();
    }
    let bin = dir.path().join("target/release");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(CGILAB, bin.join("cgilab")).unwrap();
    std::os::unix::fs::symlink(HELLO_CGI, bin.join("hello-cgi")).unwrap();
    std::fs::write(dir.path().join(".curlrc"), "--silent\n--show-error\n").unwrap();
    dir
}

/// A command's environment: the scratch binaries first on PATH, curl's quiet .curlrc.
fn prepare(cmd: &mut Command, dir: &Path) {
    let path = std::env::var("PATH").unwrap_or_default();
    cmd.current_dir(dir)
        .env(
            "PATH",
            format!("{}:{path}", dir.join("target/release").display()),
        )
        .env("CURL_HOME", dir)
        .env_remove("CARGO_TARGET_DIR")
        .stdin(Stdio::null())
        .process_group(0);
}

/// A server started for a page; its process group is killed when dropped.
struct Server {
    child: Child,
    port: String,
    log: Arc<Mutex<Vec<String>>>,
    /// How far the page's log blocks have matched.
    log_seen: usize,
}

impl Server {
    fn start(dir: &Path, args: &str) -> Result<Server, String> {
        let listen = format!("127.0.0.1:{PAGE_PORT}");
        let args = if args.contains(&listen) {
            args.replace(&listen, "127.0.0.1:0")
        } else {
            format!("{args} --listen 127.0.0.1:0")
        };
        let mut cmd = Command::new("sh");
        cmd.arg("-c").arg(format!("exec cgilab serve {args}"));
        prepare(&mut cmd, dir);
        cmd.stdout(Stdio::null()).stderr(Stdio::piped());
        // If the test process dies, its servers go too.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let mut child = cmd.spawn().map_err(|e| e.to_string())?;
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let lines = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                lines.lock().unwrap().push(line);
            }
        });
        let mut server = Server {
            child,
            port: String::new(),
            log,
            log_seen: 0,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            let first = server.log.lock().unwrap().first().cloned();
            if let Some(line) = first {
                let port = line
                    .split("listening on http://127.0.0.1:")
                    .nth(1)
                    .map(|r| r.chars().take_while(char::is_ascii_digit).collect());
                return match port {
                    Some(port) => {
                        server.port = port;
                        Ok(server)
                    }
                    None => Err(format!("`cgilab serve {args}` said: {line}")),
                };
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(format!("`cgilab serve {args}` did not start in 10s"))
    }

    /// Waits up to `wait` for the log to hold at least `n` lines; returns them all.
    fn log_lines(&self, n: usize, wait: Duration) -> Vec<String> {
        let deadline = Instant::now() + wait;
        loop {
            let lines = self.log.lock().unwrap().clone();
            if lines.len() >= n || Instant::now() > deadline {
                return lines;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        unsafe { libc::kill(-(self.child.id() as libc::pid_t), libc::SIGKILL) };
        let _ = self.child.wait();
    }
}

/// Runs `cmd` with `sh -c`, stdout and stderr together, within COMMAND_TIMEOUT.
fn run_command(dir: &Path, cmd: &str) -> String {
    let mut command = Command::new("sh");
    command.arg("-c").arg(format!("exec 2>&1\n{cmd}"));
    prepare(&mut command, dir);
    command.stdout(Stdio::piped()).stderr(Stdio::null());
    let mut child = command.spawn().expect("sh starts");
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        let _ = stdout.read_to_end(&mut out);
        out
    });
    let deadline = Instant::now() + COMMAND_TIMEOUT;
    let mut timed_out = false;
    while child.try_wait().ok().flatten().is_none() {
        if Instant::now() > deadline {
            timed_out = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    // The command's group: anything it left running in the background goes too.
    unsafe { libc::kill(-(child.id() as libc::pid_t), libc::SIGKILL) };
    let _ = child.wait();
    let mut out = String::from_utf8_lossy(&reader.join().unwrap_or_default()).into_owned();
    if timed_out {
        out.push_str(&format!("\n(killed after {}s)", COMMAND_TIMEOUT.as_secs()));
    }
    out
}

// ---------------------------------------------------------------------------------------
// Running a page

struct PageRun {
    failures: Vec<String>,
    skipped: Vec<String>,
    ran: usize,
}

fn mismatch(page: &str, line: usize, what: &str, expected: &[String], actual: &[String]) -> String {
    format!(
        "{page}:{line}: {what}\n--- expected\n{}\n--- actual\n{}\n(if the actual output is right, put it in the block; `[..]` matches a part of a line that varies, a `...` line any number of lines)",
        expected.join("\n"),
        actual.join("\n")
    )
}

fn run_page(rel: &str) -> PageRun {
    let text = std::fs::read_to_string(root().join(rel)).unwrap();
    let dir = scratch();
    let mut run = PageRun {
        failures: Vec::new(),
        skipped: Vec::new(),
        ran: 0,
    };
    let mut server = match Server::start(dir.path(), "") {
        Ok(s) => s,
        Err(e) => {
            run.failures.push(format!("{rel}: {e}"));
            return run;
        }
    };
    for block in blocks(&text) {
        let lang = block.info.split_whitespace().next().unwrap_or("");
        if let Some(reason) = skip_reason(&block.info) {
            run.skipped.push(format!("{rel}:{}: {reason}", block.line));
            continue;
        }
        if let Some(path) = file_target(&block.info) {
            let target = dir.path().join(path);
            std::fs::create_dir_all(target.parent().unwrap()).unwrap();
            std::fs::write(&target, block.text.join("\n") + "\n").unwrap();
            continue;
        }
        if lang == "log" {
            run.ran += 1;
            let wanted: Vec<String> = block
                .text
                .iter()
                .map(|l| normalise(l, &server.port))
                .collect();
            let deadline = Instant::now() + Duration::from_secs(3);
            loop {
                let log: Vec<String> = server
                    .log_lines(0, Duration::ZERO)
                    .iter()
                    .map(|l| normalise(l, &server.port))
                    .collect();
                let mut at = server.log_seen;
                let mut missing = None;
                for want in &wanted {
                    match log[at.min(log.len())..]
                        .iter()
                        .position(|l| line_matches(want, l))
                    {
                        Some(i) => at += i + 1,
                        None => {
                            missing = Some(want.clone());
                            break;
                        }
                    }
                }
                match missing {
                    None => {
                        server.log_seen = at;
                        break;
                    }
                    Some(_) if Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(50))
                    }
                    Some(line) => {
                        let seen = log[server.log_seen.min(log.len())..].to_vec();
                        run.failures.push(mismatch(
                            rel,
                            block.line,
                            &format!("the server log has no line like `{line}`"),
                            &wanted,
                            &seen,
                        ));
                        break;
                    }
                }
            }
            continue;
        }
        if lang != "console" {
            continue;
        }
        let timings = block.info.split_whitespace().any(|w| w == "timings");
        let norm = |line: &str, port: &str| {
            let line = normalise(line, port);
            if timings { measurements(&line) } else { line }
        };
        for (cmd, expected) in commands(&block) {
            run.ran += 1;
            let expected: Vec<String> =
                trim_blank_end(expected.iter().map(|l| norm(l, PAGE_PORT)).collect());
            if let Some(args) = serve_args(&cmd) {
                drop(server);
                server = match Server::start(dir.path(), &args) {
                    Ok(s) => s,
                    Err(e) => {
                        run.failures.push(format!("{rel}:{}: {e}", block.line));
                        return run;
                    }
                };
                let first: Vec<String> = server
                    .log_lines(expected.len(), Duration::from_secs(2))
                    .iter()
                    .take(expected.len())
                    .map(|l| normalise(l, &server.port))
                    .collect();
                server.log_seen = first.len();
                if !lines_match(&expected, &first) {
                    run.failures.push(mismatch(
                        rel,
                        block.line,
                        &format!("$ {cmd}"),
                        &expected,
                        &first,
                    ));
                }
                continue;
            }
            let real = cmd.replace(
                &format!("127.0.0.1:{PAGE_PORT}"),
                &format!("127.0.0.1:{}", server.port),
            );
            let out = run_command(dir.path(), &real);
            let actual: Vec<String> =
                trim_blank_end(out.lines().map(|l| norm(l, &server.port)).collect());
            if !lines_match(&expected, &actual) {
                run.failures.push(mismatch(
                    rel,
                    block.line,
                    &format!("$ {cmd}"),
                    &expected,
                    &actual,
                ));
            }
        }
    }
    run
}

/// README.md, lessons/README.md and every lesson's README.md.
fn pages() -> Vec<String> {
    let mut pages = vec!["README.md".to_string(), "lessons/README.md".to_string()];
    let mut dirs: Vec<String> = std::fs::read_dir(root().join("lessons"))
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    dirs.sort();
    pages.extend(dirs.iter().map(|d| format!("lessons/{d}/README.md")));
    pages
}

#[test]
fn every_console_block_shows_what_really_happens() {
    let queue = Arc::new(Mutex::new(pages()));
    let results = Arc::new(Mutex::new(Vec::new()));
    let workers: Vec<_> = (0..PARALLEL)
        .map(|_| {
            let queue = queue.clone();
            let results = results.clone();
            std::thread::spawn(move || {
                loop {
                    let Some(page) = queue.lock().unwrap().pop() else {
                        break;
                    };
                    let run = run_page(&page);
                    results.lock().unwrap().push((page, run));
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let mut results = std::mem::take(&mut *results.lock().unwrap());
    results.sort_by(|a, b| a.0.cmp(&b.0));
    let mut failures = Vec::new();
    for (page, run) in &results {
        eprintln!("{page}: {} commands and log blocks checked", run.ran);
        for s in &run.skipped {
            eprintln!("  skipped {s}");
        }
        failures.extend(run.failures.iter().cloned());
    }
    assert!(
        failures.is_empty(),
        "{} block(s) do not show what happens:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

// ---------------------------------------------------------------------------------------
// Structure

/// The sections every lesson has, in this order.
const SECTIONS: [&str; 6] = [
    "## Goal",
    "## The idea",
    "## Steps",
    "## What just happened",
    "## Exercise",
    "## Check",
];

/// Text that would only be true on one machine.
const MACHINE_PATHS: [&str; 5] = ["/home/", "/root/", "/Users/", "/work/", "/tmp/tmp"];

#[test]
fn the_course_is_well_formed() {
    let dir = root().join("lessons");
    let mut problems = Vec::new();
    let mut numbers = Vec::new();
    let index = std::fs::read_to_string(dir.join("README.md")).unwrap_or_default();
    if index.is_empty() {
        problems.push(
            "lessons/README.md is missing: it introduces the course and links every lesson".into(),
        );
    }
    for entry in std::fs::read_dir(&dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == "README.md" {
            continue;
        }
        let Some(n) = cgilab::lessons::lesson_number(&name).filter(|_| entry.path().is_dir())
        else {
            problems.push(format!(
                "lessons/{name}: lessons/ holds README.md and lesson folders named NN-slug (two digits, a dash, lowercase words); rename or remove it"
            ));
            continue;
        };
        numbers.push(n);
        problems.extend(lesson_problems(&dir, &name, n, &index));
    }
    numbers.sort();
    let want: Vec<usize> = (1..=numbers.len()).collect();
    if numbers != want {
        problems.push(format!(
            "lesson numbers are {numbers:?}; they must run 1, 2, 3, ... with no gap or repeat: renumber the folders"
        ));
    }
    if numbers.len() != cgilab::lessons::EXERCISES.len() {
        problems.push(format!(
            "{} lesson folders but {} exercises in EXERCISES (src/lessons/checks/mod.rs): every lesson needs an exercise with a check, and every check a lesson",
            numbers.len(),
            cgilab::lessons::EXERCISES.len()
        ));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

fn lesson_problems(dir: &Path, name: &str, n: usize, index: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let rel = format!("lessons/{name}/README.md");
    let Ok(text) = std::fs::read_to_string(dir.join(name).join("README.md")) else {
        return vec![format!(
            "{rel} is missing: every lesson folder has a README.md"
        )];
    };
    match cgilab::lessons::title_of(&text, n) {
        None => problems.push(format!(
            "{rel}: the first line must be `# Lesson {n}: TITLE`"
        )),
        Some(title) => {
            if let Some(e) = cgilab::lessons::EXERCISES.get(n - 1)
                && e.title != title
            {
                problems.push(format!(
                    "{rel}: the title `{title}` differs from `{}` in EXERCISES (src/lessons/checks/mod.rs); make them the same",
                    e.title
                ));
            }
        }
    }
    let mut at = 0;
    for section in SECTIONS {
        match text.lines().skip(at).position(|l| l.trim() == section) {
            Some(i) => at += i + 1,
            None => problems.push(format!(
                "{rel}: no `{section}` heading (after the ones before it); a lesson has {} in that order",
                SECTIONS.join(", ")
            )),
        }
    }
    let check = text.split("\n## Check").nth(1).unwrap_or("");
    if !check.contains(&format!("$ cgilab lessons check {n}")) {
        problems.push(format!(
            "{rel}: the Check section needs a console block with `$ cgilab lessons check {n}`"
        ));
    }
    if !index.contains(&format!("{name}/README.md")) {
        problems.push(format!(
            "lessons/README.md does not link {name}/README.md; add it to the list of lessons"
        ));
    }
    for block in blocks(&text) {
        if block.info.starts_with("console skip")
            && skip_reason(&block.info).is_none_or(str::is_empty)
        {
            problems.push(format!(
                "{rel}:{}: a skipped block says why: ```console skip: REASON",
                block.line
            ));
        }
    }
    for bad in MACHINE_PATHS {
        if text.contains(bad) {
            problems.push(format!(
                "{rel}: it mentions `{bad}`, a path on one machine; write paths relative to the repository"
            ));
        }
    }
    // Every other file in the folder is something the README uses.
    let mut files = BTreeSet::new();
    collect_files(&dir.join(name), Path::new(""), &mut files);
    for file in files {
        if file != "README.md" && !text.contains(&file) {
            problems.push(format!(
                "lessons/{name}/{file} is not mentioned in {rel}; use it there or remove it"
            ));
        }
    }
    problems
}

fn collect_files(dir: &Path, prefix: &Path, out: &mut BTreeSet<String>) {
    for entry in std::fs::read_dir(dir).unwrap().filter_map(Result::ok) {
        let rel = prefix.join(entry.file_name());
        if entry.path().is_dir() {
            collect_files(&entry.path(), &rel, out);
        } else {
            out.insert(rel.to_string_lossy().into_owned());
        }
    }
}

// ---------------------------------------------------------------------------------------
// The runner's own rules

#[test]
fn the_runner_matches_and_normalises_as_documented() {
    assert!(line_matches("Server: cgilab/[..]", "Server: cgilab/0.1.0"));
    assert!(line_matches("a[..]c[..]e", "abcde"));
    assert!(!line_matches("a[..]c", "abd"));
    let p = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert!(lines_match(
        &p(&["a", "...", "d"]),
        &p(&["a", "b", "c", "d"])
    ));
    assert!(lines_match(&p(&["a", "...", "d"]), &p(&["a", "d"])));
    assert!(!lines_match(&p(&["a", "d"]), &p(&["a", "b", "d"])));
    assert_eq!(
        normalise(
            "Server-Timing: spawn;dur=0.305, headers;dur=1.178, total;dur=1.187",
            PAGE_PORT
        ),
        "Server-Timing: spawn;dur=#, headers;dur=#, total;dur=#"
    );
    assert_eq!(
        normalise(
            "127.0.0.1:47534 GET /x 200 14B mode=cgi spawn=0.305ms total=1.355ms",
            PAGE_PORT
        ),
        "127.0.0.1:# GET /x 200 14B mode=cgi spawn=#ms total=#ms"
    );
    assert_eq!(
        normalise(
            "HTTP_HOST=127.0.0.1:41234 SERVER_PORT=41234 141234",
            "41234"
        ),
        "HTTP_HOST=127.0.0.1:8000 SERVER_PORT=8000 141234"
    );
    assert_eq!(
        measurements("│ /app/hello  ┆ 8    ┆ 19641 ┆ 0.393   │ ──── ══"),
        "│ /app/hello ┆ # ┆ # ┆ # │ ─ ═"
    );
    assert_eq!(
        normalise("hello.sh 1.10 ms, 3 ms", PAGE_PORT),
        "hello.sh # ms, 3 ms"
    );
    assert_eq!(
        normalise("Date: Tue, 24 Nov 2026 06:21:57 GMT", PAGE_PORT),
        "Date: [date]"
    );
    assert_eq!(
        normalise("sleep (pid 4242) is", PAGE_PORT),
        "sleep (pid #) is"
    );
    assert_eq!(
        serve_args("cgilab serve --timeout 1").as_deref(),
        Some("--timeout 1")
    );
    assert_eq!(
        serve_args("cargo run --release -- serve").as_deref(),
        Some("")
    );
    assert_eq!(serve_args("cgilab server"), None);
    let page = "text\n````markdown\n```console\n$ inner\n```\n````\n```console\n$ a\nout\n```\n";
    let b = blocks(page);
    assert_eq!(b.len(), 2);
    assert_eq!(
        commands(&b[1]),
        vec![("a".to_string(), vec!["out".to_string()])]
    );
}

// ---------------------------------------------------------------------------------------
// The checks, on right and wrong answers

/// `cgilab lessons check N` on a cgi-bin holding the repository's scripts plus `files`.
fn check(n: usize, files: &[(&str, &str)]) -> (bool, String) {
    let dir = scratch();
    for (name, text) in files {
        std::fs::write(dir.path().join("cgi-bin").join(name), text).unwrap();
    }
    let out = Command::new(CGILAB)
        .args(["lessons", "check", &n.to_string()])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

#[test]
fn a_script_without_a_header_block_fails_with_the_servers_reason() {
    let (ok, out) = check(1, &[("me.sh", "echo 'Hello from Ada!'\n")]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("✗ GET /cgi-bin/me.sh answered 502 Bad Gateway, not 200"),
        "{out}"
    );
    assert!(
        out.contains("error=\"cgi: `me.sh`: output ended inside the header block"),
        "{out}"
    );
    assert!(out.contains("hint: "), "{out}");
}

#[test]
fn an_echo_that_forgets_the_body_is_told_to_read_stdin() {
    let script = "printf 'Content-Type: text/plain\\n\\n'\n\
                  printf 'path %s\\nquery %s\\ncolor %s\\nbody\\n' \"$PATH_INFO\" \"$QUERY_STRING\" \"$HTTP_X_COLOR\"\n";
    let (ok, out) = check(2, &[("echo.sh", script)]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("line 4 is `body`, expected `body a body of "),
        "{out}"
    );
    assert!(out.contains("CONTENT_LENGTH"), "{out}");
}

#[test]
fn a_created_resource_without_status_is_a_redirect() {
    let script = "printf 'Location: http://example.test/1\\n\\n'\n";
    let (ok, out) = check(3, &[("create.sh", script)]);
    assert!(!ok, "{out}");
    assert!(out.contains("answered 302 Found, not 201"), "{out}");
    assert!(out.contains("Status: 201 Created"), "{out}");
}

#[test]
fn a_created_resource_with_a_local_location_and_no_status_is_a_local_redirect() {
    // The POST's Location is only a path, so the server serves it itself, as a GET:
    // the 405 that comes back is the GET's, not the POST's.
    let script = "if [ \"$REQUEST_METHOD\" != POST ]; then\n\
                  \x20 printf 'Status: 405 Method Not Allowed\\nAllow: POST\\n\\n'; exit\n\
                  fi\n\
                  printf 'Location: /cgi-bin/create.sh/1\\n\\n'\n";
    let (ok, out) = check(3, &[("create.sh", script)]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("✗ POST /cgi-bin/create.sh answered 405 Method Not Allowed, not 201: the server followed its Location, /cgi-bin/create.sh/1, as a GET"),
        "{out}"
    );
    assert!(
        out.contains("POST /cgi-bin/create.sh 405 ")
            && out.contains("local-redirect=/cgi-bin/create.sh/1"),
        "{out}"
    );
    assert!(out.contains("local redirect"), "{out}");
    assert!(out.contains("Status: 201 Created"), "{out}");
    assert!(!out.contains("compare $REQUEST_METHOD"), "{out}");
}

#[test]
fn a_script_is_not_a_compiled_hello() {
    let (ok, out) = check(4, &[("hello-cgi", "#!/bin/sh\necho hi\n")]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("✗ cgi-bin/hello-cgi is not a compiled program"),
        "{out}"
    );
}

#[test]
fn a_notes_script_that_trusts_its_query_leaks_the_secret() {
    let naive =
        std::fs::read_to_string(root().join("lessons/07-what-a-host-must-refuse/naive-notes.sh"))
            .unwrap();
    let (ok, out) = check(7, &[("notes.sh", &naive)]);
    assert!(!ok, "{out}");
    assert!(out.contains("leaked the file next to $NOTES_DIR"), "{out}");
}

#[test]
fn a_client_ip_that_trusts_every_peer_is_caught() {
    let script = "printf 'Content-Type: text/plain\\n\\n'\n\
                  echo \"${HTTP_X_FORWARDED_FOR##*, }\" | grep . || echo \"$REMOTE_ADDR\"\n";
    let (ok, out) = check(8, &[("client-ip.sh", script)]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("from 127.0.0.2 with X-Forwarded-For `203.0.113.7`: it says `203.0.113.7`, expected `127.0.0.2`"),
        "{out}"
    );
}

/// Lesson 5's check builds the learner's example with cargo, which cannot run inside
/// `cargo test`; the requests it then makes are checked here on apps served in-process.
#[test]
fn the_counter_check_wants_a_count_that_survives_between_requests() {
    use cgilab::gateway::{AppRequest, AppResponse, Apps};
    use std::sync::atomic::{AtomicU64, Ordering};

    fn serve(apps: Apps) -> std::net::SocketAddr {
        let mut config =
            cgilab::config::Config::new("127.0.0.1:0", root().join("cgi-bin")).unwrap();
        config.timeout = Duration::from_secs(5);
        config.max_body = 1 << 20;
        config.max_procs = 4;
        config.threads = 4;
        config.read_timeout = Duration::from_secs(5);
        config.quiet = true;
        cgilab::server::Server::bind_with_apps(config, apps)
            .unwrap()
            .spawn()
    }

    let count = AtomicU64::new(0);
    let right = serve(Apps::empty().with("counter", move |_: AppRequest<'_>| {
        let n = count.fetch_add(1, Ordering::SeqCst) + 1;
        AppResponse::text(200, format!("count {n}\n"))
    }));
    let outcome = cgilab::lessons::checks::check_counter_app(right);
    assert!(outcome.ok(), "{outcome:?}");

    let forgetful = serve(Apps::empty().with("counter", |_: AppRequest<'_>| {
        AppResponse::text(200, "count 1\n")
    }));
    let outcome = cgilab::lessons::checks::check_counter_app(forgetful);
    assert_eq!(
        outcome.failure.map(|f| f.what),
        Some(
            "two requests in a row answered count 1 then count 1, not count 1 then count 2"
                .to_string()
        )
    );

    // Counting, but from 0: a fresh example's first answer must be `count 1`.
    let from_zero = AtomicU64::new(0);
    let off_by_one = serve(Apps::empty().with("counter", move |_: AppRequest<'_>| {
        let n = from_zero.fetch_add(1, Ordering::SeqCst);
        AppResponse::text(200, format!("count {n}\n"))
    }));
    let failure = cgilab::lessons::checks::check_counter_app(off_by_one)
        .failure
        .expect("count 0, then count 1, fails");
    assert_eq!(
        failure.what,
        "two requests in a row answered count 0 then count 1, not count 1 then count 2"
    );
    assert!(failure.hint.contains("fetch_add"), "{}", failure.hint);

    let missing = serve(Apps::builtin());
    let outcome = cgilab::lessons::checks::check_counter_app(missing);
    assert!(!outcome.ok());
}
