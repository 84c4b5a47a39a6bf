//! Reading a request, before any host sees it: its head as the environ sees it
//! ([`request_head`]), refused if too large or ambiguous ([`check_size`]), and its body
//! read in full ([`read_body`]).

use std::borrow::Cow;
use std::io::ErrorKind;
use std::net::SocketAddr;

use tiny_http::Request;

use crate::http::body::{Body, BodyError};
use crate::http::endpoint::Endpoint;
use crate::request::environ::RequestHead;
use crate::request::error::RequestError;

/// Longest request target passed on: env strings go through exec, which caps each one.
pub const MAX_TARGET: usize = 8 * 1024;
/// Largest request header block accepted.
pub const MAX_HEADERS: usize = 32 * 1024;
/// A method's name, not copied when it is one of RFC 9110's (or PATCH).
fn method_name(method: &str) -> Cow<'static, str> {
    const KNOWN: [&str; 9] = [
        "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
    ];
    match KNOWN.iter().find(|k| **k == method) {
        Some(known) => Cow::Borrowed(known),
        None => Cow::Owned(method.to_string()),
    }
}

/// The request, as the environ sees it.
pub fn request_head(request: &Request, local: &Endpoint) -> RequestHead {
    let v = request.http_version();
    let mut target = request.url().to_string();
    // RFC 9112 §3.2.2: a server must accept the absolute form (`GET http://host/path`),
    // and its authority replaces the Host header.
    let mut authority = None;
    if let Some(rest) = target.strip_prefix("http://") {
        let (host, path) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
        authority = Some(host.to_string());
        target = if path.starts_with('/') {
            path.to_string()
        } else {
            format!("/{path}")
        };
    }
    let mut headers: Vec<(String, String)> = Vec::with_capacity(request.headers().len() + 1);
    // RFC 9112 §5.5: a value may hold obs-text; one that is not UTF-8 goes to a script as
    // the bytes sent (and to an app read as Latin-1, in `headers`).
    let mut raw_values = Vec::new();
    for h in request.headers() {
        if authority.is_some() && h.field.equiv("Host") {
            continue;
        }
        if std::str::from_utf8(h.value.as_bytes()).is_err() {
            raw_values.push((headers.len(), h.value.as_bytes().to_vec()));
        }
        headers.push((h.field.as_str().to_string(), h.value.as_str().into_owned()));
    }
    if let Some(host) = authority {
        headers.push(("Host".to_string(), host));
    }
    RequestHead {
        method: method_name(request.method().as_str()),
        target,
        protocol: match (v.0, v.1) {
            (1, 1) => Cow::Borrowed("HTTP/1.1"),
            (1, 0) => Cow::Borrowed("HTTP/1.0"),
            (major, minor) => format!("HTTP/{major}.{minor}").into(),
        },
        headers,
        raw_values,
        // A unix socket's client has no address; a TCP client whose address could not be
        // read (it left already) is 0.0.0.0:0.
        remote: match (request.remote_addr(), local) {
            (Some(addr), _) => Endpoint::Tcp(*addr),
            (None, Endpoint::Unix(_)) => Endpoint::unix_client(),
            (None, Endpoint::Tcp(_)) => Endpoint::Tcp(SocketAddr::from(([0, 0, 0, 0], 0))),
        },
        local: local.clone(),
        // Known once the peer is checked against --forwarded-allow-ips.
        forwarded: Default::default(),
    }
}

/// RFC 9112 §3 and RFC 6585 §5: refuse what is too large to pass on.
pub fn check_size(head: &RequestHead) -> Result<(), RequestError> {
    if head.target.len() > MAX_TARGET {
        return Err(RequestError::UriTooLong {
            len: head.target.len(),
            limit: MAX_TARGET,
        });
    }
    let len: usize = head
        .headers
        .iter()
        .map(|(n, v)| n.len() + v.len() + 4)
        .sum();
    if len > MAX_HEADERS {
        return Err(RequestError::HeadersTooLarge {
            len,
            limit: MAX_HEADERS,
        });
    }
    if !head.target.starts_with('/') {
        return Err(RequestError::BadRequest {
            why: "the request target must be a path".into(),
        });
    }
    // RFC 9112 §6.3: a body's length must be unambiguous, or the bytes after it could be
    // taken for another request (request smuggling).
    if head.header("Transfer-Encoding").is_some() && head.header("Content-Length").is_some() {
        return Err(RequestError::BadRequest {
            why: "both Transfer-Encoding and Content-Length".into(),
        });
    }
    let lengths: Vec<&str> = head
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("Content-Length"))
        .map(|(_, v)| v.trim())
        .collect();
    let valid = lengths
        .iter()
        .all(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()));
    if !valid || lengths.windows(2).any(|w| w[0] != w[1]) {
        return Err(RequestError::BadRequest {
            why: "malformed or conflicting Content-Length".into(),
        });
    }
    Ok(())
}

/// The declared body length: `Ok(None)` without a Content-Length header; a length too
/// large for any integer is over every limit.
fn declared_length(head: &RequestHead, limit: u64) -> Result<Option<u64>, RequestError> {
    match head.header("Content-Length") {
        None => Ok(None),
        Some(v) => match v.trim().parse::<u64>() {
            Ok(n) if n <= limit => Ok(Some(n)),
            _ => Err(RequestError::BodyTooLarge { limit }),
        },
    }
}

/// Reads the request body in full, if there is one (§4.2).
pub fn read_body(
    request: &mut Request,
    head: &RequestHead,
    limit: u64,
) -> Result<Option<Body>, RequestError> {
    // The head, not the request, says whether there is a body: a local redirect drops it.
    let chunked = head.header("Transfer-Encoding").is_some();
    let declared = declared_length(head, limit)?;
    if declared.is_none() && !chunked {
        return Ok(None);
    }
    // A body that ends before its declared length is an error from the front's reader
    // (vendor/tiny_http/src/body.rs), so a short body never reaches a host.
    match Body::read_from(request.as_reader(), limit) {
        Ok(body) => Ok(Some(body)),
        Err(BodyError::TooLarge) => Err(RequestError::BodyTooLarge { limit }),
        Err(BodyError::Io(cause))
            if matches!(cause.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
        {
            Err(RequestError::ClientTimeout)
        }
        Err(BodyError::Io(cause)) => Err(RequestError::BadRequest {
            why: format!("reading the request body: {cause}"),
        }),
    }
}
