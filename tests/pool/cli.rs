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

/// Loading flags that are wrong on their face: an empty spec or callable, a name that is
/// neither a module nor a file, a callable that is not a name or a call, a `--chdir` or
/// `--pythonpath` that does not exist, a `--pool-env` for no pool or without a name.
#[test]
fn bad_loading_flags_are_one_line_that_says_what_to_do() {
    let site = Site::new().file("app.py", PID_APP).file("not-a-dir", "");
    let app = site.wsgi("t", "app.py");
    let cases: [(&[&str], &str); 11] = [
        (&["--wsgi", "t="], "NAME=MODULE"),
        (&["--wsgi", "t=pkg.wsgi:"], "nothing follows the `:`"),
        (&["--wsgi", "t=my-site.wsgi"], "./my-site.wsgi"),
        (&["--wsgi", "t=pkg:create_app(x"], "factory call"),
        (&["--wsgi", "t=pkg:app.attr"], "factory call"),
        (
            &["--chdir", "no-such-dir", "--wsgi", "t=pkg"],
            "--chdir no-such-dir: no such directory",
        ),
        (
            &["--chdir", "not-a-dir", "--wsgi", "t=pkg"],
            "not a directory",
        ),
        (
            &["--pythonpath", "lib,no-such-dir", "--wsgi", "t=pkg"],
            "--pythonpath no-such-dir",
        ),
        (
            &["--wsgi", &app, "--pool-env", "x:KEY=v"],
            "no pool `x`; the pools are: t",
        ),
        (&["--wsgi", &app, "--pool-env", "KEY=v"], "NAME:KEY=VALUE"),
        (
            &["--wsgi", &app, "--pool-env", "t:1KEY=v"],
            "not a variable name",
        ),
    ];
    std::fs::create_dir(site.path("lib")).unwrap();
    for (args, says) in cases {
        let err = error_of(&site, args);
        assert!(err.contains(says), "{args:?}: {err}");
    }
}
