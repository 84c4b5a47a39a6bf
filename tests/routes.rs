//! `cgilab routes`: the route table, from the command line.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_cgilab");
const CGI_BIN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/cgi-bin");

/// `cgilab routes` prints every script and app with what runs and its twin.
#[test]
fn routes_lists_scripts_apps_and_twins() {
    let out = Command::new(BIN)
        .args(["routes", "--cgi-bin", CGI_BIN])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let row = |url: &str| {
        let first_cell = format!("│ {url} ");
        text.lines()
            .find(|l| l.starts_with(&first_cell))
            .unwrap_or_default()
            .to_string()
    };
    assert!(row("/cgi-bin/hello.sh").contains("/app/hello"), "{text}");
    assert!(
        row("/app/hello").contains("gateway") && row("/app/hello").contains("/cgi-bin/hello.py"),
        "{text}"
    );
    assert!(row("/cgi-bin/broken.sh").contains("cgi"), "{text}");
    let missing = Command::new(BIN)
        .args(["routes", "--cgi-bin", "/nonexistent-dir"])
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("pass --cgi-bin DIR"));
}

/// With `--preload`, a WSGI pool's row says its workers are forked from a preloader.
#[test]
fn routes_say_when_workers_are_forked_from_a_preloader() {
    let out = Command::new(BIN)
        .args(["routes", "--cgi-bin", CGI_BIN, "--preload"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let pool = text
        .lines()
        .find(|l| l.starts_with("│ /pool/hello "))
        .unwrap_or_else(|| panic!("a /pool/hello row in {text}"));
    assert!(pool.contains("forked from one preloader"), "{text}");
    assert!(pool.contains("--preload"), "{text}");
}

/// Runs `cgilab routes` with its stdout on a terminal `cols` columns wide (a pseudo
/// terminal, in a session of its own so that it is the only terminal the command can
/// ask), and returns what the terminal showed.
fn routes_on_a_terminal(cols: u16) -> String {
    use std::io::Read;
    use std::os::fd::{FromRawFd, OwnedFd};
    use std::os::unix::process::CommandExt;

    let (mut master, mut slave) = (0, 0);
    let size = libc::winsize {
        ws_row: 40,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: openpty writes two descriptors we then own.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            &size,
        )
    };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors are ours alone from here on.
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    let mut cmd = Command::new(BIN);
    cmd.args(["routes", "--cgi-bin", CGI_BIN])
        .stdin(std::process::Stdio::null())
        .stdout(slave)
        .stderr(std::process::Stdio::null());
    // SAFETY: setsid is async-signal-safe; a new session has no controlling terminal,
    // so the pseudo terminal on stdout is the one asked for its width.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    let mut child = cmd.spawn().unwrap();
    drop(cmd); // the parent's copy of the slave end, so the master sees the end
    let mut out = Vec::new();
    let mut master = std::fs::File::from(master);
    // Linux answers EIO once the last slave end is closed: the end of the output.
    let _ = master.read_to_end(&mut out);
    assert!(child.wait().unwrap().success());
    String::from_utf8_lossy(&out).replace('\r', "")
}

fn widest(text: &str) -> usize {
    text.lines().map(|l| l.chars().count()).max().unwrap_or(0)
}

/// On a terminal the table is wrapped to its width; into a pipe it keeps every cell on
/// one line, as wide as it needs (what the course's pages show).
#[test]
fn routes_fit_a_terminal_and_keep_their_width_into_a_pipe() {
    let piped = Command::new(BIN)
        .args(["routes", "--cgi-bin", CGI_BIN])
        .output()
        .unwrap();
    let piped = String::from_utf8(piped.stdout).unwrap();
    assert!(
        widest(&piped) > 80,
        "the test needs a table wider than 80 columns"
    );
    let shown = routes_on_a_terminal(80);
    assert!(
        widest(&shown) <= 80,
        "{} columns on an 80-column terminal:\n{shown}",
        widest(&shown)
    );
    assert!(shown.contains("/cgi-bin/hello.sh"), "{shown}");
}
