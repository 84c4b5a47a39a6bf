//! gunicorn's HTTP parser corpus (`gunicorn_corpus/`, see its README) against the real
//! binary (RFC 9112 §2-§7): every request gunicorn refuses is refused here (a 4xx or
//! 5xx, then a close), and every request it parses reaches a script with the method,
//! target and body gunicorn's expectation file gives. Where the two servers differ, the
//! file is listed in [`DIFFERENT`] with the reason, and the test checks that difference.

use std::fs;
use std::net::Shutdown;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::{Server, Site, find};

/// Echoes the body, and says what reached it in two headers. Its length is declared, so
/// an HTTP/1.0 keep-alive response need not end the connection.
const ECHO: &str = "#!/bin/sh\n\
    printf 'Content-Type: application/octet-stream\\nContent-Length: %s\\n' \
    \"${CONTENT_LENGTH:-0}\"\n\
    printf 'X-Method: %s\\nX-Uri: %s\\n\\n' \"$REQUEST_METHOD\" \"$REQUEST_URI\"\n\
    exec cat\n";
/// Each corpus target is sent to the echo script, under this prefix.
const SCRIPT: &[u8] = b"/cgi-bin/echo.sh";

#[derive(Clone, Copy, Debug, PartialEq)]
enum Differs {
    /// gunicorn parses it; cgilab refuses it (a status over 399, or a close).
    Refused,
    /// gunicorn refuses it; cgilab serves it (a 2xx).
    Served,
}
use Differs::{Refused, Served};

