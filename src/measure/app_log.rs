//! What scripts, apps and workers write to their error streams, as the server logs it:
//! the one stderr policy of every host.
//!
//! Each line becomes one log line, prefixed with who wrote it. Control bytes are escaped
//! (`\r`, `\u{1b}`), so a client whose input an app logs cannot forge a log line or send
//! escape sequences to the operator's terminal. A line is cut at [`MAX_LINE`] bytes, and
//! at most [`LIMIT_PER_REQUEST`] bytes are logged for one request: an app that writes
//! more is not slowed down, and one line says how much was dropped.

/// The longest line logged as one; a longer one goes on in the next log line.
pub const MAX_LINE: usize = 4096;
/// Most of an app's error stream logged for one request.
pub const LIMIT_PER_REQUEST: usize = 64 * 1024;

/// One request's (or one worker's) error stream on its way to the log.
pub struct AppLog {
    prefix: String,
    line: Vec<u8>,
    logged: usize,
    dropped: u64,
    limit: usize,
}

impl AppLog {
    /// A stream whose lines are logged as `PREFIX: line`, at most `limit` bytes in all.
    pub fn new(prefix: String, limit: usize) -> AppLog {
        AppLog {
            prefix,
            line: Vec::new(),
            logged: 0,
            dropped: 0,
            limit,
        }
    }

    /// Takes the next bytes of the stream; logs each line they complete.
    pub fn write(&mut self, data: &[u8]) {
        if self.logged >= self.limit {
            self.dropped += data.len() as u64;
            return;
        }
        for piece in data.split_inclusive(|&b| b == b'\n') {
            let (text, ends) = match piece.strip_suffix(b"\n") {
                Some(text) => (text, true),
                None => (piece, false),
            };
            for part in text.chunks(MAX_LINE) {
                let room = MAX_LINE - self.line.len();
                let (now, later) = part.split_at(part.len().min(room));
                self.line.extend_from_slice(now);
                if !later.is_empty() {
                    self.log_line();
                    self.line.extend_from_slice(later);
                }
            }
            if ends {
                self.log_line();
            }
        }
    }

    /// The end of the stream: logs an unfinished line and what was dropped.
    pub fn finish(&mut self) {
        self.log_line();
        if self.dropped > 0 {
            crate::log!(
                "{}: {} more bytes dropped (at most {} KiB of stderr is logged per request)",
                self.prefix,
                std::mem::take(&mut self.dropped),
                self.limit / 1024
            );
        }
    }

    fn log_line(&mut self) {
        if self.line.is_empty() {
            return;
        }
        self.logged += self.line.len() + 1;
        let text = escape(self.line.strip_suffix(b"\r").unwrap_or(&self.line));
        crate::log!("{}: {text}", self.prefix);
        self.line.clear();
    }
}

pub use crate::log::escape;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_bytes_cannot_forge_a_line_or_reach_a_terminal() {
        assert_eq!(escape(b"a\rb\x1b[31mc"), "a\\rb\\u{1b}[31mc");
        assert_eq!(escape(b"caf\xff"), "caf\u{fffd}");
        assert_eq!(escape(b"No module named 'x'"), "No module named 'x'");
    }
}
