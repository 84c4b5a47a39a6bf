//! The server's end and its long life: no worker outlives it, however it stops; no
//! zombie, descriptor or socket file piles up while workers come and go.

use crate::support::*;

fn worker_pids(server: &cgilab::client::server_process::ServerProcess, n: usize) -> Vec<u32> {
    let lines = wait_for_log(server, n, &["pool t: worker", "started"]);
    lines
        .iter()
        .filter_map(|l| {
            l.split("worker ")
                .nth(1)?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .collect()
}

#[test]
fn sigterm_stops_every_worker_group() {
    let site = Site::new().file("app.py", SLEEPY_APP);
    let mut server = site.serve(&["--wsgi", &site.wsgi("t", "app.py"), "--workers", "2"]);
    let pids = worker_pids(&server, 2);
    let dir = pools_dir(server.pid());
    assert!(dir.is_some(), "no pools directory for {}", server.pid());
    signal(server.pid(), libc::SIGTERM);
    wait_for("the server to exit", || !server.is_running());
    for pid in pids {
        wait_for("the worker to be gone", || !alive(pid));
    }
    assert!(!dir.unwrap().exists(), "the pools directory is left behind");
}

/// A server killed with SIGKILL cannot clean up: its workers notice (PR_SET_PDEATHSIG)
/// and go too, and its keeper removes its directory; without a keeper (no cgroup), the
/// next server with pools does.
#[test]
fn a_sigkilled_server_leaves_no_worker_behind() {
    let site = Site::new().file("app.py", SLEEPY_APP);
    let mut server = site.serve(&["--wsgi", &site.wsgi("t", "app.py"), "--workers", "2"]);
    let pids = worker_pids(&server, 2);
    let dir = pools_dir(server.pid()).expect("a pools directory");
    signal(server.pid(), libc::SIGKILL);
    wait_for("the server to exit", || !server.is_running());
    for pid in pids {
        wait_for("the worker to be gone", || !alive(pid));
    }
    let _next = site.serve(&["--wsgi", &site.wsgi("t", "app.py"), "--workers", "1"]);
    wait_for("the dead server's pools directory to be removed", || {
        !dir.exists()
    });
}

/// The temp directory (worker source, sockets) of the server with this pid.
fn pools_dir(pid: u32) -> Option<std::path::PathBuf> {
    let prefix = format!("cgilab-pools-{pid}-");
    std::fs::read_dir(std::env::temp_dir())
        .ok()?
        .flatten()
        .find(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .map(|e| e.path())
}

/// Hundreds of requests and a dozen worker deaths: no zombie, no descriptor growth.
#[test]
fn no_zombies_and_no_descriptor_growth_as_workers_come_and_go() {
    let site = Site::new().file("app.py", PID_APP);
    let server = site.serve(&[
        "--wsgi",
        &site.wsgi("t", "app.py"),
        "--workers",
        "2",
        "--max-requests",
        "25",
    ]);
    for _ in 0..20 {
        assert_eq!(get(&server, "/pool/t").status, 200);
    }
    // Both workers up (one served all twenty; the other may have been booting).
    wait_for_log(&server, 2, &["pool t: worker", "started"]);
    let before = descriptors(server.pid());
    for round in 0..12 {
        for _ in 0..25 {
            let res = get(&server, "/pool/t");
            assert_eq!(res.status, 200, "{}", res.text());
        }
        if round % 2 == 0 {
            let pid = pid_of(&get(&server, "/pool/t"));
            signal(pid, libc::SIGKILL);
            // Dead once the server has reaped it: a process whose first thread is a
            // zombie may still have others on their way out, holding its sockets.
            wait_for("the killed worker to be reaped", || {
                log_lines(&server, &[&format!("worker {pid} ")])
                    .iter()
                    .any(|l| l.contains("killed by signal") || l.contains("exited with"))
            });
        }
    }
    wait_for("the pool to settle", || {
        let live: Vec<u32> = children(server.pid())
            .into_iter()
            .filter(|&p| alive(p))
            .collect();
        live.len() == 2 && zombies(server.pid()).is_empty()
    });
    // A worker still booting holds its connections and log pipe: wait for it.
    let settled = || descriptors(server.pid()) <= before + 2;
    wait_for(&format!("descriptors back to {before}"), settled);
    // A worker retired just now is a zombie until the next turn of the arbiter's loop.
    wait_for("no zombie", || zombies(server.pid()).is_empty());
}
