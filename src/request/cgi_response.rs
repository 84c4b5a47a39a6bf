//! Parsing a script's header block (RFC 3875 §6): the lines it prints before the first
//! blank line, ended by LF or CRLF.
//!
//! Everything a script prints here is untrusted: a line without a colon, an invalid name,
//! a control character in a value or a malformed `Status` is a 502 with one log line,
//! never a panic and never a broken response. Framing is the server's: a script's own
//! `Transfer-Encoding` or `Connection` is dropped; its `Content-Length` is kept aside, and
//! the host sends it only with a body of that length (so HEAD and downloads carry one).
//!
//! Field values are octets (RFC 9110 §5.5): bytes past ASCII (obs-text, usually Latin-1)
//! pass through. They are held as Latin-1 text, one `char` per byte, as WSGI holds them
//! (PEP 3333), and written back as the same bytes.

/// The longest header block a script may print.
pub const MAX_HEADER_BLOCK: usize = 64 * 1024;

/// Fields that describe the connection or the framing, which only the server may set.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// What the script asked for.
#[derive(Debug, PartialEq, Eq)]
pub enum CgiResponse {
    /// A document (§6.2.1) or a client redirect (§6.2.3, §6.2.4): send it to the client.
    Document(Head),
    /// A local redirect (§6.2.2): the server serves this path instead.
    LocalRedirect(String),
}

/// Status and header fields to send.
#[derive(Debug, PartialEq, Eq)]
pub struct Head {
    pub status: u16,
    /// The app's own reason phrase (`Status: 299 Custom Reason`), when it gave a valid one.
    pub reason: Option<String>,
    pub headers: Vec<(String, String)>,
    /// The script's own `Content-Length`, not among `headers`: the host sends it only
    /// when the body matches it.
    pub content_length: Option<u64>,
}

/// Finds the blank line that ends a header block: `(block_len, body_start)`, where the
/// block excludes the line end before the blank line.
pub fn find_end(buf: &[u8]) -> Option<(usize, usize)> {
    if buf.starts_with(b"\n") {
        return Some((0, 1));
    }
    if buf.starts_with(b"\r\n") {
        return Some((0, 2));
    }
    let mut i = 0;
    while let Some(off) = memchr(b'\n', &buf[i..]) {
        let nl = i + off;
        match &buf[nl + 1..] {
            [b'\n', ..] => return Some((nl, nl + 2)),
            [b'\r', b'\n', ..] => return Some((nl, nl + 3)),
            _ => i = nl + 1,
        }
    }
    None
}

fn memchr(needle: u8, hay: &[u8]) -> Option<usize> {
    hay.iter().position(|&b| b == needle)
}

/// Parses a header block (without its blank line) into what the script asked for.
pub fn parse(block: &[u8]) -> Result<CgiResponse, String> {
    if block.is_empty() {
        return Err("no headers: output starts with a blank line".into());
    }
    // Latin-1: every byte is one char, so nothing is lost and nothing fails to decode.
    let text: String = block.iter().map(|&b| b as char).collect();
    let mut fields = Vec::new();
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.starts_with([' ', '\t']) {
            return Err(format!("folded header line `{}`", shorten(line)));
        }
        let Some(field) = line.split_once(':') else {
            return Err(format!("header line without a colon: `{}`", shorten(line)));
        };
        fields.push(field);
    }
    from_fields(fields)
}

/// What a header block's fields ask for, once split into names and values: the rules of
/// [`parse`] for a host whose app hands over its fields one by one (a WSGI app's
/// `Status` and `response_headers`), with no block to write and read back.
pub fn from_fields<N, V>(fields: impl IntoIterator<Item = (N, V)>) -> Result<CgiResponse, String>
where
    // A field handed over as a `String` is kept as it is, not copied.
    N: AsRef<str> + Into<String>,
    V: AsRef<str> + Into<String>,
{
    let mut status = None;
    let mut reason = None;
    let mut content_length = None;
    let mut location = None;
    let mut has_content_type = false;
    let mut headers = Vec::new();
    let mut block = BlockSize::default();
    for (name, value) in fields {
        let (n, v) = (name.as_ref(), value.as_ref());
        block.add(n, v)?;
        let trimmed = v.trim_matches([' ', '\t']);
        check_field(n, trimmed)?;
        if n.eq_ignore_ascii_case("status") {
            (status, reason) = parse_status(trimmed).map(|(s, r)| (Some(s), r))?;
        } else if n.eq_ignore_ascii_case("location") {
            location = Some(trimmed.to_string());
        } else if n.eq_ignore_ascii_case("content-length") {
            content_length = Some(parse_length(trimmed, content_length)?);
        } else if !is_hop_by_hop(n) {
            has_content_type |= n.eq_ignore_ascii_case("content-type");
            let cut = (trimmed.len() != v.len()).then(|| trimmed.to_string());
            headers.push((name.into(), cut.unwrap_or_else(|| value.into())));
        }
    }
    match location {
        Some(loc) if loc.starts_with('/') && !loc.starts_with("//") && status.is_none() => {
            Ok(CgiResponse::LocalRedirect(loc))
        }
        Some(loc) if loc.starts_with('/') || has_scheme(&loc) => {
            headers.push(("Location".into(), loc));
            let status = status.unwrap_or(302);
            Ok(CgiResponse::Document(Head {
                status,
                reason,
                headers,
                content_length,
            }))
        }
        Some(loc) => Err(format!(
            "Location `{}` is neither an absolute URL nor a local path",
            shorten(&loc)
        )),
        None if status.is_none() && !has_content_type => {
            Err("no Content-Type, Location or Status header".into())
        }
        None => Ok(CgiResponse::Document(Head {
            status: status.unwrap_or(200),
            reason,
            headers,
            content_length,
        })),
    }
}

