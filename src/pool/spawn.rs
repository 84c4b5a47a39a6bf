//! Starting one worker process: its own listening socket as descriptor 0 (or, with
//! `--accept shared`, the pool's one socket and a heartbeat file as descriptor 3:
//! [`super::shared_accept`]), its own process group (and cgroup, when the server has one:
//! [`super::group`]), an empty signal mask and default dispositions, and death with the
//! server.
//!
//! Why a Unix socket in a private directory, not TCP on 127.0.0.1: a TCP port on loopback
//! can be reached by every local user, a socket in a 0700 directory only by us; it uses no
//! ephemeral port; and the server connects to it *before* the worker runs (the kernel
//! queues the connection on the listening socket). So there is no window in which the
//! worker listens and nobody knows, and no retry loop waits for a port to open. The file
//! stays while the worker lives, so the server can connect again to a worker that closed
//! its connection (a FastCGI program that ignores `FCGI_KEEP_CONN`); it is removed when
//! the worker is reaped. php-cgi and flup accept on a Unix socket as well.

use std::ffi::OsString;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};

use crate::process::cgroup;

use super::group::{WorkerGroup, WorkerLog};
use super::shared_accept::{HEARTBEAT_FD, Heartbeat, SharedSocket};

/// How to start a pool's workers.
#[derive(Debug, Clone)]
pub struct Program {
    /// The executable (an interpreter or the FastCGI program itself).
    pub program: PathBuf,
    pub args: Vec<OsString>,
    /// The whole environment: nothing of the server's own leaks in.
    pub env: Vec<(String, String)>,
    /// The directory it starts in (a WSGI worker then enters its pool's `chdir` itself).
    pub dir: PathBuf,
}

/// What the server keeps of a worker it is about to start: how requests reach it, its
/// log, and its group. Made by [`prepare`] or [`prepare_shared`].
pub struct Ends {
    pub door: Door,
    /// The worker's stdout and stderr, merged: its log.
    pub log: WorkerLog,
    /// What it starts: [`WorkerGroup::kill_rest`] once it is reaped.
    pub group: WorkerGroup,
}

/// How requests reach a worker about to start.
pub enum Door {
    /// A listening socket of its own (`--accept dispatch`), with two connections queued
    /// on it.
    Own {
        /// To connect to again.
        socket: PathBuf,
        /// The connection requests will use.
        conn: UnixStream,
        /// A second connection, queued first, on which readiness is asked (GET_VALUES).
        probe: UnixStream,
    },
    /// The pool's shared socket (`--accept shared`); its heartbeat, if it keeps one.
    Shared { beat: Option<Heartbeat> },
}

/// What the worker process is given, and the server closes once it runs: its listening
/// socket (descriptor 0), the write end of its log (1 and 2), the cgroup it joins, and
/// with `--accept shared` its heartbeat file (3).
pub struct Given {
    pub listener: OwnedFd,
    pub log: OwnedFd,
    pub procs: Option<OwnedFd>,
    pub beat: Option<OwnedFd>,
}

/// A worker just started, not yet known to be ready.
pub struct Spawned {
    pub child: Child,
    pub ends: Ends,
}

impl Ends {
    /// The start failed: a socket of its own goes (nobody will ever listen on it).
    pub fn discard(self) {
        if let Door::Own { socket, .. } = &self.door {
            let _ = std::fs::remove_file(socket);
        }
    }
}

/// Makes worker `id`'s listening socket in `dir`, with two connections queued on it,
/// its log pipe and its group.
pub fn prepare(dir: &Path, id: u64) -> io::Result<(Ends, Given)> {
    let path = dir.join(format!("worker-{id}.sock"));
    let listener = UnixListener::bind(&path)?;
    let made = (|| {
        let probe = UnixStream::connect(&path)?;
        let conn = UnixStream::connect(&path)?;
        let (log, log_writer) = io::pipe()?;
        let (group, log, procs) = WorkerGroup::new(id, log)?;
        Ok::<_, io::Error>((probe, conn, log, log_writer, group, procs))
    })();
    let (probe, conn, log, log_writer, group, procs) = made.inspect_err(|_| {
        let _ = std::fs::remove_file(&path);
    })?;
    let ends = Ends {
        door: Door::Own {
            socket: path,
            conn,
            probe,
        },
        log,
        group,
    };
    let given = Given {
        listener: OwnedFd::from(listener),
        log: OwnedFd::from(log_writer),
        procs,
        beat: None,
    };
    Ok((ends, given))
}

