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
use std::io::{self, Read};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::measure::app_log::escape;
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

/// The longest line of a worker's log kept as one: a worker printing without newlines
/// cannot grow us.
const MAX_LOG_LINE: usize = 16 * 1024;
/// The most one catch-up reads: what a full pipe holds (64 KiB by default) and more, and
/// not forever from a worker that keeps writing.
const CATCH_UP_LIMIT: usize = 256 * 1024;

/// Reads a worker's log until it ends, calling `line` for each line, escaped as every
/// app's error stream is ([`crate::measure::app_log`]).
pub fn read_log(mut log: impl Read, mut line: impl FnMut(&str)) {
    let mut lines = Lines::default();
    let mut buf = [0u8; 8192];
    loop {
        match log.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => lines.push(&buf[..n], &mut line),
        }
    }
    lines.finish(&mut line);
}

/// Bytes of a log cut into lines.
#[derive(Default)]
struct Lines {
    partial: Vec<u8>,
}

impl Lines {
    /// Takes `data`; calls `line` for each line it completes.
    fn push(&mut self, data: &[u8], line: &mut impl FnMut(&str)) {
        for piece in data.split_inclusive(|&b| b == b'\n') {
            let (text, ends) = match piece.strip_suffix(b"\n") {
                Some(text) => (text, true),
                None => (piece, false),
            };
            for part in text.chunks(MAX_LOG_LINE) {
                let room = MAX_LOG_LINE - self.partial.len();
                let (now, later) = part.split_at(part.len().min(room));
                self.partial.extend_from_slice(now);
                if !later.is_empty() {
                    self.emit(line);
                    self.partial.extend_from_slice(later);
                }
            }
            if ends {
                self.emit(line);
            }
        }
    }

    /// The end of the log: an unfinished last line is a line too.
    fn finish(&mut self, line: &mut impl FnMut(&str)) {
        if !self.partial.is_empty() {
            self.emit(line);
        }
    }

    fn emit(&mut self, line: &mut impl FnMut(&str)) {
        let text = self.partial.strip_suffix(b"\r").unwrap_or(&self.partial);
        line(&escape(text));
        self.partial.clear();
    }
}

/// A worker's log on its way into the server's, a line at a time: a thread copies it as
/// it comes, and a request that the worker answered catches up with it before its access
/// line is written ([`CopiedLog::catch_up`]).
///
/// Without the catch-up, a traceback the worker printed before it answered 500 could
/// reach the log after that 500's access line: the thread that copies the log and the
/// request's thread race. The worker writes to its log before it answers, so whatever it
/// wrote about a request is in the pipe by the time the answer is read.
pub struct CopiedLog {
    copy: Mutex<Copy>,
    /// The pipe and the group's end, to wait on without holding `copy`.
    pipe_fd: std::os::fd::RawFd,
    end: Arc<OwnedFd>,
}

/// The copying itself, one reader at a time, so lines keep their order.
struct Copy {
    log: WorkerLog,
    lines: Lines,
    prefix: String,
    tail: Arc<LastLine>,
}

impl Copy {
    /// Logs what the log holds now, up to `limit` bytes, without waiting; with `to_end`,
    /// also notices that the log has ended. False at its end.
    fn pull(&mut self, limit: usize, to_end: bool) -> bool {
        let mut buf = [0u8; 8192];
        let mut read = 0;
        let Copy {
            log,
            lines,
            prefix,
            tail,
        } = self;
        let mut line = |text: &str| {
            crate::log!("{prefix}: {text}");
            tail.set(text);
        };
        while read < limit {
            match log.read_now(&mut buf) {
                Ok(0) => {
                    lines.finish(&mut line);
                    return false;
                }
                Ok(n) => {
                    read += n;
                    lines.push(&buf[..n], &mut line);
                }
                // Empty for now: for a catch-up that is all; for the copier, the end if
                // the group has ended (then the pipe's last bytes are read above).
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if !(to_end && log.ended()) {
                        return true;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    lines.finish(&mut line);
                    return false;
                }
            }
        }
        true
    }
}

impl CopiedLog {
    /// Logs every line the worker has written so far, now, on the caller's thread.
    pub fn catch_up(&self) {
        self.copy
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pull(CATCH_UP_LIMIT, false);
    }
}

