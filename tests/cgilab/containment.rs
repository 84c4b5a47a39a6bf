//! Nothing the server starts outlives it, however it ends and whatever its children do
//! (`setsid` included): the server runs in a cgroup that a keeper process empties and
//! removes once the server is gone, and each pool worker in a cgroup of its own that is
//! emptied when the worker is reaped. Temp directories are removed only when they are
//! cgilab's, this user's, of this pid namespace, and their maker is gone.
//!
//! Where no cgroup v2 can be written, the server says so in one line; the tests that need
//! a cgroup then skip with a message (on a machine with one, as root, they all run).

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use cgilab::client::ServerProcess;
use cgilab::client::http::{Req, Response};
use cgilab::process::cgroup::Cgroup;
use cgilab::process::private_dir::{self, MARKER, Owner};

use crate::support::{Site, WAIT, message, spawn, write_file};

/// What the server logs when it cannot be contained.
const UNCONTAINED: &str = "no writable cgroup v2";

/// A WSGI app whose every request starts `sleep 300` in a session of its own
/// (`start_new_session`: setsid before exec, done once Popen returns), holding the
/// worker's stdout and stderr, which are its log pipe.
const SETSID_APP: &str = r#"import os, subprocess
def application(environ, start_response):
    child = subprocess.Popen(["sleep", "300"], start_new_session=True)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"pid=%d child=%d\n" % (os.getpid(), child.pid)]
"#;

/// A script that leaves a child in a session of its own (it writes its pid once it is
/// there) and a plain child in its group, and then answers.
const LEAVES_CHILDREN: &str = r#"#!/bin/sh
setsid sh -c 'echo $$ > "$STATE_DIR/setsid.tmp"; mv "$STATE_DIR/setsid.tmp" "$STATE_DIR/setsid.pid"; exec sleep 300' </dev/null >/dev/null 2>&1 &
sh -c 'echo $$ > "$STATE_DIR/plain.tmp"; mv "$STATE_DIR/plain.tmp" "$STATE_DIR/plain.pid"; exec sleep 300' </dev/null >/dev/null 2>&1 &
while [ ! -s "$STATE_DIR/setsid.pid" ] || [ ! -s "$STATE_DIR/plain.pid" ]; do :; done
echo $$ > "$STATE_DIR/script.tmp"; mv "$STATE_DIR/script.tmp" "$STATE_DIR/script.pid"
[ -n "$QUERY_STRING" ] && exec sleep 300
printf 'Content-Type: text/plain\n\nok\n'
"#;

/// One process, told apart from a later one given the same pid by its start time.
#[derive(Debug, Clone, Copy)]
struct Proc {
    pid: u32,
    start: u64,
}

impl Proc {
    /// The process running now as `pid`.
    fn now(pid: u32) -> Proc {
        let start = private_dir::start_time(pid).unwrap_or_else(|| panic!("no process {pid}"));
        Proc { pid, start }
    }

    /// True once it has exited: gone, a zombie nobody reaped, or its pid reused.
    fn ended(&self) -> bool {
        let Ok(stat) = fs::read_to_string(format!("/proc/{}/stat", self.pid)) else {
            return true;
        };
        let state = stat.rsplit(')').next().unwrap_or("").trim_start();
        state.starts_with('Z')
            || state.starts_with('X')
            || private_dir::start_time(self.pid) != Some(self.start)
    }
}

