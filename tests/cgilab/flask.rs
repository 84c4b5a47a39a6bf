//! A real WSGI app as a CGI script: Flask through the standard library's
//! `wsgiref.handlers.CGIHandler`, the way many Python apps are deployed on shared hosts.
//! It needs what real apps need: `Authorization` (with --pass-auth), its own
//! `Content-Length` (so HEAD carries one), Latin-1 header values, and PATH_INFO at the
//! app's root. Skipped, with a printed reason, where Flask is not installed.

use std::process::{Command, Stdio};

use crate::support::{Server, Site, find};

const APP: &str = r#"#!/usr/bin/env python3
from flask import Flask, Response, request
from wsgiref.handlers import CGIHandler

app = Flask(__name__)

@app.route("/")
def root():
    return "root\n"

@app.route("/whoami")
def whoami():
    return request.headers.get("Authorization", "nobody") + "\n"

@app.route("/download")
def download():
    return Response("x" * 1000, mimetype="application/octet-stream")

@app.route("/latin")
def latin():
    response = Response("ok\n")
    response.headers["X-Name"] = "caf\u00e9"
    return response

CGIHandler().run(app)
"#;

/// The app's server, or `None` (and a line saying why) without Flask.
fn flask_server() -> Option<Server> {
    let flask = Command::new("python3")
        .args(["-c", "import flask"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if !flask.is_ok_and(|s| s.success()) {
        eprintln!("skipped: Flask is not installed (python3 -c 'import flask' failed)");
        return None;
    }
    Some(Site::new().script("app.py", APP).arg("--pass-auth").start())
}

/// With --pass-auth, the app sees the client's Authorization header.
#[test]
fn flask_app_sees_authorization_with_pass_auth() {
    let Some(server) = flask_server() else { return };
    let auth = [("Authorization", "Basic dXNlcjpwdw==")];
    let res = server
        .connect()
        .request("GET", "/cgi-bin/app.py/whoami", &auth, b"");
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(res.text(), "Basic dXNlcjpwdw==\n");
}

/// HEAD and GET of a download carry the app's Content-Length; the mount point (PATH_INFO
/// empty) is answered as a WSGI server's would be.
#[test]
fn flask_app_head_carries_its_length() {
    let Some(server) = flask_server() else { return };
    let mut conn = server.connect();
    let head = conn.request("HEAD", "/cgi-bin/app.py/download", &[], b"");
    assert_eq!(head.status, 200);
    assert_eq!(head.headers_named("Content-Length"), ["1000"]);
    let get = conn.get("/cgi-bin/app.py/download");
    assert_eq!(get.headers_named("Content-Length"), ["1000"]);
    assert_eq!(get.body.len(), 1000);
    // At the mount point, as under any WSGI server with this SCRIPT_NAME, werkzeug
    // redirects to the trailing slash, where the root route answers.
    let mount = conn.get("/cgi-bin/app.py");
    assert_eq!(mount.status, 308, "{}", mount.text());
    let location = mount.header("Location").unwrap_or_default();
    assert!(location.ends_with("/cgi-bin/app.py/"), "{location}");
    let root = conn.get("/cgi-bin/app.py/");
    assert_eq!((root.status, root.text().as_str()), (200, "root\n"));
}

/// A Latin-1 header value from the app reaches the client as its byte.
#[test]
fn flask_app_latin_1_header_passes_through() {
    let Some(server) = flask_server() else { return };
    let mut conn = server.connect();
    conn.send(b"GET /cgi-bin/app.py/latin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let raw = conn.read_to_close().unwrap();
    assert!(
        raw.starts_with(b"HTTP/1.1 200 "),
        "{}",
        String::from_utf8_lossy(&raw)
    );
    assert!(
        find(&raw, b"\r\nX-Name: caf\xe9\r\n").is_some(),
        "{}",
        String::from_utf8_lossy(&raw)
    );
}
