//! Pools on demand (php-fpm's `pm = ondemand`): the pool the server makes by itself for a
//! `NAME_wsgi.py` twin in cgi-bin starts no worker until its first request, which waits
//! for the first worker and is served; pools named with `--wsgi` start with the server.

use std::sync::{Arc, Barrier};

use super::support::{
    PID_APP, Site, children, get, log_lines, pid_of, python3, signal, wait_for_log,
};

/// A site whose cgi-bin holds one twin, `hi_wsgi.py`: the server's pool `hi`.
fn twin_site() -> Site {
    Site::new().file("cgi-bin/hi_wsgi.py", PID_APP)
}

/// Sends `sig` to the server and waits for the `n`th log line of pool `pool` with
/// `words`: the arbiter has handled the signal, in a turn that also runs its
/// `manage_workers` step.
fn handled(server: &cgilab::client::ServerProcess, sig: libc::c_int, n: usize, words: &[&str]) {
    signal(server.pid(), sig);
    wait_for_log(server, n, words);
}

/// No python3 runs for a twin until someone asks for it; the first request is served, and
/// wakes the pool once, with the number of workers it was given.
#[test]
fn a_twin_pool_has_no_worker_until_its_first_request_which_is_served() {
    if !python3() {
        eprintln!("skipped: python3 is not installed");
        return;
    }
    let site = twin_site();
    let server = site.serve(&["--workers", "2"]);
    // Two turns of the supervisor's loop after the one that started the server: a
    // pool that booted at once would have its workers by now.
    handled(&server, libc::SIGTTIN, 1, &["pool hi: 3 workers (SIGTTIN)"]);
    handled(&server, libc::SIGTTOU, 1, &["pool hi: 2 workers (SIGTTOU)"]);
    assert!(
        children(server.pid()).is_empty(),
        "a dormant pool started processes: {:?}\n{}",
        children(server.pid()),
        server.log().join("\n")
    );
    let page = get(&server, "/").text();
    assert!(page.contains("DORMANT"), "{page}");
    assert!(log_lines(&server, &["first request"]).is_empty());

    let res = get(&server, "/pool/hi");
    assert_eq!(
        res.status,
        200,
        "{}\n{}",
        res.text(),
        server.log().join("\n")
    );
    let pid = pid_of(&res);
    assert!(
        children(server.pid()).contains(&pid),
        "the worker is the server's child"
    );
    let woke = wait_for_log(&server, 1, &["pool hi: first request, starting 2 workers"]);
    assert_eq!(woke.len(), 1, "{}", server.log().join("\n"));
    wait_for_log(&server, 2, &["pool hi: worker", "started"]);
    let page = get(&server, "/").text();
    assert!(
        !page.contains("DORMANT") && page.contains("running"),
        "{page}"
    );
}

/// Requests that arrive together at a dormant pool are all served, and the pool is
/// started once: one wake line, and no more workers than it was given.
#[test]
fn concurrent_first_requests_are_all_served_by_one_start() {
    if !python3() {
        eprintln!("skipped: python3 is not installed");
        return;
    }
    let site = twin_site();
    let server = Arc::new(site.serve(&["--workers", "2"]));
    let n = 8;
    let barrier = Arc::new(Barrier::new(n));
    let clients: Vec<_> = (0..n)
        .map(|_| {
            let (server, barrier) = (server.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                let res = get(&server, "/pool/hi");
                (res.status, res.text())
            })
        })
        .collect();
    for client in clients {
        let (status, text) = client.join().unwrap();
        assert_eq!(status, 200, "{text}\n{}", server.log().join("\n"));
    }
    // Every worker of a wake is spawned in the same turn of the supervisor, before any
    // of them can be ready: once two are ready, a second start would show.
    wait_for_log(&server, 2, &["pool hi: worker", "started"]);
    let woke = log_lines(&server, &["pool hi: first request"]);
    assert_eq!(woke.len(), 1, "{}", server.log().join("\n"));
    let workers = children(server.pid());
    assert_eq!(workers.len(), 2, "{workers:?}\n{}", server.log().join("\n"));
}

