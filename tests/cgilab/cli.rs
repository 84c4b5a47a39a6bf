//! The command line: startup errors are one clear line and a non-zero exit.

use std::net::TcpListener;

use crate::support::{Site, run_cli};

/// The `cgilab: error:` lines of a run, and every other line.
fn error_lines(stderr: &str) -> (Vec<&str>, Vec<&str>) {
    stderr
        .lines()
        .partition(|l| l.starts_with("cgilab: error:"))
}

/// A missing cgi-bin directory stops the server with one error line naming --cgi-bin.
#[test]
fn missing_cgi_bin_is_one_error_line() {
    let site = Site::new();
    let missing = site.root().join("no-such-dir");
    let exit = run_cli(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--cgi-bin",
        missing.to_str().unwrap(),
    ]);
    assert!(!exit.status.success(), "{}", exit.stderr);
    let (errors, others) = error_lines(&exit.stderr);
    assert_eq!(errors.len(), 1, "{}", exit.stderr);
    assert!(others.is_empty(), "{}", exit.stderr);
    assert!(errors[0].contains("--cgi-bin"), "{}", errors[0]);
    assert!(errors[0].contains("does not exist"), "{}", errors[0]);
}

/// A port that is already taken stops the server with a message that says so.
#[test]
fn port_in_use_is_a_clear_error() {
    let site = Site::new();
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let exit = run_cli(&[
        "serve",
        "--listen",
        &addr,
        "--cgi-bin",
        site.cgi_bin().to_str().unwrap(),
    ]);
    assert!(!exit.status.success(), "{}", exit.stderr);
    let (errors, _) = error_lines(&exit.stderr);
    assert_eq!(errors.len(), 1, "{}", exit.stderr);
    assert!(errors[0].contains("in use"), "{}", errors[0]);
    assert!(errors[0].contains(&addr), "{}", errors[0]);
}

/// An --env without `=` is refused with a message showing the expected form.
#[test]
fn malformed_env_is_an_error() {
    let site = Site::new();
    let exit = run_cli(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--cgi-bin",
        site.cgi_bin().to_str().unwrap(),
        "--env",
        "NO_EQUALS_SIGN",
    ]);
    assert!(!exit.status.success(), "{}", exit.stderr);
    let (errors, _) = error_lines(&exit.stderr);
    assert_eq!(errors.len(), 1, "{}", exit.stderr);
    assert!(errors[0].contains("NO_EQUALS_SIGN"), "{}", errors[0]);
    assert!(errors[0].contains("KEY=VALUE"), "{}", errors[0]);
}

/// A flag clap cannot parse is reported like every other startup error: one line, in the
/// `cgilab: error:` form, saying where to look.
#[test]
fn malformed_flags_are_one_error_line() {
    for args in [
        &["serve", "--timeout", "abc"][..],
        &["serve", "--no-such-flag"],
        &["bench", "--format", "xml"],
    ] {
        let exit = run_cli(args);
        assert!(!exit.status.success(), "{args:?}");
        let lines: Vec<&str> = exit.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{args:?}: {}", exit.stderr);
        assert!(lines[0].starts_with("cgilab: error: "), "{}", lines[0]);
        assert!(lines[0].ends_with("see `cgilab --help`"), "{}", lines[0]);
    }
    let exit = run_cli(&["bench", "--format", "xml"]);
    assert!(exit.stderr.contains("table, csv, json"), "{}", exit.stderr);
}

/// `/wsgi/NAME` with nothing embedded as NAME is a 404 that says how to embed it, and,
/// on a build without embedded Python, how to get such a build (lesson 13).
#[test]
fn a_wsgi_url_with_nothing_embedded_says_how_to_embed() {
    let mut server = Site::new().start();
    let res = server.get("/wsgi/hello");
    assert_eq!(res.status, 404);
    let text = res.text();
    assert!(
        text.contains("no app embedded as `hello` at `/wsgi/hello`")
            && text.contains("--embed hello=FILE"),
        "{text}"
    );
    assert_eq!(
        text.contains("--features python"),
        !cfg!(feature = "python"),
        "{text}"
    );
    assert!(server.is_running());
}

/// On a build without embedded Python, `--embed` is one error line that says how to get
/// a build with it (the default build needs no Python shared library).
#[cfg(not(feature = "python"))]
#[test]
fn embed_without_the_python_feature_is_one_error_line() {
    let site = Site::new();
    let app = site.root().join("app.py");
    std::fs::write(&app, "def application(e, s): pass\n").unwrap();
    let exit = run_cli(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--cgi-bin",
        site.cgi_bin().to_str().unwrap(),
        "--embed",
        &format!("app={}", app.display()),
    ]);
    assert!(!exit.status.success(), "{}", exit.stderr);
    let (errors, others) = error_lines(&exit.stderr);
    assert_eq!(errors.len(), 1, "{}", exit.stderr);
    assert!(others.is_empty(), "{}", exit.stderr);
    assert!(errors[0].contains("--features python"), "{}", errors[0]);
}
