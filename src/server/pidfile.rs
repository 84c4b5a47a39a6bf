//! `--pid FILE` (gunicorn's `-p`): the server's process id, for whatever signals it
//! (`kill -HUP $(cat FILE)`, logrotate, an init script). Checked before the server binds
//! anything: a file that names a running process means another server may be running, so
//! the server refuses to start; one left by a server that died is replaced. Written once
//! the server listens (by a rename, so a reader never sees half a file), and removed at
//! exit if it still holds this server's id.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// A pid file this server wrote; removed when dropped.
#[derive(Debug)]
pub struct PidFile {
    path: PathBuf,
    pid: u32,
}

/// Refuses `path` if it names a running process other than this one.
pub fn check(path: &Path) -> Result<(), String> {
    let at = format!("--pid {}", path.display());
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(format!("{at}: cannot read it: {e}; choose another path")),
    };
    let text = text.trim();
    if text.is_empty() {
        return Ok(());
    }
    // Anything but a process id may be a file that is not ours: never overwrite it.
    let pid = text
        .parse::<u32>()
        .ok()
        .filter(|pid| *pid > 0 && *pid <= i32::MAX as u32)
        .ok_or_else(|| {
            format!("{at}: the file holds something other than a process id; remove it or choose another path")
        })?;
    // In a container a restarted server may get the id the last one wrote.
    if pid == std::process::id() || !is_running(pid) {
        return Ok(());
    }
    Err(format!(
        "{at}: process {pid} is running (another server?); stop it, or remove the file if \
         that process is not a cgilab server"
    ))
}

/// Writes this process's id to `path`, replacing what was there.
pub fn write(path: &Path) -> Result<PidFile, String> {
    let pid = std::process::id();
    let at = format!("--pid {}", path.display());
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| format!("{at}: not a file name; pass --pid FILE"))?;
    let temp = dir.join(format!(".{}.{pid}.tmp", name.to_string_lossy()));
    let written = fs::File::create(&temp)
        .and_then(|mut f| f.write_all(format!("{pid}\n").as_bytes()))
        .and_then(|()| fs::rename(&temp, path));
    if let Err(e) = written {
        let _ = fs::remove_file(&temp);
        return Err(format!(
            "{at}: cannot write it: {e}; create its directory or choose another path"
        ));
    }
    Ok(PidFile {
        path: path.to_path_buf(),
        pid,
    })
}

impl Drop for PidFile {
    fn drop(&mut self) {
        // Another server may have taken the file over since.
        let ours = fs::read_to_string(&self.path)
            .is_ok_and(|text| text.trim().parse::<u32>() == Ok(self.pid));
        if ours {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// True if process `pid` exists (signal 0 checks without sending; EPERM means it exists
/// but belongs to someone else).
fn is_running(pid: u32) -> bool {
    let rc = unsafe { libc::kill(pid as libc::pid_t, 0) };
    rc == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_then_removed_when_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cgilab.pid");
        let file = write(&path).unwrap();
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            format!("{}\n", std::process::id())
        );
        drop(file);
        assert!(!path.exists());
    }

    #[test]
    fn a_file_that_is_not_a_pid_is_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notes");
        fs::write(&path, "keep me\n").unwrap();
        let e = check(&path).unwrap_err();
        assert!(e.contains("something other than a process id"), "{e}");
    }

    #[test]
    fn a_file_naming_this_process_or_a_dead_one_is_stale() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cgilab.pid");
        fs::write(&path, format!("{}\n", std::process::id())).unwrap();
        assert_eq!(check(&path), Ok(()));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        fs::write(&path, format!("{dead}\n")).unwrap();
        assert_eq!(check(&path), Ok(()));
    }
}
