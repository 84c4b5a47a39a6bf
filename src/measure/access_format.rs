//! `--access-log-format`: an access log line in the form log tools read, as gunicorn
//! writes it. `common` is the Common Log Format, `combined` adds the referrer and the
//! user agent (gunicorn's default), and any other value is a format string of gunicorn's
//! atoms, each written `%(NAME)s` (`%%` is a `%`):
//!
//! | atom | what |
//! |---|---|
//! | `h` | the client: what a trusted proxy's `X-Forwarded-For` says, else the peer's address |
//! | `l` | `-` |
//! | `u` | the user name of HTTP Basic authentication, or `-` |
//! | `t` | the time, `[24/Nov/2026:06:55:09 +0000]` (UTC) |
//! | `r` | the request line, `GET /path?query HTTP/1.1` |
//! | `m` `U` `q` `H` | the method, the URL path and the query string (as sent), the protocol |
//! | `s` | the status |
//! | `B` `b` | body bytes sent; `b` writes `-` for none, as CLF does |
//! | `f` `a` | the `Referer` and `User-Agent` headers, or `-` |
//! | `T` `M` `D` `L` | the time taken in whole seconds, milliseconds, microseconds; in seconds with six decimals |
//! | `p` | the server's process id, `<1234>` |
//! | `{name}i` `{name}o` | a request or response header, or `-` |
//! | `{name}e` | a meta-variable of the request's environ (`{remote_addr}e`: the peer), or `-` |
//!
//! `h` differs from gunicorn's, which is always the peer: behind a trusted proxy it names
//! the client, as nginx's realip and Apache's mod_remoteip do. A line is the format and
//! nothing more (no time in front of it: tools parse `common` and `combined` as they are).
//! What comes from the client is escaped: control bytes as the server's log escapes them,
//! `"` and `\` with a backslash (as Apache does), so a header cannot end a quoted field
//! or forge a line.

use std::fmt::Write as _;
use std::time::Duration;

use crate::log::clock::Utc;
use crate::measure::app_log::escape;
use crate::request::environ::{Environ, RequestHead};

/// The Common Log Format.
pub const COMMON: &str = r#"%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s"#;
/// The Combined Log Format: CLF with the referrer and user agent, gunicorn's default.
pub const COMBINED: &str = r#"%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s""#;

/// The atoms, for error messages.
const ATOMS: &str = "h l u t r m U q H s B b f a T M D L p {header}i {header}o {variable}e";

/// A parsed `--access-log-format`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessFormat {
    pieces: Vec<Piece>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Atom(Atom),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Atom {
    Client,
    Dash,
    User,
    Time,
    RequestLine,
    Method,
    Path,
    Query,
    Protocol,
    Status,
    Bytes,
    BytesOrDash,
    Referer,
    UserAgent,
    Seconds,
    Millis,
    Micros,
    DecimalSeconds,
    Pid,
    RequestHeader(String),
    ResponseHeader(String),
    Variable(String),
}

/// One request, as its access line sees it.
pub struct Entry<'a> {
    pub head: &'a RequestHead,
    pub status: u16,
    pub bytes: u64,
    pub elapsed: Duration,
    /// The response's header fields, as the host gave them.
    pub headers: &'a [(String, String)],
    /// The request's meta-variables, when it got as far as having them.
    pub environ: Option<&'a Environ>,
}

impl Default for AccessFormat {
    fn default() -> AccessFormat {
        AccessFormat::parse(COMBINED).expect("the combined format parses")
    }
}

impl AccessFormat {
    /// `common`, `combined`, or a format string; the error says what to write instead.
    pub fn parse(spec: &str) -> Result<AccessFormat, String> {
        let format = match spec {
            "common" => COMMON,
            "combined" => COMBINED,
            other => other,
        };
        parse_pieces(format).map(|pieces| AccessFormat { pieces }).map_err(|why| {
            format!(
                "--access-log-format: {why}; use common, combined, or gunicorn's atoms as %(NAME)s: {ATOMS}"
            )
        })
    }

