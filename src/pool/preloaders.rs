//! A `--preload` pool's preloaders ([`super::preload`]) across reloads: the current one,
//! which new workers are forked from, and older ones kept alive while workers they forked
//! still serve (a worker dies with its preloader). SIGHUP starts a new preloader, which
//! imports the app anew, as gunicorn's HUP does with `--preload`; the old one leaves once
//! its last worker has gone.
//!
//! The arbiter drives them with the same steps as the workers: read what they say, reap,
//! kill the late, retire the old.

use std::io;
use std::os::fd::BorrowedFd;
use std::sync::Arc;
use std::time::Instant;

use super::policy::{BOOT_TIMEOUT, LAST_WORDS, STOP_GRACE};
use super::preload::{Preloader, Stage};
use super::spawn::{Program, by_itself, describe};

/// One pool's preloaders.
pub struct Preloaders {
    /// What a preloader runs: the WSGI worker with `--preload`.
    program: Program,
    /// The one new workers are forked from.
    current: Option<Preloader>,
    /// Earlier ones, until the workers they forked are gone.
    old: Vec<Preloader>,
}

/// A preloader that failed: what happened, and why (its last words).
pub struct Failed {
    pub what: String,
    pub reason: String,
}

impl Preloaders {
    pub fn new(program: Program) -> Preloaders {
        Preloaders {
            program,
            current: None,
            old: Vec::new(),
        }
    }

    /// The preloader to fork from, if it is ready; when there is none, starts one as
    /// `id` (and returns `None`: workers come once it has imported the app).
    pub fn ready(&mut self, pool: &str, id: u64) -> io::Result<Option<&mut Preloader>> {
        if self.current.is_none() {
            let (preloader, log) = Preloader::start(&self.program, id)?;
            super::worker_log::follow_log(
                pool.to_string(),
                preloader.pid,
                log,
                preloader.last_line.clone(),
            );
            crate::log!(
                "pool {pool}: preloader {} started: it imports the app once",
                preloader.pid
            );
            self.current = Some(preloader);
        }
        Ok(self.current.as_mut().filter(|p| p.stage == Stage::Ready))
    }

    /// The pid of the preloader new workers come from, once it is ready.
    pub fn current_pid(&self) -> Option<u32> {
        self.current
            .as_ref()
            .filter(|p| p.stage == Stage::Ready)
            .map(|p| p.pid)
    }

    /// SIGHUP: the next workers come from a new preloader, which imports the app anew.
    /// The current one becomes old (one still importing would hold the code before the
    /// last edit: it is killed).
    pub fn reload(&mut self) {
        if let Some(mut current) = self.current.take() {
            if current.stage == Stage::Importing {
                current.stop(libc::SIGKILL);
            }
            self.old.push(current);
        }
    }

    /// Takes in what each has said (its readiness, its workers' exits); true when the
    /// current one has just become ready.
    pub fn read(&mut self, pool: &str) -> bool {
        let mut ready = false;
        if let Some(current) = &mut self.current {
            ready = current.read(pool);
        }
        for old in &mut self.old {
            old.read(pool);
        }
        ready
    }

    /// Reaps the ones that exited and logs how. Returns the current one's failure, if it
    /// died before it had imported the app or by itself after: a failed start.
    pub fn reap(&mut self, pool: &str) -> Option<Failed> {
        let mut failed = None;
        let mut i = 0;
        while i < self.old.len() {
            match self.old[i].try_exit() {
                Some(status) => {
                    let mut old = self.old.swap_remove(i);
                    old.group.kill_rest();
                    crate::log!(
                        "pool {pool}: old preloader {} {}",
                        old.pid,
                        describe(status)
                    );
                }
                None => i += 1,
            }
        }
        let exited = self.current.as_mut().and_then(Preloader::try_exit);
        if let Some(status) = exited
            && let Some(mut current) = self.current.take()
        {
            current.group.kill_rest();
            let how = describe(status);
            let what = match current.stage {
                Stage::Importing => Some(format!(
                    "preloader {} {how} before it had imported the app",
                    current.pid
                )),
                Stage::Ready if by_itself(status) => Some(format!(
                    "preloader {} {how}; the workers forked from it die with it",
                    current.pid
                )),
                _ => None,
            };
            match what {
                None if matches!(current.stage, Stage::Stopping { .. }) => {
                    crate::log!("pool {pool}: preloader {} {how}", current.pid);
                }
                Some(what) => {
                    let line = current.last_line.wait(LAST_WORDS);
                    let reason = if line.trim().is_empty() { how } else { line };
                    failed = Some(Failed { what, reason });
                }
                None => crate::log!(
                    "pool {pool}: preloader {} {how}; the workers forked from it die with it",
                    current.pid
                ),
            }
        }
        failed
    }

    /// Tells old preloaders whose workers are all gone to leave; `forked_from` says
    /// whether any worker still comes from a preloader.
    pub fn retire(&mut self, pool: &str, forked_from: impl Fn(&Arc<super::preload::Link>) -> bool) {
        for old in &mut self.old {
            if old.stage == Stage::Ready && !forked_from(&old.link) {
                crate::log!(
                    "pool {pool}: old preloader {} leaves: its workers are gone",
                    old.pid
                );
                old.stop(libc::SIGTERM);
            }
        }
    }

    /// Kills a preloader that has not imported the app after BOOT_TIMEOUT, or not left
    /// STOP_GRACE after SIGTERM. Returns when the next such deadline falls.
    pub fn murder(&mut self, pool: &str) -> Option<Instant> {
        let now = Instant::now();
        let mut next: Option<Instant> = None;
        for p in self.current.iter_mut().chain(self.old.iter_mut()) {
            let deadline = match p.stage {
                Stage::Importing => p.started + BOOT_TIMEOUT,
                Stage::Stopping { signal, since } if signal != libc::SIGKILL => since + STOP_GRACE,
                _ => continue,
            };
            if deadline <= now {
                crate::log!(
                    "pool {pool}: preloader {} killed: {}",
                    p.pid,
                    match p.stage {
                        Stage::Importing =>
                            format!("not ready: no answer after {} s", BOOT_TIMEOUT.as_secs()),
                        _ => "did not stop after SIGTERM".to_string(),
                    }
                );
                p.stop(libc::SIGKILL);
            } else {
                next = Some(next.map_or(deadline, |n| n.min(deadline)));
            }
        }
        next
    }

    /// The server stops: every preloader is told to leave (once its workers are gone).
    pub fn stop_all(&mut self, signal: i32) {
        for p in self.current.iter_mut().chain(self.old.iter_mut()) {
            p.stop(signal);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.current.is_none() && self.old.is_empty()
    }

    /// What the arbiter sleeps on for them.
    pub fn fds(&self) -> Vec<BorrowedFd<'_>> {
        self.current
            .iter()
            .chain(self.old.iter())
            .flat_map(Preloader::fds)
            .collect()
    }
}
