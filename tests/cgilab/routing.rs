//! From URL to script: what runs, what is refused (RFC 3875 §9.8), and how a script is
//! found and started.

use std::fs;
use std::os::unix::fs::symlink;

use crate::support::{HELLO, Server, Site, write_file};

/// A script outside cgi-bin that leaves a marker if it ever runs.
const OUTSIDE: &str = "#!/bin/sh\ntouch \"$STATE_DIR/outside-ran\"\nprintf 'Content-Type: text/plain\\n\\nSECRET-OUTSIDE\\n'\n";

/// A site with hello.sh in cgi-bin and `ROOT/outside.sh` beside it.
fn site() -> Site {
    Site::new()
        .script("hello.sh", HELLO)
        .with(|root| write_file(&root.join("outside.sh"), OUTSIDE.as_bytes(), 0o755))
}

fn assert_refused(server: &Server, target: &str, status: u16) {
    let res = server.get(target);
    assert_eq!(res.status, status, "{target}: {}", res.text());
    assert!(!res.text().contains("SECRET"), "{target}: {}", res.text());
    assert!(
        !server.state().join("outside-ran").exists(),
        "{target} ran a script outside cgi-bin"
    );
}

/// §9.8: a raw `..` segment never climbs out of cgi-bin.
#[test]
fn raw_dot_dot_is_403() {
    let server = site().start();
    assert_refused(&server, "/cgi-bin/../outside.sh", 403);
    assert_refused(&server, "/cgi-bin/hello.sh/../../outside.sh", 403);
}

/// §9.8: an encoded `..` (`%2e%2e`) is refused like a raw one.
#[test]
fn encoded_dot_dot_is_403() {
    let server = site().start();
    assert_refused(&server, "/cgi-bin/%2e%2e/outside.sh", 403);
    assert_refused(&server, "/cgi-bin/%2E%2E/outside.sh", 403);
    assert_refused(&server, "/cgi-bin/.%2e/outside.sh", 403);
}

/// §9.8: an encoded slash cannot smuggle a path separator into a name.
#[test]
fn encoded_slash_is_403() {
    let server = site().start();
    assert_refused(&server, "/cgi-bin/..%2foutside.sh", 403);
    assert_refused(&server, "/cgi-bin/hello.sh%2Fx", 403);
}

/// §9.8: a NUL byte in the path is refused, not truncated.
#[test]
fn nul_in_path_is_403() {
    let server = site().start();
    assert_refused(&server, "/cgi-bin/hello.sh%00.txt", 403);
}

/// §9.8: names starting with `.` are never run, even when such a file exists.
#[test]
fn dotfile_is_403() {
    let server = site()
        .script(
            ".hidden.sh",
            "#!/bin/sh\ntouch \"$STATE_DIR/outside-ran\"\nprintf 'Content-Type: text/plain\\n\\nSECRET\\n'\n",
        )
        .start();
    assert_refused(&server, "/cgi-bin/.hidden.sh", 403);
}

/// A name with no script behind it is 404.
#[test]
fn missing_script_is_404() {
    let server = site().start();
    let res = server.get("/cgi-bin/nope.sh");
    assert_eq!(res.status, 404, "{}", res.text());
    assert_eq!(server.get("/nowhere").status, 404);
}

/// §9.8: a symlink inside cgi-bin whose target lies outside it is refused.
#[test]
fn symlink_out_of_cgi_bin_is_403() {
    let server = site()
        .with(|root| symlink(root.join("outside.sh"), root.join("cgi-bin/escape.sh")).unwrap())
        .start();
    assert_refused(&server, "/cgi-bin/escape.sh", 403);
}

/// A directory in cgi-bin is not a script.
#[test]
fn directory_is_403() {
    let server = site()
        .with(|root| fs::create_dir(root.join("cgi-bin/adir.sh")).unwrap())
        .start();
    assert_refused(&server, "/cgi-bin/adir.sh", 403);
}