/// Waits (bounded) until `done` holds, or fails saying `what`.
fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A `cgilab serve` on port 0 over `site`, leading its own process group (as a shell's
/// job does), with `TMPDIR` set to the site's `tmp` so that its temp directories are
/// this test's alone. `wrap` runs before the server (`unshare ...`), exec-ing it.
fn serve(site: &Site, args: &[&str], wrap: &[&str]) -> ServerProcess {
    let bin = env!("CARGO_BIN_EXE_cgilab");
    let tmp = site.root().join("tmp");
    let _ = fs::create_dir(&tmp);
    let mut cmd = match wrap.split_first() {
        Some((first, rest)) => {
            let mut cmd = Command::new(first);
            cmd.args(rest).arg(bin);
            cmd
        }
        None => Command::new(bin),
    };
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--cgi-bin"])
        .arg(site.cgi_bin())
        .arg("--env")
        .arg(format!("STATE_DIR={}", site.root().join("state").display()))
        .args(args)
        .env("TMPDIR", &tmp)
        .current_dir(site.root())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .process_group(0);
    let child = spawn(&mut cmd);
    ServerProcess::watch(child, WAIT).unwrap_or_else(|e| panic!("the server did not start: {e}"))
}

/// True if the server runs uncontained (it moves itself into `cgilab-PID/server` before
/// it listens); then says why the test is skipped, in the server's own words.
fn uncontained(server: &ServerProcess, test: &str) -> bool {
    let contained = Cgroup::of(&server.pid().to_string()).is_ok_and(|own| {
        own.path().ends_with("server")
            && own
                .path()
                .parent()
                .and_then(|p| p.file_name())
                .is_some_and(|n| {
                    n.to_string_lossy()
                        .starts_with(&format!("cgilab-{}", server.pid()))
                })
    });
    if !contained {
        let said = server.log_about(UNCONTAINED).join(" ");
        eprintln!("skipped {test}: the server has no cgroup here: {said}");
    }
    !contained
}

/// The server's keeper: the process running `cgilab __keeper CGROUP PIDNS PID START`
/// for this server's pid (not its child: it detaches).
fn keeper_of(server: u32) -> Proc {
    let mut found = None;
    wait_for("the keeper", || {
        found = keepers()
            .into_iter()
            .find(|&(_, of)| of == server)
            .map(|(k, _)| k);
        found.is_some()
    });
    Proc::now(found.unwrap())
}

/// Every keeper running, with the pid of its server.
fn keepers() -> Vec<(u32, u32)> {
    let mut out = Vec::new();
    for entry in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(cmdline) = fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        let args: Vec<&[u8]> = cmdline.split(|&b| b == 0).collect();
        if args.get(1) == Some(&&b"__keeper"[..])
            && let Some(server) = args
                .get(4)
                .and_then(|a| std::str::from_utf8(a).ok()?.parse().ok())
        {
            out.push((pid, server));
        }
    }
    out
}

/// The cgroup the server made for itself (`cgilab-PID`, the parent of its own).
fn server_cgroup(server: u32) -> PathBuf {
    let own = Cgroup::of(&server.to_string()).unwrap_or_else(|e| panic!("{e}"));
    assert!(own.path().ends_with("server"), "{}", own.path().display());
    own.path().parent().unwrap().to_path_buf()
}

/// The server's pool directory in the site's `tmp`.
fn pools_dirs(site: &Site) -> Vec<PathBuf> {
    fs::read_dir(site.root().join("tmp"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("cgilab-pools-"))
        .map(|e| e.path())
        .collect()
}

fn get(server: &ServerProcess, target: &str) -> Response {
    server
        .request(&Req::get(target))
        .unwrap_or_else(|e| panic!("GET {target}: {e}"))
}

/// `pid=W child=C` from SETSID_APP.
fn worker_and_child(res: &Response) -> (Proc, Proc) {
    let text = res.text();
    let fields: BTreeMap<&str, u32> = text
        .split_whitespace()
        .filter_map(|f| f.split_once('='))
        .filter_map(|(k, v)| Some((k, v.parse().ok()?)))
        .collect();
    match (fields.get("pid"), fields.get("child")) {
        (Some(&w), Some(&c)) => (Proc::now(w), Proc::now(c)),
        _ => panic!("unexpected answer {}: {text}", res.status),
    }
}

fn read_pid(path: &Path) -> Proc {
    let mut pid = None;
    wait_for(&format!("a pid in {}", path.display()), || {
        pid = fs::read_to_string(path)
            .ok()
            .and_then(|s| s.trim().parse().ok());
        pid.is_some()
    });
    Proc::now(pid.unwrap())
}

/// True once the server has logged how worker `pid` ended (it is reaped).
fn reaped(server: &ServerProcess, pid: u32) -> bool {
    let worker = format!("pool t: worker {pid} ");
    server.log().iter().any(|l| {
        message(l).starts_with(&worker)
            && (l.contains(" exited with ") || l.contains(" killed by signal"))
    })
}

fn threads(pid: u32) -> usize {
    fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Threads:"))
                .and_then(|n| n.trim().parse().ok())
        })
        .unwrap_or(0)
}

