//! The Chinese edition's messages: each English message of the course (an exercise's
//! title and task, a check's steps, failures and hints) beside its Simplified Chinese form.
//!
//! A key is the English exactly as the code writes it, its format string with every
//! `{name}` written `{}`; the Chinese form fills the same holes in the same order. A test
//! below finds every key in the source, so a message reworded in English shows up here as
//! a key to update, never as a Chinese text that no longer says the same thing. Terms
//! follow the Chinese article the course grows from: worker, 进程池, 响应体, 请求头.

use super::template::{fill, holes};

mod catalog;

pub use catalog::messages;

/// The Chinese form of the English message `en`, if it has one. When several keys fit
/// (`{} exists` and `{} exists, and ...`), the one with the most fixed text wins.
pub fn message(en: &str) -> Option<String> {
    messages()
        .filter_map(|(key, zh)| Some((key, zh, holes(key, en)?)))
        .max_by_key(|(key, _, found)| key.len() - 2 * found.len())
        .map(|(_, zh, found)| fill(zh, &found))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The string literals of a Rust source file, unescaped, with each `{name}` or
    /// `{:spec}` of a format string written `{}`. Enough for the checks' sources: no raw
    /// strings there.
    fn literals(source: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut chars = source.chars().peekable();
        let mut prev = ' ';
        while let Some(c) = chars.next() {
            // `'"'` is a char, not a string.
            if c != '"' || (prev == '\'' && chars.peek() == Some(&'\'')) {
                prev = c;
                continue;
            }
            let mut s = String::new();
            while let Some(c) = chars.next() {
                match c {
                    '"' => break,
                    '\\' => match chars.next() {
                        Some('n') => s.push('\n'),
                        Some('t') => s.push('\t'),
                        Some('\n') => {
                            while chars.peek().is_some_and(|c| c.is_whitespace()) {
                                chars.next();
                            }
                        }
                        Some(other) => s.push(other),
                        None => {}
                    },
                    _ => s.push(c),
                }
            }
            out.push(holes_written_plainly(&s));
            prev = '"';
        }
        out
    }

    /// `{name}`, `{}` and `{:>2}` become `{}`; `{{` and `}}` stay.
    fn holes_written_plainly(s: &str) -> String {
        let mut out = String::new();
        let mut rest = s;
        while let Some(i) = rest.find('{') {
            out.push_str(&rest[..i]);
            rest = &rest[i..];
            if let Some(after) = rest.strip_prefix("{{") {
                out.push_str("{{");
                rest = after;
            } else if let Some(end) = rest.find('}') {
                out.push_str("{}");
                rest = &rest[end + 1..];
            } else {
                out.push_str(rest);
                rest = "";
            }
        }
        out + rest
    }

    #[test]
    fn every_key_is_a_message_the_course_still_says() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lessons/checks");
        let mut said = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let source = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            said.extend(literals(&source));
        }
        let stale: Vec<&str> = messages()
            .map(|(en, _)| *en)
            .filter(|en| !said.iter().any(|s| s == en))
            .collect();
        assert!(
            stale.is_empty(),
            "these keys of src/lessons/zh/catalog/ are no longer said in src/lessons/checks: \
             update each to the new English and its Chinese to match:\n{}",
            stale.join("\n")
        );
    }

    #[test]
    fn each_chinese_form_has_the_holes_of_its_english() {
        for (en, zh) in messages() {
            assert_eq!(
                en.matches("{}").count(),
                zh.matches("{}").count(),
                "`{en}` and `{zh}`"
            );
        }
    }

    #[test]
    fn a_message_is_found_through_its_format_string() {
        assert_eq!(
            message("cgi-bin/me.sh does not exist").as_deref(),
            Some("cgi-bin/me.sh 不存在")
        );
        assert_eq!(
            message("GET / answered 200 OK, not 404: the lab's routes are on").as_deref(),
            Some("GET / 回答了 200 OK，而不是 404：实验室的路由还开着")
        );
        assert_eq!(
            message("deploy.toml exists, and `cgilab check-config deploy.toml` finds no error")
                .as_deref(),
            Some("deploy.toml 存在，`cgilab check-config deploy.toml` 没有发现错误")
        );
        assert_eq!(message("something no check says"), None);
    }
}
