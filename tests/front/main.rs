//! The HTTP front against hostile clients: each test starts the real `cgilab` binary,
//! talks raw bytes to it over 127.0.0.1, and checks the status, the connection, the log
//! line, and where it matters the server's descriptors and memory (from /proc).
//!
//! Modules:
//!
//! - [`heads`]: request heads parsed strictly (RFC 9112 §2-§5): obs-fold, control
//!   bytes, obs-text, Host, versions, sizes, and the front's own answers (Server,
//!   Server-Timing, one log line).
//! - [`host`]: the `Host` field is a host and an optional port, or the request is 400.
//! - [`framing`]: bodies (§6-§7): Transfer-Encoding and Content-Length rules, chunk-size
//!   lines, extensions and trailers, `Upgrade`, `100 Continue`, the body deadline.
//! - [`in_flight`]: one request of a connection at a time: smuggling, pipelining
//!   clients that never read, responses that end the connection.
//! - [`corpus`]: gunicorn's parser corpus (`gunicorn_corpus/`), every file through the
//!   real binary, with the cases where cgilab and gunicorn differ listed and explained.
//! - [`memory`]: what clients cannot make the server keep: latency stats, large forms.
//! - [`startup`]: requests that wait in the listen backlog when the front starts.
//! - [`turns`]: clients that trickle a body hold no `--threads` turn.

#[path = "../cgilab/support.rs"]
mod support;

mod corpus;
mod framing;
mod heads;
mod host;
mod in_flight;
mod memory;
mod startup;
mod turns;

use std::path::Path;

use support::{Conn, Response, Server, Site};

/// Touches `$STATE_DIR/ran`: if it exists, a request reached a script.
pub const MARK: &str =
    "#!/bin/sh\ntouch \"$STATE_DIR/ran\"\nprintf 'Content-Type: text/plain\\n\\nran\\n'\n";
/// Echoes the request body.
pub const CAT: &str = "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n'\nexec cat\n";

/// A site with `mark.sh`, `cat.sh` and `env.sh`, started.
pub fn site() -> Site {
    Site::new()
        .script("mark.sh", MARK)
        .script("cat.sh", CAT)
        .script("env.sh", support::ENV_ECHO)
}

/// True if a script has run on this server.
pub fn a_script_ran(server: &Server) -> bool {
    Path::new(&server.state()).join("ran").exists()
}

/// Sends `bytes` on a new connection, reads one response, and checks that the server
/// then closes the connection.
pub fn refused(server: &Server, bytes: &[u8]) -> Response {
    let mut conn = server.connect();
    let _ = conn.try_send(bytes);
    let res = conn
        .try_response(false)
        .unwrap_or_else(|e| panic!("no response to {:?}: {e}", String::from_utf8_lossy(bytes)));
    assert!(
        conn.closed_within(support::WAIT),
        "the connection stays open after {}",
        res.status
    );
    res
}

/// The server's resident set, in KiB (VmRSS).
pub fn rss_kib(pid: u32) -> u64 {
    proc_status_kib(pid, "VmRSS:")
}

/// The server's peak resident set, in KiB (VmHWM).
pub fn peak_kib(pid: u32) -> u64 {
    proc_status_kib(pid, "VmHWM:")
}

fn proc_status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .expect("a size in /proc status")
}

/// Waits until the server is done with everything sent on `conn` so far: it answers a
/// request sent after it (a connection has one request in flight at a time, so whatever
/// came before was handled first), or it closes the connection (and with it, its thread
/// has finished whatever it ran). Returns the statuses answered before that.
pub fn done_with(conn: &mut Conn) -> Vec<u16> {
    let _ = conn.try_send(b"GET /app/hello?done HTTP/1.1\r\nHost: x\r\n\r\n");
    let mut before = Vec::new();
    while let Ok(res) = conn.try_response(false) {
        if res.text() == "Hello, world!\n" {
            break;
        }
        before.push(res.status);
    }
    before
}

/// A keep-alive connection that still answers after what the test did.
pub fn still_serves(conn: &mut Conn) {
    let res = conn.get("/app/hello");
    assert_eq!(res.status, 200);
    assert_eq!(res.text(), "Hello, world!\n");
}
