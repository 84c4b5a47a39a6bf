//! Signals: scripts start with an empty signal mask and default dispositions, so they can
//! be stopped politely and can stop what they start; HUP, TTIN and TTOU never stop the
//! server.

use std::time::{Duration, Instant};

use crate::support::{HELLO, Site, eventually};

/// A script sees no blocked and no ignored signal (`SigBlk` and `SigIgn` in
/// /proc/self/status are zero): the server catches its signals with handlers, which
/// `exec` resets, instead of blocking them, which every child would inherit; and it
/// resets to default what its own launcher left ignored (`nohup` ignores SIGHUP).
#[test]
fn scripts_start_with_an_empty_signal_mask() {
    let server = Site::new()
        .script(
            "mask.sh",
            "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n'\nexec grep -E '^Sig(Blk|Ign):' /proc/self/status\n",
        )
        .start();
    let res = server.get("/cgi-bin/mask.sh");
    assert_eq!(res.status, 200, "{}", res.text());
    let text = res.text();
    for field in ["SigBlk", "SigIgn"] {
        let line = text
            .lines()
            .find(|l| l.starts_with(field))
            .unwrap_or_else(|| panic!("no {field} in {text}"));
        let mask = line.split_whitespace().nth(1).unwrap_or_default();
        let mask = u64::from_str_radix(mask, 16).expect("a hex mask");
        // Signals 1-31; 32 and up are real-time signals, the first two reserved by the C
        // library, which a launcher may leave ignored and no script uses.
        assert_eq!(mask & 0x7fff_ffff, 0, "{field} is not empty: {line}");
    }
}

/// SIGTERM reaches what a script starts: `timeout 1 sleep 5` ends after about a second,
/// not five (with SIGTERM blocked, `sleep` would run its five seconds).
#[test]
fn timeout_inside_a_script_stops_its_child() {
    let server = Site::new()
        .script(
            "timeout.sh",
            "#!/bin/sh\ntimeout 1 sleep 5\nprintf 'Content-Type: text/plain\\n\\nexit=%s\\n' $?\n",
        )
        .start();
    let started = Instant::now();
    let res = server.get("/cgi-bin/timeout.sh");
    let took = started.elapsed();
    assert_eq!(res.status, 200, "{}", res.text());
    // timeout(1) exits 124 when it had to send the signal.
    assert_eq!(res.text(), "exit=124\n");
    assert!(
        took < Duration::from_secs(4),
        "sleep ignored SIGTERM: {took:?}"
    );
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
