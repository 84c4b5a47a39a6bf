//! Which thread calls the app, and what a call given up at `--timeout` leaves behind.
//! A whole answer is made on the connection's own thread, with no hop; a body that
//! streams is relayed by another thread while Python computes the next piece; a lost
//! call gives back everything but its thread.

use crate::support::*;

/// The names of the server's threads, as the kernel knows them.
fn thread_names(pid: u32) -> Vec<String> {
    let mut names = Vec::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).expect("tasks") {
        let comm = task.expect("task").path().join("comm");
        if let Ok(name) = std::fs::read_to_string(comm) {
            names.push(name.trim().to_string());
        }
    }
    names
}

/// A whole answer needs no thread but the connection's; a streaming one gets a relay.
#[test]
fn a_whole_answer_is_made_on_the_connections_thread_and_a_stream_is_relayed() {
    let site = Site::new();
    let server = site.serve(&[]);
    for _ in 0..3 {
        let res = get(&server, "/wsgi/t/thread");
        assert_eq!(res.status, 200);
        let name = res.text();
        assert!(!name.starts_with("embed-"), "called on {name}");
    }
    let names = thread_names(server.pid());
    assert!(
        !names.iter().any(|n| n == "embed-relay"),
        "a relay thread before any body streamed: {names:?}"
    );
    let res = get(&server, "/wsgi/t/counted");
    assert_eq!(res.status, 200);
    let names = thread_names(server.pid());
    assert!(
        names.iter().any(|n| n == "embed-relay"),
        "no relay thread after a streamed body: {names:?}"
    );
}

/// A call given up at --timeout gives back its `--threads` turn: with one turn, the
/// server still answers other modes; only new embedded calls are refused, since the
/// lost thread is counted against --threads too.
#[test]
fn a_lost_call_gives_back_its_turn() {
    let site = Site::new();
    let server = site.serve(&["--threads", "1", "--timeout", "1"]);
    assert_eq!(get(&server, "/wsgi/t/forever").status, 504);
    assert_eq!(get(&server, "/app/hello").text(), "Hello, world!\n");
    let res = get(&server, "/wsgi/t/hello");
    assert_eq!(res.status, 503);
    wait_for_log(
        &server,
        1,
        &["GET /wsgi/t/hello 503", "1 threads are held by calls"],
    );
    assert_eq!(get(&server, "/app/hello").text(), "Hello, world!\n");
}

/// A graceful stop waits for the requests in flight, and a request answered 504 is not
/// one of them, even though its call still runs.
#[test]
fn a_graceful_stop_does_not_wait_for_a_lost_call() {
    let site = Site::new();
    let mut server = site.serve(&["--timeout", "1", "--graceful-timeout", "3600"]);
    assert_eq!(get(&server, "/wsgi/t/forever").status, 504);
    wait_for_log(&server, 1, &["GET /wsgi/t/forever 504"]);
    // SAFETY: a plain signal to the server this test started.
    unsafe { libc::kill(server.pid() as i32, libc::SIGTERM) };
    let status = server.wait_exit(WAIT);
    assert!(
        status.is_some(),
        "the stop waited for the lost call; the log ends: {:?}",
        server.log()
    );
}
