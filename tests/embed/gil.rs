//! The GIL made visible, and what one process with many threads means for an app.

use std::thread;

use crate::support::*;

/// `Server-Timing` has the wait to take the GIL (`gil`) beside the app's time (`app`),
/// and the access log line carries the same phases.
#[test]
fn server_timing_and_the_log_line_carry_the_gil_wait() {
    let site = Site::new();
    let server = site.serve(&[]);
    let res = get(&server, "/wsgi/t/hello");
    let timing = res.header("Server-Timing").unwrap_or_default().to_string();
    let phases: Vec<&str> = timing
        .split(", ")
        .map(|p| p.split(";dur=").next().unwrap_or(""))
        .collect();
    assert_eq!(phases, ["gil", "app", "total"], "{timing}");
    assert!(
        res.timing("gil").is_some() && res.timing("app").is_some(),
        "{timing}"
    );
    let line = wait_for_log(&server, 1, &["GET /wsgi/t/hello 200"]).remove(0);
    assert!(line.contains(" mode=embed gil="), "{line}");
    assert!(line.contains("ms app="), "{line}");
}

/// A generator's pieces go out as they come: the first is at the client while the app
/// waits for `/go`, which the test asks for only once it has that first piece (a body
/// sent whole would never come).
#[test]
fn a_streaming_app_streams() {
    let site = Site::new();
    let server = site.serve(&[]);
    let mut conn = Conn::open(&server);
    conn.send("GET", "/wsgi/t/stream");
    let head = conn.head();
    assert!(
        head.contains(&"Transfer-Encoding: chunked".to_string()),
        "{head:?}"
    );
    assert_eq!(conn.chunk().as_deref(), Some(&b"first\n"[..]));
    assert_eq!(get(&server, "/wsgi/t/go").text(), "go\n");
    assert_eq!(conn.chunk().as_deref(), Some(&b"second\n"[..]));
    assert_eq!(conn.chunk(), None);
}

/// One process, many threads: two requests meet in the server's memory, the first
/// waiting (without the GIL) for the second. In a pool of single-threaded workers they
/// could not: each worker has a memory of its own.
#[test]
fn two_requests_meet_in_one_process() {
    let site = Site::new();
    let server = site.serve(&[]);
    let answers: Vec<String> = thread::scope(|s| {
        let ann = s.spawn(|| get(&server, "/wsgi/t/meet?ann").text());
        let bob = s.spawn(|| get(&server, "/wsgi/t/meet?bob").text());
        vec![ann.join().unwrap(), bob.join().unwrap()]
    });
    assert_eq!(answers, ["ann met bob\n", "bob met ann\n"]);
}