fn descriptors(pid: u32) -> usize {
    fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

fn signal(pid: i32, signal: libc::c_int) {
    // SAFETY: kill(2) has no memory effects.
    unsafe {
        libc::kill(pid, signal);
    }
}

fn python3() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "pass"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("skipped: python3 is needed for a pool");
    }
    ok
}

/// A CGI script still running when the server is killed with SIGKILL goes, and so do
/// its children: the one in its process group and the one that left it with `setsid`.
/// Neither PR_SET_PDEATHSIG (not set on the posix_spawn path) nor a group kill (the
/// server had no chance to send one) can do this; the keeper's `cgroup.kill` does.
#[test]
fn a_sigkilled_server_takes_its_running_scripts_and_their_setsid_children_with_it() {
    let site = Site::new().script("leaves.sh", LEAVES_CHILDREN);
    let mut server = serve(&site, &[], &[]);
    if uncontained(&server, "a_sigkilled_server_takes_...") {
        return;
    }
    let cgroup = server_cgroup(server.pid());
    let keeper = keeper_of(server.pid());
    let addr = server.addr;
    // The script sleeps after its children started (`?hold`): the request stays open.
    let request = std::thread::spawn(move || {
        cgilab::client::http::request(addr, &Req::get("/cgi-bin/leaves.sh?hold"))
    });
    let state = site.root().join("state");
    let script = read_pid(&state.join("script.pid"));
    let setsid = read_pid(&state.join("setsid.pid"));
    let plain = read_pid(&state.join("plain.pid"));
    signal(server.pid() as i32, libc::SIGKILL);
    wait_for("the server to exit", || !server.is_running());
    for (what, p) in [
        ("script", script),
        ("setsid child", setsid),
        ("plain child", plain),
    ] {
        wait_for(&format!("the {what} {} to end", p.pid), || p.ended());
    }
    wait_for("the keeper to exit", || keeper.ended());
    assert!(!cgroup.exists(), "{} is left", cgroup.display());
    let _ = request.join();
}

/// A worker whose request started a child in its own session, holding the worker's
/// log pipe: once the worker is recycled, the child is killed (the worker's cgroup), and
/// neither the thread that copied the log nor the pipe stays in the server. Seven
/// recycles cost no more threads or descriptors than one.
#[test]
fn a_recycled_workers_setsid_child_goes_with_it_and_costs_no_thread_or_descriptor() {
    if !python3() {
        return;
    }
    let site = Site::new().with(|root| {
        write_file(&root.join("app.py"), SETSID_APP.as_bytes(), 0o644);
    });
    let wsgi = format!("t={}", site.root().join("app.py").display());
    let server = serve(
        &site,
        &["--wsgi", &wsgi, "--workers", "1", "--max-requests", "1"],
        &[],
    );
    let contained = !uncontained(&server, "(the setsid child's end)");
    let started = |n: usize| {
        let lines = server.log();
        lines
            .iter()
            .filter(|l| message(l).starts_with("pool t: worker") && l.contains(" started "))
            .count()
            >= n
    };
    let recycle = |n: usize| {
        let (worker, child) = worker_and_child(&get(&server, "/pool/t"));
        wait_for(&format!("worker {} to be recycled", worker.pid), || {
            reaped(&server, worker.pid)
        });
        if contained {
            wait_for(&format!("its setsid child {} to end", child.pid), || {
                child.ended()
            });
        }
        wait_for("its successor", || started(n + 1));
    };
    wait_for("the first worker", || started(1));
    recycle(1);
    let (threads_1, fds_1) = (threads(server.pid()), descriptors(server.pid()));
    for n in 2..=7 {
        recycle(n);
    }
    // Connection threads end a moment after their response: wait for the count to
    // settle instead of reading it once.
    wait_for(
        &format!("threads back to {threads_1} and descriptors to {fds_1} (plus one)"),
        || threads(server.pid()) <= threads_1 + 1 && descriptors(server.pid()) <= fds_1 + 1,
    );
}