/// Copies a worker's (or preloader's) log to the server's, a line at a time, on a
/// thread of its own, keeping the last line in `tail`; until the log ends.
pub fn follow_log(pool: String, pid: u32, log: WorkerLog, tail: Arc<LastLine>) -> Arc<CopiedLog> {
    let copied = Arc::new(CopiedLog {
        pipe_fd: log.pipe_fd(),
        end: log.end_fd(),
        copy: Mutex::new(Copy {
            log,
            lines: Lines::default(),
            prefix: format!("pool {pool} pid {pid}"),
            tail: tail.clone(),
        }),
    });
    let copier = copied.clone();
    std::thread::spawn(move || {
        loop {
            // The wait holds no lock: a request catching up never waits for a next line.
            // `copier` owns the log, so its descriptor stays open while it is waited on.
            super::group::wait_for_log(copier.pipe_fd, &copier.end);
            let more = copier
                .copy
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .pull(usize::MAX, true);
            if !more {
                break;
            }
        }
        tail.close();
    });
    copied
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

/// The last line one worker wrote to its log, kept per worker so that two workers
/// failing at once never lend each other their last words: when a worker dies before it
/// is ready, this line says why.
#[derive(Default)]
pub struct LastLine {
    /// The line, and whether the log has closed (nothing more can come).
    state: Mutex<(String, bool)>,
    closed: Condvar,
}

impl LastLine {
    pub fn set(&self, line: &str) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.0.clear();
        state.0.push_str(line);
    }

    /// The log reached its end.
    pub fn close(&self) {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).1 = true;
        self.closed.notify_all();
    }

    /// The last line, once the log has closed or `wait` has passed (a process the worker
    /// started may hold the log open after the worker itself is gone).
    pub fn wait(&self, wait: Duration) -> String {
        let deadline = Instant::now() + wait;
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        while !state.1 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            state = match self.closed.wait_timeout(state, left) {
                Ok((s, _)) => s,
                Err(e) => e.into_inner().0,
            };
        }
        state.0.clone()
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn sh(script: &str) -> Program {
        Program {
            program: "/bin/sh".into(),
            args: vec!["-c".into(), script.into()],
            env: vec![("PATH".into(), "/usr/bin:/bin".into())],
            dir: "/".into(),
        }
    }

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
    fn the_log_merges_stdout_and_stderr_line_by_line() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = spawn(
            &sh("echo out; echo err >&2"),
            prepare(dir.path(), 1).unwrap(),
        )
        .unwrap();
        let mut lines = Vec::new();
        read_log(w.ends.log, |l| lines.push(l.to_string()));
        w.child.wait().unwrap();
        assert_eq!(lines, ["out", "err"]);
    }

    #[test]
    fn the_last_line_is_waited_for_until_the_log_closes() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = spawn(
            &sh("echo first; sleep 0.2; echo last >&2"),
            prepare(dir.path(), 1).unwrap(),
        )
        .unwrap();
        let last = Arc::new(LastLine::default());
        let tail = last.clone();
        let log = w.ends.log;
        std::thread::spawn(move || {
            read_log(log, |l| tail.set(l));
            tail.close();
        });
        assert_eq!(last.wait(Duration::from_secs(10)), "last");
        w.child.wait().unwrap();
    }

    #[test]
    fn a_catch_up_has_logged_every_line_written_before_it() {
        use std::io::Write;
        let (pipe, mut writer) = io::pipe().unwrap();
        let (_group, log, _) = super::super::group::WorkerGroup::new(1, pipe).unwrap();
        let tail = Arc::new(LastLine::default());
        let copied = follow_log("t".into(), 1, log, tail.clone());
        // Whether the copying thread or the catch-up logs a line, it is logged by the time
        // the catch-up returns.
        for round in 0..20 {
            writeln!(writer, "line {round}").unwrap();
            copied.catch_up();
            assert_eq!(tail.wait(Duration::ZERO), format!("line {round}"));
        }
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
        let until = std::time::Instant::now() + Duration::from_secs(10);
        while !exited(pid) && std::time::Instant::now() < until {
            std::thread::yield_now();
        }
        assert!(exited(pid));
        child.wait().unwrap();
    }
}
