//! `--static PREFIX=DIR`: files served as they are, as nginx would in front of an app
//! (RFC 9110 §8.8 validators, §13 conditional requests), and nothing outside the
//! directory, hidden, or listed.

use crate::support::*;

fn site() -> Server {
    let site = Site::new().with(|root| {
        for dir in ["static/css", "static/img", "static/docs"] {
            std::fs::create_dir_all(root.join(dir)).unwrap();
        }
        write_file(
            &root.join("static/css/site.css"),
            b"body { color: red }\n",
            0o644,
        );
        write_file(&root.join("static/img/logo.bin"), &[0u8, 1, 2, 255], 0o644);
        write_file(
            &root.join("static/docs/index.html"),
            b"<h1>docs</h1>\n",
            0o644,
        );
        write_file(&root.join("static/.env"), b"SECRET=1\n", 0o644);
        write_file(&root.join("outside.txt"), b"outside\n", 0o644);
        std::os::unix::fs::symlink(root.join("outside.txt"), root.join("static/out.txt")).unwrap();
    });
    let spec = format!("/static={}", site.root().join("static").display());
    site.arg("--static").arg(&spec).start()
}

#[test]
fn a_file_comes_with_its_type_length_etag_and_last_modified() {
    let server = site();
    let res = server.get("/static/css/site.css");
    assert_eq!(res.status, 200);
    assert_eq!(res.body, b"body { color: red }\n");
    assert_eq!(res.header("content-type"), Some("text/css; charset=utf-8"));
    assert_eq!(res.header("content-length"), Some("20"));
    assert!(res.header("etag").is_some_and(|e| e.starts_with('"')));
    assert!(
        res.header("last-modified")
            .is_some_and(|d| d.ends_with(" GMT"))
    );
    let res = server.get("/static/img/logo.bin");
    assert_eq!(res.body, [0u8, 1, 2, 255]);
    assert_eq!(res.header("content-type"), Some("application/octet-stream"));
    // A directory answers with its index.html.
    assert_eq!(server.get("/static/docs/").body, b"<h1>docs</h1>\n");
}

/// RFC 9110 §13.1.2: `If-None-Match` with the current ETag is 304, with no body; §13.1.3:
/// `If-Modified-Since` at or after the file's time, with no `If-None-Match`, too.
#[test]
fn a_client_with_a_current_copy_gets_304() {
    let server = site();
    let first = server.get("/static/css/site.css");
    let etag = first.header("etag").unwrap().to_string();
    let date = first.header("last-modified").unwrap().to_string();
    let ask = |headers: &[(&str, &str)]| {
        server
            .connect()
            .request("GET", "/static/css/site.css", headers, b"")
    };
    let res = ask(&[("If-None-Match", &etag)]);
    assert_eq!(res.status, 304);
    assert!(res.body.is_empty());
    assert_eq!(res.header("etag"), Some(etag.as_str()));
    let weak = format!("\"other\", W/{etag}");
    assert_eq!(ask(&[("If-None-Match", &weak)]).status, 304);
    assert_eq!(ask(&[("If-Modified-Since", &date)]).status, 304);
    // A tag that does not match wins over a date that would.
    let res = ask(&[("If-None-Match", "\"stale\""), ("If-Modified-Since", &date)]);
    assert_eq!(res.status, 200);
    let old = "Sun, 06 Nov 1994 08:49:37 GMT";
    assert_eq!(ask(&[("If-Modified-Since", old)]).status, 200);
    assert_eq!(ask(&[("If-Modified-Since", "yesterday")]).status, 200);
}

#[test]
fn head_has_the_length_and_no_body() {
    let server = site();
    let res = server
        .connect()
        .request("HEAD", "/static/css/site.css", &[], b"");
    assert_eq!(res.status, 200);
    assert_eq!(res.header("content-length"), Some("20"));
    assert!(res.body.is_empty());
}

#[test]
fn nothing_outside_hidden_or_written_is_served() {
    let server = site();
    for target in [
        "/static/.env",
        "/static/out.txt",
        "/static/missing.css",
        "/static/img/",
        "/static",
    ] {
        let res = server.get(target);
        assert_eq!(res.status, 404, "{target}: {}", res.text());
        assert!(!res.text().contains("SECRET") && !res.text().contains("outside"));
    }
    for target in ["/static/%2e%2e/outside.txt", "/static/css/%2fetc"] {
        assert_eq!(server.get(target).status, 403, "{target}");
    }
    let res = server
        .connect()
        .request("POST", "/static/css/site.css", &[], b"x=1");
    assert_eq!(res.status, 405);
    assert_eq!(res.header("allow"), Some("GET, HEAD"));
    server.wait_log("the 405 access line", |l| {
        l.contains("POST /static/css/site.css 405") && l.contains("mode=static")
    });
}

#[test]
fn a_missing_directory_is_one_line_that_says_what_to_do() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cgilab"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--static",
            "/s=/no/such/dir",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("is not a directory"), "{err}");
}
