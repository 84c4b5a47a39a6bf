//! The server's log: every line it writes to stderr, access lines and the rest, starts
//! with the time in RFC 3339, UTC ([`clock`]), so a line under a supervisor or in a
//! collector says when it happened. Each line goes out in one `write`, so lines written at
//! once by several threads, or by the keeper process that shares stderr, never mix.
//!
//! [`access_file`] is the other log: `--access-log FILE|-`, one line per request in the
//! format `--access-log-format` chose, reopened on SIGUSR1.

pub mod access_file;
pub mod clock;

use std::io::Write;

/// Writes one line to the server's log: the time, a space, then `message`, its control
/// characters escaped (most callers escaped what they took from outside already; this
/// makes sure that no message, whatever it holds, can be more than one line).
pub fn line(message: std::fmt::Arguments<'_>) {
    let mut line = clock::Utc::now().rfc3339();
    line.push(' ');
    let start = line.len();
    let _ = std::fmt::Write::write_fmt(&mut line, message);
    if line[start..].chars().any(char::is_control) {
        let escaped = escape(&line.as_bytes()[start..]);
        line.truncate(start);
        line.push_str(&escaped);
    }
    line.push('\n');
    // A log that cannot be written (stderr closed) must not stop the server.
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// `log!("pool {name}: stopped")`: one line in the server's log, as [`line`] writes it.
#[macro_export]
macro_rules! log {
    ($($arg:tt)*) => {
        $crate::log::line(format_args!($($arg)*))
    };
}

/// A line as the log shows it: invalid UTF-8 replaced, control characters escaped
/// (`\r`, `\u{1b}`); everything else, quotes included, as it was written. So a client whose
/// input an app logs cannot forge a log line or send escape sequences to the operator's
/// terminal.
pub fn escape(line: &[u8]) -> String {
    let text = String::from_utf8_lossy(line);
    if !text.chars().any(char::is_control) {
        return text.into_owned();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    out
}
