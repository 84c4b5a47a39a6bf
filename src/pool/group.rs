//! What a worker starts, ended with it: a worker may start processes that leave its
//! process group (`setsid`, a double fork) and keep its log pipe open, so that the
//! thread copying its log and the pipe itself would stay for as long as they run, one
//! of each per recycled worker.
//!
//! A [`WorkerGroup`] holds both ends of that problem. Where the server is contained
//! ([`crate::process::keeper`]), each worker runs in a cgroup of its own,
//! `cgilab-PID/w-ID`, which it joins between fork and exec; once the worker is reaped,
//! [`WorkerGroup::kill_rest`] kills whatever is left in it and removes it. Everywhere,
//! `kill_rest` also tells the worker's [`WorkerLog`] to stop waiting: it reads what is
//! already in the pipe and ends, even if an escaped process still holds the pipe open.

use std::io::{self, PipeReader, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::Arc;
use std::time::Duration;

use crate::process::cgroup::Cgroup;
use crate::process::poll;

/// How long the processes a worker left may take to die once killed.
const KILL_WAIT: Duration = Duration::from_secs(2);
/// The most a stopped log still reads: what the pipe held (64 KiB by default), and not
/// forever from a process that keeps writing.
const DRAIN_LIMIT: usize = 256 * 1024;

/// Everything one worker starts: its cgroup, if the server has one, and the end of its
/// log. Ended by [`WorkerGroup::kill_rest`] once the worker is reaped, or when dropped.
pub struct WorkerGroup {
    cgroup: Option<Cgroup>,
    /// An eventfd: written once, it tells the log reader to stop.
    log_end: Arc<OwnedFd>,
    ended: bool,
}

/// A worker's log (its stdout and stderr, merged): reads like the pipe, and reaches
/// end-of-file when the pipe does or once its worker's group has ended.
pub struct WorkerLog {
    pipe: PipeReader,
    end: Arc<OwnedFd>,
    /// Bytes a stopped log may still read; `None` until stopped.
    draining: Option<usize>,
}

impl WorkerGroup {
    /// The group of worker `id`, whose log is `pipe`: a cgroup `w-ID` below the server's
    /// when it has one. Returns the descriptor of its `cgroup.procs`, which the worker
    /// writes to join it ([`crate::process::cgroup::join_by`]).
    pub fn new(id: u64, pipe: PipeReader) -> io::Result<(WorkerGroup, WorkerLog, Option<OwnedFd>)> {
        // SAFETY: eventfd(2) returns a new descriptor or -1.
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: a fresh descriptor, owned by nobody else.
        let log_end = Arc::new(unsafe { OwnedFd::from_raw_fd(fd) });
        let mut group = WorkerGroup {
            cgroup: None,
            log_end: log_end.clone(),
            ended: false,
        };
        // Non-blocking: a request reads what is there before its access line
        // ([`crate::pool::worker_log::CopiedLog::catch_up`]), and never waits for more.
        poll::set_nonblocking(pipe.as_raw_fd());
        let log = WorkerLog {
            pipe,
            end: log_end,
            draining: None,
        };
        let mut procs = None;
        if let Some(server) = crate::process::keeper::cgroup() {
            let cgroup = server.create(&format!("w-{id}")).map_err(|e| {
                io::Error::new(e.kind(), format!("cannot make the worker's cgroup: {e}"))
            })?;
            group.cgroup = Some(cgroup.clone());
            procs = Some(cgroup.procs_for_join()?);
        }
        Ok((group, log, procs))
    }

    /// The worker's cgroup, if it has one.
    pub fn cgroup(&self) -> Option<&Cgroup> {
        self.cgroup.as_ref()
    }

    /// Once the worker is reaped: kills every process it left (in its cgroup), removes
    /// the cgroup, and ends its log. Harmless to call again.
    pub fn kill_rest(&mut self) {
        if self.ended {
            return;
        }
        self.ended = true;
        if let Some(cgroup) = &self.cgroup
            && let Err(e) = cgroup.kill_and_remove(KILL_WAIT)
        {
            // Left for the keeper, which removes every cgroup of the server at its end.
            crate::log!("cgilab: what a worker left could not be removed: {e}");
        }
        let one: u64 = 1;
        // SAFETY: an 8-byte write to an eventfd we own.
        unsafe {
            libc::write(
                self.log_end.as_raw_fd(),
                (&one as *const u64).cast(),
                std::mem::size_of::<u64>(),
            );
        }
    }
}

impl Drop for WorkerGroup {
    fn drop(&mut self) {
        self.kill_rest();
    }
}

impl WorkerLog {
    /// The pipe's descriptor, to wait on with [`WorkerLog::end_fd`] while the log itself
    /// is held elsewhere (the copier keeps it behind a lock that a wait must not hold).
    pub fn pipe_fd(&self) -> RawFd {
        self.pipe.as_raw_fd()
    }

    /// Readable once the worker's group has ended.
    pub fn end_fd(&self) -> Arc<OwnedFd> {
        self.end.clone()
    }

    /// What the pipe holds now, without waiting: `Ok(0)` at end-of-file, or once the
    /// group has ended ([`WorkerLog::ended`]) and the pipe is drained; `WouldBlock` when
    /// nothing has come yet.
    pub fn read_now(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Some(left) = self.draining else {
            return self.pipe.read(buf);
        };
        // What is in the pipe now, and then the end.
        let want = buf.len().min(left);
        if want == 0 {
            return Ok(0);
        }
        match self.pipe.read(&mut buf[..want]) {
            Ok(n) => {
                self.draining = Some(left - n);
                Ok(n)
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(0),
            Err(e) => Err(e),
        }
    }

    /// True once the worker's group has ended: from then on the log reads what the pipe
    /// still holds, and then ends, even if an escaped process keeps it open. Asked when
    /// the pipe is empty, so lines already written come first.
    pub fn ended(&mut self) -> bool {
        if self.draining.is_none() {
            let mut end = [poll::want(self.end.as_raw_fd(), libc::POLLIN)];
            if poll::poll(&mut end, Some(Duration::ZERO)) > 0 {
                self.draining = Some(DRAIN_LIMIT);
            }
        }
        self.draining.is_some()
    }
}

/// Waits until the pipe `pipe` has something to read or `end` says the group ended.
pub fn wait_for_log(pipe: RawFd, end: &OwnedFd) {
    let mut fds = [
        poll::want(pipe, libc::POLLIN),
        poll::want(end.as_raw_fd(), libc::POLLIN),
    ];
    poll::poll(&mut fds, None);
}

impl Read for WorkerLog {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.read_now(buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if !self.ended() {
                        wait_for_log(self.pipe_fd(), &self.end);
                    }
                }
                other => return other,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_log_held_open_by_someone_else_ends_with_its_group() {
        let (pipe, mut writer) = io::pipe().unwrap();
        let (mut group, mut log, procs) = WorkerGroup::new(1, pipe).unwrap();
        assert!(procs.is_none() && group.cgroup().is_none(), "not contained");
        writer.write_all(b"last words\n").unwrap();
        let reader = std::thread::spawn(move || {
            let mut text = String::new();
            log.read_to_string(&mut text).map(|_| text)
        });
        group.kill_rest();
        // `writer` is still open: only the group's end stops the reader.
        assert_eq!(reader.join().unwrap().unwrap(), "last words\n");
        drop(writer);
    }

    #[test]
    fn a_log_ends_at_end_of_file_as_a_pipe_does() {
        let (pipe, mut writer) = io::pipe().unwrap();
        let (_group, mut log, _) = WorkerGroup::new(1, pipe).unwrap();
        writer.write_all(b"a\nb\n").unwrap();
        drop(writer);
        let mut text = String::new();
        log.read_to_string(&mut text).unwrap();
        assert_eq!(text, "a\nb\n");
    }
}
