//! The runner: pages and their blocks, matching and normalising, the scratch repository,
//! the server a page talks to, and running one page ([`check_page`]).

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cgilab::client::ServerProcess;

use crate::background::Background;
pub use crate::background::{Spares, background_command};

pub const CGILAB: &str = env!("CARGO_BIN_EXE_cgilab");
const HELLO_CGI: &str = env!("CARGO_BIN_EXE_hello-cgi");
/// The port the pages show.
pub const PAGE_PORT: &str = "8000";
/// Other ports a page may use (a second server, nginx, gunicorn): each gets a free port
/// for the page's run, rewritten as the server's is.
pub const SPARE_PORTS: [&str; 6] = ["8001", "8002", "8003", "8080", "8081", "8082"];
/// Longest a single command may run.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest wait for a server to listen, for a background command's first lines and for
/// the lines of a log block: pools boot Python, which takes seconds on a busy machine.
/// Waits end as soon as what they wait for is there.
pub const WAIT: Duration = Duration::from_secs(30);

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

// ---------------------------------------------------------------------------------------
// Pages and their blocks

#[derive(Debug, Clone)]
pub struct Block {
    /// 1-based line of the opening fence.
    pub line: usize,
    pub info: String,
    pub text: Vec<String>,
}

/// The fenced blocks of a markdown page; a longer fence can hold shorter ones as text.
pub fn blocks(page: &str) -> Vec<Block> {
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
pub fn commands(block: &Block) -> Vec<(String, Vec<String>)> {
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

pub fn skip_reason(info: &str) -> Option<&str> {
    info.strip_prefix("console skip:").map(str::trim)
}

fn file_target(info: &str) -> Option<&str> {
    info.split_whitespace()
        .find_map(|w| w.strip_prefix("file="))
}

/// The arguments of a command that starts the server, if it is one.
pub fn serve_args(cmd: &str) -> Option<String> {
    // Variables set for the server alone (`PATH="$PWD/.venv/bin:$PATH" cgilab serve`)
    // are not arguments.
    let mut cmd = cmd;
    while let Some((word, rest)) = cmd.split_once(' ')
        && word.contains('=')
        && !word.starts_with('-')
    {
        cmd = rest;
    }
    let rest = cmd
        .strip_prefix("cgilab serve")
        .or_else(|| cmd.strip_prefix("cargo run --release -- serve"))
        .or_else(|| cmd.strip_prefix("cargo run -- serve"))?;
    (rest.is_empty() || rest.starts_with(' ')).then(|| rest.trim().to_string())
}

// ---------------------------------------------------------------------------------------
// Matching

/// What must vary, made equal on both sides.
pub fn normalise(line: &str, port: &str) -> String {
    let mut s = line.trim_end().replace('\r', "");
    if port != PAGE_PORT {
        s = replace_number(&s, port, PAGE_PORT);
    }
    if s.starts_with("Date: ") && s.ends_with(" GMT") {
        return "Date: [date]".to_string();
    }
    // A log line's time, as a page shows one and as the server wrote it.
    if let Some((_, message)) = cgilab::log::clock::split_time(&s) {
        s = format!("[time] {message}");
    }
    for key in ["dur=", "REMOTE_PORT=", "pid "] {
        s = number_after(&s, key, decimal, |_| false);
    }
    s = client_ports(&s);
    durations(&s)
}

/// For `timings` blocks: numbers become `#`; runs of spaces and table rules shrink to one.
pub fn measurements(line: &str) -> String {
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
pub fn replace_number(s: &str, from: &str, to: &str) -> String {
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

/// `dur=1.178` -> `dur=#`: the number after each `key` becomes `#`, unless `keep` says
/// otherwise. A number is a run of characters `in_number` accepts.
fn number_after(
    s: &str,
    key: &str,
    in_number: fn(char) -> bool,
    keep: impl Fn(&str) -> bool,
) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find(key) {
        out.push_str(&rest[..i + key.len()]);
        rest = &rest[i + key.len()..];
        let n = rest.find(|c: char| !in_number(c)).unwrap_or(rest.len());
        if n > 0 && !keep(&rest[..n]) {
            out.push('#');
            rest = &rest[n..];
        }
    }
    out + rest
}

/// A digit or a decimal point.
fn decimal(c: char) -> bool {
    c.is_ascii_digit() || c == '.'
}

/// `127.0.0.1:47534` -> `127.0.0.1:#`, except the server's own port.
fn client_ports(s: &str) -> String {
    number_after(
        s,
        "127.0.0.1:",
        |c| c.is_ascii_digit(),
        |port| port == PAGE_PORT || SPARE_PORTS.contains(&port),
    )
}

/// `0.305ms`, `1.10 ms` and `1.0s` -> `#ms`, `# ms` and `#s`: a figure with a decimal
/// point and a unit of time is a measurement (`waited 1.0s` on one machine is `waited
/// 1.1s` on a busy one). Whole numbers stay: `--timeout 1s` is a setting.
fn durations(s: &str) -> String {
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
            let unit = ["ms", "s"].into_iter().find(|unit| {
                let end = unit_at + unit.len();
                chars
                    .get(unit_at..end)
                    .is_some_and(|u| u.iter().copied().eq(unit.chars()))
                    && !chars.get(end).is_some_and(|c| c.is_ascii_alphanumeric())
            });
            if let Some(unit) = unit.filter(|_| number.contains('.')) {
                out.push('#');
                out.extend(&chars[j..unit_at]);
                out.push_str(unit);
                i = unit_at + unit.len();
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
pub fn line_matches(pattern: &str, line: &str) -> bool {
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
pub fn lines_match(patterns: &[String], lines: &[String]) -> bool {
    match patterns.split_first() {
        None => lines.is_empty(),
        Some((p, rest)) if p == "..." => (0..=lines.len()).any(|k| lines_match(rest, &lines[k..])),
        Some((p, rest)) => {
            !lines.is_empty() && line_matches(p, &lines[0]) && lines_match(rest, &lines[1..])
        }
    }
}

/// Where the lines of a log block are in `log`, from line `from` on: each pattern
/// matches a line after the previous pattern's (`any_order`: a different line, in any
/// order). Returns one past the last line matched, or the first pattern with no line.
pub fn find_log_lines(
    patterns: &[String],
    log: &[String],
    from: usize,
    any_order: bool,
) -> Result<usize, String> {
    let from = from.min(log.len());
    let mut used: Vec<usize> = Vec::new();
    let mut at = from;
    for pattern in patterns {
        let start = if any_order { from } else { at };
        let found = (start..log.len())
            .find(|i| !used.contains(i) && line_matches(pattern, &log[*i]))
            .ok_or_else(|| pattern.clone())?;
        used.push(found);
        at = found + 1;
    }
    Ok(used.iter().map(|i| i + 1).max().unwrap_or(from))
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
pub fn tracked(dir: &str) -> Option<Vec<String>> {
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

pub fn copy_tree(from: &Path, to: &Path) {
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

pub fn scratch() -> tempfile::TempDir {
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
    for sub in ["lessons", "src", "benches"] {
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
pub fn prepare(cmd: &mut Command, dir: &Path) {
    let path = std::env::var("PATH").unwrap_or_default();
    cmd.current_dir(dir)
        .env(
            "PATH",
            format!("{}:{path}", dir.join("target/release").display()),
        )
        .env("CURL_HOME", dir)
        .env_remove("CARGO_TARGET_DIR")
        // Both editions show `cgilab lessons` in English: a zh_* locale would change it.
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .env("LANG", "C.UTF-8")
        .stdin(Stdio::null())
        .process_group(0);
}

/// A server started for a page; its process group is killed when dropped.
struct Server {
    process: ServerProcess,
    port: String,
    /// How far the page's log blocks have matched, in lines from the start of the whole
    /// log (the server keeps only the latest lines, and a load test logs thousands).
    log_seen: usize,
}

impl Server {
    /// Starts `ENV cgilab serve ARGS`, where ENV is what `cmd` sets before `cgilab serve`.
    fn start(dir: &Path, cmd: &str) -> Result<Server, String> {
        let args = serve_args(cmd).unwrap_or_default();
        let env = &cmd[..cmd
            .find("cgilab serve")
            .or_else(|| cmd.find("cargo run"))
            .unwrap_or(0)];
        let args = args.as_str();
        let listen = format!("127.0.0.1:{PAGE_PORT}");
        let args = if args.contains(&listen) {
            args.replace(&listen, "127.0.0.1:0")
        } else {
            format!("{args} --listen 127.0.0.1:0")
        };
        let mut cmd = Command::new("sh");
        cmd.arg("-c").arg(format!("{env}exec cgilab serve {args}"));
        prepare(&mut cmd, dir);
        let process =
            ServerProcess::start(cmd, WAIT).map_err(|e| format!("`cgilab serve {args}`: {e}"))?;
        Ok(Server {
            port: process.addr.port().to_string(),
            process,
            log_seen: 0,
        })
    }

    /// Waits up to `wait` for the log to hold at least `n` lines; returns them all.
    fn log_lines(&self, n: usize, wait: Duration) -> Vec<String> {
        let deadline = Instant::now() + wait;
        loop {
            let lines = self.process.log();
            if lines.len() >= n || Instant::now() > deadline {
                return lines;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
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

pub struct PageRun {
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

pub fn run_page(rel: &str) -> PageRun {
    let text = std::fs::read_to_string(root().join(rel)).unwrap();
    let dir = scratch();
    let spares = Spares::new();
    // Declared after `dir`, so stopped before it is removed.
    let mut background: Vec<Background> = Vec::new();
    let mut run = PageRun {
        failures: Vec::new(),
        skipped: Vec::new(),
        ran: 0,
    };
    let mut server = match Server::start(dir.path(), "cgilab serve") {
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
            let any_order = block.info.split_whitespace().any(|w| w == "any-order");
            let deadline = Instant::now() + WAIT;
            loop {
                let (dropped, log) = server.process.log_from();
                let log: Vec<String> = log
                    .iter()
                    .map(|l| normalise(&spares.to_page(l), &server.port))
                    .collect();
                // Indexes of `log`; log_seen counts from the start of the whole log.
                let from = server.log_seen.saturating_sub(dropped);
                match find_log_lines(&wanted, &log, from, any_order) {
                    Ok(end) => {
                        server.log_seen = dropped + end;
                        break;
                    }
                    Err(_) if Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(50))
                    }
                    Err(line) => {
                        let from = server.log_seen.saturating_sub(dropped);
                        let seen = log[from.min(log.len())..].to_vec();
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
            if let Some(bg) = background_command(&cmd) {
                let real = spares.to_real(&bg.replace(
                    &format!("127.0.0.1:{PAGE_PORT}"),
                    &format!("127.0.0.1:{}", server.port),
                ));
                let started = Background::start(dir.path(), &real);
                let first: Vec<String> = started
                    .first_lines(expected.len(), WAIT)
                    .iter()
                    .map(|l| norm(&spares.to_page(l), &server.port))
                    .collect();
                background.push(started);
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
            if serve_args(&cmd).is_some() {
                drop(server);
                server = match Server::start(dir.path(), &cmd) {
                    Ok(s) => s,
                    Err(e) => {
                        run.failures.push(format!("{rel}:{}: {e}", block.line));
                        return run;
                    }
                };
                // What it logs up to its listening line (pools announce themselves
                // before it), and as many lines after it as the page shows.
                let shown = match expected
                    .iter()
                    .rposition(|l| l.contains("listening on http://"))
                {
                    Some(i) => {
                        // The line that said where it listens may reach the log a moment
                        // after the server was found listening.
                        let deadline = Instant::now() + WAIT;
                        let listening = loop {
                            let lines = server.log_lines(0, Duration::ZERO);
                            match lines
                                .iter()
                                .position(|l| l.contains("listening on http://"))
                            {
                                Some(at) => break at + 1,
                                None if Instant::now() < deadline => {
                                    std::thread::sleep(Duration::from_millis(10))
                                }
                                None => break lines.len(),
                            }
                        };
                        listening + expected.len() - i - 1
                    }
                    None => expected.len(),
                };
                let first: Vec<String> = server
                    .log_lines(shown, WAIT)
                    .iter()
                    .take(shown)
                    .map(|l| normalise(&spares.to_page(l), &server.port))
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
            let real = spares.to_real(&cmd.replace(
                &format!("127.0.0.1:{PAGE_PORT}"),
                &format!("127.0.0.1:{}", server.port),
            ));
            let out = run_command(dir.path(), &real);
            let actual: Vec<String> = trim_blank_end(
                out.lines()
                    .map(|l| norm(&spares.to_page(l), &server.port))
                    .collect(),
            );
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
pub fn pages() -> Vec<String> {
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

/// The two editions of a page run the same commands, and what a command asks of the
/// whole machine (the kernel's table of listening sockets, say) would see the other
/// edition's servers too: a page waits while its other edition runs.
fn edition_lock(rel: &str) -> std::sync::MutexGuard<'static, ()> {
    static PAGES: std::sync::Mutex<Vec<(String, &'static std::sync::Mutex<()>)>> =
        std::sync::Mutex::new(Vec::new());
    let english = rel.replace(".zh.md", ".md");
    let lock = {
        let mut pages = PAGES.lock().unwrap_or_else(|e| e.into_inner());
        match pages.iter().find(|(page, _)| *page == english) {
            Some((_, lock)) => *lock,
            None => {
                let lock: &'static std::sync::Mutex<()> =
                    Box::leak(Box::new(std::sync::Mutex::new(())));
                pages.push((english, lock));
                lock
            }
        }
    };
    lock.lock().unwrap_or_else(|e| e.into_inner())
}

/// The Chinese edition of an English page: `README.zh.md` beside its `README.md`.
pub fn chinese(page: &str) -> String {
    format!("{}.zh.md", page.strip_suffix(".md").unwrap_or(page))
}

/// The pages of the Chinese edition written so far, each beside its English page.
pub fn chinese_pages() -> Vec<String> {
    pages()
        .iter()
        .map(|p| chinese(p))
        .filter(|p| root().join(p).is_file())
        .collect()
}

/// Runs every console and log block of page `rel` (relative to the repository) in a
/// scratch copy, and fails with every block that does not show what happens.
pub fn check_page(rel: &str) {
    let _alone = edition_lock(rel);
    let run = run_page(rel);
    eprintln!("{rel}: {} commands and log blocks checked", run.ran);
    for s in &run.skipped {
        eprintln!("  skipped {s}");
    }
    assert!(
        run.failures.is_empty(),
        "{} block(s) do not show what happens:\n\n{}",
        run.failures.len(),
        run.failures.join("\n\n")
    );
}
