//! The logs: every line of the server's log starts with the time, RFC 3339 in UTC; a
//! script's stderr comes before its access line; `--access-log FILE|-` writes a line per
//! request in `common`, `combined` or gunicorn's atoms, beside the line with timings;
//! SIGUSR1 reopens that file; what a client or a script sends never reaches a log raw.

use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use cgilab::log::clock::{Utc, split_time};

use crate::support::{HELLO, Server, Site, WAIT, run_cli};

/// Writes to stderr before and after its response.
const CHATTY: &str = "#!/bin/sh\necho 'chatty first words' >&2\n\
                      printf 'Content-Type: text/plain\\n\\nok\\n'\n\
                      echo 'chatty last words' >&2\n";

/// Waits (bounded) until the file at `path` has a line containing `what`; returns its
/// lines.
fn wait_for_line(path: &Path, what: &str) -> Vec<String> {
    let deadline = Instant::now() + WAIT;
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if text.lines().any(|l| l.contains(what)) {
            return text.lines().map(String::from).collect();
        }
        assert!(
            Instant::now() < deadline,
            "no line with `{what}` in {} within {WAIT:?}; it holds:\n{text}",
            path.display()
        );
        thread::sleep(Duration::from_millis(20));
    }
}

fn signal(server: &Server, signal: libc::c_int) {
    // SAFETY: kill(2) on the server's own pid, which is not reaped while `server` lives.
    unsafe {
        libc::kill(server.pid() as libc::pid_t, signal);
    }
}

/// Every line the server writes, whoever it is about (its start, an access line, a
/// script's stderr, a signal, a 404), starts with the time in RFC 3339, in UTC
/// (`2026-11-24T06:55:09.412Z`), between a clock read before the server started and one
/// read after the lines came.
#[test]
fn every_line_starts_with_the_time_in_rfc3339_utc() {
    let before = Utc::now().rfc3339();
    let server = Site::new()
        .script("hello.sh", HELLO)
        .script("chatty.sh", CHATTY)
        .start();
    server.get("/cgi-bin/hello.sh");
    server.get("/cgi-bin/chatty.sh");
    server.get("/app/hello");
    server.get("/cgi-bin/nothing-here");
    // SIGUSR1 with no --access-log: a line that says so, and the server goes on (the
    // default action of USR1 would end it).
    signal(&server, libc::SIGUSR1);
    server.wait_log("about SIGUSR1", |l| {
        l == "cgilab: SIGUSR1: no --access-log file to reopen"
    });
    server.access_line("GET", "/cgi-bin/nothing-here");
    assert_eq!(server.get("/app/hello").status, 200);
    server.access_line("GET", "/cgi-bin/chatty.sh");
    let after = Utc::now().rfc3339();
    let lines = server.timed_log();
    assert!(lines.len() >= 7, "{}", lines.join("\n"));
    for line in &lines {
        let (time, _) = split_time(line).unwrap_or_else(|| panic!("no time: {line:?}"));
        assert!(
            before.as_str() <= time && time <= after.as_str(),
            "{time} is not between {before} and {after}: {line}"
        );
    }
}

/// A script's stderr lines come before its access line, those it wrote after its
/// response too: the stream is read to its end before the request is logged.
#[test]
fn a_scripts_stderr_comes_before_its_access_line() {
    let server = Site::new().script("chatty.sh", CHATTY).start();
    assert_eq!(server.get("/cgi-bin/chatty.sh").status, 200);
    server.access_line("GET", "/cgi-bin/chatty.sh");
    let log = server.log();
    let at = |what: &str| {
        log.iter()
            .position(|l| l.contains(what))
            .unwrap_or_else(|| panic!("no `{what}` in:\n{}", log.join("\n")))
    };
    let access = at(" GET /cgi-bin/chatty.sh 200 ");
    assert!(
        at("stderr chatty.sh: chatty first words") < access,
        "{log:?}"
    );
    assert!(
        at("stderr chatty.sh: chatty last words") < access,
        "{log:?}"
    );
}

