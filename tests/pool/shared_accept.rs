//! `--accept shared`: every worker of a pool accepts on one listening socket and the kernel
//! picks (php-fpm's children, gunicorn's workers). The supervisor's jobs still work: a
//! stuck worker is found by its heartbeat, recycling is counted by the worker, HUP and
//! TTIN/TTOU replace and resize, the worker classes and `--preload` run on the shared
//! socket; a burst waits in the listen backlog, bounded by `--backlog`.

use std::path::Path;

use cgilab::client::server_process::ServerProcess;

use crate::support::*;

/// Answers with its pid. `?together=N&dir=D`: first waits until N requests have arrived
/// (each leaves a file in D), so that N requests are in flight at once. `?hold=S&dir=D`:
/// says it began (`D/began`), then waits until `D/release` exists, at most S seconds.
const GATE_APP: &str = r#"import os, time
from urllib.parse import parse_qs
def application(environ, start_response):
    q = parse_qs(environ.get("QUERY_STRING", ""))
    d = q.get("dir", [""])[0]
    if "together" in q:
        n = int(q["together"][0])
        open(os.path.join(d, "in-%d-%d" % (os.getpid(), time.monotonic_ns())), "w").close()
        end = time.time() + 15
        while len([f for f in os.listdir(d) if f.startswith("in-")]) < n and time.time() < end:
            time.sleep(0.01)
    if "hold" in q:
        open(os.path.join(d, "began"), "w").close()
        end = time.time() + float(q["hold"][0])
        while not os.path.exists(os.path.join(d, "release")) and time.time() < end:
            time.sleep(0.01)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"pid=%d\n" % os.getpid()]
"#;

fn shared_pool(site: &Site, extra: &[&str]) -> ServerProcess {
    let app = site.wsgi("t", "app.py");
    let mut args = vec!["--wsgi", app.as_str(), "--accept", "shared"];
    args.extend_from_slice(extra);
    site.serve(&args)
}

/// The pids in the `n` "worker PID started" lines of pool t.
fn started(server: &ServerProcess, n: usize) -> Vec<u32> {
    wait_for_log(server, n, &["pool t: worker", "started"])
        .iter()
        .filter_map(|l| pid_after(l, "worker "))
        .collect()
}

