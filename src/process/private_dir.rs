//! Private directories in the temp folder that say whose they are, and the rules for
//! removing the ones a killed server left behind.
//!
//! The temp folder is shared: by other users, and by containers that mount the same
//! `/tmp` while each has its own pid namespace, where pid 42 is another process. A name
//! alone (`cgilab-pools-PID-...`) proves nothing, and "I cannot signal that pid" is true
//! of another user's live server as much as of a dead one. So a directory made here is
//! 0700 from its creation and holds a marker, [`MARKER`], naming its maker by pid
//! namespace, pid and the pid's start time (which tells a process from a later one that
//! was given the same pid). Another directory is removed only when all of these hold:
//! it is a real directory (not a symlink), our user owns it, it has the marker, the
//! marker's pid namespace is ours, and that pid is gone or is now another process.

use std::fs;
use std::io::{self, Read};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// The marker's file name inside a private directory.
pub const MARKER: &str = "cgilab-owner";

/// Who made a directory: a process, named so that no other process can be mistaken
/// for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// The pid namespace's inode (`readlink /proc/self/ns/pid` is `pid:[INODE]`).
    pub pidns: u64,
    pub pid: u32,
    /// When the process started, in clock ticks after boot (/proc/PID/stat field 22).
    pub start: u64,
}

impl Owner {
    /// This process.
    pub fn this_process() -> io::Result<Owner> {
        let pid = std::process::id();
        Ok(Owner {
            pidns: own_pid_namespace()?,
            pid,
            start: start_time(pid).ok_or_else(|| io::Error::other("cannot read its start"))?,
        })
    }

    /// True if this owner is a process running now in our pid namespace.
    pub fn is_alive(&self) -> bool {
        own_pid_namespace().is_ok_and(|ns| ns == self.pidns)
            && start_time(self.pid) == Some(self.start)
    }

    /// The marker's text.
    pub fn to_text(&self) -> String {
        format!(
            "cgilab\npidns {}\npid {}\nstart {}\n",
            self.pidns, self.pid, self.start
        )
    }

    /// Reads a marker's text; `None` if it is not one.
    pub fn parse(text: &str) -> Option<Owner> {
        let mut lines = text.lines();
        if lines.next()? != "cgilab" {
            return None;
        }
        let mut field = |name: &str| {
            lines
                .next()?
                .strip_prefix(name)?
                .strip_prefix(' ')?
                .parse::<u64>()
                .ok()
        };
        Some(Owner {
            pidns: field("pidns")?,
            pid: u32::try_from(field("pid")?).ok()?,
            start: field("start")?,
        })
    }
}

/// Makes a directory `PREFIX` + random characters in the temp folder, 0700 from its
/// creation, with this process's marker in it. It is removed when the value is dropped.
pub fn create(prefix: &str) -> io::Result<tempfile::TempDir> {
    let dir = tempfile::Builder::new()
        .prefix(prefix)
        .permissions(fs::Permissions::from_mode(0o700))
        .tempdir()?;
    // The umask may have taken bits from the mode; never added any. Set it exactly.
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700))?;
    fs::write(dir.path().join(MARKER), Owner::this_process()?.to_text())?;
    Ok(dir)
}

/// Why a directory in the temp folder is left alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Keep {
    /// A symlink, a file, or nothing at all.
    NotADirectory,
    /// Another user's.
    NotOurs { uid: u32 },
    /// No marker: not made by this version of cgilab, or not by cgilab at all.
    NoMarker,
    /// Made in another pid namespace (a container sharing /tmp): its pid means nothing here.
    OtherNamespace { pidns: u64 },
    /// Its maker is running.
    OwnerAlive { pid: u32 },
}

/// Who made `dir`, if it is a directory of ours whose marker can be trusted; or why
/// it must be left alone.
pub fn owner_of(dir: &Path) -> Result<Owner, Keep> {
    // Not `metadata`: a symlink named like ours may point anywhere.
    let meta = fs::symlink_metadata(dir).map_err(|_| Keep::NotADirectory)?;
    if !meta.file_type().is_dir() {
        return Err(Keep::NotADirectory);
    }
    // SAFETY: geteuid has no failure and no memory effects.
    let me = unsafe { libc::geteuid() };
    if meta.uid() != me {
        return Err(Keep::NotOurs { uid: meta.uid() });
    }
    let mut text = String::new();
    fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(dir.join(MARKER))
        .and_then(|f| f.take(256).read_to_string(&mut text))
        .map_err(|_| Keep::NoMarker)?;
    let owner = Owner::parse(&text).ok_or(Keep::NoMarker)?;
    match own_pid_namespace() {
        Ok(ns) if ns == owner.pidns => Ok(owner),
        _ => Err(Keep::OtherNamespace { pidns: owner.pidns }),
    }
}

/// Whether `dir` is the directory of a process that is gone, which may be removed.
pub fn stale(dir: &Path) -> Result<Owner, Keep> {
    let owner = owner_of(dir)?;
    if owner.is_alive() {
        return Err(Keep::OwnerAlive { pid: owner.pid });
    }
    Ok(owner)
}

/// Removes the entries of `folder` named `PREFIX...` whose maker is gone (a server
/// killed with SIGKILL, and no keeper to clean up after it); leaves anything else.
pub fn remove_stale(folder: &Path, prefix: &str) {
    for dir in entries(folder, prefix) {
        if stale(&dir).is_ok() {
            let _ = fs::remove_dir_all(&dir);
        }
    }
}

/// Removes the entries of `folder` named `PREFIX...` that `owner` made (it is gone:
/// the keeper cleans up after its server); leaves anything else.
pub fn remove_made_by(folder: &Path, prefix: &str, owner: &Owner) {
    for dir in entries(folder, prefix) {
        if owner_of(&dir).as_ref() == Ok(owner) {
            let _ = fs::remove_dir_all(&dir);
        }
    }
}