/// `--access-log FILE` writes gunicorn's default line (the Combined Log Format: no time
/// in front, the referrer and user agent at the end), and the server's log keeps its line
/// with timings.
#[test]
fn an_access_log_file_gets_combined_lines_beside_the_timing_line() {
    let site = Site::new().script("hello.sh", HELLO);
    let path = site.root().join("access.log");
    let server = site.arg("--access-log").arg(path.to_str().unwrap()).start();
    let res = server.connect().request(
        "GET",
        "/cgi-bin/hello.sh",
        &[
            ("User-Agent", "probe/1.0"),
            ("Referer", "http://example.test/from"),
            ("Connection", "close"),
        ],
        b"",
    );
    assert_eq!(res.status, 200);
    let lines = wait_for_line(&path, "/cgi-bin/hello.sh");
    assert_eq!(lines.len(), 1, "{lines:?}");
    let line = &lines[0];
    let (start, rest) = line.split_at("127.0.0.1 - - [".len());
    assert_eq!(start, "127.0.0.1 - - [", "{line}");
    // The time as CLF writes it: [24/Nov/2026:06:55:09 +0000].
    let (time, rest) = rest.split_once("] ").expect("the time's bracket");
    assert_eq!(time.len(), "24/Nov/2026:06:55:09 +0000".len(), "{line}");
    assert!(time.ends_with(" +0000"), "{line}");
    assert_eq!(
        rest,
        r#""GET /cgi-bin/hello.sh HTTP/1.1" 200 14 "http://example.test/from" "probe/1.0""#
    );
    let timing = server.access_line("GET", "/cgi-bin/hello.sh");
    assert!(timing.contains(" total="), "{timing}");
}

/// A format of gunicorn's atoms: request and response headers, environ variables (`-`
/// for a request that never had one), the Basic user's name and never the password;
/// `-` sends the lines to standard output.
#[test]
fn a_format_of_gunicorns_atoms_to_standard_output() {
    let site = Site::new().script("hello.sh", HELLO);
    let out = site.root().join("stdout");
    let format = "%(h)s %(m)s %(U)s %(q)s %(H)s %(s)s %(B)s %(b)s %({x-request-id}i)s \
                  %({content-type}o)s %({script_name}e)s %(u)s %(l)s 100%%";
    let server = site
        .stdout_to(&out)
        .arg("--access-log")
        .arg("-")
        .arg("--access-log-format")
        .arg(format)
        .start();
    let mut conn = server.connect();
    conn.request(
        "GET",
        "/cgi-bin/hello.sh?x=1",
        &[
            ("X-Request-Id", "r-42"),
            ("Authorization", "Basic YWxpY2U6c2VjcmV0"), // alice:secret
        ],
        b"",
    );
    conn.request(
        "GET",
        "/cgi-bin/nothing-here",
        &[("Connection", "close")],
        b"",
    );
    let lines = wait_for_line(&out, "/cgi-bin/nothing-here");
    assert_eq!(
        lines[0],
        "127.0.0.1 GET /cgi-bin/hello.sh x=1 HTTP/1.1 200 14 14 r-42 text/plain \
         /cgi-bin/hello.sh alice - 100%"
    );
    let (start, end) = (
        "127.0.0.1 GET /cgi-bin/nothing-here - HTTP/1.1 404 ",
        " - text/plain; charset=utf-8 - - - 100%",
    );
    assert!(
        lines[1].starts_with(start) && lines[1].ends_with(end),
        "{}",
        lines[1]
    );
    assert!(!lines.concat().contains("secret"));
}

/// SIGUSR1 reopens the access log, as logrotate expects of nginx and gunicorn: the
/// renamed file keeps the lines written before, a new file gets those after.
#[test]
fn sigusr1_reopens_the_access_log_after_a_rename() {
    let site = Site::new().script("hello.sh", HELLO);
    let path = site.root().join("access.log");
    let rotated = site.root().join("access.log.1");
    let server = site.arg("--access-log").arg(path.to_str().unwrap()).start();
    server.get("/cgi-bin/hello.sh?before");
    wait_for_line(&path, "?before");
    std::fs::rename(&path, &rotated).unwrap();
    signal(&server, libc::SIGUSR1);
    let said = server.wait_log("about SIGUSR1", |l| l.starts_with("cgilab: SIGUSR1: "));
    assert_eq!(
        said,
        format!(
            "cgilab: SIGUSR1: reopened the access log {}",
            path.display()
        )
    );
    server.get("/cgi-bin/hello.sh?after");
    let new = wait_for_line(&path, "?after");
    let old = std::fs::read_to_string(&rotated).unwrap();
    assert!(old.contains("?before") && !old.contains("?after"), "{old}");
    assert!(new.iter().all(|l| !l.contains("?before")), "{new:?}");
}

