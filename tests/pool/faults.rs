//! The supervisor's own faults, each reproduced against the real binary: a burst of
//! reloads, a reload whose new code cannot start, a crash loop, a worker that closes its
//! socket before it is ready, a spell of descriptor exhaustion, and a graceful stop with
//! a pool request in flight.

use std::net::TcpStream;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;

use cgilab::client::ServerProcess;

use crate::support::*;

/// Each worker of pool `t` as the index page shows it: (pid, state), where the state
/// says `idle`, `busy`, `starting` or `stopping`, and why a worker is on its way out.
fn workers_shown(server: &ServerProcess) -> Vec<(u32, String)> {
    let page = get(server, "/").text();
    let Some(pool) = page.split("<h3>t</h3>").nth(1) else {
        return Vec::new();
    };
    let table = pool.split("</table>").next().unwrap_or("");
    table
        .lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.strip_prefix("<tr><td>")?.split("</td><td>").collect();
            Some((cells.first()?.parse().ok()?, cells.get(1)?.to_string()))
        })
        .collect()
}

/// Requests to `/pool/t` on a thread until told to stop (at most `MAX` of them); counts
/// answers that are not 200.
struct Load {
    stop: Arc<AtomicBool>,
    failed: Arc<AtomicUsize>,
    handle: Option<thread::JoinHandle<usize>>,
}

impl Load {
    const MAX: usize = 20_000;

