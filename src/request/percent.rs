//! Percent-decoding (RFC 3986 §2.1), the one decoder for every part of a request: strict
//! for a path or a search word ([`decode`]: a malformed escape is an error), lenient for
//! form fields ([`decode_form`]: as Python's `parse_qsl` does).

/// Decodes `%XX` escapes; `None` if an escape is malformed. `+` stays `+`.
pub fn decode(s: &str) -> Option<Vec<u8>> {
    decode_with(s, false, true)
}

/// Decodes an `application/x-www-form-urlencoded` name or value: `+` is a space, a
/// malformed escape stays as it is, and bytes that are not UTF-8 become U+FFFD.
pub fn decode_form(s: &str) -> String {
    let bytes = decode_with(s, true, false).unwrap_or_default();
    String::from_utf8_lossy(&bytes).into_owned()
}

fn decode_with(s: &str, plus_is_space: bool, strict: bool) -> Option<Vec<u8>> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |j: usize| bytes.get(j).and_then(|&b| (b as char).to_digit(16));
        match bytes[i] {
            b'%' => match (hex(i + 1), hex(i + 2)) {
                (Some(hi), Some(lo)) => {
                    out.push((hi * 16 + lo) as u8);
                    i += 2;
                }
                _ if strict => return None,
                _ => out.push(b'%'),
            },
            b'+' if plus_is_space => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_refuse_malformed_escapes_and_keep_plus() {
        assert_eq!(decode("a%20b+c").unwrap(), b"a b+c");
        assert_eq!(decode("a%zz"), None);
        assert_eq!(decode("a%4"), None);
    }

    #[test]
    fn forms_decode_plus_and_keep_malformed_escapes() {
        assert_eq!(decode_form("x+y%21"), "x y!");
        assert_eq!(decode_form("%zz%4"), "%zz%4");
    }
}
