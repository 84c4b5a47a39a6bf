//! `cgilab bench` against servers that lie about their bodies: one that stalls, one that
//! declares a length no body will have, one whose chunks never end. The bench must end by
//! itself, fail with a line naming the fault, and never size its memory from what a
//! server declares.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use super::BIN;

/// What the hostile server does once it has sent its answer.
#[derive(Clone, Copy)]
enum Then {
    /// Sends nothing more, and waits for the client to close.
    Stall,
    /// Closes the connection.
    Close,
}

/// A server on 127.0.0.1:0 that answers the first request on each connection with the
/// same bytes. Dropping it stops it and joins every thread it started; a connection's
/// thread ends when the client closes it (the bench's exit closes them all).
struct Hostile {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
}

impl Hostile {
    fn start(answer: &'static [u8], then: Then) -> Hostile {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let acceptor = thread::spawn(move || {
            let mut conns = Vec::new();
            for conn in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                conns.push(thread::spawn(move || serve(conn, answer, then)));
            }
            for c in conns {
                c.join().unwrap();
            }
        });
        Hostile {
            addr,
            stop,
            acceptor: Some(acceptor),
        }
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the acceptor, which then sees `stop`.
        let _ = TcpStream::connect(self.addr);
        if let Some(a) = self.acceptor.take() {
            let _ = a.join();
        }
    }
}

/// Reads a request head, sends `answer`, then stalls or closes.
fn serve(mut conn: TcpStream, answer: &[u8], then: Then) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match conn.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    if conn.write_all(answer).is_err() {
        return;
    }
    if let Then::Stall = then {
        // Whatever else comes is ignored, until the client closes.
        let mut sink = [0u8; 4096];
        while matches!(conn.read(&mut sink), Ok(n) if n > 0) {}
    }
}

/// How a bench run ended.
struct Ended {
    success: bool,
    stderr: String,
    /// The bench process's peak resident set, in KiB.
    peak_kib: i64,
}

/// Runs `cgilab bench` against `server` at `concurrency` for 1 s. A bench still running
/// after a minute has hung: it is killed and the test fails.
// The child is reaped by wait4, which std's `wait` cannot replace: it alone gives the
// child's own peak RSS.
#[allow(clippy::zombie_processes)]
fn bench_against(server: &Hostile, concurrency: &str) -> Ended {
    let url = format!("hostile=http://{}/", server.addr);
    let mut child = Command::new(BIN)
        .args(["bench", "--url", &url, "--duration", "1"])
        .args(["--concurrency", concurrency, "--format", "csv"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id() as libc::pid_t;
    let mut stderr = child.stderr.take().unwrap();
    let reader = thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    // wait4 reaps the child with its own resource usage, peak RSS included.
    let (tx, rx) = mpsc::channel();
    let waiter = thread::spawn(move || {
        let mut status = 0;
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        let got = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        assert_eq!(got, pid, "wait4: {}", std::io::Error::last_os_error());
        let _ = tx.send((status, usage.ru_maxrss));
    });
    let ended = rx.recv_timeout(Duration::from_secs(60));
    let hung = ended.is_err();
    if hung {
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
    waiter.join().unwrap();
    let stderr = reader.join().unwrap();
    assert!(!hung, "the bench did not end by itself: {stderr}");
    let (status, peak_kib) = ended.unwrap();
    Ended {
        success: libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        stderr,
        peak_kib,
    }
}

/// Asserts the run failed with a line for the hostile server that contains `fault`.
fn fails_naming(ended: &Ended, fault: &str) {
    assert!(!ended.success, "the run passed: {}", ended.stderr);
    assert!(
        ended
            .stderr
            .lines()
            .any(|l| l.starts_with("bench: hostile / at concurrency ") && l.contains(fault)),
        "no line names `{fault}`: {}",
        ended.stderr
    );
    assert!(
        ended
            .stderr
            .contains("cgilab: error: 1 of 1 runs answered errors"),
        "{}",
        ended.stderr
    );
}

/// The server's word sized nothing: far below what it declared.
fn stayed_small(ended: &Ended) {
    assert!(
        ended.peak_kib < 200 * 1024,
        "the bench's peak RSS was {} KiB",
        ended.peak_kib
    );
}

/// A body that stops short and never ends is given up at the bench's own deadline.
#[test]
fn a_body_that_stalls_is_given_up_and_named() {
    let server = Hostile::start(
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789",
        Then::Stall,
    );
    fails_naming(&bench_against(&server, "1"), "timed out");
}

/// A chunked body whose last chunk never comes is given up the same way.
#[test]
fn a_chunked_body_without_end_is_given_up_and_named() {
    let server = Hostile::start(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
        Then::Stall,
    );
    fails_naming(&bench_against(&server, "1"), "timed out");
}

/// An absurd Content-Length is refused as soon as it is read, and allocates nothing.
#[test]
fn an_absurd_content_length_is_refused_without_allocating_it() {
    let server = Hostile::start(
        b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999\r\n\r\nabc",
        Then::Stall,
    );
    let ended = bench_against(&server, "4");
    fails_naming(&ended, "Content-Length 99999999999999");
    stayed_small(&ended);
}

/// A chunk size past any body the bench reads is refused, and allocates nothing.
#[test]
fn a_huge_chunk_size_is_refused_without_allocating_it() {
    let server = Hostile::start(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nffffffffffffffff\r\nabc",
        Then::Stall,
    );
    let ended = bench_against(&server, "4");
    fails_naming(&ended, "chunk size ffffffffffffffff");
    stayed_small(&ended);
}

/// A 60 MB Content-Length (within what a body may be) that is followed by three bytes
/// and a close costs no 60 MB buffer on any of eight connections.
#[test]
fn a_declared_length_is_not_allocated_up_front() {
    let server = Hostile::start(
        b"HTTP/1.1 200 OK\r\nContent-Length: 60000000\r\n\r\nabc",
        Then::Close,
    );
    let ended = bench_against(&server, "8");
    fails_naming(&ended, "closed early");
    stayed_small(&ended);
}
