//! A child's three pipes and its exit, served by one `poll` loop: the request body goes
//! into stdin while stdout is read and stderr is logged line by line, so a child that
//! writes before it reads cannot deadlock, and none of the three can fill up and stall
//! the others.
//!
//! Every turn of the loop waits at most until the deadline, whatever the pipes do, so a
//! script that keeps a pipe busy cannot outrun `--timeout`. The script's exit is in the
//! same `poll` set (a pidfd): once it has exited, a background child still holding its
//! stdout or stderr gets [`LEFTOVER_GRACE`], then the output counts as ended. Stderr is
//! logged under the one policy of every host ([`crate::measure::app_log`]).

use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::process::{ChildStderr, ChildStdin, ChildStdout};
use std::time::{Duration, Instant};

use crate::http::body::Body;
use crate::measure::app_log::{AppLog, LIMIT_PER_REQUEST};
use crate::process::child::Running;
use crate::process::poll;

/// How long what a script left behind may hold its pipes open after it exits.
pub const LEFTOVER_GRACE: Duration = Duration::from_millis(200);

/// What one wait on stdout gave.
pub enum Output {
    Data(usize),
    Eof,
    Timeout,
}

/// The script's three pipes, served by one `poll` loop.
pub struct Pipes {
    stdin: Option<Feeder>,
    stdout: Option<ChildStdout>,
    stderr: Option<ChildStderr>,
    stderr_log: AppLog,
    /// The script's pidfd, until it reports the exit.
    exit_fd: Option<RawFd>,
    /// When the script was seen to exit.
    exited_at: Option<Instant>,
    /// The script's name, for its stderr lines.
    pub name: String,
}

/// The request body on its way into the script's stdin.
struct Feeder {
    pipe: ChildStdin,
    body: Box<dyn Read + Send>,
    buf: Vec<u8>,
    pos: usize,
}

impl Pipes {
    pub fn new(process: &mut Running, body: Body, name: &str) -> Pipes {
        let exit_fd = process.exit_fd();
        let child = process.child();
        let stdin = child.stdin.take().map(|pipe| {
            // Non-blocking, so a script that stops reading cannot stall the loop.
            poll::set_nonblocking(pipe.as_raw_fd());
            Feeder {
                pipe,
                body: body.into_reader(),
                buf: Vec::new(),
                pos: 0,
            }
        });
        Pipes {
            stdin,
            stdout: child.stdout.take(),
            stderr: child.stderr.take(),
            stderr_log: AppLog::new(format!("stderr {name}"), LIMIT_PER_REQUEST),
            exit_fd,
            exited_at: None,
            name: name.to_string(),
        }
    }

    /// Waits for stdout data until `deadline`, feeding stdin and logging stderr meanwhile.
    /// Once the script has exited, output held open by what it left behind ends after
    /// [`LEFTOVER_GRACE`].
    pub fn read_stdout(&mut self, buf: &mut [u8], deadline: Instant) -> Output {
        loop {
            if self.stdout.is_none() {
                return Output::Eof;
            }
            let until = self.until(deadline);
            if Instant::now() >= until {
                if until < deadline {
                    self.stdout = None;
                    return Output::Eof;
                }
                return Output::Timeout;
            }
            let stdout = self.stdout.as_ref().expect("checked above");
            // At most four descriptors: no allocation on this per-read path.
            let mut fds = [poll::want(stdout.as_raw_fd(), libc::POLLIN); 4];
            let mut n = 1;
            if let Some(err) = &self.stderr {
                fds[n] = poll::want(err.as_raw_fd(), libc::POLLIN);
                n += 1;
            }
            if let Some(feeder) = &self.stdin {
                fds[n] = poll::want(feeder.pipe.as_raw_fd(), libc::POLLOUT);
                n += 1;
            }
            if let Some(fd) = self.exit_fd {
                fds[n] = poll::want(fd, libc::POLLIN);
                n += 1;
            }
            let fds = &mut fds[..n];
            let remaining = until.saturating_duration_since(Instant::now());
            if poll::poll(fds, Some(remaining)) == 0 {
                continue; // the top of the loop tells the grace from the deadline
            }
            let ready = |fd: i32| fds.iter().any(|p| p.fd == fd && p.revents != 0);
            if self.exit_fd.is_some_and(ready) {
                self.saw_exit();
            }
            if self.stderr.as_ref().is_some_and(|e| ready(e.as_raw_fd())) {
                self.drain_stderr_once();
            }
            if self
                .stdin
                .as_ref()
                .is_some_and(|f| ready(f.pipe.as_raw_fd()))
            {
                self.feed_stdin();
            }
            if ready(fds[0].fd) {
                let stdout = self.stdout.as_mut().expect("polled above");
                return match stdout.read(buf) {
                    Ok(0) | Err(_) => {
                        self.stdout = None;
                        Output::Eof
                    }
                    Ok(n) => Output::Data(n),
                };
            }
        }
    }