/// SIGKILL to the server's whole process group (what a test harness or a supervisor
/// does): the workers and their setsid children go, the keeper (in a group of its own)
/// survives long enough to remove the pool's temp directory and the cgroups, then exits.
#[test]
fn a_sigkilled_server_with_a_pool_leaves_no_worker_child_temp_dir_or_cgroup() {
    if !python3() {
        return;
    }
    let site = Site::new().with(|root| {
        write_file(&root.join("app.py"), SETSID_APP.as_bytes(), 0o644);
    });
    let wsgi = format!("t={}", site.root().join("app.py").display());
    let mut server = serve(&site, &["--wsgi", &wsgi, "--workers", "2"], &[]);
    if uncontained(&server, "a_sigkilled_server_with_a_pool_...") {
        return;
    }
    let cgroup = server_cgroup(server.pid());
    let keeper = keeper_of(server.pid());
    let mut left = Vec::new();
    for _ in 0..4 {
        let (worker, child) = worker_and_child(&get(&server, "/pool/t"));
        left.extend([worker, child]);
    }
    let dirs = pools_dirs(&site);
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    signal(-(server.pid() as i32), libc::SIGKILL);
    wait_for("the server to exit", || !server.is_running());
    for p in &left {
        wait_for(&format!("{} to end", p.pid), || p.ended());
    }
    wait_for("the keeper to exit", || keeper.ended());
    assert!(!dirs[0].exists(), "the keeper left {}", dirs[0].display());
    assert!(!cgroup.exists(), "the keeper left {}", cgroup.display());
    wait_for("the keeper's line", || {
        server
            .log()
            .iter()
            .any(|l| l.contains("keeper: the server"))
    });
}

/// SIGTERM: the server stops its workers and scripts itself; the keeper then kills what
/// escaped them (a script's setsid child), removes the cgroups, and exits too.
#[test]
fn sigterm_stops_the_server_and_its_keeper_and_leaves_nothing_behind() {
    if !python3() {
        return;
    }
    let site = Site::new()
        .script("leaves.sh", LEAVES_CHILDREN)
        .with(|root| write_file(&root.join("app.py"), SETSID_APP.as_bytes(), 0o644));
    let wsgi = format!("t={}", site.root().join("app.py").display());
    let mut server = serve(&site, &["--wsgi", &wsgi, "--workers", "1"], &[]);
    if uncontained(&server, "sigterm_stops_the_server_and_its_keeper_...") {
        return;
    }
    let cgroup = server_cgroup(server.pid());
    let keeper = keeper_of(server.pid());
    let res = get(&server, "/cgi-bin/leaves.sh");
    assert_eq!(res.status, 200, "{}", res.text());
    let setsid = read_pid(&site.root().join("state/setsid.pid"));
    let (worker, child) = worker_and_child(&get(&server, "/pool/t"));
    signal(server.pid() as i32, libc::SIGTERM);
    wait_for("the server to exit", || !server.is_running());
    for p in [setsid, worker, child, keeper] {
        wait_for(&format!("{} to end", p.pid), || p.ended());
    }
    assert!(!cgroup.exists(), "{} is left", cgroup.display());
    assert!(pools_dirs(&site).is_empty(), "{:?}", pools_dirs(&site));
}

