//! cgilab patch: reading a request head strictly (RFC 9112 §2-§7), with `httparse`, and
//! deciding how its body is framed.
//!
//! Upstream read header lines by hand: it trimmed them (so an obs-fold line became a
//! field of its own), treated any `Transfer-Encoding` as chunked, closed the connection
//! silently on a non-ASCII byte, and deadlocked on `HTTP/2.0`. Here every head is either
//! a request with one unambiguous body length, or a refusal with a status and a reason.

use std::io::{self, ErrorKind};
use std::time::{Duration, Instant};

use crate::common::{HTTPVersion, Header, HeaderField, HeaderValue, Method};
use crate::util::Inbound;

/// Most header fields in one request.
pub(crate) const MAX_FIELDS: usize = 128;

/// A request head, parsed and checked.
pub(crate) struct Head {
    pub method: Method,
    pub target: String,
    pub version: HTTPVersion,
    pub headers: Vec<Header>,
    pub framing: Framing,
    /// `Expect: 100-continue` from an HTTP/1.1 client.
    pub expects_continue: bool,
    /// No request may follow this one on the connection.
    pub last: bool,
    /// When its first byte arrived.
    pub arrived: Instant,
}

/// How the body of a request is delimited (RFC 9112 §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    None,
    Length(u64),
    Chunked,
}

/// A head the front answers itself, with what it could read of it.
pub(crate) struct Refusal {
    pub status: u16,
    pub why: String,
    pub method: Option<String>,
    pub target: Option<String>,
    pub arrived: Instant,
}

/// Why no request was read.
pub(crate) enum HeadError {
    /// The connection ended, or sat idle past its read timeout, before a request began.
    Closed,
    /// The client gets this status, then the connection closes.
    Refused(Refusal),
}

/// Reads the next request head. `limit` is how long a head may take from its first byte.
pub(crate) fn read(src: &mut Inbound, limit: Option<Duration>) -> Result<Head, HeadError> {
    let mut arrived = None;
    // Where to look for the blank line that ends the head: parse only once it is there,
    // so a head trickled a byte at a time costs one parse, not one per byte.
    let mut scanned = 0usize;
    loop {
        let buffered = src.buffered();
        if !buffered.is_empty() {
            let first = *arrived.get_or_insert_with(Instant::now);
            let from = scanned.saturating_sub(3);
            if has_blank_line(&buffered[from..]) {
                return parse(buffered, first).map(|(head, n)| {
                    io::BufRead::consume(src, n);
                    head
                });
            }
            scanned = buffered.len();
            if src.is_full() {
                let line_ends = buffered.contains(&b'\n');
                let (status, why) = if line_ends {
                    (431, "request header section over 64 KiB")
                } else {
                    (414, "request line over 64 KiB")
                };
                return Err(refuse(status, why, first, buffered));
            }
            if limit.is_some_and(|l| first.elapsed() > l) {
                return Err(refuse(408, "request head too slow", first, buffered));
            }
        }
        match src.fill_more() {
            Ok(0) => return Err(HeadError::Closed),
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return Err(match arrived {
                    // An idle keep-alive connection just ends.
                    None => HeadError::Closed,
                    Some(first) => refuse(408, "request head too slow", first, src.buffered()),
                });
            }
            Err(_) => return Err(HeadError::Closed),
        }
    }
}

fn has_blank_line(bytes: &[u8]) -> bool {
    bytes.windows(2).any(|w| w == b"\n\n") || bytes.windows(3).any(|w| w == b"\n\r\n")
}

/// A refusal of an incomplete head, naming its method and target if they were read.
fn refuse(status: u16, why: &str, arrived: Instant, buffered: &[u8]) -> HeadError {
    let mut fields = [httparse::EMPTY_HEADER; 0];
    let mut req = httparse::Request::new(&mut fields);
    let _ = req.parse(buffered);
    HeadError::Refused(Refusal {
        status,
        why: why.to_string(),
        method: req.method.map(str::to_string),
        target: req.path.map(escape_target),
        arrived,
    })
}

