//! The supervisor and the WSGI worker together, with real python3 processes: a request
//! through a lease, readiness, boot failure, a killed worker, recycling, resizing.

use std::time::{Duration, Instant};

use super::*;
use crate::fastcgi::Event;
use std::path::Path;

/// A pool of `workers` serving `source` as a WSGI app.
fn pool(dir: &Path, source: &str, workers: usize, max_requests: u64) -> Pools {
    let file = dir.join("app.py");
    std::fs::write(&file, source).unwrap();
    let mut config = Config::new("127.0.0.1:0", dir).unwrap();
    config.add_wsgi(&format!("t={}", file.display())).unwrap();
    config.workers = workers;
    config.max_requests = max_requests;
    config.timeout = Duration::from_secs(5);
    Pools::start(&config).unwrap()
}

const HELLO: &str = r"import os
def application(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [b'pid=%d input=' % os.getpid(), environ['wsgi.input'].read()]
";

/// One request: returns everything on STDOUT.
fn request(pools: &Pools, body: &[u8]) -> Result<(u32, String), Unavailable> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut lease = pools.get("t").unwrap().checkout(deadline)?;
    let len = body.len().to_string();
    let params = [
        (&b"REQUEST_METHOD"[..], &b"POST"[..]),
        (&b"CONTENT_LENGTH"[..], len.as_bytes()),
    ];
    let conn = lease.conn();
    conn.send_request(
        params,
        Box::new(std::io::Cursor::new(body.to_vec())),
        deadline,
    )
    .unwrap();
    let mut out = Vec::new();
    loop {
        match conn.next(deadline).unwrap() {
            Event::Stdout(b) => out.extend_from_slice(b),
            Event::Stderr(_) => {}
            Event::End { .. } => break,
        }
    }
    let pid = lease.pid().expect("a worker the server chose");
    lease.give_back(Ending::Done);
    Ok((pid, String::from_utf8(out).unwrap()))
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn pids(pools: &Pools) -> Vec<u32> {
    pools.view()[0].workers.iter().map(|w| w.pid).collect()
}

#[test]
fn a_worker_answers_request_after_request_with_a_cgi_response() {
    let dir = tempfile::tempdir().unwrap();
    let pools = pool(dir.path(), HELLO, 1, 0);
    let (pid1, out) = request(&pools, b"abc").unwrap();
    assert!(
        out.starts_with("Status: 200 OK\r\nContent-Type: text/plain\r\n\r\npid="),
        "{out}"
    );
    assert!(out.ends_with(" input=abc"), "{out}");
    let (pid2, _) = request(&pools, b"").unwrap();
    assert_eq!(pid1, pid2, "the same process serves both");
    assert_eq!(pools.view()[0].workers[0].served, 2);
}

#[test]
fn no_socket_file_or_worker_remains_after_stop() {
    let dir = tempfile::tempdir().unwrap();
    let pools = pool(dir.path(), HELLO, 2, 0);
    request(&pools, b"").unwrap();
    wait_for("two workers", || {
        pools.view()[0]
            .workers
            .iter()
            .filter(|w| w.phase == Phase::Idle)
            .count()
            == 2
    });
    let pids = pids(&pools);
    let socket_dir = pools._dir.path().to_path_buf();
    let files: Vec<_> = std::fs::read_dir(&socket_dir).unwrap().collect();
    assert_eq!(
        files.len(),
        4,
        "the worker's source, the owner marker and each worker's socket: {files:?}"
    );
    pools.stop(policy::QUICK_STOP_GRACE);
    for pid in pids {
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists(),
            "worker {pid} remains"
        );
    }
    // The pools' directory goes too, or at least every socket in it.
    if let Ok(left) = std::fs::read_dir(&socket_dir) {
        let sockets: Vec<_> = left
            .flatten()
            .filter(|f| f.path().extension().is_some_and(|e| e == "sock"))
            .collect();
        assert!(sockets.is_empty(), "a socket file remains: {sockets:?}");
    }
}

