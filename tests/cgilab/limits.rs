//! The CGI host's limits hold whatever a script does: each test runs a script that
//! misbehaves one way (a busy stderr, a client that does not read, a script that leaves
//! its group, background children on its pipes, a crash mid-body, a trickling or truncated
//! upload, more requests than slots) and checks that the server keeps its promise.

use std::net::Shutdown;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use crate::support::{
    Conn, HELLO, Site, WAIT, eventually, fd_count, find, process_gone, read_pid_file,
    zombie_children,
};

const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// How long a killed script may take to disappear.
const GONE_WITHIN: Duration = Duration::from_secs(10);

/// Headers, then the same line for ever.
const FLOOD: &str = "#!/bin/sh\necho $$ > \"$STATE_DIR/flood.pid\"\nprintf 'Content-Type: text/plain\\n\\n'\nexec yes 'and on and on and on and on and on and on and on and on'\n";

/// A script that keeps stderr busy is still killed at --timeout (the deadline bounds every
/// turn of the pipe loop, not only the quiet ones), with a 504; its stderr is logged up to
/// 64 KiB, then one line says how much was dropped. One script keeps stdout open while
/// `yes` floods stderr; the other `exec`s into `yes`, which closes stdout.
#[test]
fn busy_stderr_cannot_outrun_the_timeout() {
    let scripts = [
        (
            "noisy.sh",
            "#!/bin/sh\necho $$ > \"$STATE_DIR/noisy.sh.pid\"\nyes err >&2\n",
        ),
        (
            "noisy-exec.sh",
            "#!/bin/sh\necho $$ > \"$STATE_DIR/noisy-exec.sh.pid\"\nexec yes err >&2\n",
        ),
    ];
    // A server each: every one logs 64 KiB of `err` lines.
    for (name, text) in scripts {
        let server = Site::new().script(name, text).timeout("1").start();
        // The script never ends by itself: the answer is the timeout's.
        let res = server.get(&format!("/cgi-bin/{name}"));
        assert_eq!(res.status, 504, "{name}: {}", res.text());
        let pid = read_pid_file(&server.state().join(format!("{name}.pid")));
        assert!(eventually(GONE_WITHIN, || process_gone(pid)), "{pid} runs");
        let dropped = server.wait_log("the dropped-stderr line", |l| {
            l.starts_with(&format!("stderr {name}: ")) && l.contains("more bytes dropped")
        });
        let logged = server
            .log()
            .iter()
            .filter(|l| *l == &format!("stderr {name}: err"))
            .count();
        assert!(logged * 4 <= 64 * 1024, "{logged} lines logged; {dropped}");
    }
}

/// A client that stops reading cannot hold a script past --timeout: the connection is cut
/// at the deadline (not after --read-timeout), the script is killed and its slot freed.
#[test]
fn client_that_does_not_read_cannot_hold_a_script_past_the_timeout() {
    let server = Site::new()
        .script("flood.sh", FLOOD)
        .script("hello.sh", HELLO)
        .timeout("1")
        .read_timeout("60")
        .arg("--max-procs")
        .arg("1")
        .arg("--queue-timeout")
        .arg("0.5")
        .start();
    let mut conn = server.connect();
    conn.send(b"GET /cgi-bin/flood.sh HTTP/1.1\r\nHost: x\r\n\r\n");
    let pid_file = server.state().join("flood.pid");
    assert!(eventually(GONE_WITHIN, || pid_file.exists()), "never ran");
    let pid = read_pid_file(&pid_file);
    // Never read: the socket buffers fill and the server's write blocks.
    assert!(
        eventually(GONE_WITHIN, || process_gone(pid)),
        "script {pid} outlived --timeout behind a client that does not read"
    );
    let line = server.access_line("GET", "/cgi-bin/flood.sh");
    assert!(line.contains("--timeout"), "{line}");
    assert_eq!(
        server.get("/cgi-bin/hello.sh").status,
        200,
        "slot not freed"
    );
    drop(conn);
}

/// Moves itself into the server's process group, then sleeps. Perl, not Python: it must
/// write its pid inside the --timeout of the test that kills it, even on a busy machine.
const ESCAPE: &str = "#!/usr/bin/perl\nsetpgrp(0, getpgrp(getppid())) or die \"setpgrp: $!\";\nopen(my $f, '>', \"$ENV{STATE_DIR}/escape.pid\") or die;\nprint $f $$;\nclose $f;\nsleep 30;\n";