/// Every file where cgilab and gunicorn part ways, and why. gunicorn-only settings
/// (`cfg.set(...)` in the `.py`) are gunicorn's own policy, not RFC 9112's.
const DIFFERENT: &[(&str, Differs, &str)] = &[
    // RFC 9112 §6.1: `identity` is no coding any more, and only `chunked` is
    // implemented: a body that would need decoding is 501 (and with Content-Length, 400).
    (
        "valid/009",
        Refused,
        "Transfer-Encoding: identity beside Content-Length",
    ),
    (
        "valid/025",
        Refused,
        "gzip before chunked: a coding not implemented, 501",
    ),
    (
        "valid/025_line",
        Refused,
        "gzip before chunked: a coding not implemented, 501",
    ),
    (
        "valid/029",
        Refused,
        "identity before chunked: not a coding, 501",
    ),
    (
        "valid/030",
        Refused,
        "identity before chunked: not a coding, 501",
    ),
    (
        "valid/rfc9112_smuggle_gzip_chunked_01",
        Refused,
        "gzip before chunked, 501",
    ),
    (
        "valid/rfc9112_smuggle_te_identity_chunked_01",
        Refused,
        "identity before chunked, 501",
    ),
    // Its body is 8,599 bytes of a declared 17,914: an incomplete message (RFC 9112 §8),
    // 400 once the client closes its side.
    ("valid/099", Refused, "body shorter than its Content-Length"),
    // RFC 9112 §5.1 and §5.2 say to reject these; gunicorn accepts them only when told to.
    (
        "valid/028",
        Refused,
        "space before the colon (gunicorn: strip_header_spaces)",
    ),
    (
        "valid/compat_obs_fold",
        Refused,
        "obs-fold (gunicorn: permit_obsolete_folding)",
    ),
    (
        "valid/compat_obs_fold_huge",
        Refused,
        "obs-fold (gunicorn: permit_obsolete_folding)",
    ),
    // The PROXY protocol is a gunicorn option (proxy_protocol); cgilab has none.
    ("valid/pp_01", Refused, "PROXY protocol v1 line"),
    ("valid/pp_02", Refused, "PROXY protocol v1 line"),
    ("valid/pp_04", Refused, "PROXY protocol v2 header"),
    ("valid/pp_05", Refused, "PROXY protocol v2 header"),
    // cgilab is no proxy and has no server-wide OPTIONS: a target that is no path (CONNECT's
    // authority, `*`) or names another scheme is 400, "the request target must be a path".
    (
        "valid/rfc9112_target_asterisk_options_01",
        Refused,
        "OPTIONS *",
    ),
    (
        "valid/rfc9112_target_authority_connect_01",
        Refused,
        "CONNECT",
    ),
    ("valid/rfc9112_target_authority_ipv6_01", Refused, "CONNECT"),
    (
        "valid/rfc9112_target_absolute_https_01",
        Refused,
        "an https target on plain HTTP",
    ),
    // RFC 9110 §4.2.4: userinfo in an http URI is to be treated as an error: 400.
    (
        "valid/rfc9112_target_absolute_userinfo_01",
        Refused,
        "userinfo in the target",
    ),
    // gunicorn upper-cases the method only when told to (casefold_http_method); the
    // method reaches the script as sent, `-blargh`.
    (
        "valid/031compat",
        Served,
        "method case kept (gunicorn: casefold_http_method)",
    ),
    // `-bl` is a token (RFC 9110 §9.1); gunicorn's default method rule is its own.
    ("invalid/003c", Served, "a method that is a token"),
    // gunicorn's limits (4094-byte line, 8190-byte field, 100 fields, or smaller ones set
    // in the .py); cgilab's are a 64 KiB head and 128 fields.
    (
        "invalid/006",
        Served,
        "request line over gunicorn's limit, within cgilab's",
    ),
    (
        "invalid/007",
        Served,
        "field over gunicorn's limit, within cgilab's",
    ),
    (
        "invalid/008",
        Served,
        "field over gunicorn's limit, within cgilab's",
    ),
    (
        "invalid/009",
        Served,
        "fields over gunicorn's count, within cgilab's",
    ),
    (
        "invalid/010",
        Served,
        "gunicorn: limit_request_field_size 10",
    ),
    ("invalid/011", Served, "gunicorn: limit_request_fields 2"),
    (
        "invalid/012",
        Served,
        "gunicorn: limit_request_field_size 98",
    ),
    (
        "invalid/017",
        Served,
        "field over gunicorn's limit, within cgilab's",
    ),
    (
        "invalid/limit_header_default_01",
        Served,
        "field over gunicorn's limit",
    ),
    // gunicorn refuses conflicting X-Forwarded-Proto/-Ssl from a trusted proxy; cgilab
    // trusts neither field for the scheme.
    ("invalid/019", Served, "gunicorn: forwarded_allow_ips"),
    // Names with `_` are tokens (RFC 9110 §5.1); cgilab drops them from the environ, as
    // nginx does, so they cannot pose as CONTENT_LENGTH (gunicorn: header_map refuse).
    ("invalid/040", Served, "`_` in field names, dropped"),
    ("invalid/chunked_07", Served, "`_` in field names, dropped"),
    // RFC 9112 §7.1.2: a server may discard trailer fields; cgilab discards them all, so
    // forbidden ones never take effect.
    (
        "invalid/rfc9110_trailer_forbidden_cl_01",
        Served,
        "trailers are discarded",
    ),
    (
        "invalid/rfc9110_trailer_forbidden_host_01",
        Served,
        "trailers are discarded",
    ),
    (
        "invalid/rfc9110_trailer_forbidden_te_01",
        Served,
        "trailers are discarded",
    ),
];

/// What gunicorn's `.py` says one valid request parses to.
#[derive(Debug)]
struct Expected {
    method: Vec<u8>,
    uri: Vec<u8>,
    body: Vec<u8>,
}

/// Every `.http` file in the corpus: invalid ones refused and closed, valid ones served
/// as gunicorn parses them, the files in [`DIFFERENT`] as listed there.
#[test]
fn gunicorns_parser_corpus_is_refused_or_served_as_gunicorn_does() {
    let server = Site::new()
        .script("echo.sh", ECHO)
        .read_timeout("2")
        .start();
    let mut failures = Vec::new();
    let mut seen = Vec::new();
    for dir in ["valid", "invalid"] {
        for http in files(dir) {
            let name = format!("{dir}/{}", http.file_stem().unwrap().to_string_lossy());
            let data = load(&http);
            let listed = DIFFERENT.iter().find(|(n, _, _)| *n == name);
            let outcome = match (listed, dir) {
                (Some((_, differs, _)), _) => differs_as_listed(&server, &data, *differs),
                (None, "valid") => {
                    let py = fs::read_to_string(http.with_extension("py")).unwrap();
                    served_as_expected(&server, &data, &expected(&py))
                }
                (None, _) => refused_and_closed(&server, &to_script(&data, 0).0),
            };
            if let Err(e) = outcome {
                failures.push(format!("{name}: {e}"));
            }
            seen.push(name);
        }
    }
    for (name, _, _) in DIFFERENT {
        assert!(
            seen.iter().any(|s| s == name),
            "{name} is listed but not in the corpus"
        );
    }
    assert!(seen.len() > 130, "only {} files", seen.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/front/gunicorn_corpus")
}

fn files(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(corpus().join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "http"))
        .collect();
    files.sort();
    files
}

