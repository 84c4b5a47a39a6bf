//! `--preload` (gunicorn's `--preload`, uWSGI's default): a pool's app is imported once,
//! by a preloader process, and each worker is forked from it, sharing the imported pages
//! copy-on-write instead of importing the app again.
//!
//! The server still makes everything a worker is given (its listening socket, its log,
//! its cgroup: [`spawn::prepare`]) and sends it to the preloader with the request to fork
//! (`SCM_RIGHTS` over a [`SeqPacket`] pair, the preloader's descriptor 0). The worker is
//! the preloader's child, so only the preloader can collect its exit status; it reports
//! it at once and keeps the worker unreaped (a zombie) until the server says `release`,
//! so a worker's pid is never reused while the server may still signal it.
//!
//! Why not the other known way, the server as a subreaper (`PR_SET_CHILD_SUBREAPER`) of
//! double-forked workers: that makes the server the parent of every orphan any CGI script
//! leaves, and it would have to reap processes it never started without taking the exit
//! status of a script some request thread is about to wait for.
//!
//! The protocol (one message per packet) is written out in `wsgi_worker.py`'s
//! `Preloader`.

use std::collections::HashMap;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, ExitStatus};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::process::seqpacket::{self, SeqPacket};

use super::group::{WorkerGroup, WorkerLog};
use super::spawn::{self, Given, Program};
use super::worker_log::LastLine;

/// How long a preloader may take to answer a request to fork.
const FORK_TIMEOUT: Duration = Duration::from_secs(10);

/// The server's side of the conversation with one preloader, shared by the workers it
/// forked: their exit statuses come through it.
pub struct Link {
    control: SeqPacket,
    /// Exit statuses reported and not yet collected, by pid.
    exits: Mutex<HashMap<u32, ExitStatus>>,
    /// Workers nobody will collect: released as soon as they exit.
    abandoned: Mutex<Vec<u32>>,
    /// The preloader has closed its end: it is gone, and its workers die with it.
    dead: AtomicBool,
}

impl Link {
    /// Worker `pid`'s exit status, once reported; the preloader may then reap it.
    pub fn take_exit(&self, pid: u32) -> Option<ExitStatus> {
        let status = self
            .exits
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&pid)?;
        let _ = self.control.send(format!("release {pid}").as_bytes(), &[]);
        Some(status)
    }

    /// Worker `pid` will never be collected (the server could not watch it): the
    /// preloader reaps it once it exits.
    pub fn abandon(&self, pid: u32) {
        match self
            .exits
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&pid)
        {
            Some(_) => drop(self.control.send(format!("release {pid}").as_bytes(), &[])),
            None => self
                .abandoned
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(pid),
        }
    }

    pub fn is_dead(&self) -> bool {
        self.dead.load(Ordering::Relaxed)
    }

    /// Handles one message from the preloader; returns it if it is not an exit report.
    fn take_in(&self, message: &[u8]) -> Option<Message> {
        let message = Message::parse(message);
        match message {
            Message::Exit { pid, status } => {
                let mut abandoned = self.abandoned.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(at) = abandoned.iter().position(|&p| p == pid) {
                    abandoned.swap_remove(at);
                    let _ = self.control.send(format!("release {pid}").as_bytes(), &[]);
                } else {
                    let mut exits = self.exits.lock().unwrap_or_else(|e| e.into_inner());
                    exits.insert(pid, status);
                }
                None
            }
            Message::Closed => {
                self.dead.store(true, Ordering::Relaxed);
                Some(message)
            }
            other => Some(other),
        }
    }
}

/// What a preloader says.
#[derive(Debug, PartialEq)]
enum Message {
    /// The app is imported: it can fork workers.
    Ready,
    Forked {
        id: u64,
        pid: u32,
    },
    /// It could not fork worker `id` (`errno`).
    Cannot {
        id: u64,
        errno: i32,
    },
    Exit {
        pid: u32,
        status: ExitStatus,
    },
    /// Its end is closed.
    Closed,
    Unknown(String),
}