/// A script that leaves its process group (setpgid into the server's) is still killed at
/// --timeout: its own pid is killed beside its group. The client gets 504 and the slot is
/// free again.
#[test]
fn script_that_leaves_its_group_is_killed_at_the_timeout() {
    let server = Site::new()
        .script("escape.pl", ESCAPE)
        .script("hello.sh", HELLO)
        .timeout("3")
        .arg("--max-procs")
        .arg("1")
        .start();
    // It sleeps 30 s, past this client's patience: the answer is the timeout's.
    let res = server.get("/cgi-bin/escape.pl");
    assert_eq!(res.status, 504, "{}", res.text());
    let pid = read_pid_file(&server.state().join("escape.pid"));
    assert!(
        eventually(GONE_WITHIN, || process_gone(pid)),
        "script {pid} escaped its group and the kill"
    );
    assert_eq!(
        server.get("/cgi-bin/hello.sh").status,
        200,
        "slot not freed"
    );
}

/// An upload that trickles in holds no --max-procs slot: the body is read in full before a
/// slot is taken, so other requests run meanwhile.
#[test]
fn trickling_upload_holds_no_slot() {
    let server = Site::new()
        .script("hello.sh", HELLO)
        .arg("--max-procs")
        .arg("1")
        .arg("--queue-timeout")
        .arg("0.5")
        .read_timeout("30")
        .start();
    let mut slow = Vec::new();
    for i in 0..2 {
        let mut conn = server.connect();
        conn.send(
            b"POST /cgi-bin/hello.sh HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n\
              Content-Length: 100\r\n\r\nab",
        );
        // The event: the server reads this body (it says so with 100 Continue).
        conn.read_until(CONTINUE)
            .unwrap_or_else(|e| panic!("upload {i} got no 100 Continue: {e}"));
        assert_eq!(conn.take(CONTINUE.len()).unwrap(), CONTINUE);
        slow.push(conn);
    }
    for _ in 0..3 {
        let res = server.get("/cgi-bin/hello.sh");
        assert_eq!(res.status, 200, "a trickling upload held the slot");
    }
    // The uploads finish and are served too.
    for conn in &mut slow {
        conn.send(&[b'x'; 98]);
        assert_eq!(conn.response().status, 200);
    }
}

/// Two uploads that finish at the same instant while the one slot is busy both queue for
/// it: each runs when it frees or gets 503 after --queue-timeout, and neither goes
/// unanswered. Several rounds, so a lost wake-up in the queue would show.
#[test]
fn uploads_finishing_at_once_behind_a_busy_slot_are_answered() {
    let nap = "#!/bin/sh\ntouch \"$STATE_DIR/napping\"\nsleep 0.3\nprintf 'Content-Type: text/plain\\n\\nrested\\n'\n";
    let server = Site::new()
        .script("hello.sh", HELLO)
        .script("nap.sh", nap)
        .arg("--max-procs")
        .arg("1")
        .arg("--queue-timeout")
        .arg("0.5")
        .start();
    let addr = server.addr();
    let napping = server.state().join("napping");
    for round in 0..5 {
        let _ = std::fs::remove_file(&napping);
        let uploads: Vec<Conn> = (0..2)
            .map(|_| {
                let mut conn = server.connect();
                conn.send(
                    b"POST /cgi-bin/hello.sh HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nab",
                );
                conn
            })
            .collect();
        let busy = thread::spawn(move || Conn::open(addr).get("/cgi-bin/nap.sh").status);
        assert!(
            eventually(WAIT, || napping.exists()),
            "the nap never started"
        );
        let barrier = Arc::new(Barrier::new(uploads.len()));
        let finishing: Vec<_> = uploads
            .into_iter()
            .map(|mut conn| {
                let barrier = barrier.clone();
                thread::spawn(move || {
                    barrier.wait();
                    conn.send(&[b'x'; 98]);
                    conn.try_response(false).map(|res| res.status)
                })
            })
            .collect();
        for upload in finishing {
            let status = upload.join().unwrap();
            assert!(
                matches!(status, Ok(200 | 503)),
                "round {round}: an upload got {status:?}; log:\n{}",
                server.log_text()
            );
        }
        assert_eq!(busy.join().unwrap(), 200, "round {round}");
    }
}

