//! The harness: a temporary directory, `cgilab serve` started in it (killed by its PID
//! when dropped), requests over TCP or a unix socket, and bounded waits on processes.

#![allow(dead_code)]

use std::collections::BTreeSet;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use cgilab::client::http::{Req, Response};
use cgilab::client::server_process::ServerProcess;
use tempfile::TempDir;

/// How long to wait for a server, a file, a datagram or a process to appear or go away.
pub const WAIT: Duration = Duration::from_secs(30);

/// A WSGI app that names its process and its parent (the server, without --preload),
/// and says which of systemd's variables it sees.
pub const WHO_APP: &str = r#"import os
def application(environ, start_response):
    seen = [k for k in ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES", "NOTIFY_SOCKET")
            if k in os.environ]
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"pid=%d ppid=%d systemd=%s\n" % (os.getpid(), os.getppid(), ",".join(seen).encode())]
"#;

/// The cgilab binary under test.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_cgilab")
}

/// The repository's cgi-bin, with the printenv twins.
pub fn repo_cgi_bin() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("cgi-bin")
}

/// A temporary directory for sockets, pid files, apps and configs. Unix socket paths
/// are short (108 bytes), so it is made under /tmp.
pub struct Dir(TempDir);

impl Dir {
    pub fn new() -> Dir {
        let dir = tempfile::Builder::new()
            .prefix("cgilab-ops-")
            .tempdir_in("/tmp")
            .expect("a temporary directory");
        Dir(dir)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.path().join(name)
    }

    pub fn root(&self) -> &Path {
        self.0.path()
    }

    /// Writes `text` to `name` (before any server starts).
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, text).unwrap();
        path
    }
}

/// `cgilab serve ARGS`, started in `dir` and waited for until it listens.
pub fn serve(dir: &Dir, args: &[&str]) -> ServerProcess {
    let mut cmd = Command::new(bin());
    cmd.arg("serve").args(args).current_dir(dir.root());
    ServerProcess::start(cmd, WAIT).unwrap_or_else(|e| panic!("{e}"))
}

/// `cgilab serve ARGS` that cannot start: its exit status and what it said.
pub fn serve_fails(dir: &Dir, args: &[&str]) -> (ExitStatus, String) {
    let out = Command::new(bin())
        .arg("serve")
        .args(args)
        .current_dir(dir.root())
        .stdin(Stdio::null())
        .output()
        .expect("running cgilab");
    (
        out.status,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A command that runs `cgilab serve ARGS` with `fd` as its descriptor 3 and
/// `LISTEN_FDS=1`, `LISTEN_PID` its own pid (set by a shell that then execs it, so the
/// pid is the server's), as systemd starts a socket-activated service.
pub fn activated(fd: std::os::fd::RawFd, listen_pid: Option<&str>, args: &[&str]) -> Command {
    let pid = listen_pid.unwrap_or("$$");
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!(
            "export LISTEN_PID={pid} LISTEN_FDS=1; exec \"$0\" serve \"$@\""
        ))
        .arg(bin())
        .args(args);
    unsafe {
        cmd.pre_exec(move || {
            // dup2 leaves the copy open across exec; onto itself it changes nothing, so
            // then the close-on-exec flag is cleared by hand.
            if fd == 3 {
                let flags = libc::fcntl(3, libc::F_GETFD);
                libc::fcntl(3, libc::F_SETFD, flags & !libc::FD_CLOEXEC);
            } else if libc::dup2(fd, 3) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd
}

/// Starts `cmd` (stderr piped by [`ServerProcess::start`]) and waits until it listens.
pub fn start(cmd: Command) -> ServerProcess {
    ServerProcess::start(cmd, WAIT).unwrap_or_else(|e| panic!("{e}"))
}

pub fn get(server: &ServerProcess, target: &str) -> Response {
    server
        .request(&Req::get(target))
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Sends `signal` to the server and waits for it to exit.
pub fn stop(server: &mut ServerProcess, signal: libc::c_int) -> ExitStatus {
    send(server.pid(), signal);
    server.wait_exit(WAIT).unwrap_or_else(|| {
        panic!(
            "the server did not exit within {WAIT:?}; log:\n{}",
            server.log().join("\n")
        )
    })
}

/// Sends `signal` to `pid`.
pub fn send(pid: u32, signal: libc::c_int) {
    unsafe {
        libc::kill(pid as libc::pid_t, signal);
    }
}

/// Waits until `done` holds, or fails the test saying `what`.
pub fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// True if `pid` exists and is not a zombie.
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state = stat.rsplit(')').next().unwrap_or("").trim_start();
            !state.starts_with('Z') && !state.starts_with('X')
        }
        Err(_) => false,
    }
}

/// The parent of `pid`.
pub fn parent(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit(')')
        .next()?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// The pids of `pid`'s children (from every thread's `children` list).
pub fn children(pid: u32) -> BTreeSet<u32> {
    let mut out = BTreeSet::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for task in tasks.flatten() {
        if let Ok(list) = std::fs::read_to_string(task.path().join("children")) {
            out.extend(
                list.split_whitespace()
                    .filter_map(|p| p.parse::<u32>().ok()),
            );
        }
    }
    out
}

/// The processes whose command line has `word` as an argument and `arg` as another
/// (e.g. the keeper of server PID: `cgilab __keeper ... PID ...`).
pub fn processes_with_args(word: &str, arg: &str) -> BTreeSet<u32> {
    let mut out = BTreeSet::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
        if args.contains(&word.as_bytes()) && args.contains(&arg.as_bytes()) && alive(pid) {
            out.insert(pid);
        }
    }
    out
}

/// `pid=N ppid=M systemd=...` from [`WHO_APP`]: (pid, ppid, the variables it saw).
pub fn who(res: &Response) -> (u32, u32, String) {
    let text = res.text();
    let field = |name: &str| {
        text.split_whitespace()
            .find_map(|w| w.strip_prefix(name))
            .unwrap_or_else(|| panic!("no {name} in {text:?}"))
            .to_string()
    };
    (
        field("pid=").parse().unwrap(),
        field("ppid=").parse().unwrap(),
        field("systemd="),
    )
}

/// True if `python3` runs; tests of pools need it.
pub fn python3() -> bool {
    Command::new("python3")
        .args(["-c", "pass"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The `NAME=value` lines of a printenv body, as a map.
pub fn env_map(res: &Response) -> std::collections::BTreeMap<String, String> {
    res.text()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}
