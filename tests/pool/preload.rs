//! `--preload`: the app is imported once, by a preloader, and every worker is forked from
//! it. The supervisor's jobs keep working on forked workers (timeout, recycle, reload,
//! resize), each exit is seen with its status, and nothing is left behind: no zombie, no
//! orphan, no descriptor growth.

use std::collections::BTreeSet;

use cgilab::client::ServerProcess;

use crate::support::*;

/// Says which process answered, its parent, and which process imported the app; writes
/// a line to `imports` each time it is imported. `?exit` exits with code 3, `?hang`
/// never answers.
const IMPORT_APP: &str = r#"import os, time
HERE = os.path.dirname(os.path.abspath(__file__))
IMPORTED_BY = os.getpid()
VERSION = 1
with open(os.path.join(HERE, "imports"), "a") as f:
    f.write("%d\n" % IMPORTED_BY)

def application(environ, start_response):
    q = environ.get("QUERY_STRING", "")
    if q == "exit":
        os._exit(3)
    if q == "hang":
        open(os.path.join(HERE, "hang-started"), "w").close()
        while True:
            time.sleep(0.05)
    start_response("200 OK", [("Content-Type", "text/plain")])
    body = "pid=%d parent=%d imported_by=%d version=%d" % (
        os.getpid(), os.getppid(), IMPORTED_BY, VERSION)
    return [body.encode()]
"#;

/// A site with IMPORT_APP as pool `t`, served with `--preload` and `extra`.
fn preloaded(extra: &[&str]) -> (Site, ServerProcess) {
    let site = Site::new().file("app.py", IMPORT_APP);
    let wsgi = site.wsgi("t", "app.py");
    let mut args = vec!["--wsgi", &wsgi, "--preload"];
    args.extend_from_slice(extra);
    let server = site.serve(&args);
    (site, server)
}

/// One answer's fields: pid, parent, imported_by, version.
fn fields(server: &ServerProcess, target: &str) -> [u32; 4] {
    let res = get(server, target);
    assert_eq!(res.status, 200, "{}", res.text());
    let text = res.text();
    let values: Vec<u32> = text
        .split(' ')
        .filter_map(|kv| kv.split_once('=')?.1.parse().ok())
        .collect();
    values
        .try_into()
        .unwrap_or_else(|_| panic!("four fields in {text:?}"))
}

/// The pid of the preloader the log says imported the app, the `nth` one (from 1).
fn preloader(server: &ServerProcess, nth: usize) -> u32 {
    let lines = wait_for_log(server, nth, &["pool t: preloader", "imported the app"]);
    message(&lines[nth - 1])
        .split_whitespace()
        .nth(3)
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("a pid in {:?}", lines[nth - 1]))
}

fn imports(site: &Site) -> usize {
    std::fs::read_to_string(site.path("imports"))
        .unwrap_or_default()
        .lines()
        .count()
}

/// The live workers of `preloader`: its children.
fn forked(preloader: u32) -> BTreeSet<u32> {
    children(preloader)
        .into_iter()
        .filter(|&p| alive(p))
        .collect()
}

#[test]
fn workers_are_forked_from_one_preloader_that_imported_the_app_once() {
    let (site, server) = preloaded(&["--workers", "3"]);
    let preloader = preloader(&server, 1);
    wait_for_log(&server, 3, &["pool t: worker", "started"]);
    let [pid, parent, imported_by, _] = fields(&server, "/pool/t");
    assert_eq!((parent, imported_by), (preloader, preloader));
    let workers = forked(preloader);
    assert_eq!(workers.len(), 3, "{workers:?}");
    assert!(workers.contains(&pid));
    assert_eq!(imports(&site), 1, "imported once, not once per worker");
    // The server's own children: the preloader, and no worker.
    let ours = children(server.pid());
    assert!(ours.contains(&preloader), "{ours:?}");
    assert!(ours.is_disjoint(&workers), "{ours:?} {workers:?}");
}

#[test]
fn sighup_imports_the_app_anew_in_a_new_preloader_and_the_old_one_leaves() {
    let (site, server) = preloaded(&["--workers", "2"]);
    let first = preloader(&server, 1);
    wait_for_log(&server, 2, &["pool t: worker", "started"]);
    assert_eq!(fields(&server, "/pool/t")[3], 1);
    std::fs::write(
        site.path("app.py"),
        IMPORT_APP.replace("VERSION = 1", "VERSION = 2"),
    )
    .unwrap();
    signal(server.pid(), libc::SIGHUP);
    let second = preloader(&server, 2);
    assert_ne!(first, second);
    wait_for("an answer from the new code", || {
        fields(&server, "/pool/t")[3] == 2
    });
    let [_, parent, imported_by, _] = fields(&server, "/pool/t");
    assert_eq!((parent, imported_by), (second, second));
    wait_for_log(
        &server,
        1,
        &[&format!(
            "old preloader {first} leaves: its workers are gone"
        )],
    );
    wait_for("the old preloader to be reaped", || {
        !alive(first) && zombies(server.pid()).is_empty()
    });
    assert_eq!(imports(&site), 2);
}

