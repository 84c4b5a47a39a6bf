//! `cgilab routes`: the route table, from the command line.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_cgilab");
const CGI_BIN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/cgi-bin");

/// `cgilab routes` prints every script and app with what runs and its twin.
#[test]
fn routes_lists_scripts_apps_and_twins() {
    let out = Command::new(BIN)
        .args(["routes", "--cgi-bin", CGI_BIN])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let row = |url: &str| {
        let first_cell = format!("│ {url} ");
        text.lines()
            .find(|l| l.starts_with(&first_cell))
            .unwrap_or_default()
            .to_string()
    };
    assert!(row("/cgi-bin/hello.sh").contains("/app/hello"), "{text}");
    assert!(
        row("/app/hello").contains("gateway") && row("/app/hello").contains("/cgi-bin/hello.py"),
        "{text}"
    );
    assert!(row("/cgi-bin/broken.sh").contains("cgi"), "{text}");
    let missing = Command::new(BIN)
        .args(["routes", "--cgi-bin", "/nonexistent-dir"])
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("pass --cgi-bin DIR"));
}

/// With `--preload`, a WSGI pool's row says its workers are forked from a preloader.
#[test]
fn routes_say_when_workers_are_forked_from_a_preloader() {
    let out = Command::new(BIN)
        .args(["routes", "--cgi-bin", CGI_BIN, "--preload"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let pool = text
        .lines()
        .find(|l| l.starts_with("│ /pool/hello "))
        .unwrap_or_else(|| panic!("a /pool/hello row in {text}"));
    assert!(pool.contains("forked from one preloader"), "{text}");
    assert!(pool.contains("--preload"), "{text}");
}
