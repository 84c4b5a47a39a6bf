//! `--threads` turns: a request takes one only once its body has been read, so clients
//! that trickle a body hold none while they do (RFC 9112 §6: a body's length is known
//! from its head, but it may arrive as slowly as the client likes, within the body's
//! deadline).

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use crate::site;
use crate::support::{Conn, Response, WAIT, eventually};

/// How many connections trickle a body; more than `--threads`.
const SLOW: usize = 6;
/// Each slow body's declared length.
const LENGTH: usize = 1000;
const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// With `--threads 2`, six POSTs whose bodies trickle in (each told `100 Continue`, so
/// each is being read) leave `/raw` and a CGI GET answering; then the bodies end and each
/// POST is answered with its body. It used to take the turn before reading the body, so
/// two trickling clients held every turn and the GETs waited for the body deadline.
#[test]
fn slow_bodies_hold_no_threads_turn() {
    let server = site().arg("--threads").arg("2").start();
    let stop = Arc::new(AtomicBool::new(false));
    let mut posts = Vec::new();
    for i in 0..SLOW {
        let mut conn = server.connect();
        conn.send(
            format!(
                "POST /cgi-bin/cat.sh?{i} HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n\
                 Content-Length: {LENGTH}\r\n\r\n"
            )
            .as_bytes(),
        );
        // The event: the server reads this body (it says so with 100 Continue).
        conn.read_until(CONTINUE)
            .unwrap_or_else(|e| panic!("POST {i} got no 100 Continue: {e}"));
        assert_eq!(conn.take(CONTINUE.len()).unwrap(), CONTINUE);
        posts.push(trickle(conn, stop.clone()));
    }
    let mut raw = server.connect();
    let res = raw.get("/raw");
    assert_eq!(res.status, 200);
    let res = server.get("/cgi-bin/cat.sh");
    assert_eq!(res.status, 200);
    stop.store(true, Ordering::SeqCst);
    for (i, post) in posts.into_iter().enumerate() {
        let res = post.join().expect("a trickling client");
        assert_eq!(res.status, 200, "POST {i}");
        assert_eq!(res.body, vec![b'x'; LENGTH], "POST {i}");
    }
}

/// Sends one body byte at a time until `stop`, then the rest; returns the response.
fn trickle(mut conn: Conn, stop: Arc<AtomicBool>) -> thread::JoinHandle<Response> {
    thread::spawn(move || {
        let mut sent = 0;
        // Bounded: the trickle ends by itself before the body's deadline would.
        while sent < LENGTH - 1 && !stop.load(Ordering::SeqCst) {
            conn.send(b"x");
            sent += 1;
            let _ = eventually(Duration::from_millis(50), || stop.load(Ordering::SeqCst));
            if sent * 50 > WAIT.as_millis() as usize {
                break;
            }
        }
        conn.stream.write_all(&vec![b'x'; LENGTH - sent]).unwrap();
        conn.response()
    })
}