/// A body shorter than its Content-Length (the client half-closed after 5,000 of 100,000
/// bytes) is a 400 and never reaches the script.
#[test]
fn truncated_upload_never_reaches_the_script() {
    let server = Site::new()
        .script(
            "mark.sh",
            "#!/bin/sh\ntouch \"$STATE_DIR/ran\"\nprintf 'Content-Type: text/plain\\n\\nran\\n'\n",
        )
        .start();
    let mut conn = server.connect();
    conn.send(b"POST /cgi-bin/mark.sh HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n");
    conn.send(&[b'a'; 5000]);
    conn.stream.shutdown(Shutdown::Write).unwrap();
    let res = conn.response();
    assert_eq!(res.status, 400, "{}", res.text());
    assert!(!server.state().join("ran").exists(), "the script ran");
    let line = server.access_line("POST", "/cgi-bin/mark.sh");
    // The front notices the half-close before the body is complete, and says so.
    assert!(
        line.contains(" 400 ") && line.contains("mid-body"),
        "{line}"
    );
}

/// Many more concurrent requests than --max-procs all get 200: past the limit they wait
/// their turn, and the wait shows as `queue` in Server-Timing and on the log line.
#[test]
fn more_requests_than_max_procs_wait_their_turn() {
    let server = Site::new()
        .script(
            "nap.sh",
            "#!/bin/sh\nsleep 0.2\nprintf 'Content-Type: text/plain\\n\\nrested\\n'\n",
        )
        .arg("--max-procs")
        .arg("2")
        .start();
    let addr = server.addr();
    let clients: Vec<_> = (0..16)
        .map(|_| {
            thread::spawn(move || {
                let mut conn = crate::support::Conn::open(addr);
                let res = conn.get("/cgi-bin/nap.sh");
                (res.status, res.timing("queue"))
            })
        })
        .collect();
    let results: Vec<_> = clients.into_iter().map(|c| c.join().unwrap()).collect();
    assert!(results.iter().all(|(s, _)| *s == 200), "{results:?}");
    // Only a request that had to wait for a slot has a `queue` phase.
    assert!(
        results.iter().any(|(_, queue)| queue.is_some()),
        "no request waited: {results:?}"
    );
    server.access_line("GET", "/cgi-bin/nap.sh");
    let log = server.log();
    assert!(
        log.iter().any(|l| l.contains(" queue=")),
        "no queue= on a log line"
    );
    // A clean exit is the rule: the line says nothing about it.
    assert!(
        !log.iter().any(|l| l.contains(" exit=")),
        "exit= on a clean exit"
    );
}

/// A script that exits while a background child holds its stderr (`sleep 30 >/dev/null
/// &`) answers, and frees its slot, without waiting for the child, which is killed after
/// a short grace. (The child would sleep past this client's patience: a wait for it, in
/// the answer or for the slot, would fail the test.)
#[test]
fn background_child_on_stderr_does_not_hold_the_slot() {
    let server = Site::new()
        .script(
            "bg.sh",
            "#!/bin/sh\nsleep 30 >/dev/null &\necho $! > \"$STATE_DIR/bg.pid\"\nprintf 'Content-Type: text/plain\\n\\ndone\\n'\n",
        )
        .script("hello.sh", HELLO)
        .arg("--max-procs")
        .arg("1")
        .start();
    let res = server.get("/cgi-bin/bg.sh");
    assert_eq!((res.status, res.text().as_str()), (200, "done\n"));
    assert_eq!(server.get("/cgi-bin/hello.sh").status, 200, "slot held");
    let pid = read_pid_file(&server.state().join("bg.pid"));
    assert!(eventually(GONE_WITHIN, || process_gone(pid)), "{pid} runs");
}

/// A grandchild that keeps stdout open after the script exited does not hold the
/// response: it ends complete, and the grandchild is killed. (Held until --timeout, the
/// response would be cut, past this client's patience too.)
#[test]
fn grandchild_holding_stdout_does_not_hold_the_response() {
    let server = Site::new()
        .script(
            "gc.sh",
            "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\nall of it\\n'\n(sleep 30 & echo $! > \"$STATE_DIR/gc.pid\")\n",
        )
        .timeout("20")
        .start();
    let mut conn = server.connect();
    let res = conn.get("/cgi-bin/gc.sh");
    assert_eq!((res.status, res.text().as_str()), (200, "all of it\n"));
    let pid = read_pid_file(&server.state().join("gc.pid"));
    assert!(eventually(GONE_WITHIN, || process_gone(pid)), "{pid} runs");
    // The connection is still good for the next request.
    assert_eq!(conn.get("/cgi-bin/gc.sh").status, 200);
}