/// Parses a complete head; returns it and its length in bytes.
fn parse(bytes: &[u8], arrived: Instant) -> Result<(Head, usize), HeadError> {
    let mut fields = [httparse::EMPTY_HEADER; MAX_FIELDS];
    let mut req = httparse::Request::new(&mut fields);
    let parsed = req.parse(bytes);
    let refusal = |status: u16, why: &str, req: &httparse::Request<'_, '_>| {
        HeadError::Refused(Refusal {
            status,
            why: why.to_string(),
            method: req.method.map(str::to_string),
            target: req.path.map(escape_target),
            arrived,
        })
    };
    let n = match parsed {
        Ok(httparse::Status::Complete(n)) => n,
        // A blank line was seen, so the head is complete or malformed.
        Ok(httparse::Status::Partial) => return Err(refusal(400, "malformed request head", &req)),
        Err(httparse::Error::Version) => {
            let (status, why) = if names_a_version(bytes) {
                (505, "only HTTP/1.0 and HTTP/1.1 are supported")
            } else {
                (400, "malformed request line")
            };
            return Err(refusal(status, why, &req));
        }
        Err(httparse::Error::TooManyHeaders) => {
            return Err(refusal(431, "more than 128 header fields", &req));
        }
        Err(httparse::Error::HeaderName) => {
            // A line that starts with a space or tab continues the previous one
            // (obs-fold), which RFC 9112 §5.2 says to reject.
            return Err(refusal(400, "malformed header field name (or obs-fold)", &req));
        }
        Err(httparse::Error::HeaderValue) => {
            return Err(refusal(400, "control byte in a header field value", &req));
        }
        Err(e) => return Err(refusal(400, &format!("malformed request head: {e}"), &req)),
    };
    let method_text = req.method.unwrap_or("GET");
    let method: Method = method_text
        .parse()
        .map_err(|_| refusal(400, "malformed method", &req))?;
    let target = escape_target(req.path.unwrap_or("/"));
    if let Err(why) = check_target_form(method_text, &target) {
        return Err(refusal(400, why, &req));
    }
    let version = HTTPVersion(1, req.version.unwrap_or(1));
    let mut headers = Vec::with_capacity(req.headers.len());
    for f in req.headers.iter() {
        let field = HeaderField::from_bytes(f.name.as_bytes())
            .map_err(|_| refusal(400, "malformed header field name", &req))?;
        let value = HeaderValue::from_bytes(trim(f.value))
            .map_err(|_| refusal(400, "control byte in a header field value", &req))?;
        headers.push(Header { field, value });
    }
    let checked = check(&version, &headers).map_err(|(status, why)| refusal(status, why, &req))?;
    Ok((
        Head {
            method,
            target,
            version,
            headers,
            framing: checked.0,
            expects_continue: checked.1,
            last: checked.2,
            arrived,
        },
        n,
    ))
}

/// True if the request line ends in something shaped like `HTTP/x.y`.
fn names_a_version(bytes: &[u8]) -> bool {
    let line = bytes.split(|&b| b == b'\n').find(|l| !l.trim_ascii().is_empty());
    let Some(last) = line.and_then(|l| l.trim_ascii().rsplit(|&b| b == b' ').next()) else {
        return false;
    };
    matches!(last, [b'H', b'T', b'T', b'P', b'/', a, b'.', b] if a.is_ascii_digit() && b.is_ascii_digit())
}

/// cgilab patch: §3.2: a request-target is in origin-form, absolute-form, authority-form
/// (CONNECT only) or asterisk-form (OPTIONS only). Upstream took anything (`foo/bar`,
/// `GET *`), which a router then read as some path or other.
fn check_target_form(method: &str, target: &str) -> Result<(), &'static str> {
    let is_scheme = |s: &str| {
        s.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
    };
    let ok = match target {
        _ if method == "CONNECT" => crate::authority::check_host(target.as_bytes()).is_ok(),
        "*" => method == "OPTIONS",
        t if t.starts_with('/') => true,
        // An absolute-form authority is a Host's (RFC 9110 §4.2.4: userinfo is an error).
        t => t.split_once("://").is_some_and(|(scheme, rest)| {
            let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
            is_scheme(scheme) && crate::authority::check_host(rest[..end].as_bytes()).is_ok()
        }),
    };
    if ok {
        Ok(())
    } else {
        Err("request-target in no form RFC 9112 §3.2 allows for its method")
    }
}

fn trim(value: &[u8]) -> &[u8] {
    let is_ws = |b: &u8| *b == b' ' || *b == b'\t';
    let start = value.iter().position(|b| !is_ws(b)).unwrap_or(value.len());
    let end = value.iter().rposition(|b| !is_ws(b)).map_or(start, |i| i + 1);
    &value[start..end]
}

