//! The server's signals: INT, TERM, HUP, TTIN, TTOU and USR1, each handed to [`handle`]'s
//! callback on a thread of their own. The callback only passes them on (the server stops
//! on its main thread; the pool supervisor reloads and resizes in its loop), as gunicorn's
//! handlers only queue the signal for the arbiter.
//!
//! Signals are caught by handlers (the `signal-hook` crate), never blocked. Blocking them
//! for a `sigwait` thread would be inherited by every script, which then starts with
//! SIGINT and SIGTERM blocked and cannot be stopped politely, nor stop what it starts.
//! Unblocking them in the child would take a `pre_exec`, which forces a full `fork`
//! instead of the cheap `posix_spawn` path. A caught signal is reset to its default
//! action by `exec`, so scripts start with an empty mask and default dispositions.

use std::thread;

use signal_hook::consts::signal::{SIGHUP, SIGINT, SIGTERM, SIGTTIN, SIGTTOU, SIGUSR1};
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
    /// SIGUSR1: reopen the log files (logrotate renamed them), as nginx and gunicorn do.
    ReopenLogs,
}

/// Catches INT, TERM, HUP, TTIN, TTOU and USR1 and hands each to `on_signal` on a thread of
/// their own, so handling them needs no async-signal-safe code. Call it once, at startup.
pub fn handle(mut on_signal: impl FnMut(Signal) + Send + 'static) {
    default_what_was_ignored();
    let started = Signals::new([SIGINT, SIGTERM, SIGHUP, SIGTTIN, SIGTTOU, SIGUSR1]).and_then(
        |mut signals| {
            thread::Builder::new()
                .name("signals".into())
                .spawn(move || {
                    for raw in signals.forever() {
                        let signal = match raw {
                            SIGHUP => Signal::Reload,
                            SIGTTIN => Signal::MoreWorkers,
                            SIGTTOU => Signal::FewerWorkers,
                            SIGUSR1 => Signal::ReopenLogs,
                            _ => Signal::Stop(raw),
                        };
                        on_signal(signal);
                    }
                })
                .map(drop)
        },
    );
    if let Err(e) = started {
        crate::log!("cgilab: cannot catch signals: {e}; Ctrl-C will leave scripts running");
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn hup_ttin_ttou_and_usr1_reach_the_callback() {
        let (tx, heard) = std::sync::mpsc::channel();
        handle(move |signal| tx.send(signal).unwrap());
        for (raw, expected) in [
            (SIGHUP, Signal::Reload),
            (SIGTTIN, Signal::MoreWorkers),
            (SIGTTOU, Signal::FewerWorkers),
            (SIGUSR1, Signal::ReopenLogs),
        ] {
            signal_hook::low_level::raise(raw).unwrap();
            assert_eq!(heard.recv_timeout(Duration::from_secs(5)), Ok(expected));
        }
    }
}
