//! Worker classes (gunicorn's `-k`): a sync worker serves one request at a time, a
//! gthread worker one per thread, a gevent worker one per greenlet; each on a FastCGI
//! connection of its own. Concurrency is shown by a barrier no single request can pass
//! alone, never by timing; the supervisor's jobs keep working for every class.

use std::collections::BTreeSet;
use std::process::Command;
use std::thread;

use cgilab::client::ServerProcess;
use cgilab::client::http::{Req, request};

use crate::support::*;

/// `?NAME` arrives at a barrier of `barrier` requests and answers `met` once that many
/// have arrived (or `alone` after `patience` seconds); `?env` answers PEP 3333's two flags; `?hang`
/// never answers; `?wait` waits for a file `go` that never comes.
const BARRIER_APP: &str = r#"import os, time
HERE = os.path.dirname(os.path.abspath(__file__))
ARRIVED = os.path.join(HERE, "arrived")
os.makedirs(ARRIVED, exist_ok=True)
N = int(open(os.path.join(HERE, "barrier")).read())
PATIENCE = float(open(os.path.join(HERE, "patience")).read())

def application(environ, start_response):
    q = environ.get("QUERY_STRING", "")
    if q == "env":
        body = "multithread=%s multiprocess=%s" % (
            environ["wsgi.multithread"], environ["wsgi.multiprocess"])
    elif q in ("hang", "wait"):
        open(os.path.join(HERE, q + "-started"), "w").close()
        while True:
            time.sleep(0.05)
    else:
        open(os.path.join(ARRIVED, q), "w").close()
        deadline = time.time() + PATIENCE
        while len(os.listdir(ARRIVED)) < N and time.time() < deadline:
            time.sleep(0.01)
        met = len(os.listdir(ARRIVED)) >= N
        body = "pid=%d %s" % (os.getpid(), "met" if met else "alone")
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body.encode()]
"#;

/// A site with the barrier app for `n` requests, served by one worker of `class`.
fn one_worker(class: &[&str], n: usize, extra: &[&str]) -> (Site, ServerProcess) {
    with_patience(class, n, 15.0, extra)
}

/// As [`one_worker`], giving up the barrier after `patience` seconds.
fn with_patience(class: &[&str], n: usize, patience: f64, extra: &[&str]) -> (Site, ServerProcess) {
    let site = Site::new()
        .file("app.py", BARRIER_APP)
        .file("barrier", &n.to_string())
        .file("patience", &patience.to_string());
    let mut args = vec!["--wsgi", "t=app.py", "--workers", "1"];
    let wsgi = site.wsgi("t", "app.py");
    args[1] = &wsgi;
    args.extend_from_slice(class);
    args.extend_from_slice(extra);
    let server = site.serve(&args);
    (site, server)
}

/// `n` requests at once to `/pool/t?i`; their bodies.
fn at_once(server: &ServerProcess, n: usize) -> Vec<String> {
    let addr = server.addr;
    let clients: Vec<_> = (0..n)
        .map(|i| thread::spawn(move || request(addr, &Req::get(&format!("/pool/t?{i}")))))
        .collect();
    clients
        .into_iter()
        .map(|c| {
            let res = c.join().unwrap().unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(res.status, 200, "{}", res.text());
            res.text()
        })
        .collect()
}

/// `n` requests at once all meet at the barrier, and one worker served them all.
fn all_meet_in_one_worker(server: &ServerProcess, n: usize) {
    let bodies = at_once(server, n);
    assert!(bodies.iter().all(|b| b.ends_with(" met")), "{bodies:?}");
    let pids: BTreeSet<&str> = bodies
        .iter()
        .map(|b| b.split(' ').next().unwrap())
        .collect();
    assert_eq!(pids.len(), 1, "one worker served them all: {bodies:?}");
}

fn gevent_installed() -> bool {
    Command::new("python3")
        .args(["-c", "import gevent"])
        .status()
        .is_ok_and(|s| s.success())
}

/// Four requests that can only finish together, in one gthread worker of four threads.
#[test]
fn a_gthread_worker_serves_as_many_requests_at_once_as_it_has_threads() {
    let (_site, server) = one_worker(
        &["--worker-class", "gthread", "--worker-threads", "4"],
        4,
        &[],
    );
    all_meet_in_one_worker(&server, 4);
}