    /// The script has exited: from now on its pipes get [`LEFTOVER_GRACE`].
    fn saw_exit(&mut self) {
        self.exit_fd = None;
        self.exited_at = Some(Instant::now());
    }

    /// True once the script was seen to exit.
    pub fn exited(&self) -> bool {
        self.exited_at.is_some()
    }

    /// How long to wait on the pipes: the deadline, or the grace after the exit.
    fn until(&self, deadline: Instant) -> Instant {
        match self.exited_at {
            Some(at) => deadline.min(at + LEFTOVER_GRACE),
            None => deadline,
        }
    }

    /// Writes as much of the body as the pipe takes now; closes stdin at the end.
    fn feed_stdin(&mut self) {
        let Some(feeder) = &mut self.stdin else {
            return;
        };
        loop {
            if feeder.pos == feeder.buf.len() {
                feeder.buf.resize(64 * 1024, 0);
                match feeder.body.read(&mut feeder.buf) {
                    Ok(0) | Err(_) => {
                        self.stdin = None; // EOF for the script
                        return;
                    }
                    Ok(n) => {
                        feeder.buf.truncate(n);
                        feeder.pos = 0;
                    }
                }
            }
            match feeder.pipe.write(&feeder.buf[feeder.pos..]) {
                Ok(n) => feeder.pos += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(_) => {
                    // The script closed stdin or exited: it does not want the rest.
                    self.stdin = None;
                    return;
                }
            }
        }
    }

    /// Reads what stderr has and logs each complete line, prefixed with the script name.
    fn drain_stderr_once(&mut self) {
        let Some(stderr) = &mut self.stderr else {
            return;
        };
        let mut chunk = [0u8; 4096];
        match stderr.read(&mut chunk) {
            Ok(0) | Err(_) => self.stderr = None,
            Ok(n) => self.stderr_log.write(&chunk[..n]),
        }
    }

    /// Closes stdout and stdin and logs the rest of stderr, until it ends, or until the
    /// deadline, or [`LEFTOVER_GRACE`] after the script exits; then says how much stderr
    /// was dropped, if any. Reaping is the caller's next step.
    pub fn finish(&mut self, deadline: Instant) {
        self.stdout = None;
        self.stdin = None;
        while let Some(stderr) = &self.stderr {
            let until = self.until(deadline);
            let remaining = until.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                self.stderr = None;
                break;
            }
            let mut fds = [poll::want(stderr.as_raw_fd(), libc::POLLIN); 2];
            let mut n = 1;
            if let Some(fd) = self.exit_fd {
                fds[1] = poll::want(fd, libc::POLLIN);
                n = 2;
            }
            if poll::poll(&mut fds[..n], Some(remaining)) == 0 {
                continue;
            }
            if n == 2 && fds[1].revents != 0 {
                self.saw_exit();
            }
            if fds[0].revents != 0 {
                self.drain_stderr_once();
            }
        }
        self.stderr_log.finish();
    }
}
