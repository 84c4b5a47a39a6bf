//! The server's signals: INT and TERM stop it (and the scripts with it); HUP, TTIN and
//! TTOU go to [`handle`]'s callback and to subscribers (the pool supervisor: reload, add a
//! worker, remove one).
//!
//! Signals are caught by handlers (the `signal-hook` crate), never blocked. Blocking them
//! for a `sigwait` thread would be inherited by every script, which then starts with
//! SIGINT and SIGTERM blocked and cannot be stopped politely, nor stop what it starts.
//! Unblocking them in the child would take a `pre_exec`, which forces a full `fork`
//! instead of the cheap `posix_spawn` path. A caught signal is reset to its default
//! action by `exec`, so scripts start with an empty mask and default dispositions.

use std::sync::Mutex;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread;

use signal_hook::consts::signal::{SIGHUP, SIGINT, SIGTERM, SIGTTIN, SIGTTOU};
use signal_hook::iterator::Signals;

/// A signal the server acts on, as the signal thread reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGINT or SIGTERM (the number): stop.
    Stop(i32),
    /// SIGHUP: reload (new workers first, then retire the old ones).
    Reload,
    /// SIGTTIN: one worker more per pool.
    MoreWorkers,
    /// SIGTTOU: one worker fewer per pool.
    FewerWorkers,
}

static SUBSCRIBERS: Mutex<Vec<Sender<Signal>>> = Mutex::new(Vec::new());

/// Every HUP, TTIN and TTOU the server receives from now on, as a channel (another way
/// to hear them than [`handle`]'s callback). Until someone listens they are caught and
/// dropped, so none of them stops the server.
pub fn subscribe() -> Receiver<Signal> {
    let (tx, rx) = channel();
    SUBSCRIBERS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(tx);
    rx
}

/// Catches INT, TERM, HUP, TTIN and TTOU and acts on them on a thread of their own, so
/// handling them needs no async-signal-safe code. `on_signal` hears each one (so do the
/// [`subscribe`]rs, but for stops); after a stop it returns, the running scripts and their
/// groups are killed and the server exits. Call it once, at startup.
pub fn handle(mut on_signal: impl FnMut(Signal) + Send + 'static) {
    default_what_was_ignored();
    let started =
        Signals::new([SIGINT, SIGTERM, SIGHUP, SIGTTIN, SIGTTOU]).and_then(|mut signals| {
            thread::Builder::new()
                .name("signals".into())
                .spawn(move || {
                    for raw in signals.forever() {
                        let signal = match raw {
                            SIGHUP => Signal::Reload,
                            SIGTTIN => Signal::MoreWorkers,
                            SIGTTOU => Signal::FewerWorkers,
                            _ => Signal::Stop(raw),
                        };
                        on_signal(signal);
                        if let Signal::Stop(raw) = signal {
                            stop(raw);
                        }
                        // A subscriber that went away is dropped.
                        SUBSCRIBERS
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .retain(|tx| tx.send(signal).is_ok());
                    }
                })
                .map(drop)
        });
    if let Err(e) = started {
        eprintln!("cgilab: cannot catch signals: {e}; Ctrl-C will leave scripts running");
    }
}

/// SIGINT and SIGTERM stop the server; HUP, TTIN and TTOU go to subscribers only.
pub fn stop_on_signal() {
    handle(|_| {});
}

/// Resets to its default action each signal that whoever started the server left ignored
/// (`nohup` ignores SIGHUP, a shell's `&` SIGINT and SIGQUIT): an ignored signal stays
/// ignored across `exec`, so scripts would inherit it. SIGPIPE is left as Rust set it;
/// `Command` restores its default in every child.
fn default_what_was_ignored() {
    for signal in 1..32 {
        if [libc::SIGKILL, libc::SIGSTOP, libc::SIGPIPE].contains(&signal) {
            continue;
        }
        unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(signal, std::ptr::null(), &mut old) == 0
                && old.sa_sigaction == libc::SIG_IGN
            {
                libc::signal(signal, libc::SIG_DFL);
            }
        }
    }
}

/// Kills the running scripts and exits.
fn stop(signal: i32) -> ! {
    crate::process::child::kill_all_groups();
    let name = if signal == SIGINT {
        "SIGINT"
    } else {
        "SIGTERM"
    };
    eprintln!("cgilab: stopping on {name}; running scripts were killed");
    std::process::exit(128 + signal);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn hup_ttin_and_ttou_reach_the_callback_and_subscribers() {
        let (tx, heard) = channel();
        handle(move |signal| tx.send(signal).unwrap());
        let rx = subscribe();
        for (raw, expected) in [
            (SIGHUP, Signal::Reload),
            (SIGTTIN, Signal::MoreWorkers),
            (SIGTTOU, Signal::FewerWorkers),
        ] {
            signal_hook::low_level::raise(raw).unwrap();
            assert_eq!(heard.recv_timeout(Duration::from_secs(5)), Ok(expected));
            assert_eq!(rx.recv_timeout(Duration::from_secs(5)), Ok(expected));
        }
    }
}