/// `--quiet` quiets the server's log only: an --access-log still gets every line.
#[test]
fn a_quiet_server_still_writes_its_access_log() {
    let site = Site::new().script("hello.sh", HELLO);
    let path = site.root().join("access.log");
    let server = site
        .arg("--quiet")
        .arg("--access-log")
        .arg(path.to_str().unwrap())
        .arg("--access-log-format")
        .arg("common")
        .start();
    let mut conn = server.connect();
    assert_eq!(
        conn.request("GET", "/cgi-bin/hello.sh", &[], b"").status,
        200
    );
    // A failure is logged even by a quiet server; on the same connection it comes after
    // the first request was logged in full.
    conn.request(
        "GET",
        "/cgi-bin/nothing-here",
        &[("Connection", "close")],
        b"",
    );
    server.access_line("GET", "/cgi-bin/nothing-here");
    let lines = wait_for_line(&path, "/cgi-bin/nothing-here");
    assert!(
        lines[0].ends_with(r#""GET /cgi-bin/hello.sh HTTP/1.1" 200 14"#),
        "{lines:?}"
    );
    assert!(
        !server
            .log()
            .iter()
            .any(|l| l.contains("GET /cgi-bin/hello.sh")),
        "{}",
        server.log_text()
    );
}

/// What a client sends and a script writes is escaped in both logs: a header cannot end
/// a quoted field of the access log, and no control byte reaches either log raw.
#[test]
fn control_bytes_never_reach_a_log_raw() {
    let site = Site::new()
        .script("hello.sh", HELLO)
        .script("ctl.sh", "#!/bin/sh\nprintf 'evil\\033[31m red\\r forged\\n' >&2\nprintf 'Content-Type: text/plain\\n\\nok\\n'\n");
    let path = site.root().join("access.log");
    let server = site.arg("--access-log").arg(path.to_str().unwrap()).start();
    let mut conn = server.connect();
    // A tab, a quote and a C1 control byte (0x9b, CSI to a terminal) in the user agent.
    conn.send(
        b"GET /cgi-bin/hello.sh HTTP/1.1\r\nHost: x\r\nUser-Agent: a\tb\"c\x9b\r\n\
          Connection: close\r\n\r\n",
    );
    assert_eq!(conn.response().status, 200);
    assert_eq!(server.get("/cgi-bin/ctl.sh").status, 200);
    let lines = wait_for_line(&path, "/cgi-bin/ctl.sh");
    assert!(
        lines[0].ends_with(r#" "-" "a\tb\"c\u{9b}""#),
        "{}",
        lines[0]
    );
    let logged = server.wait_log("from ctl.sh's stderr", |l| l.starts_with("stderr ctl.sh: "));
    assert_eq!(logged, r"stderr ctl.sh: evil\u{1b}[31m red\r forged");
    let text = std::fs::read_to_string(&path).unwrap() + &server.timed_log().join("\n");
    assert!(
        !text.chars().any(|c| c.is_control() && c != '\n'),
        "{text:?}"
    );
}

/// Bad --access-log and --access-log-format values stop the server with one line that
/// says what to do.
#[test]
fn bad_access_log_flags_are_one_line_that_says_what_to_do() {
    let site = Site::new();
    let cgi_bin = site.cgi_bin();
    for (args, says) in [
        (
            &["--access-log", "-", "--access-log-format", "%(h)s %(x)s"][..],
            "--access-log-format: `%(x)s` is not an atom cgilab knows; use common, combined",
        ),
        (
            &["--access-log", "-", "--access-log-format", "%(h)d"],
            "must be followed by `s`",
        ),
        (
            &["--access-log-format", "combined"],
            "--access-log-format combined needs --access-log FILE (or - for standard output)",
        ),
        (
            &["--access-log", "/nonexistent-dir/access.log"],
            "cannot open --access-log /nonexistent-dir/access.log: ",
        ),
        (&["--access-log", ""], "--access-log is empty; pass a FILE"),
    ] {
        let mut all = vec![
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--cgi-bin",
            cgi_bin.to_str().unwrap(),
        ];
        all.extend_from_slice(args);
        let exit = run_cli(&all);
        assert!(!exit.status.success(), "{args:?}: {}", exit.stderr);
        let lines: Vec<&str> = exit.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{args:?}: {}", exit.stderr);
        assert!(lines[0].starts_with("cgilab: error: "), "{}", lines[0]);
        assert!(lines[0].contains(says), "{args:?}: {}", lines[0]);
    }
}