#[test]
fn a_forked_worker_past_timeout_is_killed_and_its_exit_seen_then_another_is_forked() {
    let (site, server) = preloaded(&["--workers", "1", "--timeout", "2"]);
    let preloader = preloader(&server, 1);
    let [worker, ..] = fields(&server, "/pool/t");
    let res = get(&server, "/pool/t?hang");
    assert_eq!(res.status, 504, "{}", res.text());
    assert!(site.path("hang-started").exists());
    wait_for_log(
        &server,
        1,
        &[&format!("worker {worker} killed: request past --timeout")],
    );
    // The preloader reports the status of its child; the server logs it.
    wait_for_log(
        &server,
        1,
        &[&format!("worker {worker} killed by signal 9")],
    );
    let [next, parent, ..] = fields(&server, "/pool/t");
    assert_ne!(next, worker);
    assert_eq!(parent, preloader);
    // Released once seen: the preloader keeps no zombie.
    wait_for("no zombie under the preloader", || {
        zombies(preloader).is_empty()
    });
    assert_eq!(imports(&site), 1);
}

#[test]
fn a_forked_worker_that_exits_by_itself_is_logged_with_its_exit_code() {
    let (_site, server) = preloaded(&["--workers", "1"]);
    let preloader = preloader(&server, 1);
    let [worker, ..] = fields(&server, "/pool/t");
    let res = get(&server, "/pool/t?exit");
    assert_eq!(res.status, 502, "{}", res.text());
    // The host may see the connection close first, and say so; either way the exit
    // code is the app's own, reported by the preloader.
    wait_for_log(
        &server,
        1,
        &[&format!("worker {worker} exited with code 3")],
    );
    let [next, parent, ..] = fields(&server, "/pool/t");
    assert_ne!(next, worker);
    assert_eq!(parent, preloader);
}

#[test]
fn recycling_and_resizing_fork_from_the_same_preloader_without_growing() {
    let (site, server) = preloaded(&["--workers", "2", "--max-requests", "3"]);
    let preloader = preloader(&server, 1);
    wait_for_log(&server, 2, &["pool t: worker", "started"]);
    wait_for("two recycled workers", || {
        assert_eq!(fields(&server, "/pool/t")[1], preloader);
        log_lines(&server, &["(recycled, "]).len() >= 2
    });
    let before = descriptors(server.pid());
    // A leaving worker serves while its successor boots: requests until four more have
    // been recycled, every one answered by a worker of the same preloader.
    wait_for("six recycled workers", || {
        assert_eq!(fields(&server, "/pool/t")[1], preloader);
        log_lines(&server, &["(recycled, "]).len() >= 6
    });
    signal(server.pid(), libc::SIGTTIN);
    wait_for("three workers", || forked(preloader).len() == 3);
    signal(server.pid(), libc::SIGTTOU);
    wait_for_log(&server, 1, &["exited with code 0 (fewer workers"]);
    wait_for("two workers and no zombie", || {
        forked(preloader).len() == 2
            && zombies(preloader).is_empty()
            && zombies(server.pid()).is_empty()
    });
    // A worker still booting holds its connections and log pipe: wait for it.
    wait_for(&format!("descriptors back to {before}"), || {
        descriptors(server.pid()) <= before + 2
    });
    assert_eq!(
        imports(&site),
        1,
        "every worker forked, none imported again"
    );
}

#[test]
fn a_killed_preloader_takes_its_workers_and_the_pool_recovers() {
    let (site, server) = preloaded(&["--workers", "2"]);
    let first = preloader(&server, 1);
    wait_for_log(&server, 2, &["pool t: worker", "started"]);
    let workers = forked(first);
    signal(first, libc::SIGKILL);
    wait_for_log(
        &server,
        1,
        &[&format!("preloader {first} killed by signal 9")],
    );
    for w in &workers {
        wait_for_log(&server, 1, &[&format!("worker {w} killed by signal 9")]);
    }
    let second = preloader(&server, 2);
    assert_eq!(fields(&server, "/pool/t")[1], second);
    wait_for("the old ones gone", || {
        workers.iter().all(|&w| !alive(w)) && zombies(server.pid()).is_empty()
    });
    assert_eq!(imports(&site), 2);
}

#[test]
fn an_app_that_cannot_be_imported_fails_the_pool_with_its_own_last_words() {
    let site = Site::new().file("app.py", "raise RuntimeError('no database here')\n");
    let wsgi = site.wsgi("t", "app.py");
    let server = site.serve(&["--wsgi", &wsgi, "--preload"]);
    wait_for_log(
        &server,
        1,
        &["pool t: FAILED", "RuntimeError: no database here"],
    );
    let failures = log_lines(&server, &["before it had imported the app (boot failure"]);
    assert_eq!(failures.len(), 4, "{failures:?}");
    let res = get(&server, "/pool/t");
    assert_eq!(res.status, 503);
    assert!(!res.text().contains("no database here"), "{}", res.text());
}

#[test]
fn stopping_the_server_leaves_no_preloader_and_no_worker() {
    let (_site, mut server) = preloaded(&["--workers", "2"]);
    let preloader = preloader(&server, 1);
    wait_for_log(&server, 2, &["pool t: worker", "started"]);
    let workers = forked(preloader);
    signal(server.pid(), libc::SIGTERM);
    wait_for("the server to exit", || !server.is_running());
    wait_for("every process gone", || {
        !alive(preloader) && workers.iter().all(|&w| !alive(w))
    });
}

#[test]
fn the_index_page_shows_the_preloader_and_each_workers_memory() {
    let (_site, server) = preloaded(&["--workers", "2"]);
    let preloader = preloader(&server, 1);
    wait_for_log(&server, 2, &["pool t: worker", "started", "USS"]);
    let page = get(&server, "/").text();
    assert!(
        page.contains(&format!(
            "<td>{preloader}</td><td>preloader (--preload)</td>"
        )),
        "{page}"
    );
    assert!(page.contains("USS MiB"), "{page}");
}