/// A request target with any byte over 0x7F percent-encoded, so it stays ASCII and no
/// byte is lost (a browser encodes them itself; other clients send them raw).
fn escape_target(target: &str) -> String {
    if target.is_ascii() {
        return target.to_string();
    }
    let mut out = String::with_capacity(target.len() * 3);
    for &b in target.as_bytes() {
        if b.is_ascii() {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The framing rules of RFC 9112 §3.2 and §6: returns the body's framing, whether the
/// client waits for `100 Continue`, and whether this is the connection's last request.
fn check(
    version: &HTTPVersion,
    headers: &[Header],
) -> Result<(Framing, bool, bool), (u16, &'static str)> {
    let named = |name: &'static str| headers.iter().filter(move |h| h.field.equiv(name));
    let http11 = *version == HTTPVersion(1, 1);

    // §3.2: exactly one Host in HTTP/1.1.
    match named("Host").count() {
        0 if http11 => return Err((400, "an HTTP/1.1 request needs a Host header")),
        0 | 1 => {}
        _ => return Err((400, "more than one Host header")),
    }
    // cgilab patch: §3.2 and RFC 9110 §7.2: a Host that is not a host is refused, as
    // nginx does, so no script builds a URL from it.
    for h in named("Host") {
        crate::authority::check_host(h.value.as_bytes()).map_err(|why| (400, why))?;
    }
    // cgilab patch: RFC 9110 §5.3: Content-Type is a singleton; two would give the body
    // two meanings, and hosts would disagree on which one holds (gunicorn refuses too).
    if named("Content-Type").count() > 1 {
        return Err((400, "more than one Content-Type header"));
    }

    let lengths: Vec<String> = named("Content-Length")
        .flat_map(|h| {
            h.value
                .as_str()
                .split(',')
                .map(|v| v.trim().to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    let codings: Vec<String> = named("Transfer-Encoding")
        .flat_map(|h| {
            h.value
                .as_str()
                .split(',')
                .map(|v| v.trim().to_ascii_lowercase())
                .filter(|v| !v.is_empty())
                .collect::<Vec<_>>()
        })
        .collect();
    let has_te = named("Transfer-Encoding").next().is_some();

    let framing = if has_te {
        // §6.1: a request with both is an attempt at smuggling; in HTTP/1.0 the framing
        // is faulty; chunked must be the final coding, applied once.
        if !lengths.is_empty() {
            return Err((400, "both Transfer-Encoding and Content-Length"));
        }
        if !http11 {
            return Err((400, "Transfer-Encoding in an HTTP/1.0 request"));
        }
        let chunked = codings.iter().filter(|c| *c == "chunked").count();
        if codings.last().map(String::as_str) != Some("chunked") {
            if chunked > 0 {
                return Err((400, "chunked is not the final transfer coding"));
            }
            return Err((501, "transfer coding not implemented; only chunked is"));
        }
        if chunked > 1 {
            return Err((400, "chunked applied more than once"));
        }
        if codings.len() > 1 {
            return Err((501, "transfer coding not implemented; only chunked is"));
        }
        Framing::Chunked
    } else if let Some(first) = lengths.first() {
        // §6.3: a length that is not a number, or two that differ, is unrecoverable.
        let valid = lengths
            .iter()
            .all(|v| !v.is_empty() && v.len() <= 19 && v.bytes().all(|b| b.is_ascii_digit()));
        if !valid || lengths.iter().any(|v| v != first) {
            return Err((400, "malformed or conflicting Content-Length"));
        }
        match first.parse::<u64>() {
            Ok(0) => Framing::None,
            Ok(n) => Framing::Length(n),
            Err(_) => return Err((400, "malformed Content-Length")),
        }
    } else {
        Framing::None
    };

    // RFC 9110 §10.1.1: an HTTP/1.0 client's expectation is ignored.
    let mut expects_continue = false;
    for h in named("Expect") {
        if h.value.as_str().trim().eq_ignore_ascii_case("100-continue") {
            expects_continue = http11;
        } else {
            return Err((417, "unsupported expectation"));
        }
    }

    // §9.3: HTTP/1.1 keeps the connection unless told to close; HTTP/1.0 closes unless
    // told to keep it. An `Upgrade` is ignored: this server does not switch protocols.
    let tokens: Vec<String> = named("Connection")
        .flat_map(|h| {
            h.value
                .as_str()
                .split(',')
                .map(|t| t.trim().to_ascii_lowercase())
                .collect::<Vec<_>>()
        })
        .collect();
    let last = tokens.iter().any(|t| t == "close")
        || (!http11 && !tokens.iter().any(|t| t == "keep-alive"));
    Ok((framing, expects_continue, last))
}
