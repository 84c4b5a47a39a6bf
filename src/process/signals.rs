//! The signal thread: SIGINT and SIGTERM stop the server, and the scripts with it.

use std::thread;

/// Blocks SIGINT and SIGTERM in every thread (call it before any is started; scripts get
/// a clean signal mask from `Command`), and waits for them on a thread of their own, so
/// stopping needs no async-signal-safe code: kill the scripts' process groups, then exit.
pub fn stop_on_signal() {
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        thread::spawn(move || {
            let mut signal = 0;
            libc::sigwait(&set, &mut signal);
            crate::process::child::kill_all_groups();
            eprintln!("cgilab: stopping on signal {signal}; running scripts were killed");
            std::process::exit(128 + signal);
        });
    }
}
