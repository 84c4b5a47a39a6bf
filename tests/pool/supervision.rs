//! The arbiter at work: workers that die, cannot boot, hang, or have served enough; more
//! requests than workers; reloads under load; resizing.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::support::*;

/// `kill -9` of a busy worker: its request gets 502, the death is logged, and a new
/// worker takes its place at once.
#[test]
fn a_killed_worker_costs_its_request_a_502_and_is_replaced() {
    let site = Site::new().file("app.py", SLEEPY_APP);
    let server = site.serve(&["--wsgi", &site.wsgi("t", "app.py"), "--workers", "1"]);
    let pid = pid_of(&get(&server, "/pool/t"));
    let addr = server.addr;
    let slow = thread::spawn(move || {
        cgilab::client::http::request(addr, &cgilab::client::http::Req::get("/pool/t?5"))
    });
    wait_for("the worker to be busy", || group_members(pid).len() > 1);
    signal(pid, libc::SIGKILL);
    let res = slow.join().unwrap().unwrap();
    assert_eq!(res.status, 502, "{}", res.text());
    wait_for_log(&server, 1, &[&format!("worker {pid} killed by signal 9")]);
    let next = pid_of(&get(&server, "/pool/t"));
    assert_ne!(next, pid);
}

/// An app that cannot be imported: a few tries with growing waits, then the pool is
/// failed (503 naming the pool, with Retry-After; the reason goes to the log) and nothing is respawned until SIGHUP;
/// every other route keeps working.
#[test]
fn an_app_that_cannot_boot_fails_its_pool_without_a_respawn_storm() {
    let site = Site::new().file("app.py", "import no_such_module_anywhere\n");
    let server = site.serve(&["--wsgi", &site.wsgi("t", "app.py"), "--workers", "2"]);
    let res = get(&server, "/pool/t");
    assert_eq!(res.status, 503, "{}", res.text());
    assert!(res.header("Retry-After").is_some());
    // The reason and the app's path are the operator's, in the log; not every client's.
    assert!(
        res.text().contains("pool `t`: cannot start"),
        "{}",
        res.text()
    );
    assert!(
        !res.text().contains("no_such_module_anywhere"),
        "{}",
        res.text()
    );
    assert!(!res.text().contains("app.py"), "{}", res.text());
    let failed = wait_for_log(&server, 1, &["pool t: FAILED"]);
    assert!(
        failed[0].contains("no_such_module_anywhere"),
        "{}",
        failed[0]
    );
    // Workers already booting when the pool failed may still end; then nothing more.
    thread::sleep(Duration::from_secs(1));
    // Workers started so far: the pids the pool's log lines name.
    let ended = || {
        let pids: std::collections::BTreeSet<String> = log_lines(&server, &["pool t: worker "])
            .iter()
            .filter_map(|l| {
                Some(
                    l.split("pool t: worker ")
                        .nth(1)?
                        .split(' ')
                        .next()?
                        .to_string(),
                )
            })
            .collect();
        pids.len()
    };
    let tries = ended();
    assert!((4..=6).contains(&tries), "{tries} workers started");
    thread::sleep(Duration::from_secs(2));
    assert_eq!(ended(), tries, "respawned after the pool failed");
    assert_eq!(get(&server, "/app/hello").status, 200);
    // SIGHUP tries again (and fails again: the file is unchanged).
    signal(server.pid(), libc::SIGHUP);
    wait_for("another try after SIGHUP", || ended() > tries);
}

/// A request past --timeout: 504, and the worker's whole process group (the worker and
/// what it started) is killed; a new worker serves the next request.
#[test]
fn a_request_past_the_timeout_is_504_and_the_worker_group_is_killed() {
    let site = Site::new().file("app.py", SLEEPY_APP);
    let server = site.serve(&[
        "--wsgi",
        &site.wsgi("t", "app.py"),
        "--workers",
        "1",
        "--timeout",
        "1",
    ]);
    let pid = pid_of(&get(&server, "/pool/t"));
    let res = get(&server, "/pool/t?10");
    assert_eq!(res.status, 504);
    wait_for("the worker's group to be gone", || {
        group_members(pid).is_empty()
    });
    wait_for_log(&server, 1, &[&format!("worker {pid} killed")]);
    assert_ne!(pid_of(&get(&server, "/pool/t")), pid);
}

/// --max-requests: workers are recycled, their successors started first, and no request
/// fails on the way.
#[test]
fn max_requests_recycles_workers_with_no_failed_request() {
    let site = Site::new().file("app.py", PID_APP);
    let server = site.serve(&[
        "--wsgi",
        &site.wsgi("t", "app.py"),
        "--workers",
        "1",
        "--max-requests",
        "5",
    ]);
    let mut pids = std::collections::BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut n = 0;
    while pids.len() < 3 && Instant::now() < deadline && n < 400 {
        let res = get(&server, "/pool/t");
        assert_eq!(res.status, 200, "request {n}: {}", res.text());
        pids.insert(pid_of(&res));
        n += 1;
        thread::sleep(Duration::from_millis(20));
    }
    assert!(pids.len() >= 3, "{pids:?} after {n} requests");
    assert!(!log_lines(&server, &["recycled"]).is_empty());
}

