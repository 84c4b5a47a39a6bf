//! Under supervisord (the seed's picture: supervisor keeps the server alive): cgilab
//! stays in the foreground as supervisord's child, is restarted after `kill -9` with no
//! worker of the old one left, and stops cleanly, files and all, on supervisord's
//! SIGTERM. Everything supervisord has (its socket, pid file and logs) is in a temporary
//! directory.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use cgilab::client::http::{Req, request_unix};

use crate::support::{
    Dir, WHO_APP, alive, bin, children, parent, processes_with_args, python3, send, wait_for, who,
};

/// supervisord, killed by its PID (and the server it runs, by the pid in the pid file)
/// if the test ends before stopping them.
struct Supervisord {
    child: Child,
    pid_file: std::path::PathBuf,
}

impl Drop for Supervisord {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            send(self.child.id(), libc::SIGKILL);
            let pid = fs::read_to_string(&self.pid_file).ok();
            if let Some(pid) = pid.and_then(|p| p.trim().parse().ok()) {
                send(pid, libc::SIGKILL);
            }
        }
        let _ = self.child.wait();
    }
}

/// The server's pid, from its pid file, once it holds one other than `old`.
fn server_pid(pid_file: &Path, old: Option<u32>) -> u32 {
    let mut pid = 0;
    wait_for("a server pid in the pid file", || {
        pid = fs::read_to_string(pid_file)
            .ok()
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or(0);
        pid != 0 && Some(pid) != old && alive(pid)
    });
    pid
}

/// Asks the app until it answers (the pool may still be booting): its worker and the
/// worker's parent.
fn ask(sock: &Path) -> (u32, u32) {
    let mut answer = None;
    wait_for("an answer over the socket", || {
        answer = request_unix(sock, &Req::get("/"))
            .ok()
            .filter(|r| r.status == 200);
        answer.is_some()
    });
    let (worker, parent, _) = who(&answer.unwrap());
    (worker, parent)
}

/// The workers of server `pid`: its children, once there are `n`.
fn workers(pid: u32, n: usize) -> BTreeSet<u32> {
    let mut found = BTreeSet::new();
    wait_for("the server's workers", || {
        found = children(pid);
        found.len() >= n
    });
    found
}

#[test]
fn supervisord_restarts_a_killed_server_and_no_worker_of_the_old_one_is_left() {
    let importable = |module: &str| {
        Command::new("python3")
            .args(["-c", &format!("import {module}")])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !python3() || !importable("supervisor") {
        eprintln!("skipped: needs python3 and supervisor (pip install supervisor)");
        return;
    }
    let dir = Dir::new();
    let root = dir.root().display().to_string();
    dir.write("app.py", WHO_APP);
    let config = dir.write(
        "cgilab.toml",
        "lab = false\nlisten = \"unix:cgilab.sock\"\npid = \"cgilab.pid\"\nworkers = 2\n\n\
         [pool.app]\napp = \"app.py\"\nmount = \"/\"\n",
    );
    let conf = dir.write(
        "supervisord.conf",
        &format!(
            "[supervisord]\nnodaemon=true\nlogfile={root}/supervisord.log\n\
             pidfile={root}/supervisord.pid\nchildlogdir={root}\n\n\
             [unix_http_server]\nfile={root}/supervisor.sock\n\n\
             [program:cgilab]\ncommand={bin} serve --config {config}\n\
             startsecs=0\nautorestart=true\nstopsignal=TERM\nstopwaitsecs=60\n\
             stdout_logfile={root}/cgilab.out\nstderr_logfile={root}/cgilab.err\n",
            bin = bin(),
            config = config.display(),
        ),
    );
    let sock = dir.path("cgilab.sock");
    let pid_file = dir.path("cgilab.pid");
    let child = Command::new("python3")
        .args(["-m", "supervisor.supervisord", "-n", "-c"])
        .arg(&conf)
        .current_dir(dir.root())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting supervisord");
    let mut supervisord = Supervisord {
        child,
        pid_file: pid_file.clone(),
    };
    let supervisord_pid = supervisord.child.id();
    let log = || fs::read_to_string(dir.path("cgilab.err")).unwrap_or_default();

    // In the foreground: supervisord's own child is the server.
    let first = server_pid(&pid_file, None);
    assert_eq!(parent(first), Some(supervisord_pid), "{}", log());
    let (_, answered_by) = ask(&sock);
    assert_eq!(answered_by, first);
    let old_workers = workers(first, 2);
    let old_keepers = processes_with_args("__keeper", &first.to_string());

    // kill -9: supervisord starts a new server, which replaces the stale socket and pid
    // file; nothing of the old one is left.
    send(first, libc::SIGKILL);
    let second = server_pid(&pid_file, Some(first));
    assert_eq!(parent(second), Some(supervisord_pid));
    let (_, answered_by) = ask(&sock);
    assert_eq!(answered_by, second);
    for pid in old_workers.iter().chain(&old_keepers) {
        wait_for(&format!("process {pid} of the killed server to go"), || {
            !alive(*pid)
        });
    }
    assert!(
        log().contains("replaced the stale socket"),
        "the new server's log:\n{}",
        log()
    );

    // supervisord stopped by its PID: it stops the server (SIGTERM), and everything goes.
    let new_workers = workers(second, 2);
    let new_keepers = processes_with_args("__keeper", &second.to_string());
    send(supervisord_pid, libc::SIGTERM);
    let mut exited = false;
    wait_for("supervisord to exit", || {
        exited = matches!(supervisord.child.try_wait(), Ok(Some(_)));
        exited
    });
    for pid in [second].iter().chain(&new_workers).chain(&new_keepers) {
        wait_for(&format!("process {pid} to go"), || !alive(*pid));
    }
    let log = log();
    assert!(log.contains("stopped on SIGTERM"), "{log}");
    assert!(!sock.exists(), "the socket is left");
    assert!(!pid_file.exists(), "the pid file is left");
    let said = fs::read_to_string(dir.path("supervisord.log")).unwrap_or_default();
    assert!(
        said.contains("stopped: cgilab (exit status 0)"),
        "supervisord's log:\n{said}"
    );
}
