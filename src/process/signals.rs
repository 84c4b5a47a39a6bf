//! The signal thread: SIGINT and SIGTERM stop the server (the scripts and workers with
//! it); SIGHUP, SIGTTIN and SIGTTOU are passed on to whoever runs the worker pools.

use std::thread;

/// A signal the server acts on, as the thread that waits for them reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGINT or SIGTERM (the number): stop.
    Stop(i32),
    /// SIGHUP: reload.
    Reload,
    /// SIGTTIN: one worker more.
    MoreWorkers,
    /// SIGTTOU: one worker fewer.
    FewerWorkers,
}

const HANDLED: [libc::c_int; 5] = [
    libc::SIGINT,
    libc::SIGTERM,
    libc::SIGHUP,
    libc::SIGTTIN,
    libc::SIGTTOU,
];

fn handled_set() -> libc::sigset_t {
    // SAFETY: sigemptyset and sigaddset initialise and fill a set on our own stack.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for signal in HANDLED {
            libc::sigaddset(&mut set, signal);
        }
        set
    }
}

/// Blocks the handled signals in the calling thread (and the threads it starts), so only
/// the signal thread receives them. Children get a clean mask from `Command`.
pub fn block() {
    let set = handled_set();
    // SAFETY: changes only this thread's mask.
    unsafe {
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
}

/// Blocks the handled signals in every thread (call it before any is started) and waits
/// for them on a thread of their own, so handling them needs no async-signal-safe code.
/// `on_signal` hears each one; after a stop it returns, the scripts' process groups are
/// killed and the server exits.
pub fn handle(mut on_signal: impl FnMut(Signal) + Send + 'static) {
    block();
    let set = handled_set();
    thread::spawn(move || {
        loop {
            let mut signal = 0;
            // SAFETY: waits on a set of signals blocked in every thread.
            unsafe {
                libc::sigwait(&set, &mut signal);
            }
            match signal {
                libc::SIGHUP => on_signal(Signal::Reload),
                libc::SIGTTIN => on_signal(Signal::MoreWorkers),
                libc::SIGTTOU => on_signal(Signal::FewerWorkers),
                _ => {
                    on_signal(Signal::Stop(signal));
                    crate::process::child::kill_all_groups();
                    eprintln!("cgilab: stopping on signal {signal}; running scripts were killed");
                    std::process::exit(128 + signal);
                }
            }
        }
    });
}

/// SIGINT and SIGTERM stop the server; the other handled signals are ignored.
pub fn stop_on_signal() {
    handle(|_| {});
}