/// A non-executable file with an extension no interpreter is known for is not run.
#[test]
fn non_executable_unknown_extension_is_403() {
    let server = site()
        .file(
            "notes.txt",
            b"Content-Type: text/plain\n\nSECRET-NOTES\n",
            0o644,
        )
        .start();
    assert_refused(&server, "/cgi-bin/notes.txt", 403);
}

/// §9.8: whatever the URL, the server runs a script or refuses; it never sends its source.
#[test]
fn script_source_is_never_served() {
    let marker = "SOURCE-MARKER-7d1f";
    let script = format!("#!/bin/sh\n# {marker}\nprintf 'Content-Type: text/plain\\n\\nran\\n'\n");
    let server = Site::new()
        .script("src.sh", &script)
        .file("src.txt", script.as_bytes(), 0o644)
        .file("plain.sh", script.as_bytes(), 0o644)
        .start();
    for target in [
        "/cgi-bin/src.sh",
        "/cgi-bin/src.sh/",
        "/cgi-bin/src.sh/x",
        "/cgi-bin/src.sh?view=source",
        "/cgi-bin/src.txt",
        "/cgi-bin/plain.sh",
        "/cgi-bin/src.sh%20",
        "/cgi-bin/",
        "/",
    ] {
        let res = server.get(target);
        assert!(
            !res.text().contains(marker),
            "{target} served the source: {}",
            res.text()
        );
    }
    assert_eq!(server.get("/cgi-bin/src.sh").text(), "ran\n");
}

/// Scripts are looked up per request: one dropped in while the server runs is live at once.
#[test]
fn script_added_while_running_is_live() {
    let server = Site::new().start();
    assert_eq!(server.get("/cgi-bin/late.sh").status, 404);
    server.add_script(
        "late.sh",
        "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\nlate\\n'\n",
    );
    let res = server.get("/cgi-bin/late.sh");
    assert_eq!(res.status, 200, "{}\n{}", res.text(), server.log_text());
    assert_eq!(res.text(), "late\n");
}

/// A non-executable `.sh` script runs through sh.
#[test]
fn non_executable_sh_runs_via_sh() {
    let server = Site::new()
        .file(
            "x.sh",
            b"printf 'Content-Type: text/plain\\n\\n'\necho \"via sh $0\"\n",
            0o644,
        )
        .start();
    let res = server.get("/cgi-bin/x.sh");
    assert_eq!(res.status, 200, "{}", server.log_text());
    assert!(res.text().starts_with("via sh "), "{}", res.text());
    assert!(res.text().trim_end().ends_with("/x.sh"), "{}", res.text());
}

/// A non-executable `.py` script runs through python3.
#[test]
fn non_executable_py_runs_via_python3() {
    let server = Site::new()
        .file(
            "x.py",
            b"import sys\nsys.stdout.write('Content-Type: text/plain\\n\\nvia python %d\\n' % sys.version_info[0])\n",
            0o644,
        )
        .start();
    let res = server.get("/cgi-bin/x.py");
    assert_eq!(res.status, 200, "{}", server.log_text());
    assert_eq!(res.text(), "via python 3\n");
}

/// A non-executable `.pl` script runs through perl.
#[test]
fn non_executable_pl_runs_via_perl() {
    let server = Site::new()
        .file(
            "x.pl",
            b"my %h = (a => 'perl');\nprint \"Content-Type: text/plain\\n\\nvia $h{a}\\n\";\n",
            0o644,
        )
        .start();
    let res = server.get("/cgi-bin/x.pl");
    assert_eq!(res.status, 200, "{}", server.log_text());
    assert_eq!(res.text(), "via perl\n");
}

/// RFC 9112 §3.2.2: a server must accept a request target in absolute form.
#[test]
fn absolute_form_target_is_accepted() {
    let server = site().start();
    let target = format!("http://{}/cgi-bin/hello.sh", server.addr());
    let res = server.get(&target);
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.text(), "Hello, world!\n");
}