/// A `.http` file as bytes, as gunicorn's `tests/treq.py` reads it.
fn load(path: &Path) -> Vec<u8> {
    let text: Vec<u8> = fs::read(path).unwrap();
    let mut data: Vec<u8> = text.into_iter().filter(|&b| b != b'\n').collect();
    for (from, to) in [
        (&b"\\r\\n"[..], &b"\r\n"[..]),
        (b"\\0", b"\0"),
        (b"\\n", b"\n"),
        (b"\\t", b"\t"),
    ] {
        data = replace(&data, from, to);
    }
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    while i < data.len() {
        if data[i..].starts_with(b"\\x")
            && let Some(byte) = data.get(i + 2..i + 4).and_then(hex_byte)
        {
            out.push(byte);
            i += 4;
            continue;
        }
        out.push(data[i]);
        i += 1;
    }
    out
}

fn hex_byte(two: &[u8]) -> Option<u8> {
    u8::from_str_radix(std::str::from_utf8(two).ok()?, 16).ok()
}

fn replace(hay: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(hay.len());
    let mut i = 0;
    while i < hay.len() {
        if hay[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(hay[i]);
            i += 1;
        }
    }
    out
}

/// Sends the request line at `at` to the echo script: a target that starts with `/` gets
/// the script's path before it, and a head without Host gets one (gunicorn does not ask
/// for it; RFC 9112 §3.2 does, and its absence is tested elsewhere). Returns the new
/// bytes and where the rewritten request line ends.
fn to_script(data: &[u8], at: usize) -> (Vec<u8>, usize) {
    let mut out = data[..at].to_vec();
    let rest = &data[at..];
    let line_end = find(rest, b"\r\n").map_or(rest.len(), |i| i + 2);
    let line = &rest[..line_end];
    match line
        .iter()
        .position(|&b| b == b' ')
        .map(|sp| sp + 1 + path_at(&line[sp + 1..]))
    {
        Some(path) if line.get(path) == Some(&b'/') => {
            out.extend_from_slice(&line[..path]);
            out.extend_from_slice(SCRIPT);
            out.extend_from_slice(&line[path..]);
        }
        _ => out.extend_from_slice(line),
    }
    let head_end = find(rest, b"\r\n\r\n").map_or(rest.len(), |i| i + 2);
    let has_host = rest[..head_end]
        .to_ascii_lowercase()
        .windows(7)
        .any(|w| w == b"\r\nhost:");
    if !has_host && line.ends_with(b"\r\n") {
        out.extend_from_slice(b"Host: localhost\r\n");
    }
    let end = out.len();
    out.extend_from_slice(&rest[line_end..]);
    (out, end)
}

/// Where the path starts in a target: after `http://authority` in absolute-form.
fn path_at(target: &[u8]) -> usize {
    match target.strip_prefix(b"http://") {
        Some(rest) => 7 + rest.iter().position(|&b| b == b'/').unwrap_or(rest.len()),
        None => 0,
    }
}

/// An invalid request: a 4xx or 5xx, then the server closes the connection.
fn refused_and_closed(server: &Server, data: &[u8]) -> Result<(), String> {
    let mut conn = server.connect();
    let _ = conn.try_send(data);
    let res = conn
        .try_response(false)
        .map_err(|e| format!("no response: {e}"))?;
    if res.status < 400 {
        return Err(format!("served with {}", res.status));
    }
    if !conn.closed_within(Duration::from_secs(10)) {
        return Err(format!("{} but the connection stays open", res.status));
    }
    Ok(())
}

/// A listed difference: refused (any status over 399, or a close without one), or
/// served with a 2xx.
fn differs_as_listed(server: &Server, data: &[u8], differs: Differs) -> Result<(), String> {
    let mut conn = server.connect();
    let _ = conn.try_send(&to_script(data, 0).0);
    let _ = conn.stream.shutdown(Shutdown::Write);
    let status = conn.try_response(false).map(|r| r.status).ok();
    match (differs, status) {
        (Refused, Some(400..) | None) => Ok(()),
        (Served, Some(200..=299)) => Ok(()),
        _ => Err(format!("listed as {differs:?}, answered {status:?}")),
    }
}

