//! Files served as they are from a directory mounted with `--static PREFIX=DIR`, as
//! nginx's `location /static/ { root ...; }` does in front of an app server: GET and
//! HEAD, a `Content-Type` by extension, `ETag` and `Last-Modified`, and `304 Not
//! Modified` for a client whose copy is current (RFC 9110 §13: `If-None-Match` first,
//! else `If-Modified-Since`).
//!
//! Nothing outside the directory is ever read: the path is checked by the router (no
//! `..`, no encoded `/`), names starting with `.` are not served, and a symbolic link
//! that leads out of the directory is treated as missing. A directory answers with its
//! `index.html`, or 404: there is no listing.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use tiny_http::Request;

use crate::http::response::{self, Framing};
use crate::request::environ::RequestHead;
use crate::request::error::RequestError;

/// What happened, for the access line: status, body bytes, and why not 200.
pub struct Served {
    pub status: u16,
    pub bytes: u64,
    pub error: Option<RequestError>,
    /// The header fields sent, for an access log that shows them.
    pub headers: Vec<(String, String)>,
}

/// Answers `request` with the file at `path` (decoded, empty or starting with `/`) under
/// `dir` (canonical).
pub fn serve(
    request: Request,
    head: &RequestHead,
    dir: &Path,
    path: &str,
    mut headers: Vec<(String, String)>,
) -> Served {
    if head.method != "GET" && head.method != "HEAD" {
        headers.push(("Allow".into(), "GET, HEAD".into()));
        let why = format!("{} on a file: files are read with GET or HEAD", head.method);
        return text(
            request,
            405,
            headers,
            RequestError::Refused { status: 405, why },
        );
    }
    let not_found = || RequestError::NotFound {
        path: crate::request::route::split_target(&head.target)
            .0
            .to_string(),
    };
    let Some((file, meta)) = find(dir, path) else {
        return text(request, 404, headers, not_found());
    };
    let modified = meta.modified().unwrap_or(UNIX_EPOCH);
    let etag = etag(modified, meta.len());
    headers.push(("ETag".into(), etag.clone()));
    headers.push(("Last-Modified".into(), response::http_date(modified)));
    if not_modified(head, &etag, modified) {
        let w = response::start(request, 304, &headers, Framing::Length(0), false);
        let _ = w.finish();
        return Served {
            status: 304,
            bytes: 0,
            error: None,
            headers,
        };
    }
    headers.push(("Content-Type".into(), content_type(&file).into()));
    let Ok(mut reader) = std::fs::File::open(&file) else {
        return text(request, 404, headers, not_found());
    };
    let len = meta.len();
    let mut w = response::start(request, 200, &headers, Framing::Length(len), false);
    const PIECE: usize = 256 * 1024;
    let mut buf = vec![0u8; PIECE];
    let mut left = len;
    while left > 0 {
        let want = left.min(PIECE as u64) as usize;
        let cut = |why: String| RequestError::Io {
            context: "sending a file",
            cause: std::io::Error::other(why),
        };
        let n = match reader.read(&mut buf[..want]) {
            Ok(0) | Err(_) => {
                // The file shrank under us: the response is cut, never padded.
                let error = cut(format!("{} changed while it was sent", file.display()));
                return Served {
                    status: 200,
                    bytes: w.abort(),
                    error: Some(error),
                    headers,
                };
            }
            Ok(n) => n,
        };
        if w.write(&buf[..n]).is_err() {
            return Served {
                status: 200,
                bytes: w.abort(),
                error: Some(cut("the client went away".into())),
                headers,
            };
        }
        left -= n as u64;
    }
    Served {
        status: 200,
        bytes: w.finish().unwrap_or(len),
        error: None,
        headers,
    }
}

/// The file `path` names under `dir`, and its metadata: a regular file, inside `dir`
/// once links are followed, with no name starting with `.`; a directory's index.html.
fn find(dir: &Path, path: &str) -> Option<(PathBuf, std::fs::Metadata)> {
    let relative = path.trim_start_matches('/');
    if relative.split('/').any(|s| s.starts_with('.')) {
        return None;
    }
    let mut file = dir.join(relative).canonicalize().ok()?;
    if !file.starts_with(dir) {
        return None;
    }
    if file.is_dir() {
        file = file.join("index.html").canonicalize().ok()?;
        if !file.starts_with(dir) {
            return None;
        }
    }
    let meta = std::fs::metadata(&file).ok()?;
    meta.is_file().then_some((file, meta))
}

