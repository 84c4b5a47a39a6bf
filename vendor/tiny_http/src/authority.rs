//! cgilab patch: what a `Host` field value may be (RFC 9112 §3.2, RFC 9110 §7.2): the
//! authority of RFC 3986 §3.2.2 without userinfo, `host [ ":" port ]`.
//!
//! Upstream took any value, and CGI passes it on as `HTTP_HOST` and `SERVER_NAME`: a
//! script that builds an absolute URL from it (`Location: http://$HTTP_HOST/...`) then
//! redirected to whatever the client wrote, `evil.example/phish?x=` included.

use std::net::Ipv6Addr;

/// Checks a `Host` field value; the error says what is wrong with it.
pub(crate) fn check_host(value: &[u8]) -> Result<(), &'static str> {
    // §3.2: a request whose target has no authority sends an empty Host.
    if value.is_empty() {
        return Ok(());
    }
    let (host, port) = if value.starts_with(b"[") {
        let end = value
            .iter()
            .position(|&b| b == b']')
            .ok_or("Host: an IP literal without its `]`")?;
        let literal = std::str::from_utf8(&value[1..end]).map_err(|_| "Host: bad IP literal")?;
        literal
            .parse::<Ipv6Addr>()
            .map_err(|_| "Host: not an IPv6 address in brackets")?;
        match &value[end + 1..] {
            [] => (&value[..=end], None),
            [b':', port @ ..] => (&value[..=end], Some(port)),
            _ => return Err("Host: bytes after an IP literal that are not a port"),
        }
    } else {
        match value.iter().rposition(|&b| b == b':') {
            Some(colon) => (&value[..colon], Some(&value[colon + 1..])),
            None => (value, None),
        }
    };
    // RFC 9110 §4.2.1: an http URI with an empty host is invalid.
    if host.is_empty() {
        return Err("Host: empty host with a port");
    }
    if !host.starts_with(b"[") {
        check_reg_name(host)?;
    }
    // RFC 3986 §3.2.3: `port = *DIGIT`; an empty port means the default one.
    if let Some(port) = port {
        if !port.iter().all(u8::is_ascii_digit) {
            return Err("Host: a port that is not a number");
        }
        if port.len() > 5 || digits_value(port) > 65535 {
            return Err("Host: a port over 65535");
        }
    }
    Ok(())
}

/// RFC 3986 §3.2.2: `reg-name = *( unreserved / pct-encoded / sub-delims )`, which also
/// covers IPv4 addresses. No `/ ? # @`, no whitespace, no `:` left over.
fn check_reg_name(host: &[u8]) -> Result<(), &'static str> {
    let mut i = 0;
    while i < host.len() {
        let b = host[i];
        if b == b'%' {
            let hex = host
                .get(i + 1..i + 3)
                .ok_or("Host: a `%` not followed by two hex digits")?;
            if !hex.iter().all(u8::is_ascii_hexdigit) {
                return Err("Host: a `%` not followed by two hex digits");
            }
            i += 3;
            continue;
        }
        let unreserved = b.is_ascii_alphanumeric() || b"-._~".contains(&b);
        let sub_delim = b"!$&'()*+,;=".contains(&b);
        if !unreserved && !sub_delim {
            return Err("Host: not a host name, IP address or port");
        }
        i += 1;
    }
    Ok(())
}

/// The value of at most five ASCII digits.
fn digits_value(digits: &[u8]) -> u32 {
    digits
        .iter()
        .take(5)
        .fold(0, |n, d| n * 10 + u32::from(d - b'0'))
}
