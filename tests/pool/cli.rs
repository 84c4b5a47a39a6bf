//! Bad pool flags: one `cgilab: error:` line that says what to do, and no server.

use std::process::Command;

use crate::support::*;

fn error_of(site: &Site, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_cgilab"))
        .args(["serve", "--listen", "127.0.0.1:0", "--cgi-bin"])
        .arg(site.path("cgi-bin"))
        .args(args)
        .current_dir(site.dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success(), "{args:?} was accepted");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("cgilab: error: "), "{err}");
    err
}

#[test]
fn bad_pool_flags_are_one_line_that_says_what_to_do() {
    let site = Site::new().file("app.py", PID_APP).file("app.txt", "");
    let app = site.wsgi("t", "app.py");
    let err = error_of(&site, &["--wsgi", "app.py"]);
    assert!(err.contains("NAME=FILE"), "{err}");
    let err = error_of(&site, &["--wsgi", "t=missing.py"]);
    assert!(err.contains("missing.py"), "{err}");
    let err = error_of(&site, &["--wsgi", &app, "--wsgi", &app]);
    assert!(err.contains("twice"), "{err}");
    let err = error_of(&site, &["--wsgi", "bad/name=app.py"]);
    assert!(err.contains("bad/name"), "{err}");
    let err = error_of(&site, &["--wsgi", &app, "--workers", "0"]);
    assert!(err.contains("--workers"), "{err}");
    let err = error_of(&site, &["--wsgi", &app, "--python", "/no/such/python"]);
    assert!(err.contains("--python"), "{err}");
    let txt = format!("t={}", site.path("app.txt").display());
    let err = error_of(&site, &["--fastcgi", &txt]);
    assert!(err.contains("interpreter"), "{err}");
}
