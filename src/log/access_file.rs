//! Where `--access-log` lines go: standard output (`-`, as gunicorn's `--access-logfile -`)
//! or a file, opened for appending and reopened by SIGUSR1.
//!
//! Reopening is how logrotate works with nginx and gunicorn: it renames the file, then
//! sends USR1; lines go on into the renamed file (the descriptor follows it) until the
//! server opens the name again, which makes a new file. No line is lost or split: a
//! request's line is written in one `write` to a file opened with `O_APPEND`, and the swap
//! waits for a write in progress.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::RwLock;

/// Where an access log goes, as `--access-log` names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// `-`: standard output.
    Stdout,
    /// A file, created if it does not exist.
    File(PathBuf),
}

impl Destination {
    /// `-` or a path.
    pub fn parse(value: &str) -> Destination {
        match value {
            "-" => Destination::Stdout,
            path => Destination::File(PathBuf::from(path)),
        }
    }
}

impl std::fmt::Display for Destination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Destination::Stdout => write!(f, "standard output"),
            Destination::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// An open access log.
pub struct AccessFile {
    destination: Destination,
    /// The open file; `None` for standard output. A write holds it shared, a reopen
    /// alone.
    file: Option<RwLock<File>>,
}

impl AccessFile {
    /// Opens `destination`; the error says what to do.
    pub fn open(destination: Destination) -> Result<AccessFile, String> {
        let file = match &destination {
            Destination::Stdout => None,
            Destination::File(path) => Some(RwLock::new(open(path).map_err(|e| {
                format!(
                    "cannot open --access-log {}: {e}; make its directory or pass another FILE (or - for standard output)",
                    path.display()
                )
            })?)),
        };
        Ok(AccessFile { destination, file })
    }

    /// Where it writes.
    pub fn destination(&self) -> &Destination {
        &self.destination
    }

    /// Writes `line` and its newline, in one write.
    pub fn write_line(&self, line: &str) {
        let mut bytes = Vec::with_capacity(line.len() + 1);
        bytes.extend_from_slice(line.as_bytes());
        bytes.push(b'\n');
        // An access log that cannot be written (a full disk) costs its lines, never a
        // request.
        let _ = match &self.file {
            None => io::stdout().lock().write_all(&bytes),
            Some(file) => {
                let file = file.read().unwrap_or_else(|e| e.into_inner());
                (&*file).write_all(&bytes)
            }
        };
    }

    /// Opens the file by its name again (SIGUSR1), so lines go to a new file once the
    /// old one was renamed. Standard output has nothing to reopen. On failure the old file
    /// stays in use.
    pub fn reopen(&self) -> io::Result<()> {
        let (Destination::File(path), Some(file)) = (&self.destination, &self.file) else {
            return Ok(());
        };
        let new = open(path)?;
        *file.write().unwrap_or_else(|e| e.into_inner()) = new;
        Ok(())
    }
}

/// Opens `path` for appending, creating it (mode 0640 less the umask: an access log
/// holds client addresses, which are not everybody's business).
fn open(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o640)
        .open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reopen_after_a_rename_starts_a_new_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("access.log");
        let log = AccessFile::open(Destination::File(path.clone())).unwrap();
        log.write_line("one");
        std::fs::rename(&path, dir.path().join("access.log.1")).unwrap();
        log.write_line("two");
        log.reopen().unwrap();
        log.write_line("three");
        let old = std::fs::read_to_string(dir.path().join("access.log.1")).unwrap();
        assert_eq!(old, "one\ntwo\n");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "three\n");
    }

    #[test]
    fn a_file_that_cannot_be_opened_says_what_to_do() {
        let e = AccessFile::open(Destination::parse("/nonexistent-dir/x/access.log"))
            .err()
            .unwrap();
        assert!(
            e.starts_with("cannot open --access-log /nonexistent-dir/x/access.log: "),
            "{e}"
        );
        assert!(e.contains("make its directory"), "{e}");
        assert!(!e.contains('\n'));
    }
}
