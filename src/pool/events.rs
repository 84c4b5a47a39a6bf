//! What wakes the arbiter besides a worker's exit: signals (sent on by the server's signal
//! thread), request threads that hand a worker back, and readiness probes that end.
//!
//! Each event goes into a channel and one count into an eventfd, so the arbiter can sleep
//! in one `poll` on the eventfd and every worker's pidfd at once: it wakes on the event
//! that matters, never on a tick.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::Duration;

/// What steers the supervisor.
#[derive(Debug)]
pub enum PoolEvent {
    /// SIGHUP: replace every worker gracefully; a failed pool tries again.
    Reload,
    /// SIGTTIN: one worker more per pool.
    AddWorker,
    /// SIGTTOU: one worker fewer per pool (never below one).
    RemoveWorker,
    /// The server is stopping: every worker gets SIGTERM, and SIGKILL after `grace`.
    Stop { grace: Duration },
    /// Something changed (a worker was handed back, or must be killed); look again now.
    Wake,
    /// A worker's readiness probe ended.
    Booted {
        pool: usize,
        id: u64,
        ready: Result<(), String>,
    },
}

/// The sending side; cheap to clone.
#[derive(Clone)]
pub struct Events {
    sender: Sender<PoolEvent>,
    bell: Arc<OwnedFd>,
}

/// The arbiter's side.
pub struct Inbox {
    receiver: Receiver<PoolEvent>,
    bell: Arc<OwnedFd>,
}

/// A new channel: its sending side and the arbiter's inbox.
pub fn channel() -> io::Result<(Events, Inbox)> {
    let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    let bell = Arc::new(unsafe { OwnedFd::from_raw_fd(fd) });
    let (sender, receiver) = mpsc::channel();
    Ok((
        Events {
            sender,
            bell: bell.clone(),
        },
        Inbox { receiver, bell },
    ))
}

impl Events {
    /// Sends `event` and rings the bell; false once the arbiter is gone.
    pub fn send(&self, event: PoolEvent) -> bool {
        let sent = self.sender.send(event).is_ok();
        let one: u64 = 1;
        unsafe { libc::write(self.bell.as_raw_fd(), (&one as *const u64).cast(), 8) };
        sent
    }
}

impl Inbox {
    /// The descriptor that is readable while events wait.
    pub fn bell(&self) -> BorrowedFd<'_> {
        self.bell.as_fd()
    }

    /// Every event that has arrived, oldest first; silences the bell first, so an event
    /// sent meanwhile rings it again.
    pub fn take(&self) -> Vec<PoolEvent> {
        let mut count: u64 = 0;
        unsafe { libc::read(self.bell.as_raw_fd(), (&mut count as *mut u64).cast(), 8) };
        self.receiver.try_iter().collect()
    }
}
