//! A worker's log: its stdout and stderr, one pipe, copied into the server's log a line
//! at a time (each line escaped and bounded, prefixed with the pool and the pid), with a
//! catch-up a request makes before its access line, and the last line kept, which says
//! why a worker died before it was ready.

use std::io::{self, Read};
use std::os::fd::OwnedFd;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::measure::app_log::escape;

use super::group::WorkerLog;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pool::spawn::{prepare, sh, spawn};

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
}
