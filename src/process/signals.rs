//! The server's signals: INT and TERM stop it (and the scripts with it); HUP, TTIN and
//! TTOU go to whoever subscribed (the pool supervisor: reload, add a worker, remove one).
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

/// A signal passed on to subscribers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGHUP: reload (new workers first, then retire the old ones).
    Hup,
    /// SIGTTIN: one more worker per pool.
    Ttin,
    /// SIGTTOU: one worker fewer per pool.
    Ttou,
}

type StopHook = Box<dyn Fn() + Send>;

static SUBSCRIBERS: Mutex<Vec<Sender<Signal>>> = Mutex::new(Vec::new());
static STOP_HOOKS: Mutex<Vec<StopHook>> = Mutex::new(Vec::new());

/// Every HUP, TTIN and TTOU the server receives from now on. Until someone subscribes
/// they are caught and dropped, so none of them stops the server.
pub fn subscribe() -> Receiver<Signal> {
    let (tx, rx) = channel();
    lock(&SUBSCRIBERS).push(tx);
    rx
}

/// Runs `hook` when the server stops on INT or TERM, after the scripts are killed and
/// before the process exits (e.g. to stop a pool's workers).
pub fn at_stop(hook: impl Fn() + Send + 'static) {
    lock(&STOP_HOOKS).push(Box::new(hook));
}

/// Installs the handlers and the thread that acts on them; call once, at startup.
pub fn install() -> std::io::Result<()> {
    default_what_was_ignored();
    let mut signals = Signals::new([SIGINT, SIGTERM, SIGHUP, SIGTTIN, SIGTTOU])?;
    thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            for signal in signals.forever() {
                let passed = match signal {
                    SIGHUP => Signal::Hup,
                    SIGTTIN => Signal::Ttin,
                    SIGTTOU => Signal::Ttou,
                    _ => stop(signal),
                };
                // A subscriber that went away is dropped.
                lock(&SUBSCRIBERS).retain(|tx| tx.send(passed).is_ok());
            }
        })?;
    Ok(())
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

/// Kills the running scripts, runs the stop hooks, and exits.
fn stop(signal: i32) -> ! {
    crate::process::child::kill_all_groups();
    for hook in lock(&STOP_HOOKS).iter() {
        hook();
    }
    let name = if signal == SIGINT {
        "SIGINT"
    } else {
        "SIGTERM"
    };
    eprintln!("cgilab: stopping on {name}; running scripts were killed");
    std::process::exit(128 + signal);
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn hup_ttin_and_ttou_reach_subscribers() {
        install().unwrap();
        let rx = subscribe();
        for (raw, expected) in [
            (SIGHUP, Signal::Hup),
            (SIGTTIN, Signal::Ttin),
            (SIGTTOU, Signal::Ttou),
        ] {
            signal_hook::low_level::raise(raw).unwrap();
            let got = rx.recv_timeout(Duration::from_secs(5));
            assert_eq!(got, Ok(expected));
        }
    }
}