/// Sixteen requests that can only finish together, in one gevent worker.
#[test]
fn a_gevent_worker_serves_many_requests_at_once_on_greenlets() {
    assert!(
        gevent_installed(),
        "gevent is not installed for python3 (.ci/run installs it)"
    );
    let (_site, server) = one_worker(&["--worker-class", "gevent"], 16, &[]);
    all_meet_in_one_worker(&server, 16);
}

/// A sync worker serves one request at a time: of two requests, the first gives up on a
/// barrier of two (the second cannot run until it returns), then the second meets it.
#[test]
fn a_sync_worker_serves_one_request_at_a_time() {
    let (_site, server) = with_patience(&[], 2, 1.0, &[]);
    let mut bodies = at_once(&server, 2);
    bodies.sort_by_key(|b| b.ends_with(" met"));
    assert!(
        bodies[0].ends_with(" alone") && bodies[1].ends_with(" met"),
        "{bodies:?}"
    );
}

/// PEP 3333's `wsgi.multithread` says whether the app may be called again before a call
/// returns, in the same process.
#[test]
fn wsgi_multithread_says_the_truth_for_each_class() {
    let mut classes = vec![
        (vec![], "multithread=False multiprocess=True"),
        (
            vec!["--worker-class", "gthread", "--worker-threads", "4"],
            "multithread=True multiprocess=True",
        ),
    ];
    if gevent_installed() {
        classes.push((
            vec!["--worker-class", "gevent"],
            "multithread=True multiprocess=True",
        ));
    }
    for (class, expected) in classes {
        let (_site, server) = one_worker(&class, 1, &[]);
        assert_eq!(get(&server, "/pool/t?env").text(), expected, "{class:?}");
    }
}

/// A request past --timeout kills its worker's whole process group, and with it every
/// other request that worker holds: the log says so, as gunicorn's docs do.
#[test]
fn a_timeout_in_a_threaded_worker_takes_the_other_requests_with_it() {
    timeout_takes_the_others(&["--worker-class", "gthread", "--worker-threads", "2"], &[]);
}

#[test]
fn a_timeout_in_a_gevent_worker_forked_or_not_takes_the_other_requests_with_it() {
    assert!(
        gevent_installed(),
        "gevent is not installed for python3 (.ci/run installs it)"
    );
    timeout_takes_the_others(&["--worker-class", "gevent"], &[]);
    timeout_takes_the_others(&["--worker-class", "gevent"], &["--preload"]);
    timeout_takes_the_others(
        &["--worker-class", "gthread", "--worker-threads", "2"],
        &["--preload"],
    );
}

fn timeout_takes_the_others(class: &[&str], extra: &[&str]) {
    let mut extra = extra.to_vec();
    extra.extend(["--timeout", "2"]);
    let (site, server) = one_worker(class, 1, &extra);
    let addr = server.addr;
    let hang = thread::spawn(move || request(addr, &Req::get("/pool/t?hang")));
    wait_for("the first request to hang", || {
        site.path("hang-started").exists()
    });
    let wait = thread::spawn(move || request(addr, &Req::get("/pool/t?wait")));
    wait_for("the second request to wait", || {
        site.path("wait-started").exists()
    });
    assert_eq!(hang.join().unwrap().unwrap().status, 504);
    // The other request fails with its worker (502), or reaches its own timeout first
    // on a slow machine (504): never an answer.
    let other = wait.join().unwrap().unwrap().status;
    assert!(other == 502 || other == 504, "{other}");
    wait_for_log(
        &server,
        1,
        &["killed: request past --timeout (the other request it was serving fails with it)"],
    );
    // A new worker serves. A request that comes before it has booted waits at most
    // --timeout (2 s here) and gets 503: on a busy machine, ask again.
    wait_for("a new worker to serve", || {
        get(&server, "/pool/t?env").status == 200
    });
}

