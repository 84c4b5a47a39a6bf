//! `--pid FILE` (gunicorn's `-p`): written once the server listens, removed at exit;
//! a file naming a live process refuses the start, a stale one is replaced. And the
//! config file's keys for this part: `pid`, and `listen = "unix:PATH"`, both relative
//! to the file.

use std::fs;

use crate::support::{Dir, get, serve, serve_fails, stop};

fn pid_in(path: &std::path::Path) -> u32 {
    fs::read_to_string(path).unwrap().trim().parse().unwrap()
}

/// The file holds the server's pid once it listens, and is gone after a stop.
#[test]
fn the_pid_file_is_written_once_listening_and_removed_at_exit() {
    let dir = Dir::new();
    let pid_file = dir.path("cgilab.pid");
    let pid = pid_file.to_str().unwrap();
    let mut server = serve(
        &dir,
        &["--listen", "127.0.0.1:0", "--cgi-bin", ".", "--pid", pid],
    );
    // The listening line comes after the file is written.
    assert_eq!(pid_in(&pid_file), server.pid());
    assert!(stop(&mut server, libc::SIGTERM).success());
    assert!(!pid_file.exists());
}

/// A file naming a running process refuses the start, in one line, and is left as it
/// was; one naming a process that is gone is replaced.
#[test]
fn a_live_pid_file_is_refused_and_a_stale_one_replaced() {
    let dir = Dir::new();
    let pid_file = dir.path("cgilab.pid");
    let pid = pid_file.to_str().unwrap();
    let first = serve(
        &dir,
        &["--listen", "127.0.0.1:0", "--cgi-bin", ".", "--pid", pid],
    );
    let (status, said) = serve_fails(
        &dir,
        &["--listen", "127.0.0.1:0", "--cgi-bin", ".", "--pid", pid],
    );
    assert_eq!(status.code(), Some(1), "{said}");
    assert_eq!(said.lines().count(), 1, "{said}");
    assert!(
        said.contains(&format!("process {} is running", first.pid())),
        "{said}"
    );
    assert_eq!(pid_in(&pid_file), first.pid());
    assert_eq!(get(&first, "/app/hello").status, 200);

    // Killed outright, the first leaves its file behind: stale.
    let first_pid = first.pid();
    drop(first);
    assert_eq!(pid_in(&pid_file), first_pid);
    let second = serve(
        &dir,
        &["--listen", "127.0.0.1:0", "--cgi-bin", ".", "--pid", pid],
    );
    assert_eq!(pid_in(&pid_file), second.pid());
}

/// `pid` and `listen = "unix:PATH"` in a config file are relative to the file, whatever
/// directory the server starts in (as under a supervisor).
#[test]
fn pid_and_a_unix_listen_in_a_config_file_are_relative_to_it() {
    let dir = Dir::new();
    fs::create_dir(dir.path("etc")).unwrap();
    fs::create_dir(dir.path("etc/cgi-bin")).unwrap();
    let config = dir.write(
        "etc/cgilab.toml",
        "listen = \"unix:cgilab.sock\"\npid = \"cgilab.pid\"\ncgi_bin = \"cgi-bin\"\n",
    );
    let mut server = serve(&dir, &["--config", config.to_str().unwrap()]);
    let sock = dir.path("etc/cgilab.sock");
    assert_eq!(
        server.endpoint.to_string(),
        format!("unix:{}", sock.display())
    );
    assert_eq!(get(&server, "/app/hello").status, 200);
    assert_eq!(pid_in(&dir.path("etc/cgilab.pid")), server.pid());
    assert!(stop(&mut server, libc::SIGTERM).success());
    assert!(!sock.exists() && !dir.path("etc/cgilab.pid").exists());
}