#[test]
fn an_app_that_cannot_boot_fails_the_pool_after_a_few_tries_with_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let pools = pool(dir.path(), "import no_such_module_here\n", 1, 0);
    match request(&pools, b"") {
        Err(Unavailable::Failed(reason)) => {
            assert!(reason.contains("no_such_module_here"), "{reason}")
        }
        other => panic!("expected a failed pool, got {other:?}"),
    }
    // A reload tries again (and fails again, the file being unchanged).
    pools.send(PoolEvent::Reload);
    wait_for("the pool to try again", || {
        pools.view()[0].status != Status::Failed(String::new())
            && !pools.view()[0].workers.is_empty()
    });
}

#[test]
fn a_killed_worker_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let pools = pool(dir.path(), HELLO, 1, 0);
    let (pid, _) = request(&pools, b"").unwrap();
    spawn::signal_group(pid, libc::SIGKILL);
    wait_for("a new worker", || {
        pools.view()[0]
            .workers
            .iter()
            .any(|w| w.pid != pid && w.phase == Phase::Idle)
    });
    let (pid2, _) = request(&pools, b"").unwrap();
    assert_ne!(pid, pid2);
}

#[test]
fn max_requests_recycles_a_worker_and_no_request_fails() {
    // The successor starts when the worker reaches 3 requests; the worker keeps serving
    // until the successor is ready, so no request waits for a boot, then retires.
    let dir = tempfile::tempdir().unwrap();
    let pools = pool(dir.path(), HELLO, 1, 3);
    let (first, _) = request(&pools, b"").unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut n = 1;
    loop {
        let (pid, _) = request(&pools, b"").unwrap();
        n += 1;
        if pid != first {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still {first} after {n} requests"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    wait_for("the old worker to exit", || {
        !Path::new(&format!("/proc/{first}")).exists()
    });
}

#[test]
fn ttin_and_ttou_resize_but_never_below_one() {
    let dir = tempfile::tempdir().unwrap();
    let pools = pool(dir.path(), HELLO, 1, 0);
    let live = |p: &Pools| {
        p.view()[0]
            .workers
            .iter()
            .filter(|w| w.phase == Phase::Idle)
            .count()
    };
    wait_for("one worker", || live(&pools) == 1);
    pools.send(PoolEvent::AddWorker);
    wait_for("two workers", || live(&pools) == 2);
    pools.send(PoolEvent::RemoveWorker);
    pools.send(PoolEvent::RemoveWorker);
    wait_for("one worker again", || pools.view()[0].workers.len() == 1);
    // Events are handled in order, so one more worker comes after both removals. Had the
    // second taken the last worker, that one would be leaving, then gone: never two
    // workers, neither leaving.
    pools.send(PoolEvent::AddWorker);
    wait_for("two workers, neither leaving", || {
        let workers = &pools.view()[0].workers;
        workers.len() == 2
            && workers
                .iter()
                .all(|w| w.phase == Phase::Idle && w.leaving.is_none())
    });
}

#[test]
fn reload_starts_new_workers_that_import_the_edited_app() {
    let dir = tempfile::tempdir().unwrap();
    let pools = pool(dir.path(), HELLO, 1, 0);
    assert!(request(&pools, b"").unwrap().1.contains("pid="));
    let edited = HELLO.replace("b'pid=", "b'edited pid=");
    std::fs::write(dir.path().join("app.py"), edited).unwrap();
    pools.send(PoolEvent::Reload);
    wait_for("the edited app", || {
        request(&pools, b"").unwrap().1.contains("edited pid=")
    });
}