/// The head of an app that states its status and fields itself (the gateway's apps),
/// under the rules a script's header block is held to: every field checked, the
/// connection's fields dropped, `Content-Length` kept aside.
pub fn head_of(status: u16, fields: Vec<(String, String)>) -> Result<Head, String> {
    if !(200..=599).contains(&status) {
        return Err(format!("status {status} is not a final status"));
    }
    let mut content_length = None;
    let mut headers = Vec::with_capacity(fields.len());
    let mut block = BlockSize::default();
    for (name, value) in fields {
        block.add(&name, &value)?;
        check_field(&name, &value)?;
        if name.eq_ignore_ascii_case("content-length") {
            content_length = Some(parse_length(&value, content_length)?);
        } else if !is_hop_by_hop(&name) {
            headers.push((name, value));
        }
    }
    Ok(Head {
        status,
        reason: None,
        headers,
        content_length,
    })
}

/// The size of a head's fields as the shortest header block that holds them, `Name:value`
/// lines joined by LF: what [`MAX_HEADER_BLOCK`] bounds, however a host's app hands its
/// fields over. A block a script printed is never shorter, so [`parse`] refuses no block
/// that the hosts' own limit let through.
#[derive(Default)]
struct BlockSize(usize);

impl BlockSize {
    fn add(&mut self, name: &str, value: &str) -> Result<(), String> {
        let line_end = usize::from(self.0 > 0);
        self.0 += line_end + name.len() + 1 + value.len();
        if self.0 > MAX_HEADER_BLOCK {
            return Err(format!("header block over {} KiB", MAX_HEADER_BLOCK / 1024));
        }
        Ok(())
    }
}

/// A field name must be a token, and a value must hold no control characters (CR, LF
/// and NUL above all: they would let a script split the response).
pub fn check_field(name: &str, value: &str) -> Result<(), String> {
    if name.is_empty() || !name.bytes().all(is_tchar) {
        return Err(format!("invalid header name `{}`", shorten(name)));
    }
    if value.bytes().any(|b| (b < 0x20 && b != b'\t') || b == 0x7f) {
        return Err(format!("control character in the value of `{name}`"));
    }
    Ok(())
}

/// True for fields about the connection or the framing, which only the server sets.
pub fn is_hop_by_hop(name: &str) -> bool {
    HOP_BY_HOP.iter().any(|h| h.eq_ignore_ascii_case(name))
}

/// `Content-Length`: digits only; a second one must agree with the first (RFC 9110 §8.6).
fn parse_length(value: &str, before: Option<u64>) -> Result<u64, String> {
    let n = value
        .parse::<u64>()
        .ok()
        .filter(|_| value.bytes().all(|b| b.is_ascii_digit()));
    match (n, before) {
        (Some(n), None) => Ok(n),
        (Some(n), Some(m)) if n == m => Ok(n),
        _ => Err(format!("malformed Content-Length `{}`", shorten(value))),
    }
}

/// `Status: 404 Not Found`: three digits, then an optional reason phrase (§6.3.3),
/// which goes to the client as the app wrote it (the value holds no control bytes: it
/// was checked as a field value).
fn parse_status(value: &str) -> Result<(u16, Option<String>), String> {
    let (code, reason) = value.split_once([' ', '\t']).unwrap_or((value, ""));
    let reason = reason.trim_matches([' ', '\t']);
    match code.parse::<u16>() {
        Ok(n) if code.len() == 3 && (200..=599).contains(&n) => {
            Ok((n, (!reason.is_empty()).then(|| reason.to_string())))
        }
        _ => Err(format!("malformed Status `{}`", shorten(value))),
    }
}

/// RFC 3986 §3.1: `scheme ":"`, where a scheme is a letter then letters, digits, `+-.`.
fn has_scheme(s: &str) -> bool {
    match s.split_once(':') {
        Some((scheme, _)) => {
            scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                && scheme
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
        }
        None => false,
    }
}