/// A script killed by a signal in the middle of its body gives the client a cut
/// connection, never a complete-looking chunked response; the log names the signal.
#[test]
fn script_killed_mid_body_cuts_the_connection() {
    let server = Site::new()
        .script(
            "crash.sh",
            "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\nhalf of it\\n'\nkill -SEGV $$\n",
        )
        .start();
    let mut conn = server.connect();
    conn.send(b"GET /cgi-bin/crash.sh HTTP/1.1\r\nHost: x\r\n\r\n");
    let got = conn.try_response(false);
    assert!(got.is_err(), "looked complete: {:?}", got.map(|r| r.text()));
    let line = server.access_line("GET", "/cgi-bin/crash.sh");
    assert!(line.contains(" signal=SEGV"), "{line}");
}

/// A script that exits non-zero after its body started is a cut connection too, with
/// its exit status on the log line.
#[test]
fn nonzero_exit_after_the_body_started_cuts_the_connection() {
    let server = Site::new()
        .script(
            "fail.sh",
            "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\nall of it?\\n'\nexit 3\n",
        )
        .start();
    let mut conn = server.connect();
    conn.send(b"GET /cgi-bin/fail.sh HTTP/1.1\r\nHost: x\r\n\r\n");
    let got = conn.try_response(false);
    assert!(got.is_err(), "looked complete: {:?}", got.map(|r| r.text()));
    let line = server.access_line("GET", "/cgi-bin/fail.sh");
    assert!(line.contains(" exit=3"), "{line}");
}

/// A script's own Content-Length is kept when its body matches it, so a download and a
/// HEAD carry a length.
#[test]
fn script_content_length_is_kept_when_the_body_matches() {
    let server = Site::new()
        .script(
            "sized.sh",
            "#!/bin/sh\nprintf 'Content-Type: text/plain\\nContent-Length: 6\\n\\nsized\\n'\n",
        )
        .start();
    let mut conn = server.connect();
    let res = conn.get("/cgi-bin/sized.sh");
    assert_eq!(res.text(), "sized\n");
    assert_eq!(res.headers_named("Content-Length"), ["6"]);
    assert!(res.header("Transfer-Encoding").is_none());
    let head = conn.request("HEAD", "/cgi-bin/sized.sh", &[], b"");
    assert_eq!(head.status, 200);
    assert_eq!(head.headers_named("Content-Length"), ["6"]);
    assert_eq!(conn.get("/cgi-bin/sized.sh").text(), "sized\n");
}