/// A valid file: each request in it reaches the script with gunicorn's method, target
/// and body.
fn served_as_expected(server: &Server, data: &[u8], expected: &[Expected]) -> Result<(), String> {
    let mut data = data.to_vec();
    let mut cursor = 0;
    for e in expected {
        let mut line = e.method.clone();
        line.push(b' ');
        line.extend_from_slice(&e.uri);
        line.push(b' ');
        let at = find(&data[cursor..], &line)
            .ok_or_else(|| format!("no request line {:?}", String::from_utf8_lossy(&line)))?;
        (data, cursor) = to_script(&data, cursor + at);
    }
    let mut conn = server.connect();
    conn.send(&data);
    let _ = conn.stream.shutdown(Shutdown::Write);
    for (i, e) in expected.iter().enumerate() {
        let res = conn
            .try_response(false)
            .map_err(|err| format!("request {i}: no response: {err}"))?;
        // The script sees an absolute-form target's path, as RFC 9112 §3.3 rebuilds it.
        let mut uri = SCRIPT.to_vec();
        uri.extend(e.uri[path_at(&e.uri)..].iter().flat_map(|&b| match b {
            0x80.. => format!("%{b:02X}").into_bytes(),
            _ => vec![b],
        }));
        let got = (
            res.status,
            res.header("X-Method").map(|m| m.as_bytes().to_vec()),
            res.header("X-Uri").map(|u| u.as_bytes().to_vec()),
        );
        if got != (200, Some(e.method.clone()), Some(uri.clone())) {
            return Err(format!(
                "request {i}: got {got:?}, wanted 200 {:?} {:?}",
                String::from_utf8_lossy(&e.method),
                String::from_utf8_lossy(&uri)
            ));
        }
        if res.body != e.body {
            return Err(format!(
                "request {i}: body {:?}, wanted {:?}",
                String::from_utf8_lossy(&res.body),
                String::from_utf8_lossy(&e.body)
            ));
        }
    }
    Ok(())
}

/// The requests a valid file's `.py` expects, in order: each `"method"`, `uri(...)` and
/// `"body"` literal.
fn expected(py: &str) -> Vec<Expected> {
    let all = |key: &str| -> Vec<Vec<u8>> {
        py.match_indices(key)
            .map(|(i, _)| literal(&py[i + key.len()..]))
            .collect()
    };
    let (methods, uris, bodies) = (all("\"method\":"), all("uri("), all("\"body\":"));
    assert_eq!(methods.len(), uris.len(), "{py}");
    assert_eq!(methods.len(), bodies.len(), "{py}");
    methods
        .into_iter()
        .zip(uris)
        .zip(bodies)
        .map(|((method, uri), body)| Expected { method, uri, body })
        .collect()
}

/// The Python string or bytes literal at the start of `text` (after blanks), as bytes:
/// `\xHH` is that byte, in a str as in bytes (the corpus uses it for raw UTF-8). A
/// triple-quoted one followed by `.replace('\n', '\r\n')` gets CRLF line ends.
fn literal(text: &str) -> Vec<u8> {
    let text = text.trim_start().trim_start_matches('b').as_bytes();
    let quote = text[0];
    let triple = text.len() > 2 && text[1] == quote && text[2] == quote;
    let mut i = if triple { 3 } else { 1 };
    let mut out = Vec::new();
    loop {
        let b = text[i];
        if b == quote && (!triple || text[i..].starts_with(&[quote; 3])) {
            i += if triple { 3 } else { 1 };
            break;
        }
        if b != b'\\' {
            out.push(b);
            i += 1;
            continue;
        }
        let (byte, len) = match text[i + 1] {
            b'r' => (b'\r', 2),
            b'n' => (b'\n', 2),
            b't' => (b'\t', 2),
            b'0' => (0, 2),
            b'x' => (hex_byte(&text[i + 2..i + 4]).expect("\\xHH"), 4),
            other => (other, 2),
        };
        out.push(byte);
        i += len;
    }
    if text[i..].starts_with(b".decode('utf-8').replace('\\n', '\\r\\n')") {
        out = replace(&out, b"\n", b"\r\n");
    }
    out
}