/// An ETag from the file's modification time and size, as nginx makes it: it changes
/// when the file does, without reading it.
fn etag(modified: SystemTime, len: u64) -> String {
    let since = modified.duration_since(UNIX_EPOCH).unwrap_or_default();
    format!(
        "\"{:x}-{:x}-{len:x}\"",
        since.as_secs(),
        since.subsec_nanos()
    )
}

/// RFC 9110 §13.1.2 and §13.1.3: the client's copy is current.
fn not_modified(head: &RequestHead, etag: &str, modified: SystemTime) -> bool {
    let header = |name: &str| {
        head.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    if let Some(tags) = header("If-None-Match") {
        // Weak comparison: W/"x" matches "x".
        let bare = |t: &str| t.trim().trim_start_matches("W/").to_string();
        return tags
            .split(',')
            .any(|t| t.trim() == "*" || bare(t) == bare(etag));
    }
    match header("If-Modified-Since").and_then(parse_http_date) {
        Some(since) => {
            let secs = modified
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs();
            secs <= since
        }
        None => false,
    }
}

/// Seconds since the epoch of an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the only
/// form a sender may generate (RFC 9110 §5.6.7); any other form is ignored.
fn parse_http_date(s: &str) -> Option<u64> {
    let parts: Vec<&str> = s.split_whitespace().collect();
    let [_, day, month, year, time, "GMT"] = parts[..] else {
        return None;
    };
    let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = months.iter().position(|m| *m == month)? as u64 + 1;
    let (day, year): (u64, u64) = (day.parse().ok()?, year.parse().ok()?);
    let hms: Vec<u64> = time.split(':').filter_map(|p| p.parse().ok()).collect();
    let [h, m, sec] = hms[..] else {
        return None;
    };
    // Days from the civil date (Howard Hinnant's algorithm).
    let (y, mo) = if month <= 2 {
        (year - 1, month + 9)
    } else {
        (year, month - 3)
    };
    let era = y / 400;
    let yoe = y - era * 400;
    let doy = (153 * mo + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = (era * 146_097 + doe).checked_sub(719_468)?;
    Some(days * 86_400 + h * 3600 + m * 60 + sec)
}

/// The `Content-Type` for a file's extension; bytes for anything unknown.
fn content_type(file: &Path) -> &'static str {
    let ext = file
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match ext.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" | "map" => "application/json",
        "txt" => "text/plain; charset=utf-8",
        "xml" => "application/xml",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "ttf" => "font/ttf",
        "pdf" => "application/pdf",
        "wasm" => "application/wasm",
        _ => "application/octet-stream",
    }
}

fn text(
    request: Request,
    status: u16,
    mut headers: Vec<(String, String)>,
    error: RequestError,
) -> Served {
    headers.push(("Content-Type".into(), "text/plain; charset=utf-8".into()));
    let body = format!("{status} {}\n", response::reason(status));
    let bytes = response::send(request, status, &headers, body.as_bytes(), false).unwrap_or(0);
    Served {
        status,
        bytes,
        error: Some(error),
        headers,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_imf_fixdate_reads_back_as_the_time_it_was_written() {
        let t = UNIX_EPOCH + std::time::Duration::from_secs(784_111_777);
        assert_eq!(response::http_date(t), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777)
        );
        assert_eq!(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), None);
        assert_eq!(parse_http_date("garbage"), None);
    }

    #[test]
    fn nothing_outside_the_directory_or_hidden_is_found() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("static");
        std::fs::create_dir_all(dir.join("css")).unwrap();
        std::fs::write(dir.join("css/site.css"), "body{}").unwrap();
        std::fs::write(dir.join(".secret"), "x").unwrap();
        std::fs::write(root.path().join("outside.txt"), "x").unwrap();
        std::os::unix::fs::symlink(root.path().join("outside.txt"), dir.join("link.txt")).unwrap();
        let dir = dir.canonicalize().unwrap();
        assert!(find(&dir, "/css/site.css").is_some());
        assert!(find(&dir, "/.secret").is_none());
        assert!(find(&dir, "/link.txt").is_none());
        assert!(
            find(&dir, "/css").is_none(),
            "a directory without index.html"
        );
        assert!(find(&dir, "/missing").is_none());
    }
}
