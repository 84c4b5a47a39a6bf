//! A child's three pipes served by one `poll` loop: the request body goes into stdin
//! while stdout is read and stderr is logged line by line, so a child that writes before
//! it reads cannot deadlock, and none of the three can fill up and stall the others.

use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::process::{ChildStderr, ChildStdin, ChildStdout};
use std::time::Instant;

use crate::http::body::Body;
use crate::process::child::Running;
use crate::process::poll;

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
    stderr_line: Vec<u8>,
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
            stderr_line: Vec::new(),
            name: name.to_string(),
        }
    }

    /// Waits for stdout data until `deadline`, feeding stdin and logging stderr meanwhile.
    pub fn read_stdout(&mut self, buf: &mut [u8], deadline: Instant) -> Output {
        loop {
            let Some(stdout) = &self.stdout else {
                return Output::Eof;
            };
            // At most three descriptors: no allocation on this per-read path.
            let mut fds = [poll::want(stdout.as_raw_fd(), libc::POLLIN); 3];
            let mut n = 1;
            if let Some(err) = &self.stderr {
                fds[n] = poll::want(err.as_raw_fd(), libc::POLLIN);
                n += 1;
            }
            if let Some(feeder) = &self.stdin {
                fds[n] = poll::want(feeder.pipe.as_raw_fd(), libc::POLLOUT);
                n += 1;
            }
            let fds = &mut fds[..n];
            let remaining = deadline.saturating_duration_since(Instant::now());
            if poll::poll(fds, Some(remaining)) == 0 {
                return Output::Timeout;
            }
            let ready = |fd: i32| fds.iter().any(|p| p.fd == fd && p.revents != 0);
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
            Ok(0) | Err(_) => {
                self.stderr = None;
                self.log_stderr_line();
            }
            Ok(n) => {
                for &b in &chunk[..n] {
                    if b == b'\n' || self.stderr_line.len() >= 4096 {
                        self.log_stderr_line();
                    }
                    if b != b'\n' {
                        self.stderr_line.push(b);
                    }
                }
            }
        }
    }

    fn log_stderr_line(&mut self) {
        if !self.stderr_line.is_empty() {
            let line = String::from_utf8_lossy(&self.stderr_line);
            let line = line.trim_end_matches('\r');
            eprintln!("stderr {}: {}", self.name, line.escape_debug());
            self.stderr_line.clear();
        }
    }

    /// Closes stdout and stdin, logs the rest of stderr, and reaps the script; at
    /// `deadline` its process group is killed.
    pub fn finish(&mut self, process: &mut Running, deadline: Instant) {
        self.stdout = None;
        self.stdin = None;
        while let Some(stderr) = &self.stderr {
            let mut fd = [poll::want(stderr.as_raw_fd(), libc::POLLIN)];
            let remaining = deadline.saturating_duration_since(Instant::now());
            if poll::poll(&mut fd, Some(remaining)) == 0 {
                process.kill_group();
                self.stderr = None;
                break;
            }
            self.drain_stderr_once();
        }
        process.wait_until(deadline);
    }
}
