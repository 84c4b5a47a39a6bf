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
    // Workers already booting when the pool failed may still end: wait until all have.
    wait_for("every worker to be reaped", || {
        children(server.pid()).is_empty()
    });
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
    // A whole turn of the supervisor's loop after the failure has started nothing: a
    // worker it started would be the server's child.
    supervisor_turns(&server, "t", 1);
    assert!(
        children(server.pid()).is_empty(),
        "respawned after the pool failed"
    );
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
        // A pause that lets the successor boot, in a loop that polls for new pids: with
        // none, the old worker serves all 400 requests while its successor starts.
        thread::sleep(Duration::from_millis(20));
    }
    assert!(pids.len() >= 3, "{pids:?} after {n} requests");
    assert!(!log_lines(&server, &["recycled"]).is_empty());
}

/// Answers `?NAME` once the file `release-NAME` exists (for at most 30 s); on starting,
/// it writes `started-NAME` with the names of the requests already released.
const GATED_APP: &str = r#"import os, time
def application(environ, start_response):
    name = environ["QUERY_STRING"]
    released = sorted(f for f in os.listdir(".") if f.startswith("release-"))
    with open(".started-" + name, "w") as f:
        f.write(" ".join(released))
    os.rename(".started-" + name, "started-" + name)
    for _ in range(600):
        if os.path.exists("release-" + name):
            break
        time.sleep(0.05)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"pid=%d\n" % os.getpid()]
"#;

/// More concurrent requests than workers: every one is answered, by the pool's own
/// workers, and the later ones only once an earlier one has let its worker go.
#[test]
fn requests_beyond_the_workers_wait_their_turn() {
    let site = Site::new().file("app.py", GATED_APP);
    let server = site.serve(&["--wsgi", &site.wsgi("t", "app.py"), "--workers", "2"]);
    // Both workers ready.
    wait_for_log(&server, 2, &["pool t: worker", "started"]);
    let addr = server.addr;
    let ask = |name: &'static str| {
        thread::spawn(move || {
            let target = format!("/pool/t?{name}");
            cgilab::client::http::request(addr, &cgilab::client::http::Req::get(&target)).unwrap()
        })
    };
    let started = |name: &str| std::fs::read_to_string(site.path(&format!("started-{name}"))).ok();
    let release = |name: &str| std::fs::write(site.path(&format!("release-{name}")), "").unwrap();
    // Two requests hold both workers; two more come while they do.
    let mut clients = vec![ask("a"), ask("b")];
    wait_for("both workers to be busy", || {
        started("a").is_some() && started("b").is_some()
    });
    clients.extend([ask("c"), ask("d")]);
    release("a");
    wait_for("a later request to start", || {
        started("c").is_some() || started("d").is_some()
    });
    release("b");
    wait_for("both later requests to start", || {
        started("c").is_some() && started("d").is_some()
    });
    release("c");
    release("d");
    let responses: Vec<_> = clients.into_iter().map(|c| c.join().unwrap()).collect();
    assert!(
        responses.iter().all(|r| r.status == 200),
        "{:?}",
        responses
            .iter()
            .map(|r| r.status_line())
            .collect::<Vec<_>>()
    );
    for name in ["c", "d"] {
        let seen = started(name).unwrap();
        assert!(
            seen.contains("release-"),
            "{name} started while both workers were busy"
        );
    }
    let pids: std::collections::BTreeSet<u32> = responses.iter().map(pid_of).collect();
    assert_eq!(pids.len(), 2, "answered by {pids:?}");
}

/// Put before SLEEPY_APP: the first worker boots at once; any worker after it (the one
/// that replaces it) is not ready until the file `go` exists (for at most 30 s).
const ONLY_THE_FIRST_BOOTS: &str = r#"import os, time
try:
    os.close(os.open("booted", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
except FileExistsError:
    for _ in range(600):
        if os.path.exists("go"):
            break
        time.sleep(0.05)
"#;

/// Past --timeout in the queue: 503 with Retry-After. The one worker is busy with a
/// request that it does not finish, and the worker that replaces it is not ready before
/// the queued request's --timeout.
#[test]
fn a_request_that_waits_past_the_timeout_is_503() {
    let site = Site::new().file("app.py", &format!("{ONLY_THE_FIRST_BOOTS}{SLEEPY_APP}"));
    let server = site.serve(&[
        "--wsgi",
        &site.wsgi("t", "app.py"),
        "--workers",
        "1",
        "--timeout",
        "1",
    ]);
    let pid = pid_of(&get(&server, "/pool/t"));
    let addr = server.addr;
    let first = thread::spawn(move || {
        cgilab::client::http::request(addr, &cgilab::client::http::Req::get("/pool/t?30"))
    });
    wait_for("the worker to be busy", || group_members(pid).len() > 1);
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
    let v1_pids = Arc::new(Mutex::new(std::collections::BTreeSet::new()));
    let addr = server.addr;
    let clients: Vec<_> = (0..4)
        .map(|_| {
            let (stop, served, failures, v2, v1_pids) = (
                stop.clone(),
                served.clone(),
                failures.clone(),
                v2_seen.clone(),
                v1_pids.clone(),
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
                            } else {
                                // "pid=N v1"
                                let pid = r.text().split([' ', '=']).nth(1).map(String::from);
                                v1_pids.lock().unwrap().extend(pid);
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
    wait_for("the load to start", || served.load(Ordering::Relaxed) >= 10);
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
    // Every worker that served the old code retires gracefully. (A worker still starting
    // when the HUP came never served; it is stopped, not retired.)
    for pid in v1_pids.lock().unwrap().iter() {
        wait_for_log(
            &server,
            1,
            &[&format!("worker {pid} exited with code 0 (reloaded")],
        );
    }
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
    // Two whole turns of the supervisor's loop after it: a worker marked to go would
    // have been told to stop by now.
    supervisor_turns(&server, "t", 2);
    let last: Vec<u32> = children(server.pid())
        .into_iter()
        .filter(|&p| alive(p))
        .collect();
    assert_eq!(last.len(), 1, "{last:?}");
    let page = get(&server, "/").text();
    let row = format!("<tr><td>{}</td><td>idle</td>", last[0]);
    assert!(page.contains(&row), "no row {row} in:\n{page}");
    assert_eq!(get(&server, "/pool/t").status, 200);
}