    fn start(server: &ServerProcess) -> Load {
        let (stop, failed) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicUsize::new(0)),
        );
        let addr = server.addr;
        let (until, bad) = (stop.clone(), failed.clone());
        let handle = thread::spawn(move || {
            let req = cgilab::client::http::Req::get("/pool/t");
            let mut sent = 0;
            while !until.load(Ordering::Relaxed) && sent < Self::MAX {
                sent += 1;
                match cgilab::client::http::request(addr, &req) {
                    Ok(res) if res.status == 200 => {}
                    _ => {
                        bad.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            sent
        });
        Load {
            stop,
            failed,
            handle: Some(handle),
        }
    }

    /// Stops the load; returns (requests sent, requests that failed).
    fn finish(mut self) -> (usize, usize) {
        self.stop.store(true, Ordering::Relaxed);
        let sent = self.handle.take().unwrap().join().unwrap();
        (sent, self.failed.load(Ordering::Relaxed))
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// A burst of SIGHUPs under load: a HUP while a reload is under way replaces only the
/// workers still starting, so the pool never holds more than twice its workers that
/// are not on their way out, no request fails, and it settles at its size.
#[test]
fn a_burst_of_reloads_under_load_never_doubles_the_workers_twice() {
    let site = Site::new().file("app.py", PID_APP);
    let server = site.serve(&["--wsgi", &site.wsgi("t", "app.py"), "--workers", "2"]);
    assert_eq!(get(&server, "/pool/t").status, 200);
    let load = Load::start(&server);
    let mut most = 0;
    // One after the other (signals of one kind sent at once merge into one), each
    // arriving while the last reload's workers are still starting.
    for n in 1..=10 {
        signal(server.pid(), libc::SIGHUP);
        wait_for_log(&server, n, &["pool t: reload:"]);
        let shown = workers_shown(&server);
        let live = shown.iter().filter(|(_, s)| !s.starts_with("stopping"));
        most = most.max(live.count());
    }
    assert!(
        !log_lines(
            &server,
            &["still starting from the last reload were stopped"]
        )
        .is_empty(),
        "no reload came while another was under way"
    );
    // Settled: two workers, both of the last reload (none on its way out).
    wait_for("the pool to settle at two current workers", || {
        let shown = workers_shown(&server);
        shown.len() == 2 && shown.iter().all(|(_, s)| s == "idle" || s == "busy")
    });
    let (sent, failed) = load.finish();
    assert!(most <= 4, "{most} workers at once for --workers 2");
    assert_eq!(
        failed, 0,
        "{failed} of {sent} requests failed during the reloads"
    );
}

/// A reload whose new code cannot start keeps the old workers serving (HELD) and logs
/// the app's own error with its path; the next HUP with the file fixed goes through.
#[test]
fn a_reload_whose_new_workers_cannot_start_keeps_the_old_ones_serving() {
    let site = Site::new().file("app.py", PID_APP);
    let server = site.serve(&["--wsgi", &site.wsgi("t", "app.py"), "--workers", "1"]);
    let old = pid_of(&get(&server, "/pool/t"));
    std::fs::write(
        site.path("app.py"),
        "raise RuntimeError('broken edit in ' + __file__)\n",
    )
    .unwrap();
    signal(server.pid(), libc::SIGHUP);
    let held = wait_for_log(&server, 1, &["pool t: HELD"]);
    let path = site.path("app.py").display().to_string();
    assert!(held[0].contains("broken edit in"), "{}", held[0]);
    assert!(held[0].contains(&path), "{}", held[0]);
    // The old worker still answers, after the reload gave up as during it.
    for _ in 0..5 {
        let res = get(&server, "/pool/t");
        assert_eq!(res.status, 200, "{}", res.text());
        assert_eq!(pid_of(&res), old);
    }
    assert!(log_lines(&server, &["pool t: FAILED"]).is_empty());
    // Fixed: the next reload replaces it.
    std::fs::write(site.path("app.py"), PID_APP).unwrap();
    signal(server.pid(), libc::SIGHUP);
    wait_for("a new worker after the fix", || {
        pid_of(&get(&server, "/pool/t")) != old
    });
}

/// A worker that crashes right after it becomes ready is a failed start (supervisord's
/// startsecs): the pool backs off and gives up after a few, instead of respawning in a
/// tight loop.
#[test]
fn a_worker_that_crashes_right_after_it_is_ready_backs_off_then_fails() {
    let app =
        format!("import os, threading\nthreading.Timer(0.2, os._exit, [3]).start()\n{PID_APP}");
    let site = Site::new().file("app.py", &app);
    let server = site.serve(&["--wsgi", &site.wsgi("t", "app.py"), "--workers", "1"]);
    wait_for_log(&server, 1, &["pool t: FAILED"]);
    let failures = log_lines(&server, &["pool t: worker", "boot failure"]);
    assert_eq!(failures.len(), 4, "{failures:#?}");
    // The pool stays failed: its 503 is the state, not a race with a respawn.
    assert_eq!(get(&server, "/pool/t").status, 503);
    let started: std::collections::BTreeSet<String> = log_lines(&server, &["pool t: worker "])
        .iter()
        .filter_map(|l| {
            l.split("pool t: worker ")
                .nth(1)?
                .split(' ')
                .next()
                .map(String::from)
        })
        .collect();
    assert_eq!(started.len(), 4, "workers started: {started:?}");
}

/// A worker whose socket closes before it is ready (its readiness probe fails) is given
/// the time to exit by itself: the reason logged is the app's own last words, not the
/// server's kill.
#[test]
fn a_failed_readiness_probe_logs_the_apps_own_last_words() {
    let app = "import os, sys, time\n\
               os.close(0)\n\
               time.sleep(0.2)\n\
               print('my own last words', file=sys.stderr, flush=True)\n\
               os._exit(7)\n";
    let site = Site::new().file("app.py", app);
    let server = site.serve(&["--wsgi", &site.wsgi("t", "app.py"), "--workers", "1"]);
    let failed = wait_for_log(&server, 1, &["pool t: FAILED"]);
    assert!(failed[0].ends_with("my own last words"), "{}", failed[0]);
    for line in log_lines(&server, &["boot failure"]) {
        assert!(line.contains("exited with code 7"), "{line}");
        assert!(line.ends_with("my own last words"), "{line}");
    }
}

/// A spell of descriptor exhaustion makes starts fail; they are retried with a back-off
/// and the pool never gives up, so once descriptors are free again the reload goes
/// through.
#[test]
fn a_spell_of_descriptor_exhaustion_is_retried_not_fatal() {
    let site = Site::new().file("app.py", PID_APP);
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg("ulimit -n 64 && exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_cgilab"))
        .args(["serve", "--listen", "127.0.0.1:0", "--cgi-bin"])
        .arg(site.dir.path().join("cgi-bin"))
        .args(["--wsgi", &site.wsgi("t", "app.py"), "--workers", "1"])
        .current_dir(site.dir.path());
    let server = ServerProcess::start(cmd, WAIT).unwrap_or_else(|e| panic!("{e}"));
    let old = pid_of(&get(&server, "/pool/t"));
    // Idle connections until the server runs out of descriptors.
    let mut idle = Vec::new();
    for _ in 0..100 {
        if let Ok(conn) = TcpStream::connect(server.addr) {
            idle.push(conn);
        }
    }
    wait_for_log(&server, 1, &["accept failed"]);
    signal(server.pid(), libc::SIGHUP);
    // As many refused starts as would have failed the pool were they counted as the
    // app's failures.
    wait_for_log(
        &server,
        4,
        &["pool t: cannot start a worker", "trying again"],
    );
    drop(idle);
    wait_for("a new worker once descriptors are free", || {
        server
            .request(&cgilab::client::http::Req::get("/pool/t"))
            .is_ok_and(|res| res.status == 200 && pid_of(&res) != old)
    });
    assert!(log_lines(&server, &["pool t: FAILED"]).is_empty());
    assert!(log_lines(&server, &["boot failure"]).is_empty());
}

/// SIGTERM with a pool request in flight: the request finishes with its whole answer,
/// then the workers are stopped and the server exits.
#[test]
fn sigterm_lets_a_pool_request_finish_then_stops_the_workers() {
    let app = r#"import os, time
def application(environ, start_response):
    go = os.path.join(os.path.dirname(__file__), "go")
    open(os.path.join(os.path.dirname(__file__), "started"), "w").close()
    while not os.path.exists(go):
        time.sleep(0.05)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"finished\n"]
"#;
    let site = Site::new().file("app.py", app);
    let mut server = site.serve(&["--wsgi", &site.wsgi("t", "app.py"), "--workers", "1"]);
    let addr = server.addr;
    let slow = thread::spawn(move || {
        cgilab::client::http::request(addr, &cgilab::client::http::Req::get("/pool/t"))
    });
    wait_for("the request to reach the app", || {
        site.path("started").exists()
    });
    let worker = children(server.pid());
    signal(server.pid(), libc::SIGTERM);
    wait_for_log(&server, 1, &["no new connections"]);
    std::fs::write(site.path("go"), "").unwrap();
    let res = slow.join().unwrap().unwrap();
    assert_eq!(res.status, 200);
    assert_eq!(res.text(), "finished\n");
    wait_for("the server to exit", || !server.is_running());
    wait_for_log(&server, 1, &["pool t: stopped"]);
    for pid in worker {
        wait_for("the worker to be gone", || !alive(pid));
    }
}
