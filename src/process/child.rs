//! A script's process: its own process group, a slot under `--max-procs`, and reaping.
//!
//! Every script runs as the leader of a new process group, so a timeout or a client that
//! went away kills the script *and* whatever it started in the background. The process is
//! always reaped: by [`Running::wait_until`] on the normal path, and by `Drop` as the last
//! line of defence, so no request can leave a zombie behind.

use std::process::{Child, ExitStatus};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// Counts the scripts running at once, up to `--max-procs`.
#[derive(Debug, Clone)]
pub struct Slots {
    running: Arc<AtomicUsize>,
    limit: usize,
}

/// One running script's place under the limit; freed when dropped.
#[derive(Debug)]
pub struct Slot(Arc<AtomicUsize>);

impl Slots {
    pub fn new(limit: usize) -> Slots {
        Slots {
            running: Arc::new(AtomicUsize::new(0)),
            limit,
        }
    }

    /// A slot, or `None` when `limit` scripts are already running.
    pub fn try_acquire(&self) -> Option<Slot> {
        self.running
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.limit).then_some(n + 1)
            })
            .ok()
            .map(|_| Slot(self.running.clone()))
    }

    /// The limit.
    pub fn limit(&self) -> usize {
        self.limit
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A spawned script that will be reaped, whatever happens.
#[derive(Debug)]
pub struct Running {
    child: Child,
    reaped: Option<ExitStatus>,
    _slot: Slot,
}

impl Running {
    /// Takes charge of a child spawned with `process_group(0)`.
    pub fn new(child: Child, slot: Slot) -> Running {
        live_groups().push(child.id() as libc::pid_t);
        Running {
            child,
            reaped: None,
            _slot: slot,
        }
    }

    fn reap(&mut self) {
        self.reaped = self.child.wait().ok();
        let pid = self.child.id() as libc::pid_t;
        live_groups().retain(|&p| p != pid);
    }

    /// The child itself, for its pipes.
    pub fn child(&mut self) -> &mut Child {
        &mut self.child
    }

    /// Kills the script's whole process group. Harmless if it is already gone.
    pub fn kill_group(&mut self) {
        if self.reaped.is_none() {
            // The group id is the leader's pid (process_group(0)); the leader is not yet
            // reaped, so the id cannot have been reused.
            unsafe { libc::kill(-(self.child.id() as libc::pid_t), libc::SIGKILL) };
        }
    }

    /// Waits for the script to exit until `deadline`, then kills its group; reaps it.
    pub fn wait_until(&mut self, deadline: Instant) {
        if self.reaped.is_some() {
            return;
        }
        if let Ok(None) = self.child.try_wait()
            && !wait_exit(&mut self.child, deadline)
        {
            self.kill_group();
        }
        self.reap();
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

/// The process groups of the scripts running now, so a server that is told to stop
/// (Ctrl-C, SIGTERM) can take its scripts down with it.
fn live_groups() -> std::sync::MutexGuard<'static, Vec<libc::pid_t>> {
    static LIVE: std::sync::Mutex<Vec<libc::pid_t>> = std::sync::Mutex::new(Vec::new());
    LIVE.lock().unwrap_or_else(|e| e.into_inner())
}

/// Kills every running script's process group. Scripts run in groups of their own, so a
/// Ctrl-C at the terminal reaches only the server; without this they would outlive it.
pub fn kill_all_groups() {
    for &pgid in live_groups().iter() {
        unsafe { libc::kill(-pgid, libc::SIGKILL) };
    }
}

/// Blocks until the child exits or `deadline` passes; true if it exited.
/// A pidfd (Linux 5.3) makes the exit pollable, so no sleep loop is needed.
fn wait_exit(child: &mut Child, deadline: Instant) -> bool {
    let pid = child.id() as libc::pid_t;
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) } as libc::c_int;
    if fd < 0 {
        // An older kernel: poll the exit status instead.
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        return false;
    }
    let remaining = deadline.saturating_duration_since(Instant::now());
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    let exited = crate::process::poll::poll(std::slice::from_mut(&mut pfd), Some(remaining)) > 0;
    unsafe { libc::close(fd) };
    exited
}