/// Makes worker `id`'s share of the pool's `socket` (a copy of its listening socket), its
/// log pipe and its group; and, when it `beats`, a heartbeat file in `dir`.
pub fn prepare_shared(
    socket: &SharedSocket,
    dir: &Path,
    id: u64,
    beats: bool,
) -> io::Result<(Ends, Given)> {
    let listener = socket.for_worker()?;
    let beat = beats.then(|| Heartbeat::new(dir)).transpose()?;
    let given_beat = beat.as_ref().map(Heartbeat::for_worker).transpose()?;
    let (log, log_writer) = io::pipe()?;
    let (group, log, procs) = WorkerGroup::new(id, log)?;
    let ends = Ends {
        door: Door::Shared { beat },
        log,
        group,
    };
    let given = Given {
        listener,
        log: OwnedFd::from(log_writer),
        procs,
        beat: given_beat,
    };
    Ok((ends, given))
}

/// Starts `program` as worker `id` with what [`prepare`] or [`prepare_shared`] made.
pub fn spawn(program: &Program, (ends, given): (Ends, Given)) -> io::Result<Spawned> {
    match start(program, given) {
        Ok(child) => Ok(Spawned { child, ends }),
        Err(e) => {
            ends.discard();
            Err(e)
        }
    }
}

/// Starts `program` with `given`: descriptor 0, the log as 1 and 2, its cgroup joined
/// before it runs.
///
/// Spawned with `pre_exec`, so always by fork+exec (never fork alone: the server has
/// threads). The slower fork path is paid once per worker, not per request.
pub fn start(program: &Program, given: Given) -> io::Result<Child> {
    let procs_fd = given.procs.as_ref().map(|fd| fd.as_raw_fd());
    let beat_fd = given.beat.as_ref().map(|fd| fd.as_raw_fd());
    let mut command = Command::new(&program.program);
    command
        .args(&program.args)
        .env_clear()
        .envs(program.env.iter().map(|(k, v)| (k, v)))
        .current_dir(&program.dir)
        .stdin(Stdio::from(given.listener))
        .stdout(Stdio::from(given.log.try_clone()?))
        .stderr(Stdio::from(given.log))
        .process_group(0);
    let server = std::process::id() as libc::pid_t;
    // SAFETY: only async-signal-safe calls (write, prctl, getppid, sigprocmask,
    // rt_sigaction, fcntl, dup2, _exit) between fork and exec.
    unsafe {
        command.pre_exec(move || {
            // Into its own cgroup first, so that nothing it starts can leave it.
            if let Some(fd) = procs_fd {
                cgroup::join_by(fd)?;
            }
            // Die with the server. The "parent" here is the spawning thread, which is the
            // arbiter's: it lives as long as the server does.
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(io::Error::last_os_error());
            }
            if libc::getppid() != server {
                libc::_exit(1); // the server died before prctl took effect
            }
            // Start clean: nothing blocked, nothing ignored (std ignores SIGPIPE).
            let mut empty: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut empty);
            libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
            reset_dispositions();
            // The heartbeat as descriptor 3, without close-on-exec (dup2 clears it,
            // unless the descriptor is already 3).
            if let Some(fd) = beat_fd {
                let rc = if fd == HEARTBEAT_FD {
                    libc::fcntl(fd, libc::F_SETFD, 0)
                } else {
                    libc::dup2(fd, HEARTBEAT_FD)
                };
                if rc < 0 {
                    return Err(io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    let child = command.spawn();
    drop(command); // closes our copies of descriptor 0 and of the log's write end
    drop(given.procs);
    drop(given.beat);
    child
}

/// The kernel's `struct sigaction`; the C library's differs, and its `sigaction` refuses
/// the signals it keeps for itself (32 and 33), which can still arrive here ignored.
#[repr(C)]
struct KernelSigaction {
    handler: libc::sighandler_t,
    flags: libc::c_ulong,
    restorer: libc::sighandler_t,
    mask: u64,
}

/// Sets every signal's disposition to the default. Async-signal-safe: system calls only.
unsafe fn reset_dispositions() {
    let default = KernelSigaction {
        handler: libc::SIG_DFL,
        flags: 0,
        restorer: 0,
        mask: 0,
    };
    for sig in 1..=64 {
        if sig != libc::SIGKILL && sig != libc::SIGSTOP {
            // SAFETY: rt_sigaction with a valid struct and no old-action pointer.
            unsafe {
                libc::syscall(
                    libc::SYS_rt_sigaction,
                    sig,
                    &default as *const KernelSigaction,
                    std::ptr::null_mut::<KernelSigaction>(),
                    8usize,
                );
            }
        }
    }
}

/// True when `pid` is exiting, has exited and waits to be reaped (a zombie, state `Z` in
/// /proc/PID/stat), or is gone.
///
/// "Exiting" matters: the kernel closes a dying process's descriptors before it becomes a
/// zombie, so a connection can read end-of-file while the state still says running. The
/// flag PF_EXITING is set first of all, so it is already there by then.
pub fn exited(pid: u32) -> bool {
    const PF_EXITING: u64 = 0x4;
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return true;
    };
    // The fields follow the command name, which is in parentheses and may hold any byte,
    // so they are read after the last `)`: state, ppid, pgrp, session, tty, tpgid, flags.
    let mut fields = stat.rsplit(')').next().unwrap_or("").split_whitespace();
    let state = fields.next().unwrap_or("X");
    let flags: u64 = fields.nth(5).and_then(|f| f.parse().ok()).unwrap_or(0);
    matches!(state, "Z" | "X" | "x") || flags & PF_EXITING != 0
}

/// A new connection to worker `pid`'s listening `socket`, unless the worker is exiting:
/// a dead worker's socket may still accept (a process it started can hold the listening
/// descriptor) and would never answer.
pub fn connect_again(pid: u32, socket: &Path) -> Option<UnixStream> {
    if exited(pid) {
        return None;
    }
    UnixStream::connect(socket).ok()
}

/// It ended by itself: an exit, or a crash (SIGSEGV, SIGABRT, ...), not a signal that
/// someone sends to stop a process (a `kill -9` from a terminal is not a failed start).
pub fn by_itself(status: ExitStatus) -> bool {
    use std::os::unix::process::ExitStatusExt;
    !matches!(
        status.signal(),
        Some(libc::SIGKILL | libc::SIGTERM | libc::SIGINT | libc::SIGHUP | libc::SIGQUIT)
    )
}

/// "exited with code 1", "killed by signal 9".
pub fn describe(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with code {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        _ => "ended".to_string(),
    }
}

/// Sends `signal` to the worker's whole process group (it is the group's leader).
pub fn signal_group(pid: u32, signal: libc::c_int) {
    // SAFETY: kill(2) with a negative pid signals the group; no memory is involved.
    unsafe {
        libc::kill(-(pid as libc::pid_t), signal);
    }
}

/// `/bin/sh -c SCRIPT` as a worker program, for the tests of this module and its
/// neighbours.
#[cfg(test)]
pub fn sh(script: &str) -> Program {
    Program {
        program: "/bin/sh".into(),
        args: vec!["-c".into(), script.into()],
        env: vec![("PATH".into(), "/usr/bin:/bin".into())],
        dir: "/".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn the_worker_gets_a_listening_socket_as_descriptor_0_whose_file_stays_for_reconnects() {
        let dir = tempfile::tempdir().unwrap();
        // A listening socket has no peer: getpeername fails with ENOTCONN (FastCGI §2.2).
        let program = sh("python3 -c 'import socket; s=socket.socket(fileno=0); \
             print(s.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN))'");
        let mut w = spawn(&program, prepare(dir.path(), 1).unwrap()).unwrap();
        let mut out = String::new();
        w.ends.log.read_to_string(&mut out).unwrap();
        assert_eq!(out.trim(), "1");
        assert!(w.child.wait().unwrap().success());
        let Door::Own { socket, .. } = &w.ends.door else {
            panic!("a socket of its own")
        };
        assert!(socket.exists(), "removed only when the worker is reaped");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn the_worker_leads_its_own_group_with_an_empty_mask_and_nothing_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let program = sh("ps -o pgid= -p $$; exec grep -E '^(SigBlk|SigIgn)' /proc/self/status");
        let mut w = spawn(&program, prepare(dir.path(), 1).unwrap()).unwrap();
        let mut out = String::new();
        w.ends.log.read_to_string(&mut out).unwrap();
        w.child.wait().unwrap();
        assert!(out.contains("SigBlk:\t0000000000000000"), "{out}");
        assert!(out.contains("SigIgn:\t0000000000000000"), "{out}");
        let pgid: u32 = out.lines().next().unwrap().trim().parse().unwrap();
        assert_eq!(pgid, w.child.id());
    }

    #[test]
    fn exited_is_true_from_the_kill_on_and_false_while_running() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let pid = child.id();
        assert!(!exited(pid));
        child.kill().unwrap();
        // The kill is delivered asynchronously; before the parent reaps, the process is
        // exiting or a zombie.
        let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !exited(pid) && std::time::Instant::now() < until {
            std::thread::yield_now();
        }
        assert!(exited(pid));
        child.wait().unwrap();
    }
}
