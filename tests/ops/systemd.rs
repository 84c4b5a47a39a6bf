//! systemd's protocols, with the test as a tiny systemd: it makes the listening socket
//! and passes it as descriptor 3 with `LISTEN_FDS=1` and `LISTEN_PID` (socket
//! activation), and binds the datagram socket `NOTIFY_SOCKET` names (readiness).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::{SocketAddr, UnixDatagram, UnixListener};

use cgilab::http::endpoint::Endpoint;

use crate::support::{Dir, WAIT, WHO_APP, activated, get, python3, start, stop, who};

/// An address no server here can bind (TEST-NET-1): a server that serves it did not
/// bind `--listen`.
const UNBINDABLE: &str = "192.0.2.1:80";

/// The next state the server sends to the notify socket.
fn next_state(notify: &UnixDatagram) -> String {
    let mut buf = [0u8; 512];
    let n = notify
        .recv(&mut buf)
        .unwrap_or_else(|e| panic!("no notification within {WAIT:?}: {e}"));
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

/// A notify socket bound at a path in `dir`.
fn notify_socket(dir: &Dir) -> (UnixDatagram, String) {
    let path = dir.path("notify");
    let socket = UnixDatagram::bind(&path).unwrap();
    socket.set_read_timeout(Some(WAIT)).unwrap();
    (socket, path.display().to_string())
}

/// A TCP socket passed by systemd is served instead of `--listen`; the server says
/// `READY=1` once it listens and `STOPPING=1` when a stop begins. systemd keeps the socket
/// across a restart: a connection made while no server runs is answered by the next one.
#[test]
fn a_tcp_socket_systemd_passes_is_served_instead_of_listen() {
    let dir = Dir::new();
    let systemd = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = systemd.local_addr().unwrap();
    let (notify, notify_path) = notify_socket(&dir);
    let args = ["--listen", UNBINDABLE, "--cgi-bin", "."];
    let mut cmd = activated(systemd.as_raw_fd(), None, &args);
    cmd.env("NOTIFY_SOCKET", &notify_path);
    let mut server = start(cmd);
    assert_eq!(server.endpoint, Endpoint::Tcp(addr));
    assert_eq!(
        next_state(&notify),
        format!("READY=1\nSTATUS=listening on http://{addr}")
    );
    assert_eq!(get(&server, "/app/hello").status, 200);
    assert!(
        server.log().iter().any(|l| l.contains("systemd passed")),
        "{:?}",
        server.log()
    );
    let status = stop(&mut server, libc::SIGTERM);
    assert_eq!(next_state(&notify), "STOPPING=1");
    assert!(status.success(), "{status}");

    // No server now; the socket is still systemd's, and the connection waits.
    let mut waiting = TcpStream::connect(addr).unwrap();
    waiting.set_read_timeout(Some(WAIT)).unwrap();
    waiting
        .write_all(b"GET /app/hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut next = start(activated(systemd.as_raw_fd(), None, &args));
    let mut answer = String::new();
    waiting.read_to_string(&mut answer).unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 200") && answer.ends_with("Hello, world!\n"),
        "{answer}"
    );
    assert!(stop(&mut next, libc::SIGTERM).success());
}

/// A unix socket systemd passes is served, and its file, systemd's, outlives the server.
#[test]
fn a_unix_socket_systemd_passes_is_served_and_left_in_place() {
    let dir = Dir::new();
    let path = dir.path("systemd.sock");
    let systemd = UnixListener::bind(&path).unwrap();
    let args = ["--listen", UNBINDABLE, "--cgi-bin", "."];
    let mut server = start(activated(systemd.as_raw_fd(), None, &args));
    assert_eq!(server.endpoint, Endpoint::Unix(path.clone()));
    assert_eq!(get(&server, "/app/hello").status, 200);
    assert!(stop(&mut server, libc::SIGTERM).success());
    assert!(path.exists(), "the server removed systemd's socket");
}

/// A socket in the abstract namespace (it has no path) is served and stopped cleanly,
/// and readiness reaches a notify socket that is abstract too.
#[test]
fn an_abstract_socket_systemd_passes_is_served_and_stopped_cleanly() {
    let dir = Dir::new();
    let name = format!("cgilab-ops-{}-listen", std::process::id());
    let systemd = UnixListener::bind_addr(&SocketAddr::from_abstract_name(&name).unwrap()).unwrap();
    let notify_name = format!("cgilab-ops-{}-notify", std::process::id());
    let notify =
        UnixDatagram::bind_addr(&SocketAddr::from_abstract_name(&notify_name).unwrap()).unwrap();
    notify.set_read_timeout(Some(WAIT)).unwrap();
    let args = ["--listen", UNBINDABLE, "--cgi-bin", "."];
    let mut cmd = activated(systemd.as_raw_fd(), None, &args);
    cmd.env("NOTIFY_SOCKET", format!("@{notify_name}"));
    let mut server = start(cmd);
    assert_eq!(server.endpoint, Endpoint::Unix(format!("@{name}").into()));
    assert!(next_state(&notify).starts_with("READY=1\n"));
    assert_eq!(get(&server, "/app/hello").status, 200);
    let status = stop(&mut server, libc::SIGINT);
    assert_eq!(next_state(&notify), "STOPPING=1");
    assert!(status.success(), "{status}: {:?}", server.log());
    assert!(
        !server.log().iter().any(|l| l.contains("panic")),
        "{:?}",
        server.log()
    );
    drop(dir);
}

/// What the server starts sees none of systemd's variables and does not hold its socket:
/// a worker that did could take connections or speak for the server.
#[test]
fn no_worker_sees_systemds_variables_or_holds_its_socket() {
    if !python3() {
        eprintln!("skipped: python3 is needed for a pool");
        return;
    }
    let dir = Dir::new();
    let app = dir.write("who.py", WHO_APP);
    let (_notify, notify_path) = notify_socket(&dir);
    let systemd = TcpListener::bind("127.0.0.1:0").unwrap();
    let spec = format!("who={}", app.display());
    let args = ["--no-lab", "--listen", UNBINDABLE, "--wsgi", &spec];
    let mut cmd = activated(systemd.as_raw_fd(), None, &args);
    cmd.env("NOTIFY_SOCKET", &notify_path);
    let server = start(cmd);
    let res = get(&server, "/pool/who/");
    assert_eq!(res.status, 200, "{}", res.text());
    let (worker, server_pid, seen) = who(&res);
    assert_eq!(server_pid, server.pid());
    assert_eq!(seen, "", "the worker sees {seen}");
    let socket = format!("socket:[{}]", fd_inode(systemd.as_raw_fd()));
    let held: Vec<_> = std::fs::read_dir(format!("/proc/{worker}/fd"))
        .unwrap()
        .flatten()
        .filter_map(|fd| std::fs::read_link(fd.path()).ok())
        .filter(|link| link.to_string_lossy() == socket)
        .collect();
    assert!(
        held.is_empty(),
        "worker {worker} holds the listening socket"
    );
}

/// Socket activation meant for another process (`LISTEN_PID` is not the server's) is
/// left alone: the server binds `--listen`.
#[test]
fn activation_meant_for_another_process_is_ignored() {
    let systemd = TcpListener::bind("127.0.0.1:0").unwrap();
    let args = ["--listen", "127.0.0.1:0", "--cgi-bin", "."];
    let server = start(activated(systemd.as_raw_fd(), Some("1"), &args));
    let Endpoint::Tcp(addr) = server.endpoint else {
        panic!("{}", server.endpoint)
    };
    assert_ne!(addr, systemd.local_addr().unwrap());
    assert_eq!(get(&server, "/app/hello").status, 200);
}

/// More than one socket is refused in one line that says what to do.
#[test]
fn more_than_one_socket_is_refused_in_one_line() {
    let dir = Dir::new();
    let bin = crate::support::bin();
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg("export LISTEN_PID=$$ LISTEN_FDS=2; exec \"$0\" serve --cgi-bin .")
        .arg(bin)
        .current_dir(dir.root())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert_eq!(said.lines().count(), 1, "{said}");
    assert!(said.contains("single ListenStream="), "{said}");
}

/// The inode of the socket open as `fd`.
fn fd_inode(fd: std::os::fd::RawFd) -> u64 {
    std::fs::metadata(format!("/proc/self/fd/{fd}"))
        .unwrap()
        .ino()
}