impl Message {
    fn parse(bytes: &[u8]) -> Message {
        if bytes.is_empty() {
            return Message::Closed;
        }
        let text = String::from_utf8_lossy(bytes);
        let words: Vec<&str> = text.split_whitespace().collect();
        let num = |i: usize| words.get(i).and_then(|w| w.parse::<i64>().ok());
        let parsed = match words.first().copied() {
            Some("ready") => Some(Message::Ready),
            Some("forked") => num(1).zip(num(2)).map(|(id, pid)| Message::Forked {
                id: id as u64,
                pid: pid as u32,
            }),
            Some("cannot") => num(1).zip(num(2)).map(|(id, errno)| Message::Cannot {
                id: id as u64,
                errno: errno as i32,
            }),
            // A wait status as waitpid(2) encodes it: the code in the second byte, or
            // the signal in the low seven bits.
            Some("exit") => match (num(1), words.get(2).copied(), num(3)) {
                (Some(pid), Some("code"), Some(n)) => Some(((n as i32) & 0xff) << 8).zip(Some(pid)),
                (Some(pid), Some("signal"), Some(n)) => Some((n as i32) & 0x7f).zip(Some(pid)),
                _ => None,
            }
            .map(|(raw, pid)| Message::Exit {
                pid: pid as u32,
                status: ExitStatus::from_raw(raw),
            }),
            _ => None,
        };
        parsed.unwrap_or_else(|| Message::Unknown(text.into_owned()))
    }
}

/// Where a preloader is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Importing the app.
    Importing,
    /// Imported: it forks workers when asked.
    Ready,
    /// Told to leave (`signal`), since `since`.
    Stopping { signal: i32, since: Instant },
}

/// One preloader process: a child of the server, like a spawned worker.
pub struct Preloader {
    pub id: u64,
    pub pid: u32,
    child: Child,
    pidfd: OwnedFd,
    pub link: Arc<Link>,
    pub stage: Stage,
    pub started: Instant,
    pub last_line: Arc<LastLine>,
    pub group: WorkerGroup,
}

impl Preloader {
    /// Starts `program` (the WSGI worker with `--preload`) with a [`SeqPacket`] to the
    /// server as its descriptor 0. Returns it and its log.
    pub fn start(program: &Program, id: u64) -> io::Result<(Preloader, WorkerLog)> {
        let (control, theirs) = seqpacket::pair()?;
        let (log, log_writer) = io::pipe()?;
        let (group, log, procs) = WorkerGroup::new(id, log)?;
        let given = Given {
            listener: theirs,
            log: OwnedFd::from(log_writer),
            procs,
            beat: None,
        };
        let child = spawn::start(program, given)?;
        let pid = child.id();
        let pidfd = pidfd_open(pid)?;
        let link = Link {
            control,
            exits: Mutex::new(HashMap::new()),
            abandoned: Mutex::new(Vec::new()),
            dead: AtomicBool::new(false),
        };
        let preloader = Preloader {
            id,
            pid,
            child,
            pidfd,
            link: Arc::new(link),
            stage: Stage::Importing,
            started: Instant::now(),
            last_line: Arc::new(LastLine::default()),
            group,
        };
        Ok((preloader, log))
    }

