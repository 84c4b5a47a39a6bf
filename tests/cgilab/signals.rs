//! Signals: scripts start with default dispositions, whatever the server's launcher
//! ignored, so they can be stopped politely and can stop what they start; HUP, TTIN and
//! TTOU never stop the server.

use std::time::Duration;

use crate::support::{HELLO, Site, eventually};

/// A script starts with the default action for every signal, even those whoever started
/// the server left ignored (`nohup` ignores SIGHUP, a shell's `&` SIGINT and SIGQUIT): an
/// ignored signal stays ignored across `exec`, so the server resets them when it starts.
/// The server here is started with HUP, QUIT and USR2 ignored; it catches HUP itself, and
/// leaves QUIT and USR2 alone, so they are the ones that would leak. (The signal mask
/// needs no such care: std's `Command` empties it in every child.)
#[test]
fn signals_the_launcher_ignored_are_not_ignored_in_scripts() {
    let server = Site::new()
        .script(
            "mask.sh",
            "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n'\nexec grep -E '^SigIgn:' /proc/self/status\n",
        )
        .launcher_ignores(&["HUP", "QUIT", "USR2"])
        .start();
    let res = server.get("/cgi-bin/mask.sh");
    assert_eq!(res.status, 200, "{}", res.text());
    let text = res.text();
    let line = text
        .lines()
        .find(|l| l.starts_with("SigIgn:"))
        .unwrap_or_else(|| panic!("no SigIgn in {text}"));
    let mask = line.split_whitespace().nth(1).unwrap_or_default();
    let mask = u64::from_str_radix(mask, 16).expect("a hex mask");
    // Signals 1-31; 32 and up are real-time signals, the first two reserved by the C
    // library, which a launcher may leave ignored and no script uses.
    assert_eq!(mask & 0x7fff_ffff, 0, "signals ignored in a script: {line}");
}

/// A script can stop what it starts with a signal its server's launcher ignored: `sleep`
/// dies of the USR2 the script sends it. (Inherited as ignored, USR2 would leave it
/// sleeping its thirty seconds, past this client's patience.)
#[test]
fn a_script_stops_its_child_with_a_signal_the_launcher_ignored() {
    let server = Site::new()
        .script(
            "stop.sh",
            "#!/bin/sh\nsleep 30 &\nkill -USR2 $!\nwait $!\nprintf 'Content-Type: text/plain\\n\\nexit=%s\\n' $?\n",
        )
        .launcher_ignores(&["USR2"])
        .start();
    let res = server.get("/cgi-bin/stop.sh");
    assert_eq!(res.status, 200, "{}", res.text());
    // 128 + 12: killed by SIGUSR2.
    assert_eq!(res.text(), "exit=140\n");
}

/// SIGHUP, SIGTTIN and SIGTTOU are caught (for the pools) and never stop the server:
/// without a handler, HUP would terminate it and TTIN/TTOU would stop it.
#[test]
fn hup_ttin_and_ttou_do_not_stop_the_server() {
    let mut server = Site::new().script("hello.sh", HELLO).start();
    for signal in [libc::SIGHUP, libc::SIGTTIN, libc::SIGTTOU] {
        unsafe { libc::kill(server.pid() as libc::pid_t, signal) };
        let res = server.get("/cgi-bin/hello.sh");
        assert_eq!(res.status, 200, "after signal {signal}");
        assert!(server.is_running(), "signal {signal} stopped the server");
    }
    // A stopped process (TTIN's default) would not answer; make sure it is not stopped.
    assert!(
        eventually(Duration::from_secs(2), || crate::support::proc_state(
            server.pid()
        )
        .is_some_and(|(s, _)| s != 'T')),
        "the server is stopped"
    );
}