#[test]
fn the_worker_gives_the_app_a_pep_3333_environ() {
    let dir = tempfile::tempdir().unwrap();
    let app = r"
def application(environ, start_response):
    start_response('200 OK', [])
    keys = ['wsgi.version', 'wsgi.url_scheme', 'wsgi.multithread', 'wsgi.multiprocess',
            'wsgi.run_once', 'SCRIPT_NAME', 'PATH_INFO', 'QUERY_STRING', 'REQUEST_METHOD']
    out = ['%s=%r' % (k, environ[k]) for k in keys]
    out.append('errors=%s' % environ['wsgi.errors'].name)
    out.append('input=%r' % environ['wsgi.input'].read(100))
    return ['\n'.join(out).encode()]
";
    let pools = pool(dir.path(), app, 1, 0);
    // CONTENT_LENGTH 2 of a 5-byte body: the app must see only 2.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut lease = pools.get("t").unwrap().checkout(deadline).unwrap();
    let params = [
        (&b"REQUEST_METHOD"[..], &b"GET"[..]),
        (&b"CONTENT_LENGTH"[..], &b"2"[..]),
    ];
    let conn = lease.conn();
    conn.send_request(params, Box::new(&b"12345"[..]), deadline)
        .unwrap();
    let mut out = Vec::new();
    while let Event::Stdout(b) | Event::Stderr(b) = conn.next(deadline).unwrap() {
        out.extend_from_slice(b);
    }
    lease.give_back(Ending::Done);
    let out = String::from_utf8(out).unwrap();
    for line in [
        "wsgi.version=(1, 0)",
        "wsgi.url_scheme='http'",
        "wsgi.multithread=False",
        "wsgi.multiprocess=True",
        "wsgi.run_once=False",
        "SCRIPT_NAME=''",
        "PATH_INFO=''",
        "QUERY_STRING=''",
        "REQUEST_METHOD='GET'",
        "errors=<stderr>",
        "input=b'12'",
    ] {
        assert!(out.contains(line), "{line} missing from\n{out}");
    }
}

/// What the worker does with start_response, write(), exc_info, empty pieces and close()
/// (PEP 3333), one app per case, selected by QUERY_STRING.
#[test]
fn the_worker_follows_pep_3333_on_headers_exc_info_write_and_close() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("closed");
    let app = format!(
        r#"import sys
class Body:
    def __init__(self, pieces): self.pieces = pieces
    def __iter__(self):
        for p in self.pieces:
            if isinstance(p, Exception): raise p
            yield p
    def close(self): open({marker:?}, "w").write("closed")

def application(environ, start_response):
    case = environ["QUERY_STRING"]
    if case == "empty-then-raise":
        start_response("200 OK", [])
        return Body([b"", ValueError("late")])
    if case == "exc-info":
        try:
            raise KeyError("oops")
        except KeyError:
            start_response("200 OK", [])
            start_response("503 Busy", [("X-Why", "oops")], sys.exc_info())
        return [b"replaced"]
    if case == "write":
        write = start_response("201 Created", [])
        write(b"via write ")
        return [b"and iterable"]
    start_response("200 OK", [])
    return Body([b"a", b"b"])
"#,
        marker = marker.to_str().unwrap()
    );
    let pools = pool(dir.path(), &app, 1, 0);
    let ask = |case: &str| {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut lease = pools.get("t").unwrap().checkout(deadline).unwrap();
        let conn = lease.conn();
        let params = [(&b"QUERY_STRING"[..], case.as_bytes())];
        conn.send_request(params, Box::new(std::io::empty()), deadline)
            .unwrap();
        let mut out = Vec::new();
        while let Event::Stdout(b) | Event::Stderr(b) = conn.next(deadline).unwrap() {
            out.extend_from_slice(b);
        }
        lease.give_back(Ending::Done);
        String::from_utf8(out).unwrap()
    };
    // Headers wait for the first non-empty piece, so a failure before it is still a 500.
    let out = ask("empty-then-raise");
    assert!(out.starts_with("Status: 500"), "{out}");
    // close() comes after the response is sent, as in wsgiref and gunicorn.
    wait_for("close() after the error", || marker.exists());
    std::fs::remove_file(&marker).unwrap();
    let out = ask("exc-info");
    assert!(
        out.starts_with("Status: 503 Busy\r\nX-Why: oops\r\n\r\nreplaced"),
        "{out}"
    );
    let out = ask("write");
    assert!(
        out.starts_with("Status: 201 Created\r\n\r\nvia write and iterable"),
        "{out}"
    );
    let out = ask("");
    assert!(out.ends_with("\r\n\r\nab"), "{out}");
    wait_for("close()", || marker.exists());
}