    /// The line for `entry`, at `now`.
    pub fn render(&self, entry: &Entry<'_>, now: &Utc) -> String {
        let mut line = String::with_capacity(160);
        for piece in &self.pieces {
            match piece {
                Piece::Text(text) => line.push_str(text),
                Piece::Atom(atom) => atom.write(&mut line, entry, now),
            }
        }
        line
    }
}

fn parse_pieces(format: &str) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut rest = format;
    while let Some(at) = rest.find('%') {
        text.push_str(&rest[..at]);
        rest = &rest[at..];
        if let Some(after) = rest.strip_prefix("%%") {
            text.push('%');
            rest = after;
            continue;
        }
        let Some(name_and_more) = rest.strip_prefix("%(") else {
            return Err(format!(
                "a `%` that starts no atom at `{}`; write %% for a %",
                head_of(rest)
            ));
        };
        let Some(close) = name_and_more.find(')') else {
            return Err(format!("`{}` has no closing `)`", head_of(rest)));
        };
        let name = &name_and_more[..close];
        let after = &name_and_more[close + 1..];
        let Some(after) = after.strip_prefix('s') else {
            return Err(format!(
                "`%({name})` must be followed by `s`, as in `%({name})s`"
            ));
        };
        let atom =
            Atom::named(name).ok_or_else(|| format!("`%({name})s` is not an atom cgilab knows"))?;
        if !text.is_empty() {
            pieces.push(Piece::Text(std::mem::take(&mut text)));
        }
        pieces.push(Piece::Atom(atom));
        rest = after;
    }
    text.push_str(rest);
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    Ok(pieces)
}

/// The start of `s`, for an error message.
fn head_of(s: &str) -> &str {
    let end = s.char_indices().nth(12).map_or(s.len(), |(i, _)| i);
    &s[..end]
}

impl Atom {
    fn named(name: &str) -> Option<Atom> {
        if let Some(inner) = name.strip_prefix('{') {
            let (key, kind) = inner.rsplit_once('}')?;
            let token = !key.is_empty()
                && key
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
            if !token {
                return None;
            }
            return match kind {
                "i" => Some(Atom::RequestHeader(key.to_string())),
                "o" => Some(Atom::ResponseHeader(key.to_string())),
                "e" => Some(Atom::Variable(key.to_ascii_uppercase())),
                _ => None,
            };
        }
        Some(match name {
            "h" => Atom::Client,
            "l" => Atom::Dash,
            "u" => Atom::User,
            "t" => Atom::Time,
            "r" => Atom::RequestLine,
            "m" => Atom::Method,
            "U" => Atom::Path,
            "q" => Atom::Query,
            "H" => Atom::Protocol,
            "s" => Atom::Status,
            "B" => Atom::Bytes,
            "b" => Atom::BytesOrDash,
            "f" => Atom::Referer,
            "a" => Atom::UserAgent,
            "T" => Atom::Seconds,
            "M" => Atom::Millis,
            "D" => Atom::Micros,
            "L" => Atom::DecimalSeconds,
            "p" => Atom::Pid,
            _ => return None,
        })
    }