/// SIGHUP reloads what runs, and a dormant pool runs nothing: it stays dormant. TTIN and
/// TTOU change how many workers it will start, and wake nothing either.
#[test]
fn signals_leave_a_dormant_pool_dormant() {
    if !python3() {
        eprintln!("skipped: python3 is not installed");
        return;
    }
    let site = twin_site();
    let server = site.serve(&["--workers", "1"]);
    handled(&server, libc::SIGHUP, 1, &["pool hi: reload: dormant"]);
    handled(&server, libc::SIGTTIN, 1, &["pool hi: 2 workers (SIGTTIN)"]);
    handled(&server, libc::SIGTTIN, 1, &["pool hi: 3 workers (SIGTTIN)"]);
    assert!(
        children(server.pid()).is_empty(),
        "{:?}\n{}",
        children(server.pid()),
        server.log().join("\n")
    );
    assert!(log_lines(&server, &["pool hi: reload: starting"]).is_empty());
    assert_eq!(get(&server, "/pool/hi").status, 200);
    wait_for_log(&server, 1, &["pool hi: first request, starting 3 workers"]);
    wait_for_log(&server, 3, &["pool hi: worker", "started"]);
    // Awake, a HUP reloads it as any pool.
    handled(
        &server,
        libc::SIGHUP,
        1,
        &["pool hi: reload: starting 3 new workers"],
    );
}

/// A twin that cannot boot: its first request waits while the supervisor tries, then
/// gets 503 saying the pool cannot start its app, and the log says why.
#[test]
fn a_twin_that_cannot_boot_answers_503_with_its_reason() {
    if !python3() {
        eprintln!("skipped: python3 is not installed");
        return;
    }
    let site = Site::new().file(
        "cgi-bin/bad_wsgi.py",
        "raise RuntimeError('no database here')\n",
    );
    let server = site.serve(&["--workers", "1"]);
    let res = get(&server, "/pool/bad");
    assert_eq!(res.status, 503, "{}", res.text());
    assert!(
        res.text().contains("pool `bad`: cannot start its app"),
        "{}",
        res.text()
    );
    // The log is read apart from the response: wait for the line, then count.
    let failed = wait_for_log(&server, 1, &["pool bad: FAILED", "no database here"]);
    assert_eq!(failed.len(), 1, "{}", server.log().join("\n"));
}

/// A pool named with `--wsgi` boots with the server, before any request.
#[test]
fn a_pool_named_with_wsgi_starts_at_once() {
    if !python3() {
        eprintln!("skipped: python3 is not installed");
        return;
    }
    let site = twin_site().file("app.py", PID_APP);
    let server = site.serve(&["--workers", "2", "--wsgi", &site.wsgi("a", "app.py")]);
    wait_for_log(&server, 2, &["pool a: worker", "started"]);
    assert_eq!(children(server.pid()).len(), 2);
    assert!(log_lines(&server, &["first request"]).is_empty());
    let page = get(&server, "/").text();
    assert!(!page.contains("DORMANT"), "{page}");
}

/// With `--accept shared` (workers accept on one socket), a twin's pool sleeps and wakes
/// the same way.
#[test]
fn a_twin_pool_sharing_one_socket_also_starts_on_its_first_request() {
    if !python3() {
        eprintln!("skipped: python3 is not installed");
        return;
    }
    let site = twin_site();
    let server = site.serve(&["--workers", "2", "--accept", "shared"]);
    handled(&server, libc::SIGTTIN, 1, &["pool hi: 3 workers (SIGTTIN)"]);
    assert!(
        children(server.pid()).is_empty(),
        "{}",
        server.log().join("\n")
    );
    let res = get(&server, "/pool/hi");
    assert_eq!(
        res.status,
        200,
        "{}\n{}",
        res.text(),
        server.log().join("\n")
    );
    wait_for_log(&server, 1, &["pool hi: first request, starting 3 workers"]);
}
