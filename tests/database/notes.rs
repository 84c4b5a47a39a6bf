//! The notes app in a temporary site: `cgi-bin/notes.py` (a copy of the lesson's file,
//! served as CGI at `/cgi-bin/notes.py` and by a pool at `/pool/notes`), and how to read
//! what it answers.

use std::path::{Path, PathBuf};
use std::process::Command;

use cgilab::client::ServerProcess;
use cgilab::client::http::{Req, Response};

use crate::support::{Site, serve_with};

/// The app, as the lesson ships it.
pub fn source() -> String {
    let file =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("lessons/12-workers-that-wait/notes_db_wsgi.py");
    std::fs::read_to_string(file).unwrap()
}

/// A site whose cgi-bin holds the app as `notes.py`. Its SQLite file, when no
/// DATABASE_URL says otherwise, is `.run/notes.db` under the site (the server's
/// DOCUMENT_ROOT, the folder above cgi-bin).
pub fn site() -> Site {
    Site::new().file("cgi-bin/notes.py", &source())
}

/// `cgilab serve` over `site` with a pool `notes` for the app, and `args`.
pub fn serve(site: &Site, args: &[&str]) -> ServerProcess {
    let wsgi = format!("notes={}", site.path("cgi-bin/notes.py").display());
    let mut all = vec!["--wsgi", wsgi.as_str()];
    all.extend_from_slice(args);
    serve_with(&site.path("cgi-bin"), site.dir.path(), &all)
}

/// The SQLite file the app uses by default in `site`.
pub fn default_db(site: &Site) -> PathBuf {
    site.dir
        .path()
        .canonicalize()
        .unwrap()
        .join(".run/notes.db")
}

/// The two ways to reach the app: as CGI, and in the pool.
pub const MODES: [&str; 2] = ["/cgi-bin/notes.py", "/pool/notes"];

/// Sends `req`, or fails the test with why it could not.
pub fn send(server: &ServerProcess, req: &Req<'_>) -> Response {
    server.request(req).unwrap_or_else(|e| panic!("{e}"))
}

/// POSTs a form to `{prefix}/notes`.
pub fn post_form(server: &ServerProcess, prefix: &str, form: &str) -> Response {
    let target = format!("{prefix}/notes");
    send(
        server,
        &Req::post(&target, form.as_bytes())
            .header("Content-Type", "application/x-www-form-urlencoded"),
    )
}

/// A whole-number field of a flat JSON object: `"connects":1` -> 1.
pub fn number(res: &Response, key: &str) -> i64 {
    let text = res.text();
    let at = text
        .find(&format!("\"{key}\":"))
        .unwrap_or_else(|| panic!("no `{key}` in {text:?}"));
    let rest = &text[at + key.len() + 3..];
    let end = rest
        .find(|c: char| !c.is_ascii_digit() && c != '-')
        .unwrap_or(rest.len());
    rest[..end]
        .parse()
        .unwrap_or_else(|_| panic!("`{key}` is not a number in {text:?}"))
}

/// The `error` of a refusal.
pub fn error(res: &Response) -> String {
    let text = res.text();
    let start = text
        .find("{\"error\":\"")
        .unwrap_or_else(|| panic!("no error in {} {text:?}", res.status_line()));
    text[start + 10..]
        .trim_end()
        .trim_end_matches("\"}")
        .to_string()
}

/// The app's own Server-Timing header, if it sent one: cgilab appends its own after
/// the app's, so the app's is the one before the last.
pub fn app_timing(res: &Response) -> Option<String> {
    let all: Vec<&str> = res
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("Server-Timing"))
        .map(|(_, v)| v.as_str())
        .collect();
    (all.len() == 2).then(|| all[0].to_string())
}

/// The phase names in the app's Server-Timing header (none without one).
pub fn app_phases(res: &Response) -> Vec<String> {
    app_timing(res)
        .unwrap_or_default()
        .split(',')
        .filter_map(|p| p.trim().split(';').next())
        .filter(|p| !p.is_empty())
        .map(String::from)
        .collect()
}

/// How many of `pid`'s open descriptors are on the file `path`.
pub fn open_on(pid: u32, path: &Path) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|fds| {
            fds.filter_map(Result::ok)
                .filter(|fd| std::fs::read_link(fd.path()).is_ok_and(|t| t == path))
                .count()
        })
        .unwrap_or(0)
}

/// True if `module` imports in python3.
pub fn python_has(module: &str) -> bool {
    Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .status()
        .is_ok_and(|s| s.success())
}

/// No line of the server's log is a Python traceback: every refusal was the app's own.
pub fn no_traceback(server: &ServerProcess) {
    let log = server.log();
    assert!(
        !log.iter().any(|l| l.contains("Traceback")),
        "{}",
        log.join("\n")
    );
}