/// Ctrl-C at a terminal sends SIGINT to the whole foreground process group: the server
/// stops, and its keeper, in a group of its own, is not interrupted before its work.
#[test]
fn ctrl_c_stops_the_server_and_the_keeper_still_cleans_up() {
    let site = Site::new().script("leaves.sh", LEAVES_CHILDREN);
    let mut server = serve(&site, &[], &[]);
    if uncontained(&server, "ctrl_c_stops_the_server_...") {
        return;
    }
    let cgroup = server_cgroup(server.pid());
    let keeper = keeper_of(server.pid());
    assert_eq!(get(&server, "/cgi-bin/leaves.sh").status, 200);
    let setsid = read_pid(&site.root().join("state/setsid.pid"));
    signal(-(server.pid() as i32), libc::SIGINT);
    wait_for("the server to exit", || !server.is_running());
    wait_for("the setsid child to end", || setsid.ended());
    wait_for("the keeper to exit", || keeper.ended());
    assert!(!cgroup.exists(), "{} is left", cgroup.display());
}

/// The cgroup2 mount point, as mountinfo shows it.
fn cgroup2_mount() -> Option<String> {
    let info = fs::read_to_string("/proc/self/mountinfo").ok()?;
    info.lines().find_map(|l| {
        let (before, after) = l.split_once(" - ")?;
        (after.split_whitespace().next()? == "cgroup2")
            .then(|| before.split_whitespace().nth(4).map(String::from))?
    })
}

/// Without a writable cgroup v2 (here: the server in a mount namespace where the cgroup2
/// mount is read-only), the server says so in one line and keeps working, and a
/// recycled worker's log thread and pipe still end with it, though its setsid child
/// (which nothing can then catch) lives on.
#[test]
fn without_a_cgroup_the_server_says_so_once_and_still_ends_each_workers_log() {
    // SAFETY: geteuid has no failure.
    let root = unsafe { libc::geteuid() } == 0;
    let Some(mount) = cgroup2_mount().filter(|_| root && python3()) else {
        eprintln!("skipped: needs root, python3 and a cgroup2 mount to make read-only");
        return;
    };
    let site = Site::new().with(|root| {
        write_file(&root.join("app.py"), SETSID_APP.as_bytes(), 0o644);
    });
    let wsgi = format!("t={}", site.root().join("app.py").display());
    let remount = format!("mount -o bind,remount,ro {mount} && exec \"$0\" \"$@\"");
    let wrap = [
        "unshare",
        "-m",
        "--propagation",
        "private",
        "sh",
        "-c",
        &remount,
    ];
    let server = serve(
        &site,
        &["--wsgi", &wsgi, "--workers", "1", "--max-requests", "1"],
        &wrap,
    );
    let warnings = || -> Vec<String> {
        let log = server.log();
        log.into_iter()
            .filter(|l| l.contains(UNCONTAINED))
            .collect()
    };
    wait_for("the line that says so", || !warnings().is_empty());
    assert!(warnings()[0].contains("setsid"), "{}", warnings()[0]);
    assert!(
        keepers().iter().all(|&(_, of)| of != server.pid()),
        "a keeper runs for an uncontained server"
    );
    let started = |n: usize| {
        server
            .log()
            .iter()
            .filter(|l| message(l).starts_with("pool t: worker") && l.contains(" started "))
            .count()
            >= n
    };
    let mut escaped = Vec::new();
    let mut recycle = |n: usize| {
        let (worker, child) = worker_and_child(&get(&server, "/pool/t"));
        escaped.push(child);
        wait_for(&format!("worker {} to be recycled", worker.pid), || {
            reaped(&server, worker.pid)
        });
        wait_for("its successor", || started(n + 1));
    };
    wait_for("the first worker", || started(1));
    recycle(1);
    let (threads_1, fds_1) = (threads(server.pid()), descriptors(server.pid()));
    for n in 2..=5 {
        recycle(n);
    }
    wait_for(
        &format!("threads back to {threads_1} and descriptors to {fds_1} (plus one)"),
        || threads(server.pid()) <= threads_1 + 1 && descriptors(server.pid()) <= fds_1 + 1,
    );
    assert_eq!(warnings().len(), 1, "{}", server.log().join("\n"));
    drop(server);
    // Nothing here kills what escaped: this test does, by its pid (still that process).
    for child in escaped {
        if !child.ended() {
            signal(child.pid as i32, libc::SIGKILL);
        }
    }
}