fn pid_after(line: &str, word: &str) -> Option<u32> {
    line.split(word)
        .nth(1)?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// What descriptor 0 of `pid` is (`socket:[INODE]`).
fn fd0(pid: u32) -> String {
    std::fs::read_link(format!("/proc/{pid}/fd/0"))
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// `n` requests for `target` at once, each on its own thread; their responses.
fn at_once(server: &ServerProcess, target: &str, n: usize) -> Vec<cgilab::client::http::Response> {
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..n).map(|_| s.spawn(|| get(server, target))).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

fn gate(dir: &Path, query: &str) -> String {
    format!("/pool/t?{query}&dir={}", dir.display())
}

#[test]
fn every_worker_accepts_on_the_same_socket_and_the_kernel_spreads_requests() {
    if !python3() {
        return;
    }
    let site = Site::new().file("app.py", GATE_APP);
    let gates = tempfile::tempdir().unwrap();
    let server = shared_pool(&site, &["--workers", "3"]);
    let pids = started(&server, 3);
    let sockets: Vec<String> = pids.iter().map(|&p| fd0(p)).collect();
    assert!(sockets[0].starts_with("socket:["), "{sockets:?}");
    assert!(
        sockets.iter().all(|s| *s == sockets[0]),
        "one listening socket, the same inode in every worker: {sockets:?}"
    );
    // Three requests held until all three have arrived: three sync workers took one each.
    let answers = at_once(&server, &gate(gates.path(), "together=3"), 3);
    let mut served: Vec<u32> = answers.iter().map(pid_of).collect();
    served.sort();
    served.dedup();
    assert_eq!(
        served.len(),
        3,
        "each request on its own worker: {served:?}"
    );
    // The server cannot say which worker answered, nor time a wait it cannot see.
    let res = get(&server, "/pool/t");
    assert_eq!(res.status, 200);
    assert!(
        res.timing("queue").is_none(),
        "{:?}",
        res.header("Server-Timing")
    );
}

#[test]
fn a_hung_request_gets_504_and_its_worker_is_killed_by_its_stale_heartbeat() {
    if !python3() {
        return;
    }
    let site = Site::new().file("app.py", SLEEPY_APP);
    let server = shared_pool(&site, &["--workers", "2", "--timeout", "1"]);
    let pids = started(&server, 2);
    let res = get(&server, "/pool/t?60");
    assert_eq!(res.status, 504, "{}", res.text());
    let killed = wait_for_log(&server, 1, &["pool t: worker", "killed: its heartbeat"]);
    let pid = pid_after(&killed[0], "worker ").unwrap();
    assert!(pids.contains(&pid), "{killed:?}");
    wait_for("the stuck worker and its child to be gone", || {
        !alive(pid) && group_members(pid).is_empty()
    });
    // The other one, idle all along (longer than --timeout), beat and was left alone.
    let other = pids.iter().find(|&&p| p != pid).copied().unwrap();
    assert!(alive(other), "the idle worker was killed too");
    assert_eq!(log_lines(&server, &["killed: its heartbeat"]).len(), 1);
    assert_eq!(get(&server, "/pool/t").status, 200);
}

/// A gthread worker's main loop goes on while one of its threads is stuck: its heartbeat
/// is the start of the oldest request it holds, not the main loop's last turn.
#[test]
fn a_request_stuck_in_one_thread_of_a_gthread_worker_still_gets_the_worker_killed() {
    if !python3() {
        return;
    }
    let site = Site::new().file("app.py", SLEEPY_APP);
    let server = shared_pool(
        &site,
        &[
            "--workers",
            "1",
            "--worker-class",
            "gthread",
            "--worker-threads",
            "2",
            "--timeout",
            "1",
        ],
    );
    let pid = started(&server, 1)[0];
    assert_eq!(get(&server, "/pool/t?60").status, 504);
    wait_for_log(
        &server,
        1,
        &[&format!("worker {pid} killed: its heartbeat")],
    );
    wait_for("the stuck worker to be gone", || !alive(pid));
    assert_eq!(get(&server, "/pool/t").status, 200);
}

#[test]
fn the_worker_counts_its_own_max_requests_and_leaves_and_its_successor_serves() {
    if !python3() {
        return;
    }
    let site = Site::new().file("app.py", PID_APP);
    let server = shared_pool(&site, &["--workers", "1", "--max-requests", "3"]);
    let first = started(&server, 1)[0];
    for _ in 0..3 {
        assert_eq!(pid_of(&get(&server, "/pool/t")), first);
    }
    wait_for_log(&server, 1, &["served 3 requests (--max-requests): leaving"]);
    let recycled =
        format!("worker {first} exited with code 0 (recycled: it counted --max-requests itself)");
    wait_for_log(&server, 1, &[&recycled]);
    // Its successor boots while the next request waits in the backlog.
    let res = get(&server, "/pool/t");
    assert_eq!(res.status, 200, "{}", res.text());
    assert_ne!(pid_of(&res), first);
    assert!(log_lines(&server, &["boot failure"]).is_empty());
}

#[test]
fn hup_starts_new_workers_and_the_old_one_finishes_its_request_in_flight() {
    if !python3() {
        return;
    }
    let site = Site::new().file("app.py", GATE_APP);
    let gates = tempfile::tempdir().unwrap();
    let server = shared_pool(&site, &["--workers", "1"]);
    let old = started(&server, 1)[0];
    std::thread::scope(|s| {
        let slow = s.spawn(|| get(&server, &gate(gates.path(), "hold=30")));
        wait_for("the request to be in the worker", || {
            gates.path().join("began").exists()
        });
        signal(server.pid(), libc::SIGHUP);
        let new = started(&server, 2)[1];
        assert_ne!(new, old);
        // The old one was told (SIGTERM) and accepts no more: the new one serves.
        wait_for_log(&server, 1, &["pool t: reload"]);
        for _ in 0..3 {
            assert_eq!(pid_of(&get(&server, "/pool/t")), new);
        }
        assert!(alive(old), "the old worker still finishes its request");
        std::fs::write(gates.path().join("release"), "").unwrap();
        let res = slow.join().unwrap();
        assert_eq!(res.status, 200, "{}", res.text());
        assert_eq!(pid_of(&res), old);
    });
    wait_for_log(
        &server,
        1,
        &[&format!("worker {old} exited with code 0 (reloaded)")],
    );
}

#[test]
fn ttin_and_ttou_resize_a_shared_pool() {
    if !python3() {
        return;
    }
    let site = Site::new().file("app.py", PID_APP);
    let server = shared_pool(&site, &["--workers", "1"]);
    let first = started(&server, 1)[0];
    signal(server.pid(), libc::SIGTTIN);
    let second = started(&server, 2)[1];
    assert_eq!(
        fd0(first),
        fd0(second),
        "the new worker accepts on the same socket"
    );
    signal(server.pid(), libc::SIGTTOU);
    // The oldest leaves.
    wait_for_log(
        &server,
        1,
        &[&format!(
            "worker {first} exited with code 0 (fewer workers)"
        )],
    );
    assert!(alive(second));
    assert_eq!(pid_of(&get(&server, "/pool/t")), second);
}

#[test]
fn gthread_and_gevent_workers_serve_several_requests_each_from_the_shared_socket() {
    if !python3() {
        return;
    }
    let gevent = std::process::Command::new("python3")
        .args(["-c", "import gevent"])
        .status()
        .is_ok_and(|s| s.success());
    let mut classes = vec![("gthread", "--worker-threads")];
    if gevent {
        classes.push(("gevent", "--worker-connections"));
    } else {
        eprintln!("gevent part skipped: gevent is not installed for python3");
    }
    for (class, capacity) in classes {
        let site = Site::new().file("app.py", GATE_APP);
        let gates = tempfile::tempdir().unwrap();
        let server = shared_pool(
            &site,
            &["--workers", "1", "--worker-class", class, capacity, "2"],
        );
        let pid = started(&server, 1)[0];
        let answers = at_once(&server, &gate(gates.path(), "together=2"), 2);
        for res in &answers {
            assert_eq!(res.status, 200, "{class}: {}", res.text());
            assert_eq!(pid_of(res), pid, "{class}: two at once in the one worker");
        }
    }
}

#[test]
fn preloaded_workers_share_the_socket_and_keep_a_heartbeat() {
    if !python3() {
        return;
    }
    let site = Site::new().file("app.py", SLEEPY_APP);
    let server = shared_pool(&site, &["--workers", "2", "--preload", "--timeout", "1"]);
    let pids = started(&server, 2);
    assert_eq!(fd0(pids[0]), fd0(pids[1]));
    assert!(fd0(pids[0]).starts_with("socket:["));
    assert_eq!(get(&server, "/pool/t?60").status, 504);
    let killed = wait_for_log(&server, 1, &["pool t: worker", "killed: its heartbeat"]);
    let pid = pid_after(&killed[0], "worker ").unwrap();
    wait_for("the stuck worker to be gone", || !alive(pid));
    assert_eq!(get(&server, "/pool/t").status, 200);
}

/// `--backlog 1`: past the connections the kernel queues for the busy worker, a request
/// is refused at once with 503; the ones queued are served once the worker is free.
#[test]
fn a_burst_past_the_listen_backlog_gets_503_at_once() {
    if !python3() {
        return;
    }
    let site = Site::new().file("app.py", GATE_APP);
    let gates = tempfile::tempdir().unwrap();
    let server = shared_pool(
        &site,
        &["--workers", "1", "--backlog", "1", "--timeout", "30"],
    );
    started(&server, 1);
    std::thread::scope(|s| {
        let held = s.spawn(|| get(&server, &gate(gates.path(), "hold=30")));
        wait_for("the request to be in the worker", || {
            gates.path().join("began").exists()
        });
        let burst: Vec<_> = (0..6)
            .map(|_| s.spawn(|| get(&server, "/pool/t")))
            .collect();
        wait_for_log(&server, 1, &["listen backlog (1, --backlog) is full"]);
        // The index page asks the kernel what waits in the backlog: the queued ones.
        let page = get(&server, "/").text();
        assert!(
            // Linux queues one past the backlog: one or two wait.
            page.contains("(1 waiting now, at most 1)")
                || page.contains("(2 waiting now, at most 1)"),
            "{page}"
        );
        std::fs::write(gates.path().join("release"), "").unwrap();
        assert_eq!(held.join().unwrap().status, 200);
        let statuses: Vec<u16> = burst
            .into_iter()
            .map(|h| h.join().unwrap().status)
            .collect();
        assert!(statuses.contains(&503), "{statuses:?}");
        assert!(
            statuses.contains(&200),
            "the queued ones are served: {statuses:?}"
        );
        assert!(
            statuses.iter().all(|s| *s == 200 || *s == 503),
            "{statuses:?}"
        );
    });
}

#[test]
fn no_zombie_orphan_or_descriptor_growth_after_many_requests_and_reloads() {
    if !python3() {
        return;
    }
    let site = Site::new().file("app.py", PID_APP);
    let server = shared_pool(&site, &["--workers", "2", "--max-requests", "15"]);
    started(&server, 2);
    for _ in 0..10 {
        assert_eq!(get(&server, "/pool/t").status, 200);
    }
    let before = descriptors(server.pid());
    let mut seen = std::collections::BTreeSet::new();
    for round in 0..6 {
        for _ in 0..25 {
            let res = get(&server, "/pool/t");
            assert_eq!(res.status, 200, "{}", res.text());
            seen.insert(pid_of(&res));
        }
        signal(server.pid(), libc::SIGHUP);
        wait_for_log(&server, round + 1, &["pool t: reload"]);
    }
    wait_for(
        "the pool to settle on two live workers and no zombie",
        || {
            let live: Vec<u32> = children(server.pid())
                .into_iter()
                .filter(|&p| alive(p))
                .collect();
            live.len() == 2 && zombies(server.pid()).is_empty()
        },
    );
    wait_for(&format!("descriptors back to {before}"), || {
        descriptors(server.pid()) <= before + 2
    });
    // Every worker that served is gone or one of the two: none was orphaned.
    let live = children(server.pid());
    for pid in seen {
        if !live.contains(&pid) {
            wait_for(&format!("worker {pid} to be gone"), || !alive(pid));
        }
    }
}

#[test]
fn the_index_page_and_routes_name_the_accept_mode() {
    if !python3() {
        return;
    }
    let site = Site::new().file("app.py", PID_APP);
    let server = shared_pool(&site, &["--workers", "1", "--backlog", "7"]);
    started(&server, 1);
    let page = get(&server, "/").text();
    assert!(
        page.contains("<p>accept: shared: every worker accepts on one socket"),
        "{page}"
    );
    assert!(
        page.contains("listen backlog (0 waiting now, at most 7)"),
        "{page}"
    );
    // Idle or busy the server cannot see, nor count a worker's requests.
    assert!(page.contains("<td>accepting</td><td>-</td>"), "{page}");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cgilab"))
        .args(["routes", "--cgi-bin"])
        .arg(site.path("cgi-bin"))
        .args(["--wsgi", &site.wsgi("t", "app.py"), "--accept", "shared"])
        .output()
        .unwrap();
    let routes = String::from_utf8_lossy(&out.stdout);
    assert!(
        routes.contains("on one shared socket (--accept shared, backlog 511)"),
        "{routes}"
    );
}

/// php-cgi accepts on the shared socket as it does on its own, but keeps no heartbeat:
/// the client still gets 504 at --timeout, and the server says at start that it cannot
/// find the stuck worker.
#[test]
fn php_cgi_on_a_shared_socket_serves_and_a_stuck_request_still_gets_504() {
    if !python3()
        || std::process::Command::new("php-cgi")
            .arg("-v")
            .output()
            .is_err()
    {
        eprintln!("skipped: php-cgi is not installed");
        return;
    }
    let site = Site::new().file(
        "hello.php",
        "<?php if (isset($_GET['sleep'])) sleep((int)$_GET['sleep']); echo 'pid=', getmypid(), \"\\n\";",
    );
    let server = site.serve(&[
        "--fastcgi",
        &site.wsgi("php", "hello.php"),
        "--workers",
        "2",
        "--accept",
        "shared",
        "--timeout",
        "1",
    ]);
    wait_for_log(
        &server,
        1,
        &["pool php: --accept shared: its program keeps no heartbeat"],
    );
    let res = get(&server, "/pool/php");
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(get(&server, "/pool/php?sleep=3").status, 504);
    assert!(log_lines(&server, &["killed: its heartbeat"]).is_empty());
}