/// A body shorter than the script's Content-Length is a cut connection; a longer one is
/// never sent past the length (the declared message, then the connection ends).
#[test]
fn script_content_length_mismatch_cuts_the_connection() {
    let server = Site::new()
        .script(
            "long.sh",
            "#!/bin/sh\nprintf 'Content-Type: text/plain\\nContent-Length: 3\\n\\nmuch longer\\n'\n",
        )
        .script(
            "short.sh",
            "#!/bin/sh\nprintf 'Content-Type: text/plain\\nContent-Length: 300\\n\\nshort\\n'\n",
        )
        .start();
    for name in ["long.sh", "short.sh"] {
        let mut conn = server.connect();
        conn.send(format!("GET /cgi-bin/{name} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes());
        let got = conn.try_response(false);
        match name {
            "long.sh" => assert_eq!(got.map(|r| r.text()).ok().as_deref(), Some("muc")),
            _ => assert!(
                got.is_err(),
                "{name}: looked complete: {:?}",
                got.map(|r| r.text())
            ),
        }
        // After the cut nothing more arrives: the connection is closed.
        assert!(conn.closed_within(WAIT), "{name}: still open");
        let line = server.access_line("GET", &format!("/cgi-bin/{name}"));
        assert!(line.contains("Content-Length"), "{line}");
    }
}

/// Bytes past ASCII in a script's header value (obs-text, here Latin-1 `é`) pass through
/// unchanged instead of making the response a 502.
#[test]
fn latin_1_header_values_pass_through() {
    let server = Site::new()
        .script(
            "latin.sh",
            "#!/bin/sh\nprintf 'Content-Type: text/plain\\nX-Name: caf\\351\\n\\nok\\n'\n",
        )
        .start();
    let mut conn = server.connect();
    conn.send(b"GET /cgi-bin/latin.sh HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let raw = conn.read_to_close().unwrap();
    assert!(
        raw.starts_with(b"HTTP/1.1 200 "),
        "{}",
        String::from_utf8_lossy(&raw)
    );
    assert!(find(&raw, b"\r\nX-Name: caf\xe9\r\n").is_some(), "{raw:?}");
}

/// `Authorization` reaches scripts as HTTP_AUTHORIZATION only with --pass-auth.
#[test]
fn authorization_reaches_scripts_only_with_pass_auth() {
    let echo = "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n'\nexec env\n";
    let auth = [("Authorization", "Bearer s3cret")];
    let server = Site::new().script("env.sh", echo).start();
    let res = server
        .connect()
        .request("GET", "/cgi-bin/env.sh", &auth, b"");
    assert_eq!(res.env().get("HTTP_AUTHORIZATION"), None);
    let server = Site::new()
        .script("env.sh", echo)
        .arg("--pass-auth")
        .start();
    let res = server
        .connect()
        .request("GET", "/cgi-bin/env.sh", &auth, b"");
    let env = res.env();
    assert_eq!(
        env.get("HTTP_AUTHORIZATION").map(String::as_str),
        Some("Bearer s3cret")
    );
}

/// After all of the above kinds of misbehaviour, the server holds no zombie and no more
/// descriptors than before.
#[test]
fn misbehaving_scripts_leave_no_zombies_or_descriptors() {
    let server = Site::new()
        .script("hello.sh", HELLO)
        .script(
            "bg.sh",
            "#!/bin/sh\nsleep 4 >/dev/null &\nprintf 'Content-Type: text/plain\\n\\ndone\\n'\n",
        )
        .script(
            "gc.sh",
            "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\nall\\n'\n(sleep 30 &)\n",
        )
        .script(
            "crash.sh",
            "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\nhalf\\n'\nkill -SEGV $$\n",
        )
        .script("noisy.sh", "#!/bin/sh\nexec yes err >&2\n")
        .timeout("1")
        .start();
    assert_eq!(server.get("/cgi-bin/hello.sh").status, 200);
    let pid = server.pid();
    let baseline = fd_count(pid);
    for _ in 0..3 {
        for name in ["bg.sh", "gc.sh", "crash.sh", "noisy.sh"] {
            let mut conn = server.connect();
            conn.send(format!("GET /cgi-bin/{name} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes());
            let _ = conn.try_response(false);
        }
    }
    assert!(
        eventually(GONE_WITHIN, || zombie_children(pid).is_empty()),
        "zombies: {:?}",
        zombie_children(pid)
    );
    assert!(
        eventually(GONE_WITHIN, || fd_count(pid) <= baseline),
        "descriptors grew from {baseline} to {}",
        fd_count(pid)
    );
}

/// A script that left its process group does not outlive the server: on SIGTERM, once
/// `--graceful-timeout` is over, the server kills each running script's pid as well as
/// its group.
#[test]
fn script_that_leaves_its_group_dies_with_the_server() {
    let mut server = Site::new()
        .script("escape.pl", ESCAPE)
        .arg("--graceful-timeout")
        .arg("1")
        .start();
    let mut conn = server.connect();
    conn.send(b"GET /cgi-bin/escape.pl HTTP/1.1\r\nHost: x\r\n\r\n");
    let pid_file = server.state().join("escape.pid");
    assert!(eventually(GONE_WITHIN, || pid_file.exists()), "never ran");
    let pid = read_pid_file(&pid_file);
    unsafe { libc::kill(server.pid() as libc::pid_t, libc::SIGTERM) };
    assert!(
        eventually(GONE_WITHIN, || !server.is_running()),
        "the server did not stop"
    );
    assert!(
        eventually(GONE_WITHIN, || process_gone(pid)),
        "script {pid} outlived the server"
    );
}