/// A directory in `tmp` as a server with `owner` would have made it.
fn plant(tmp: &Path, name: &str, owner: &Owner) -> PathBuf {
    let dir = tmp.join(name);
    fs::create_dir(&dir).unwrap();
    fs::write(dir.join(MARKER), owner.to_text()).unwrap();
    dir
}

/// At start, a server with pools removes a dead server's pool directory and nothing
/// else: not a live process's (same pid, same start time), not one of another pid
/// namespace, not one without a marker, not a symlink, not another user's (as root).
/// Its own is 0700 with its marker, and the keeper removes it when the server is killed.
#[test]
fn only_a_dead_servers_own_temp_directory_is_removed_at_start() {
    if !python3() {
        return;
    }
    let site = Site::new().with(|root| {
        write_file(&root.join("app.py"), SETSID_APP.as_bytes(), 0o644);
        fs::create_dir(root.join("tmp")).unwrap();
    });
    let tmp = site.root().join("tmp");
    let me = Owner::this_process().unwrap();
    let dead = {
        let mut child = Command::new("true").spawn().unwrap();
        let owner = Owner {
            pid: child.id(),
            start: private_dir::start_time(child.id()).unwrap_or(1),
            ..me.clone()
        };
        child.wait().unwrap();
        owner
    };
    let removed = plant(&tmp, "cgilab-pools-1-dead", &dead);
    let alive = plant(&tmp, "cgilab-pools-2-alive", &me);
    let other_ns = Owner {
        pidns: me.pidns + 1,
        ..dead.clone()
    };
    let elsewhere = plant(&tmp, "cgilab-pools-3-elsewhere", &other_ns);
    let unmarked = tmp.join("cgilab-pools-4-unmarked");
    fs::create_dir(&unmarked).unwrap();
    let target = plant(&tmp, "target", &dead);
    let link = tmp.join("cgilab-pools-5-link");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let mut kept = vec![alive, elsewhere, unmarked, link.clone(), target];
    // SAFETY: geteuid has no failure.
    if unsafe { libc::geteuid() } == 0 {
        let theirs = plant(&tmp, "cgilab-pools-6-nobody", &dead);
        std::os::unix::fs::chown(&theirs, Some(65534), Some(65534)).unwrap();
        kept.push(theirs);
    } else {
        eprintln!("(another user's directory is tested only as root)");
    }
    let wsgi = format!("t={}", site.root().join("app.py").display());
    let mut server = serve(&site, &["--wsgi", &wsgi, "--workers", "1"], &[]);
    assert!(!removed.exists(), "the dead server's directory is left");
    for dir in &kept {
        assert!(
            fs::symlink_metadata(dir).is_ok(),
            "{} was removed",
            dir.display()
        );
    }
    let own: Vec<PathBuf> = pools_dirs(&site)
        .into_iter()
        .filter(|d| {
            d.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(&format!("cgilab-pools-{}-", server.pid()))
        })
        .collect();
    assert_eq!(own.len(), 1, "{own:?}");
    let meta = fs::symlink_metadata(&own[0]).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o700);
    // SAFETY: geteuid has no failure.
    assert_eq!(meta.uid(), unsafe { libc::geteuid() });
    let marker = Owner::parse(&fs::read_to_string(own[0].join(MARKER)).unwrap()).unwrap();
    assert_eq!(marker.pid, server.pid());
    assert_eq!(marker.pidns, me.pidns);
    if uncontained(&server, "(the keeper's removal of the temp directory)") {
        return;
    }
    let keeper = keeper_of(server.pid());
    signal(server.pid() as i32, libc::SIGKILL);
    wait_for("the server to exit", || !server.is_running());
    wait_for("the keeper to exit", || keeper.ended());
    assert!(!own[0].exists(), "the keeper left {}", own[0].display());
    for dir in &kept {
        assert!(
            fs::symlink_metadata(dir).is_ok(),
            "the keeper removed {}",
            dir.display()
        );
    }
}
