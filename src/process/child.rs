//! A script's process: its own process group, a slot under `--max-procs`, and reaping.
//!
//! Every script runs as the leader of a new process group, so a timeout or a client that
//! went away kills the script *and* whatever it started in the background; the script's
//! own pid is killed too, in case it left its group (`setpgid`). A pidfd (Linux 5.3) makes
//! its exit something `poll` can wait on beside its pipes, with no thread and no sleep
//! loop. The process is always reaped: by [`Running::finish`] on the normal path, and by
//! `Drop` as the last line of defence, so no request can leave a zombie behind.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::process::{Child, ExitStatus};
use std::time::Instant;

use crate::process::slots::Slot;

/// A spawned script that will be reaped, whatever happens.
#[derive(Debug)]
pub struct Running {
    child: Child,
    /// Readable once the script has exited (not reaped: its pid and group id stay ours).
    exit_fd: Option<OwnedFd>,
    reaped: Option<ExitStatus>,
    _slot: Slot,
}

/// How a script ended, for the access log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// It exited by itself, with this status.
    Exited(ExitStatus),
    /// It was still running at the deadline and was killed.
    Killed,
}

impl Running {
    /// Takes charge of a child spawned with `process_group(0)`.
    pub fn new(child: Child, slot: Slot) -> Running {
        let pid = child.id() as libc::pid_t;
        live_groups().push(pid);
        // Not yet reaped, so the pid is still this child's.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) } as RawFd;
        Running {
            child,
            exit_fd: (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd) }),
            reaped: None,
            _slot: slot,
        }
    }

    /// The child itself, for its pipes.
    pub fn child(&mut self) -> &mut Child {
        &mut self.child
    }

    /// A descriptor that becomes readable when the script exits (none on old kernels).
    pub fn exit_fd(&self) -> Option<RawFd> {
        self.exit_fd.as_ref().map(|fd| fd.as_raw_fd())
    }

    /// Kills the script and its whole process group. Harmless if they are already gone.
    pub fn kill_group(&mut self) {
        if self.reaped.is_none() {
            // The group id is the leader's pid (process_group(0)); the leader is not yet
            // reaped, so neither id can have been reused.
            let pid = self.child.id() as libc::pid_t;
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
                libc::kill(pid, libc::SIGKILL);
            }
        }
    }

    /// Waits for the script to exit until `deadline` (then kills it), kills whatever is
    /// left of its group, and reaps it.
    pub fn finish(&mut self, deadline: Instant) -> Ended {
        if let Some(status) = self.reaped {
            return Ended::Exited(status);
        }
        // Not `try_wait`: it would reap, and the group id must stay ours until the kill.
        let exited = self.wait_exit(deadline);
        // Leftovers of the group (background children) go with the script; the leader is
        // a zombie until reaped below, so the group id is still this script's.
        self.kill_group();
        self.reap();
        match self.reaped {
            Some(status) if exited => Ended::Exited(status),
            _ => Ended::Killed,
        }
    }

    fn reap(&mut self) {
        self.reaped = self.child.wait().ok();
        let pid = self.child.id() as libc::pid_t;
        live_groups().retain(|&p| p != pid);
    }

    /// Blocks until the child exits or `deadline` passes; true if it exited. Never reaps.
    fn wait_exit(&mut self, deadline: Instant) -> bool {
        let Some(fd) = self.exit_fd() else {
            // An older kernel: ask for the exit status without collecting it.
            while !self.has_exited() {
                if Instant::now() >= deadline {
                    return false;
                }
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            return true;
        };
        let remaining = deadline.saturating_duration_since(Instant::now());
        let mut pfd = crate::process::poll::want(fd, libc::POLLIN);
        crate::process::poll::poll(std::slice::from_mut(&mut pfd), Some(remaining)) > 0
    }

    /// True if the child has exited, leaving it a zombie (`WNOWAIT`) until it is reaped.
    fn has_exited(&self) -> bool {
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        let flags = libc::WEXITED | libc::WNOHANG | libc::WNOWAIT;
        let rc = unsafe { libc::waitid(libc::P_PID, self.child.id(), &mut info, flags) };
        rc == 0 && unsafe { info.si_pid() } != 0
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.reaped.is_none() {
            self.kill_group();
            self.reap();
        }
    }
}

/// The scripts running now, so a server that is told to stop (Ctrl-C, SIGTERM) can take
/// them down with it.
fn live_groups() -> std::sync::MutexGuard<'static, Vec<libc::pid_t>> {
    static LIVE: std::sync::Mutex<Vec<libc::pid_t>> = std::sync::Mutex::new(Vec::new());
    LIVE.lock().unwrap_or_else(|e| e.into_inner())
}

/// Kills every running script and its process group. Scripts run in groups of their own,
/// so a Ctrl-C at the terminal reaches only the server; without this they would outlive it.
pub fn kill_all_groups() {
    for &pid in live_groups().iter() {
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
            libc::kill(pid, libc::SIGKILL);
        }
    }
}

/// How a script that did not exit with status 0 ended, for the access log; `None` for
/// a clean exit, which is the rule and needs no word on the line.
pub fn describe_failure(ended: Ended) -> Option<String> {
    match ended {
        Ended::Exited(status) if status.success() => None,
        _ => Some(describe(ended)),
    }
}

/// The exit status as the access log shows it: `exit=N` or `signal=NAME`.
pub fn describe(ended: Ended) -> String {
    use std::os::unix::process::ExitStatusExt;
    match ended {
        Ended::Killed => "signal=KILL".to_string(),
        Ended::Exited(status) => match (status.code(), status.signal()) {
            (Some(code), _) => format!("exit={code}"),
            (None, Some(sig)) => format!("signal={}", signal_name(sig)),
            _ => "exit=?".to_string(),
        },
    }
}

fn signal_name(sig: i32) -> String {
    let name = match sig {
        libc::SIGHUP => "HUP",
        libc::SIGINT => "INT",
        libc::SIGQUIT => "QUIT",
        libc::SIGILL => "ILL",
        libc::SIGABRT => "ABRT",
        libc::SIGBUS => "BUS",
        libc::SIGFPE => "FPE",
        libc::SIGKILL => "KILL",
        libc::SIGSEGV => "SEGV",
        libc::SIGPIPE => "PIPE",
        libc::SIGALRM => "ALRM",
        libc::SIGTERM => "TERM",
        libc::SIGUSR1 => "USR1",
        libc::SIGUSR2 => "USR2",
        libc::SIGXCPU => "XCPU",
        libc::SIGXFSZ => "XFSZ",
        _ => return sig.to_string(),
    };
    name.to_string()
}