    fn write(&self, line: &mut String, e: &Entry<'_>, now: &Utc) {
        let head = e.head;
        let _ = match self {
            Atom::Client => match head.forwarded.client {
                Some(ip) => write!(line, "{ip}"),
                None => match head.remote.tcp() {
                    Some(addr) => write!(line, "{}", addr.ip()),
                    // As nginx writes a unix-socket client's address.
                    None => write!(line, "unix:"),
                },
            },
            Atom::Dash => write!(line, "-"),
            Atom::User => {
                let user = head.header("Authorization").and_then(basic_user);
                quoted(line, user.as_deref());
                Ok(())
            }
            Atom::Time => write!(line, "{}", now.clf()),
            Atom::RequestLine => {
                let request = format!("{} {} {}", head.method, head.target, head.protocol);
                quoted(line, Some(&request));
                Ok(())
            }
            Atom::Method => {
                quoted(line, Some(&head.method));
                Ok(())
            }
            Atom::Path => {
                quoted(
                    line,
                    Some(crate::request::route::split_target(&head.target).0),
                );
                Ok(())
            }
            Atom::Query => {
                quoted(
                    line,
                    Some(crate::request::route::split_target(&head.target).1),
                );
                Ok(())
            }
            Atom::Protocol => write!(line, "{}", head.protocol),
            Atom::Status => write!(line, "{}", e.status),
            Atom::Bytes => write!(line, "{}", e.bytes),
            Atom::BytesOrDash if e.bytes == 0 => write!(line, "-"),
            Atom::BytesOrDash => write!(line, "{}", e.bytes),
            Atom::Referer => {
                quoted(line, head.header("Referer"));
                Ok(())
            }
            Atom::UserAgent => {
                quoted(line, head.header("User-Agent"));
                Ok(())
            }
            Atom::Seconds => write!(line, "{}", e.elapsed.as_secs()),
            Atom::Millis => write!(line, "{}", e.elapsed.as_millis()),
            Atom::Micros => write!(line, "{}", e.elapsed.as_micros()),
            Atom::DecimalSeconds => write!(
                line,
                "{}.{:06}",
                e.elapsed.as_secs(),
                e.elapsed.subsec_micros()
            ),
            Atom::Pid => write!(line, "<{}>", std::process::id()),
            Atom::RequestHeader(name) => {
                quoted(line, head.header(name));
                Ok(())
            }
            Atom::ResponseHeader(name) => {
                let value = e
                    .headers
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.as_str());
                quoted(line, value);
                Ok(())
            }
            Atom::Variable(name) => {
                quoted(line, e.environ.and_then(|env| env.get(name)));
                Ok(())
            }
        };
    }
}

/// A value from the client or an app: `-` when there is none, escaped so it stays one
/// field of one line.
fn quoted(line: &mut String, value: Option<&str>) {
    let Some(value) = value.filter(|v| !v.is_empty()) else {
        line.push('-');
        return;
    };
    if !value.contains(['"', '\\']) && !value.chars().any(char::is_control) {
        line.push_str(value);
        return;
    }
    // Quotes and backslashes first, so the backslashes the control escapes add stay single.
    let quoted = value.replace('\\', "\\\\").replace('"', "\\\"");
    line.push_str(&escape(quoted.as_bytes()));
}

/// The user name of `Authorization: Basic BASE64(user:password)`; never the password.
fn basic_user(authorization: &str) -> Option<String> {
    let (scheme, credentials) = authorization.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64(credentials.trim())?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, _password) = text.split_once(':')?;
    Some(user.to_string())
}

