//! A worker's log in the server's: what an app writes to stderr about a request (its
//! prints, `wsgi.errors`, the traceback of an exception) comes before that request's
//! access line, and every line has the time in front.

use cgilab::log::clock::split_time;

use crate::support::*;

/// Writes many lines to `wsgi.errors` (more than the thread that copies the worker's
/// log can have copied by the time the 500 arrives), then raises.
const NOISY_FAILURE: &str = r#"def application(environ, start_response):
    if environ["QUERY_STRING"] == "fail":
        for i in range(5000):
            print("noise %d" % i, file=environ["wsgi.errors"])
        raise RuntimeError("the failure of this request")
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok\n"]
"#;

/// The traceback of a 500 (and everything the app wrote before it) comes before the
/// 500's access line, for a sync worker and a threaded one: the request catches up with
/// the worker's log before it is logged, instead of racing the thread that copies it.
#[test]
fn an_apps_traceback_comes_before_its_500s_access_line() {
    let site = Site::new().file("app.py", NOISY_FAILURE);
    for class in [&["--worker-class", "sync"][..], &["--worker-threads", "4"]] {
        let mut args = vec!["--wsgi".to_string(), site.wsgi("t", "app.py")];
        args.extend(["--workers", "1"].map(String::from));
        args.extend(class.iter().map(|a| a.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let server = site.serve(&args);
        assert_eq!(get(&server, "/pool/t?fail").status, 500);
        wait_for_log(&server, 1, &[" GET /pool/t?fail 500 ", " mode=pool"]);
        let log = server.log();
        let at = |what: &str| {
            log.iter()
                .position(|l| l.contains(what))
                .unwrap_or_else(|| panic!("{class:?}: no `{what}` in the log"))
        };
        let access = at(" GET /pool/t?fail 500 ");
        for before in [
            "noise 0",
            "noise 4999",
            "RuntimeError: the failure of this request",
        ] {
            assert!(
                at(before) < access,
                "{class:?}: `{before}` after the access line"
            );
        }
        for line in &log {
            assert!(split_time(line).is_some(), "no time: {line:?}");
        }
    }
}

/// Writes many lines to `wsgi.errors`, then answers with a header that would split the
/// response (a 502, an error the server logs even with `--quiet`).
const NOISY_502: &str = r#"def application(environ, start_response):
    for i in range(5000):
        print("noise %d" % i, file=environ["wsgi.errors"])
    start_response("200 OK", [("X-Split", "a\r\nX-Injected: yes")])
    return [b"split\n"]
"#;

/// With `--quiet` only a request that failed has a line in the log, and the worker's
/// lines about it still come before that line.
#[test]
fn with_quiet_a_failed_requests_line_still_comes_after_the_workers_lines() {
    let site = Site::new().file("app.py", NOISY_502);
    let server = site.serve(&[
        "--quiet",
        "--wsgi",
        &site.wsgi("t", "app.py"),
        "--workers",
        "1",
    ]);
    assert_eq!(get(&server, "/pool/t").status, 502);
    wait_for_log(&server, 1, &[" GET /pool/t 502 "]);
    let log = server.log();
    let at = |what: &str| {
        log.iter()
            .position(|l| l.contains(what))
            .unwrap_or_else(|| panic!("no `{what}` in the log"))
    };
    let line = at(" GET /pool/t 502 ");
    assert!(
        at("noise 4999") < line,
        "the worker's lines after the 502's"
    );
}
