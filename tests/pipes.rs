//! A reader that stops early: `cgilab routes | head -1`, and the same for `bench` and
//! `lessons`. The pipe's read end is closed before the command writes, so its first
//! write meets a closed pipe (EPIPE, since Rust ignores SIGPIPE); the command must end
//! quietly, with status 0, as `ls | head -1` does, and never with a panic.

use std::io::Read;
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_cgilab");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Runs `cmd` with its stdout a pipe whose read end is closed at once; returns its exit
/// status and what it wrote to stderr.
fn with_closed_stdout(mut cmd: Command) -> (std::process::ExitStatus, String) {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    (child.wait().unwrap(), stderr)
}

fn assert_quiet(what: &str, (status, stderr): (std::process::ExitStatus, String)) {
    assert!(
        status.success() && !stderr.contains("panicked"),
        "{what} into a closed pipe: {status}\n{stderr}"
    );
}

#[test]
fn routes_into_a_closed_pipe_ends_quietly() {
    let mut cmd = Command::new(BIN);
    cmd.args(["routes", "--cgi-bin", &format!("{ROOT}/cgi-bin")]);
    assert_quiet("cgilab routes", with_closed_stdout(cmd));
}

/// `cgilab lessons` prints a line per lesson as it checks each: the first print meets
/// the closed pipe, and whatever the check had started is dropped on the way out.
#[test]
fn lessons_into_a_closed_pipe_ends_quietly() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("cgi-bin")).unwrap();
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir.path()).args([
        "lessons",
        "--lessons",
        &format!("{ROOT}/lessons"),
        "--cgi-bin",
        "cgi-bin",
    ]);
    assert_quiet("cgilab lessons", with_closed_stdout(cmd));
}

/// The report meets the closed pipe; the chart asked for is still drawn.
#[test]
fn bench_into_a_closed_pipe_ends_quietly_and_still_draws_its_chart() {
    let dir = tempfile::tempdir().unwrap();
    let chart = dir.path().join("chart.svg");
    let mut cmd = Command::new(BIN);
    cmd.args([
        "bench",
        "--targets",
        "/app/hello",
        "--concurrency",
        "1",
        "--duration",
        "0.2",
        "--chart",
        chart.to_str().unwrap(),
    ]);
    assert_quiet("cgilab bench", with_closed_stdout(cmd));
    assert!(
        chart.is_file(),
        "no chart after the report met a closed pipe"
    );
}
