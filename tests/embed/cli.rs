//! Starting with `--embed`: an app that cannot be imported is one error line.

use std::process::Command;

use crate::support::*;

/// An app whose import raises stops the server: its traceback is logged, then one
/// `cgilab: error:` line names the flag and the exception, and the exit is not 0.
#[test]
fn an_app_that_cannot_be_imported_is_one_error_line() {
    let site = Site::new().file("broken.py", "import no_such_module_here\n");
    let out = Command::new(env!("CARGO_BIN_EXE_cgilab"))
        .args(["serve", "--listen", "127.0.0.1:0", "--cgi-bin"])
        .arg(site.dir.path().join("cgi-bin"))
        .args(["--embed", &site.embed("b", "broken.py")])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("cgilab: error:"))
        .collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(errors[0].contains("--embed b="), "{}", errors[0]);
    assert!(
        errors[0].ends_with("cannot load it: No module named 'no_such_module_here'")
            || errors[0].contains("ModuleNotFoundError"),
        "{}",
        errors[0]
    );
    assert!(
        stderr.contains("embed b: Traceback (most recent call last):"),
        "{stderr}"
    );
}

/// A file without the callable named is refused at start, with what is missing.
#[test]
fn a_file_without_the_callable_is_refused() {
    let site = Site::new();
    let out = Command::new(env!("CARGO_BIN_EXE_cgilab"))
        .args(["serve", "--listen", "127.0.0.1:0", "--cgi-bin"])
        .arg(site.dir.path().join("cgi-bin"))
        .args([
            "--embed",
            &format!("{}:make_app", site.embed("a", "app.py")),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("has no callable `make_app`"), "{stderr}");
}
