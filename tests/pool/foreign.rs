//! FastCGI programs nobody here wrote, unmodified: php-cgi and a flup `WSGIServer`.
//! Skipped, with the reason printed, when they are not installed (CI installs them).

use crate::support::*;

fn installed(program: &str) -> bool {
    let found = std::process::Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        eprintln!("skipped: {program} is not installed (apt-get install -y php-cgi)");
    }
    found
}

#[test]
fn php_cgi_serves_a_pool() {
    if !installed("php-cgi") {
        return;
    }
    let site = Site::new().file(
        "hello.php",
        "<?php header('X-From: php'); echo 'pid=', getmypid(), \"\\n\", $_GET['who'] ?? '', ' ', $_SERVER['SCRIPT_NAME'];",
    );
    let server = site.serve(&[
        "--fastcgi",
        &site.wsgi("php", "hello.php"),
        "--workers",
        "1",
    ]);
    let a = get(&server, "/pool/php?who=world");
    assert_eq!(a.status, 200, "{}", a.text());
    assert_eq!(a.header("X-From"), Some("php"));
    assert!(a.text().ends_with("world /pool/php"), "{}", a.text());
    let b = get(&server, "/pool/php?who=again");
    assert_eq!(pid_of(&a), pid_of(&b), "one php-cgi process serves both");
}

#[test]
fn a_flup_wsgi_server_serves_a_pool() {
    let flup = std::process::Command::new("python3")
        .args(["-c", "import flup"])
        .status()
        .is_ok_and(|s| s.success());
    if !flup {
        eprintln!("skipped: flup is not installed (pip install flup)");
        return;
    }
    let app = r#"import os
from flup.server.fcgi import WSGIServer
def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"pid=%d\n" % os.getpid(), environ["PATH_INFO"].encode()]
WSGIServer(application).run()
"#;
    let site = Site::new().file("flup_app.py", app);
    let server = site.serve(&[
        "--fastcgi",
        &site.wsgi("flup", "flup_app.py"),
        "--workers",
        "1",
    ]);
    let a = get(&server, "/pool/flup/some/path");
    assert_eq!(a.status, 200, "{}", a.text());
    assert!(a.text().ends_with("/some/path"), "{}", a.text());
    let b = get(&server, "/pool/flup");
    assert_eq!(pid_of(&a), pid_of(&b));
}
