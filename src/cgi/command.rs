//! The command line, environment and working directory of a script (RFC 3875 §4.4, §7.2):
//! the `Command` the CGI host spawns, and the one the spawn floor measures.

use std::os::unix::process::CommandExt;
use std::process::Command;

use crate::cgi::script::Script;
use crate::request::environ::Environ;
use crate::request::percent;

/// §4.4 and §7.2: the command line, environment and working directory.
pub fn command(script: &Script, env: &Environ, query: &str) -> Command {
    let mut cmd = match script.interpreter {
        Some(interpreter) => {
            let mut cmd = Command::new(crate::process::interpreter::interpreter_path(interpreter));
            cmd.arg(&script.path);
            cmd
        }
        None => Command::new(&script.path),
    };
    cmd.args(search_words(query))
        .env_clear()
        .envs(env.iter())
        .process_group(0);
    if let Some(dir) = script.path.parent() {
        cmd.current_dir(dir);
    }
    cmd
}

/// §4.4: a query with no unencoded `=` is a list of search words, passed as arguments.
pub fn search_words(query: &str) -> Vec<String> {
    if query.is_empty() || query.contains('=') {
        return Vec::new();
    }
    let words: Option<Vec<String>> = query
        .split('+')
        .map(|w| {
            let bytes = percent::decode(w)?;
            String::from_utf8(bytes).ok().filter(|s| !s.contains('\0'))
        })
        .collect();
    // §4.4: if a word cannot be decoded, no arguments are passed at all.
    words.unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_words_come_from_queries_without_equals() {
        assert_eq!(search_words("a+b%20c"), ["a", "b c"]);
        assert!(search_words("a=1").is_empty());
        assert!(search_words("").is_empty());
        assert!(search_words("ok+%zz").is_empty());
    }
}