fn entries(folder: &Path, prefix: &str) -> Vec<std::path::PathBuf> {
    let Ok(entries) = fs::read_dir(folder) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
        .map(|e| e.path())
        .collect()
}

/// This process's pid namespace: the inode in `readlink /proc/self/ns/pid`.
pub fn own_pid_namespace() -> io::Result<u64> {
    let link = fs::read_link("/proc/self/ns/pid")?;
    link.to_string_lossy()
        .strip_prefix("pid:[")
        .and_then(|s| s.strip_suffix(']'))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| io::Error::other(format!("unexpected {}", link.display())))
}

/// When `pid` started (/proc/PID/stat field 22), or `None` if there is no such process.
pub fn start_time(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields after the command name (in parentheses, any bytes) start at field 3.
    let after = stat.rsplit(')').next()?;
    after.split_whitespace().nth(22 - 3)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A directory in `folder` as another server would have made it.
    fn made_by(folder: &Path, name: &str, owner: &Owner) -> std::path::PathBuf {
        let dir = folder.join(name);
        fs::create_dir(&dir).unwrap();
        fs::write(dir.join(MARKER), owner.to_text()).unwrap();
        dir
    }

    /// A process that was, in this namespace, and is no more.
    fn gone() -> Owner {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        let start = start_time(pid);
        child.wait().unwrap();
        Owner {
            pidns: own_pid_namespace().unwrap(),
            pid,
            start: start.unwrap_or(1),
        }
    }

    #[test]
    fn a_new_directory_is_0700_and_names_its_maker() {
        let dir = create("cgilab-test-").unwrap();
        let mode = fs::metadata(dir.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        assert_eq!(owner_of(dir.path()), Ok(Owner::this_process().unwrap()));
        assert_eq!(
            stale(dir.path()),
            Err(Keep::OwnerAlive {
                pid: std::process::id()
            })
        );
    }

    #[test]
    fn the_marker_reads_back_and_nothing_else_passes_for_one() {
        let owner = Owner {
            pidns: 4026531836,
            pid: 42,
            start: 7,
        };
        assert_eq!(Owner::parse(&owner.to_text()), Some(owner));
        assert_eq!(Owner::parse(""), None);
        assert_eq!(Owner::parse("cgilab\npid 1\npidns 2\nstart 3\n"), None);
    }

    #[test]
    fn a_dead_servers_directory_is_removed_and_everything_else_is_kept() {
        let folder = tempfile::tempdir().unwrap();
        let p = "cgilab-pools-";
        let dead = made_by(folder.path(), "cgilab-pools-1-dead", &gone());
        let alive = made_by(
            folder.path(),
            "cgilab-pools-2-alive",
            &Owner::this_process().unwrap(),
        );
        let elsewhere = made_by(
            folder.path(),
            "cgilab-pools-3-elsewhere",
            &Owner {
                pidns: own_pid_namespace().unwrap() + 1,
                ..gone()
            },
        );
        let unmarked = folder.path().join("cgilab-pools-4-unmarked");
        fs::create_dir(&unmarked).unwrap();
        let target = made_by(folder.path(), "target", &gone());
        let link = folder.path().join("cgilab-pools-5-link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let other = made_by(folder.path(), "cgilab-other-6", &gone());

        assert_eq!(
            stale(&elsewhere),
            Err(Keep::OtherNamespace {
                pidns: own_pid_namespace().unwrap() + 1
            })
        );
        assert_eq!(stale(&unmarked), Err(Keep::NoMarker));
        assert_eq!(stale(&link), Err(Keep::NotADirectory));
        assert!(matches!(stale(&alive), Err(Keep::OwnerAlive { .. })));

        remove_stale(folder.path(), p);
        assert!(!dead.exists());
        for kept in [&alive, &elsewhere, &unmarked, &link, &target, &other] {
            assert!(kept.exists(), "{} was removed", kept.display());
        }
    }

    /// The same pid with another start time is another process: its directory is stale.
    #[test]
    fn a_reused_pid_does_not_keep_a_directory_alive() {
        let folder = tempfile::tempdir().unwrap();
        let me = Owner::this_process().unwrap();
        let earlier = Owner {
            start: me.start.saturating_sub(1),
            ..me.clone()
        };
        let dir = made_by(folder.path(), "cgilab-pools-x", &earlier);
        assert_eq!(stale(&dir), Ok(earlier));
    }

    /// Only as root can a directory be given to another user.
    #[test]
    fn another_users_directory_is_kept() {
        // SAFETY: geteuid has no failure.
        if unsafe { libc::geteuid() } != 0 {
            eprintln!("skipped: only root can make a directory another user's");
            return;
        }
        let folder = tempfile::tempdir().unwrap();
        let dir = made_by(folder.path(), "cgilab-pools-nobody", &gone());
        std::os::unix::fs::chown(&dir, Some(65534), Some(65534)).unwrap();
        assert_eq!(stale(&dir), Err(Keep::NotOurs { uid: 65534 }));
        remove_stale(folder.path(), "cgilab-pools-");
        assert!(dir.exists());
    }

    #[test]
    fn the_keeper_removes_only_what_its_server_made() {
        let folder = tempfile::tempdir().unwrap();
        let server = gone();
        let other = Owner {
            start: server.start + 1,
            ..server.clone()
        };
        let mine = made_by(folder.path(), "cgilab-pools-a", &server);
        let theirs = made_by(folder.path(), "cgilab-pools-b", &other);
        remove_made_by(folder.path(), "cgilab-", &server);
        assert!(!mine.exists());
        assert!(theirs.exists());
    }
}
