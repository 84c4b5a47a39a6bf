//! Stopping: SIGTERM is graceful (no new connections, the requests in flight finish
//! within `--graceful-timeout`, then what still runs is killed), SIGINT is quick, and a
//! second signal hurries a graceful stop.

use std::net::TcpStream;

use crate::support::*;

/// A script that says it has started, then waits for the test's go-ahead (a file), so
/// the test decides when it ends without guessing at durations.
const WAITS_FOR_GO: &str = "#!/bin/sh\n\
echo $$ > \"$STATE_DIR/started\"\n\
while [ ! -e \"$STATE_DIR/go\" ]; do sleep 0.05; done\n\
printf 'Content-Type: text/plain\\r\\n\\r\\nfinished\\n'\n";

/// A server (with `--graceful-timeout SECS`, when given) whose `wait.sh` is running: the
/// server, the client's connection, and the script's pid.
fn with_a_script_in_flight(graceful: Option<&str>) -> (Server, Conn, u32) {
    let mut site = Site::new().script("wait.sh", WAITS_FOR_GO);
    if let Some(secs) = graceful {
        site = site.arg("--graceful-timeout").arg(secs);
    }
    let server = site.start();
    let mut conn = server.connect();
    conn.send(b"GET /cgi-bin/wait.sh HTTP/1.1\r\nHost: x\r\n\r\n");
    let started = server.state().join("started");
    assert!(
        eventually(WAIT, || started.exists()),
        "the script never ran"
    );
    let pid = read_pid_file(&started);
    (server, conn, pid)
}

/// gunicorn's TERM: the request in flight finishes with its whole answer, while a new
/// connection is refused; then the server exits.
#[test]
fn sigterm_lets_the_request_in_flight_finish_and_refuses_new_connections() {
    let (mut server, mut conn, _) = with_a_script_in_flight(None);
    signal(server.pid(), libc::SIGTERM);
    server.wait_log("the graceful stop", |l| l.contains("no new connections"));
    assert!(
        TcpStream::connect(server.addr()).is_err(),
        "a new connection was accepted during a graceful stop"
    );
    std::fs::write(server.state().join("go"), "").unwrap();
    let res = conn.response();
    assert_eq!(res.status, 200);
    assert_eq!(res.body, b"finished\n");
    assert!(eventually(WAIT, || !server.is_running()), "still running");
}

/// Past `--graceful-timeout`, the request still in flight is cut (or answered 502) and its
/// script killed.
#[test]
fn sigterm_cuts_what_outlives_the_graceful_timeout() {
    let (mut server, mut conn, pid) = with_a_script_in_flight(Some("1"));
    signal(server.pid(), libc::SIGTERM);
    assert!(eventually(WAIT, || !server.is_running()), "still running");
    assert!(eventually(WAIT, || process_gone(pid)), "script {pid} runs");
    // The client gets a cut, or the 502 of a script killed before it answered; never
    // the answer the script never gave.
    if let Ok(res) = conn.try_response(false) {
        assert_eq!(res.status, 502, "{:?}", res.body);
    }
    server.wait_log("the cut", |l| {
        l.contains("1 requests still in flight are cut")
    });
}

/// A second signal during a graceful stop means now: nobody waits for the request.
#[test]
fn a_second_signal_ends_a_graceful_stop_at_once() {
    let (mut server, _conn, pid) = with_a_script_in_flight(Some("300"));
    signal(server.pid(), libc::SIGTERM);
    server.wait_log("the graceful stop", |l| l.contains("no new connections"));
    signal(server.pid(), libc::SIGINT);
    assert!(eventually(WAIT, || !server.is_running()), "still running");
    assert!(eventually(WAIT, || process_gone(pid)), "script {pid} runs");
    server.wait_log("the second signal", |l| l.contains("a second signal"));
}