/// Standard base64 (RFC 4648 §4), padding optional; `None` if it is not base64.
fn base64(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for b in text.trim_end_matches('=').bytes() {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::forwarded::Forwarded;

    fn head(headers: &[(&str, &str)]) -> RequestHead {
        RequestHead {
            method: "GET".into(),
            target: "/cgi-bin/hello.sh?a=1".into(),
            protocol: "HTTP/1.1".into(),
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            raw_values: Vec::new(),
            remote: "127.0.0.1:5555".parse().unwrap(),
            local: "127.0.0.1:8000".parse().unwrap(),
            forwarded: Forwarded::default(),
        }
    }

    fn render(format: &str, head: &RequestHead, bytes: u64) -> String {
        let response = [("Content-Type".to_string(), "text/plain".to_string())];
        let entry = Entry {
            head,
            status: 200,
            bytes,
            elapsed: Duration::from_micros(1_234_567),
            headers: &response,
            environ: None,
        };
        let now = Utc::at(std::time::UNIX_EPOCH + Duration::from_secs(1_795_503_309));
        AccessFormat::parse(format).unwrap().render(&entry, &now)
    }

    #[test]
    fn common_and_combined_are_the_standard_lines() {
        let h = head(&[("User-Agent", "curl/8.5.0"), ("Referer", "http://a/")]);
        assert_eq!(
            render("common", &h, 14),
            r#"127.0.0.1 - - [24/Nov/2026:06:55:09 +0000] "GET /cgi-bin/hello.sh?a=1 HTTP/1.1" 200 14"#
        );
        assert_eq!(
            render("combined", &h, 0),
            r#"127.0.0.1 - - [24/Nov/2026:06:55:09 +0000] "GET /cgi-bin/hello.sh?a=1 HTTP/1.1" 200 - "http://a/" "curl/8.5.0""#
        );
        assert_eq!(render(COMBINED, &h, 0), render("combined", &h, 0));
    }

    #[test]
    fn every_atom_of_gunicorn_renders() {
        let h = head(&[
            ("X-Request-Id", "abc"),
            ("Authorization", "Basic YWxpY2U6c2VjcmV0"),
        ]);
        assert_eq!(
            render(
                "%(m)s %(U)s %(q)s %(H)s %(s)s %(B)s %(b)s %(u)s %(l)s",
                &h,
                0
            ),
            "GET /cgi-bin/hello.sh a=1 HTTP/1.1 200 0 - alice -"
        );
        assert_eq!(
            render("%(T)s %(M)s %(D)s %(L)s", &h, 0),
            "1 1234 1234567 1.234567"
        );
        assert_eq!(
            render(
                "%({x-request-id}i)s %({content-type}o)s %({nope}i)s %({remote_addr}e)s",
                &h,
                0
            ),
            "abc text/plain - -"
        );
        assert_eq!(render("%(p)s", &h, 0), format!("<{}>", std::process::id()));
        assert_eq!(render("100%% %(s)s", &h, 0), "100% 200");
    }

    #[test]
    fn the_client_is_what_a_trusted_proxy_said() {
        let mut h = head(&[]);
        h.forwarded.client = Some("203.0.113.7".parse().unwrap());
        assert_eq!(render("%(h)s %({remote_addr}e)s", &h, 0), "203.0.113.7 -");
    }

    #[test]
    fn what_the_client_sent_cannot_end_a_field_or_a_line() {
        let h = head(&[("User-Agent", "x\" 500 \"\r\nforged\\")]);
        assert_eq!(render("\"%(a)s\"", &h, 0), r#""x\" 500 \"\r\nforged\\""#);
    }

    #[test]
    fn a_password_is_never_logged() {
        assert_eq!(
            basic_user("Basic YWxpY2U6c2VjcmV0").as_deref(),
            Some("alice")
        );
        assert_eq!(basic_user("Bearer YWxpY2U6c2VjcmV0"), None);
        assert_eq!(basic_user("Basic !!!"), None);
    }

    #[test]
    fn a_bad_format_says_what_is_wrong_on_one_line() {
        for (format, why) in [
            ("%(x)s", "`%(x)s` is not an atom cgilab knows"),
            ("%(h)d", "`%(h)` must be followed by `s`"),
            ("50% %(h)s", "a `%` that starts no atom at `% %(h)s`"),
            ("%(h", "`%(h` has no closing `)`"),
            ("%({}i)s", "`%({}i)s` is not an atom"),
            ("%({a b}i)s", "`%({a b}i)s` is not an atom"),
            ("%({x}z)s", "`%({x}z)s` is not an atom"),
        ] {
            let e = AccessFormat::parse(format).unwrap_err();
            assert!(e.starts_with("--access-log-format: "), "{e}");
            assert!(e.contains(why), "{format}: {e}");
            assert!(e.contains("use common, combined"), "{e}");
            assert!(!e.contains('\n'));
        }
    }
}