/// RFC 9110 §5.6.2 token characters.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// A line for a log message: at most 60 characters, control characters escaped.
fn shorten(s: &str) -> String {
    let cut: String = s.chars().take(60).collect();
    let more = if cut.len() < s.len() { "..." } else { "" };
    format!("{}{more}", cut.escape_debug())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(status: u16, headers: &[(&str, &str)]) -> CgiResponse {
        CgiResponse::Document(Head {
            status,
            reason: None,
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            content_length: None,
        })
    }

    #[test]
    fn header_block_ends_at_a_blank_line_with_lf_or_crlf() {
        assert_eq!(find_end(b"A: b\n\nbody"), Some((4, 6)));
        assert_eq!(find_end(b"A: b\r\n\r\nbody"), Some((5, 8)));
        assert_eq!(find_end(b"A: b\nC: d\r\n"), None);
        assert_eq!(find_end(b"\r\nbody"), Some((0, 2)));
    }

    /// Every host bounds a head at 64 KiB, counted as the shortest block that holds its
    /// fields: a block of exactly that size parses, one byte more does not, and fields
    /// handed over one by one (a WSGI app's, a Rust app's) meet the same bound.
    #[test]
    fn a_head_is_bounded_as_a_block_of_64_kib() {
        let first = "Content-Type:text/plain";
        let fits = format!(
            "{first}\nB:{}",
            "b".repeat(MAX_HEADER_BLOCK - first.len() - 3)
        );
        assert_eq!(fits.len(), MAX_HEADER_BLOCK);
        parse(fits.as_bytes()).unwrap();
        let over = format!("{fits}b");
        assert_eq!(
            parse(over.as_bytes()).unwrap_err(),
            "header block over 64 KiB"
        );
        let fields = (0..1000).map(|i| (format!("X-Filler-{i}"), "x".repeat(60)));
        assert_eq!(from_fields(fields).unwrap_err(), "header block over 64 KiB");
        let one = vec![("X".to_string(), "x".repeat(MAX_HEADER_BLOCK))];
        assert_eq!(head_of(200, one).unwrap_err(), "header block over 64 KiB");
    }

    #[test]
    fn status_defaults_to_200_and_reason_is_optional() {
        assert_eq!(
            parse(b"Content-Type: text/plain").unwrap(),
            doc(200, &[("Content-Type", "text/plain")])
        );
        assert_eq!(parse(b"Status: 418").unwrap(), doc(418, &[]));
        let CgiResponse::Document(head) = parse(b"Status: 299 Custom  Reason").unwrap() else {
            panic!("not a document")
        };
        assert_eq!(
            (head.status, head.reason.as_deref()),
            (299, Some("Custom  Reason"))
        );
    }

    #[test]
    fn absolute_location_without_status_is_302() {
        assert_eq!(
            parse(b"Location: http://x.test/").unwrap(),
            doc(302, &[("Location", "http://x.test/")])
        );
        assert_eq!(
            parse(b"Status: 301\nLocation: https://x/").unwrap(),
            doc(301, &[("Location", "https://x/")])
        );
    }

    #[test]
    fn local_location_is_a_local_redirect() {
        assert_eq!(
            parse(b"Location: /cgi-bin/x?y").unwrap(),
            CgiResponse::LocalRedirect("/cgi-bin/x?y".into())
        );
    }

    #[test]
    fn framing_headers_from_the_script_are_dropped_and_its_length_kept_aside() {
        let got = parse(
            b"Content-Type: a\nContent-Length: 9\nTransfer-Encoding: chunked\nConnection: close",
        )
        .unwrap();
        let CgiResponse::Document(head) = got else {
            panic!("not a document")
        };
        assert_eq!(
            head.headers,
            [("Content-Type".to_string(), "a".to_string())]
        );
        assert_eq!(head.content_length, Some(9));
        assert!(parse(b"Content-Type: a\nContent-Length: 9, 9").is_err());
        assert!(parse(b"Content-Type: a\nContent-Length: +9").is_err());
    }

    #[test]
    fn an_apps_own_fields_are_checked_and_its_length_kept_aside() {
        let fields = |f: &[(&str, &str)]| {
            f.iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect::<Vec<_>>()
        };
        let head = head_of(200, fields(&[("Content-Length", "5"), ("Connection", "x")])).unwrap();
        assert_eq!((head.content_length, head.headers.len()), (Some(5), 0));
        assert!(head_of(200, fields(&[("X-Safe", "a\r\nX-Injected: yes")])).is_err());
        assert!(
            head_of(
                200,
                fields(&[("Content-Length", "5"), ("Content-Length", "6")])
            )
            .is_err()
        );
        assert!(head_of(100, Vec::new()).is_err());
    }

    #[test]
    fn obs_text_in_a_value_passes_as_latin_1() {
        let got = parse(b"Content-Type: a\nX-Name: caf\xe9").unwrap();
        assert_eq!(
            got,
            doc(200, &[("Content-Type", "a"), ("X-Name", "caf\u{e9}")])
        );
    }

    #[test]
    fn bad_output_is_an_error_not_a_panic() {
        for bad in [
            &b"no colon here"[..],
            b"Bad Name: x",
            b"Status: abc",
            b"Status: 99",
            b"Status: 1000",
            b"Content-Type: a\x00b",
            b"Content-Type: a\n continued",
            b"X-Only: header",
            b"Location: relative/path",
            b"\xff\xfe: x",
            b"Content-Type: a\nX: \x7f",
            b"",
        ] {
            assert!(parse(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
    }
}