/// More concurrent slow requests than workers: every one is answered, the later ones
/// after waiting in line (their `queue` phase covers the wait).
#[test]
fn requests_beyond_the_workers_wait_their_turn() {
    let site = Site::new().file("app.py", SLEEPY_APP);
    let server = site.serve(&["--wsgi", &site.wsgi("t", "app.py"), "--workers", "2"]);
    // Both workers ready.
    wait_for_log(&server, 2, &["pool t: worker", "started"]);
    let addr = server.addr;
    let clients: Vec<_> = (0..4)
        .map(|_| {
            thread::spawn(move || {
                cgilab::client::http::request(addr, &cgilab::client::http::Req::get("/pool/t?1"))
                    .unwrap()
            })
        })
        .collect();
    let responses: Vec<_> = clients.into_iter().map(|c| c.join().unwrap()).collect();
    assert!(responses.iter().all(|r| r.status == 200));
    let mut queued: Vec<f64> = responses
        .iter()
        .map(|r| r.timing("queue").unwrap())
        .collect();
    queued.sort_by(f64::total_cmp);
    // Two waited for a worker to finish a one-second request.
    assert!(queued[2] >= 500.0, "queue times {queued:?} ms");
}

/// Past --timeout in the queue: 503 with Retry-After.
#[test]
fn a_request_that_waits_past_the_timeout_is_503() {
    let site = Site::new().file("app.py", SLEEPY_APP);
    let server = site.serve(&[
        "--wsgi",
        &site.wsgi("t", "app.py"),
        "--workers",
        "1",
        "--timeout",
        "1",
    ]);
    wait_for_log(&server, 1, &["pool t: worker", "started"]);
    let addr = server.addr;
    let first = thread::spawn(move || {
        cgilab::client::http::request(addr, &cgilab::client::http::Req::get("/pool/t?5"))
    });
    thread::sleep(Duration::from_millis(100));
    let second = get(&server, "/pool/t");
    assert_eq!(second.status, 503);
    assert!(second.header("Retry-After").is_some());
    assert_eq!(first.join().unwrap().unwrap().status, 504);
}

/// SIGHUP under a steady stream of requests: none fails, and the edited app is live.
#[test]
fn a_reload_under_load_loses_no_request_and_serves_the_edited_app() {
    let v1 = PID_APP.replace("b\"pid=%d\\n\"", "b\"pid=%d v1\\n\"");
    let site = Site::new().file("app.py", &v1);
    let server = site.serve(&["--wsgi", &site.wsgi("t", "app.py"), "--workers", "2"]);
    assert!(get(&server, "/pool/t").text().contains("v1"));
    let stop = Arc::new(AtomicBool::new(false));
    let served = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(Mutex::new(Vec::new()));
    let v2_seen = Arc::new(AtomicUsize::new(0));
    let addr = server.addr;
    let clients: Vec<_> = (0..4)
        .map(|_| {
            let (stop, served, failures, v2) = (
                stop.clone(),
                served.clone(),
                failures.clone(),
                v2_seen.clone(),
            );
            thread::spawn(move || {
                let deadline = Instant::now() + Duration::from_secs(30);
                for _ in 0..2000 {
                    if stop.load(Ordering::Relaxed) || Instant::now() > deadline {
                        break;
                    }
                    match cgilab::client::http::request(
                        addr,
                        &cgilab::client::http::Req::get("/pool/t"),
                    ) {
                        Ok(r) if r.status == 200 => {
                            if r.text().contains("v2") {
                                v2.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        Ok(r) => failures.lock().unwrap().push(r.status_line()),
                        Err(e) => failures.lock().unwrap().push(e),
                    }
                    served.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    thread::sleep(Duration::from_millis(300));
    std::fs::write(site.path("app.py"), v1.replace("v1", "v2")).unwrap();
    signal(server.pid(), libc::SIGHUP);
    wait_for("the edited app", || v2_seen.load(Ordering::Relaxed) > 20);
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().unwrap();
    }
    let failures = failures.lock().unwrap();
    assert!(
        failures.is_empty(),
        "{} failed: {failures:?}",
        failures.len()
    );
    assert!(served.load(Ordering::Relaxed) > 50);
    wait_for_log(&server, 2, &["reloaded"]);
}

/// SIGTTIN adds a worker, SIGTTOU removes one, never the last.
#[test]
fn ttin_and_ttou_resize_every_pool_never_below_one() {
    let site = Site::new().file("app.py", PID_APP);
    let server = site.serve(&["--wsgi", &site.wsgi("t", "app.py"), "--workers", "1"]);
    let workers = || {
        children(server.pid())
            .into_iter()
            .filter(|&p| alive(p))
            .count()
    };
    wait_for_log(&server, 1, &["pool t: worker", "started"]);
    signal(server.pid(), libc::SIGTTIN);
    wait_for("two workers", || workers() == 2);
    signal(server.pid(), libc::SIGTTOU);
    wait_for("one worker", || workers() == 1);
    // Signals of one kind sent at once merge into one: send the next after.
    signal(server.pid(), libc::SIGTTOU);
    wait_for_log(&server, 1, &["keeping its last worker"]);
    thread::sleep(Duration::from_millis(300));
    assert_eq!(workers(), 1);
    assert_eq!(get(&server, "/pool/t").status, 200);
}