    /// Asks it to fork worker `id` with `given`; returns the worker's pid. What `given`
    /// holds is closed here once sent.
    pub fn fork(&mut self, id: u64, given: Given) -> io::Result<u32> {
        // The optional descriptors are named after the id, in the order they come.
        let mut fds = vec![given.listener.as_raw_fd(), given.log.as_raw_fd()];
        let mut message = format!("fork {id}");
        if let Some(fd) = &given.procs {
            fds.push(fd.as_raw_fd());
            message.push_str(" procs");
        }
        if let Some(fd) = &given.beat {
            fds.push(fd.as_raw_fd());
            message.push_str(" beat");
        }
        self.link.control.send(message.as_bytes(), &fds)?;
        drop(given);
        let deadline = Instant::now() + FORK_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("the preloader did not fork in {} s", FORK_TIMEOUT.as_secs()),
                ));
            }
            let Some(message) = self.link.control.recv(Some(left))? else {
                continue;
            };
            match self.link.take_in(&message) {
                Some(Message::Forked { id: forked, pid }) if forked == id => return Ok(pid),
                Some(Message::Cannot { id: failed, errno }) if failed == id => {
                    return Err(io::Error::from_raw_os_error(errno));
                }
                Some(Message::Closed) => {
                    return Err(io::Error::new(
                        io::ErrorKind::BrokenPipe,
                        "the preloader is gone",
                    ));
                }
                _ => {}
            }
        }
    }

    /// Takes in what it has said; true when it has just become ready.
    pub fn read(&mut self, pool: &str) -> bool {
        let mut became_ready = false;
        while !self.link.is_dead() {
            let Ok(Some(message)) = self.link.control.recv(None) else {
                break;
            };
            match self.link.take_in(&message) {
                Some(Message::Ready) if self.stage == Stage::Importing => {
                    self.stage = Stage::Ready;
                    became_ready = true;
                    crate::log!(
                        "pool {pool}: preloader {} imported the app ({} ms); workers are \
                         forked from it",
                        self.pid,
                        self.started.elapsed().as_millis()
                    );
                }
                Some(Message::Unknown(text)) => crate::log!(
                    "pool {pool}: preloader {}: unexpected message {text:?}",
                    self.pid
                ),
                _ => {}
            }
        }
        became_ready
    }

    /// Sends `signal` to it (its workers, its children, die with it).
    pub fn stop(&mut self, signal: i32) {
        if let Stage::Stopping { signal: sent, .. } = self.stage
            && (sent == libc::SIGKILL || signal != libc::SIGKILL)
        {
            return;
        }
        spawn::signal_group(self.pid, signal);
        self.stage = Stage::Stopping {
            signal,
            since: Instant::now(),
        };
    }

    /// Its exit status, once it has exited (it is then reaped).
    pub fn try_exit(&mut self) -> Option<ExitStatus> {
        match self.child.try_wait() {
            Ok(status) => status,
            Err(_) => Some(ExitStatus::default()),
        }
    }

    /// What the arbiter sleeps on: its pidfd, and its end of the link while it is open.
    pub fn fds(&self) -> Vec<BorrowedFd<'_>> {
        let mut fds = vec![self.pidfd.as_fd()];
        if !self.link.is_dead() {
            fds.push(self.link.control.as_fd());
        }
        fds
    }
}

/// A pidfd for `pid`: readable once the process has exited.
pub fn pidfd_open(pid: u32) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_open(2) returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor, owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_parse_into_what_they_say() {
        assert_eq!(Message::parse(b"ready"), Message::Ready);
        assert_eq!(
            Message::parse(b"forked 7 1234"),
            Message::Forked { id: 7, pid: 1234 }
        );
        assert_eq!(
            Message::parse(b"cannot 7 11"),
            Message::Cannot { id: 7, errno: 11 }
        );
        let Message::Exit { pid, status } = Message::parse(b"exit 1234 code 3") else {
            panic!("an exit");
        };
        assert_eq!((pid, status.code()), (1234, Some(3)));
        let Message::Exit { status, .. } = Message::parse(b"exit 1234 signal 9") else {
            panic!("an exit");
        };
        assert_eq!(status.signal(), Some(9));
        assert_eq!(Message::parse(b""), Message::Closed);
        assert!(matches!(
            Message::parse(b"exit 12 code"),
            Message::Unknown(_)
        ));
        assert!(matches!(Message::parse(b"hello"), Message::Unknown(_)));
    }
}
