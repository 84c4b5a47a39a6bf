//! The language the course speaks to the learner: English, or Simplified Chinese.
//!
//! The English text is written in place, where the code says it; the Chinese text of each
//! message is in [`zh`], keyed by the English, as gettext keys a catalog by its msgid. A
//! message with no Chinese form yet is shown in English, so a new or changed check never
//! prints nothing.

use std::path::{Path, PathBuf};

use super::zh;

/// The course's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    En,
    /// Simplified Chinese.
    Zh,
}

impl Lang {
    /// `en` or `zh`, as `--lang` takes it.
    pub fn from_code(code: &str) -> Option<Lang> {
        match code {
            "en" => Some(Lang::En),
            "zh" => Some(Lang::Zh),
            _ => None,
        }
    }

    /// The language the locale asks for, as POSIX decides which variable speaks for
    /// messages: `LC_ALL`, else `LC_MESSAGES`, else `LANG`, the first one set and not
    /// empty. A `zh_*` locale (or plain `zh`) is Chinese; anything else, English.
    pub fn from_locale(var: impl Fn(&str) -> Option<String>) -> Lang {
        let locale = ["LC_ALL", "LC_MESSAGES", "LANG"]
            .into_iter()
            .filter_map(&var)
            .find(|v| !v.is_empty())
            .unwrap_or_default();
        if locale == "zh" || locale.starts_with("zh_") || locale.starts_with("zh.") {
            Lang::Zh
        } else {
            Lang::En
        }
    }

    /// A message in this language: `en` itself, or its Chinese form when there is one.
    pub fn say(self, en: &str) -> String {
        match self {
            Lang::En => en.to_string(),
            Lang::Zh => zh::message(en).unwrap_or_else(|| en.to_string()),
        }
    }

    /// Like [`Lang::say`], for text that is not all the course's own (a line of the
    /// server's log): only a message with no holes, matched whole, is translated.
    pub fn say_exact(self, en: &str) -> String {
        let whole = |(key, _): &&(&str, &str)| *key == en && !key.contains('{');
        match self {
            Lang::Zh => zh::messages()
                .find(whole)
                .map_or(en, |(_, zh)| zh)
                .to_string(),
            Lang::En => en.to_string(),
        }
    }

    /// One of two texts written side by side in the code that shows them.
    pub fn pick<T>(self, en: T, zh: T) -> T {
        match self {
            Lang::En => en,
            Lang::Zh => zh,
        }
    }

    /// A page in this language: `README.zh.md` beside `README.md` for Chinese. The
    /// boolean is false when that page does not exist yet and `page` itself is returned.
    pub fn page(self, page: &Path) -> (PathBuf, bool) {
        match self {
            Lang::En => (page.to_path_buf(), true),
            Lang::Zh => {
                let translated = page.with_extension("zh.md");
                if translated.is_file() {
                    (translated, true)
                } else {
                    (page.to_path_buf(), false)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn locale(pairs: &[(&str, &str)]) -> Lang {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Lang::from_locale(|k| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
    }

    #[test]
    fn a_zh_locale_picks_chinese_and_lc_all_speaks_first() {
        assert_eq!(locale(&[("LANG", "zh_CN.UTF-8")]), Lang::Zh);
        assert_eq!(locale(&[("LANG", "zh_TW")]), Lang::Zh);
        assert_eq!(
            locale(&[("LC_MESSAGES", "zh_CN.UTF-8"), ("LANG", "C")]),
            Lang::Zh
        );
        assert_eq!(
            locale(&[("LC_ALL", "C"), ("LANG", "zh_CN.UTF-8")]),
            Lang::En
        );
        assert_eq!(locale(&[("LC_ALL", ""), ("LANG", "zh_CN.UTF-8")]), Lang::Zh);
        assert_eq!(locale(&[("LANG", "en_US.UTF-8")]), Lang::En);
        assert_eq!(locale(&[("LANG", "zhx")]), Lang::En);
        assert_eq!(locale(&[]), Lang::En);
    }

    #[test]
    fn a_log_line_is_translated_only_when_it_is_a_whole_message() {
        assert_eq!(Lang::Zh.say_exact("the server logged:"), "服务器的日志：");
        let line = "2026-12-06T11:00:00Z cgi-bin/x.sh exists";
        assert_eq!(Lang::Zh.say_exact(line), line);
        assert_eq!(Lang::Zh.say("cgi-bin/x.sh exists"), "cgi-bin/x.sh 存在");
        assert_eq!(Lang::En.say("cgi-bin/x.sh exists"), "cgi-bin/x.sh exists");
    }
}