/// Recycling and reload keep working when a worker holds several requests: a leaving
/// worker retires once all its requests are done, and no request fails.
fn recycle_and_reload(class: &[&str]) {
    for (extra, leaving) in [
        (&["--max-requests", "4"][..], "(recycled, "),
        (&[][..], "(reloaded, "),
    ] {
        let (_site, server) = one_worker(class, 1, extra);
        let pid_now = || {
            let body = get(&server, "/pool/t?x").text();
            body.split(' ').next().unwrap().to_string()
        };
        let first = pid_now();
        if extra.is_empty() {
            signal(server.pid(), libc::SIGHUP);
        }
        // Three at a time (`at_once` asserts every answer is 200) until a successor
        // serves.
        wait_for("a successor", || {
            at_once(&server, 3);
            pid_now() != first
        });
        wait_for_log(
            &server,
            1,
            &[&format!(
                "worker {} exited with code 0 {leaving}",
                &first[4..]
            )],
        );
        assert!(zombies(server.pid()).is_empty());
    }
}

#[test]
fn recycling_and_reload_keep_working_for_gthread() {
    recycle_and_reload(&["--worker-class", "gthread", "--worker-threads", "3"]);
}

#[test]
fn recycling_and_reload_keep_working_for_gevent() {
    assert!(
        gevent_installed(),
        "gevent is not installed for python3 (.ci/run installs it)"
    );
    recycle_and_reload(&["--worker-class", "gevent"]);
}

/// The gevent class without gevent: the server refuses to start and says what to do,
/// rather than a pool that fails to boot.
#[test]
fn the_gevent_class_without_gevent_is_refused_at_start_with_what_to_do() {
    let site = Site::new()
        .file("app.py", BARRIER_APP)
        .file("barrier", "1")
        .file("patience", "1");
    let venv = site.path("venv");
    let made = Command::new("python3")
        .arg("-m")
        .arg("venv")
        .arg("--without-pip")
        .arg(&venv)
        .status();
    assert!(made.is_ok_and(|s| s.success()), "python3 -m venv failed");
    let python = venv.join("bin/python");
    let out = Command::new(env!("CARGO_BIN_EXE_cgilab"))
        .args(["serve", "--listen", "127.0.0.1:0", "--cgi-bin"])
        .arg(site.dir.path().join("cgi-bin"))
        .args([
            "--wsgi",
            &site.wsgi("t", "app.py"),
            "--worker-class",
            "gevent",
            "--python",
        ])
        .arg(&python)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("gevent is not installed for"), "{err}");
    assert!(err.contains("-m pip install gevent"), "{err}");
}

/// SIGTTIN and SIGTTOU resize a pool of threaded or greenlet workers as any other.
#[test]
fn ttin_and_ttou_resize_pools_of_every_class() {
    let mut classes = vec![vec!["--worker-class", "gthread", "--worker-threads", "2"]];
    if gevent_installed() {
        classes.push(vec!["--worker-class", "gevent"]);
    }
    for class in classes {
        let (_site, server) = one_worker(&class, 1, &[]);
        assert_eq!(get(&server, "/pool/t?env").status, 200);
        signal(server.pid(), libc::SIGTTIN);
        wait_for_log(&server, 2, &["pool t: worker", "started"]);
        signal(server.pid(), libc::SIGTTOU);
        wait_for_log(&server, 1, &["exited with code 0 (fewer workers"]);
        assert_eq!(get(&server, "/pool/t?env").status, 200, "{class:?}");
    }
}

/// With `--preload`, workers of every class are forked from the preloader, and still
/// serve as many requests at once as their class allows (a gevent worker patches the
/// standard library after its fork, as gunicorn's does).
#[test]
fn forked_workers_of_every_class_serve_at_once() {
    let (_site, server) = one_worker(
        &["--worker-class", "gthread", "--worker-threads", "4"],
        4,
        &["--preload"],
    );
    all_meet_in_one_worker(&server, 4);
    assert!(
        gevent_installed(),
        "gevent is not installed for python3 (.ci/run installs it)"
    );
    let (_site, server) = one_worker(&["--worker-class", "gevent"], 16, &["--preload"]);
    all_meet_in_one_worker(&server, 16);
    wait_for_log(&server, 1, &["pool t: preloader", "imported the app"]);
}

#[test]
fn recycling_and_reload_keep_working_for_forked_gthread_and_gevent_workers() {
    recycle_and_reload(&[
        "--worker-class",
        "gthread",
        "--worker-threads",
        "3",
        "--preload",
    ]);
    assert!(
        gevent_installed(),
        "gevent is not installed for python3 (.ci/run installs it)"
    );
    recycle_and_reload(&["--worker-class", "gevent", "--preload"]);
}
