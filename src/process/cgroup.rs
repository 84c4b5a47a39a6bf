//! A cgroup v2 directory, the one thing on Linux that holds every process started in it,
//! whatever it does: a process that calls `setsid`, or forks twice so that init adopts
//! it, leaves its process group but never its cgroup. So "kill everything this started"
//! is one write to `cgroup.kill`, with no race against a process that forks meanwhile.
//!
//! Only the `cgroup.*` core files are used: no controller is ever enabled, so a cgroup
//! here may hold processes and have children at once (cgroup v2's "no internal
//! processes" rule applies only to controllers), and nothing is limited or accounted.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A cgroup: a directory of the cgroup v2 hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cgroup {
    path: PathBuf,
}

impl Cgroup {
    /// The cgroup at `path` (a directory under the cgroup2 mount), as it is.
    pub fn at(path: impl Into<PathBuf>) -> Cgroup {
        Cgroup { path: path.into() }
    }

    /// This process's own cgroup: its `0::/PATH` line in /proc/self/cgroup, under the
    /// cgroup2 mount (`/sys/fs/cgroup`, or `/sys/fs/cgroup/unified` on a hybrid system).
    pub fn own() -> Result<Cgroup, String> {
        Cgroup::of("self")
    }

    /// The cgroup v2 of process `pid` ("self" for this one), as this process sees the
    /// cgroup2 mount.
    pub fn of(pid: &str) -> Result<Cgroup, String> {
        let file = format!("/proc/{pid}/cgroup");
        let cgroups = fs::read_to_string(&file).map_err(|e| format!("cannot read {file}: {e}"))?;
        let own = cgroups
            .lines()
            .find_map(|l| l.strip_prefix("0::"))
            .ok_or_else(|| format!("{file} names no cgroup v2 (a cgroup v1 system)"))?;
        let mountinfo = fs::read_to_string("/proc/self/mountinfo")
            .map_err(|e| format!("cannot read /proc/self/mountinfo: {e}"))?;
        let (root, mount) = v2_mount(&mountinfo).ok_or("no cgroup2 file system is mounted")?;
        below_mount(own, &root, &mount)
            .map(Cgroup::at)
            .ok_or_else(|| format!("the cgroup {own} is outside the cgroup2 mount at {mount}"))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Makes the child cgroup `name`.
    pub fn create(&self, name: &str) -> io::Result<Cgroup> {
        let child = self.child(name);
        fs::create_dir(&child.path)?;
        Ok(child)
    }

    /// The child cgroup `name`, which may not exist.
    pub fn child(&self, name: &str) -> Cgroup {
        Cgroup::at(self.path.join(name))
    }

    /// Moves the calling process (all its threads) into this cgroup: everything it
    /// spawns from now on is born here.
    pub fn join(&self) -> io::Result<()> {
        fs::write(self.path.join("cgroup.procs"), "0")
    }

    /// `cgroup.procs` opened for writing, for a child to join between fork and exec
    /// ([`join_by`]) without allocating. Closed on exec.
    pub fn procs_for_join(&self) -> io::Result<OwnedFd> {
        let file = OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_CLOEXEC)
            .open(self.path.join("cgroup.procs"))?;
        Ok(file.into())
    }

    /// The pids in this cgroup and every cgroup below it.
    pub fn pids(&self) -> Vec<libc::pid_t> {
        let mut out = Vec::new();
        if let Ok(procs) = fs::read_to_string(self.path.join("cgroup.procs")) {
            out.extend(
                procs
                    .lines()
                    .filter_map(|l| l.trim().parse::<libc::pid_t>().ok()),
            );
        }
        for child in self.children() {
            out.extend(child.pids());
        }
        out
    }

    /// True while a process is in this cgroup or below it (`populated 1` in
    /// `cgroup.events`); false once it is empty or gone.
    pub fn populated(&self) -> bool {
        fs::read_to_string(self.path.join("cgroup.events"))
            .map(|events| events.lines().any(|l| l == "populated 1"))
            .unwrap_or(false)
    }

    /// SIGKILL to every process in this cgroup and below it: one write to `cgroup.kill`
    /// (Linux 5.14), or, on older kernels, a kill of each listed pid, repeated until
    /// none is left or `deadline` passes (a process may fork while the list is read).
    pub fn kill(&self, deadline: Instant) -> io::Result<()> {
        match fs::write(self.path.join("cgroup.kill"), "1") {
            Err(e) if e.kind() == io::ErrorKind::NotFound && self.path.is_dir() => {
                self.kill_each(deadline);
                Ok(())
            }
            other => other,
        }
    }

    /// The fallback of [`Cgroup::kill`]: kills each pid the cgroup lists until it is
    /// empty. A pid read here belongs to a process of this cgroup: until it is reaped
    /// (by its parent, which a kill does not hurry) it cannot be reused.
    pub fn kill_each(&self, deadline: Instant) {
        while self.populated() && Instant::now() < deadline {
            for pid in self.pids() {
                // SAFETY: kill(2) has no memory effects.
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                }
            }
            self.wait_empty(Duration::from_millis(50));
        }
    }

    /// Waits until no process is left in this cgroup or below (the kernel's own event on
    /// `cgroup.events`, no polling), at most `wait`; true if it is empty.
    pub fn wait_empty(&self, wait: Duration) -> bool {
        let deadline = Instant::now() + wait;
        let Ok(mut events) = File::open(self.path.join("cgroup.events")) else {
            return true; // gone
        };
        let mut text = String::new();
        loop {
            text.clear();
            if events
                .rewind()
                .and_then(|_| events.read_to_string(&mut text))
                .is_err()
            {
                return true;
            }
            if !text.lines().any(|l| l == "populated 1") {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            // A change of cgroup.events is signalled as POLLPRI (see the kernel's
            // Documentation/admin-guide/cgroup-v2.rst, "cgroup.events").
            let mut pfd = super::poll::want(events.as_raw_fd(), libc::POLLPRI);
            super::poll::poll(std::slice::from_mut(&mut pfd), Some(left));
        }
    }

    /// Removes this cgroup and every cgroup below it, deepest first; each must be empty
    /// of processes. Nothing there is an error.
    pub fn remove(&self) -> io::Result<()> {
        for child in self.children() {
            child.remove()?;
        }
        match fs::remove_dir(&self.path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            other => other,
        }
    }

    /// Kills everything in this cgroup and below, waits (at most `wait`) until it is
    /// empty, and removes it.
    pub fn kill_and_remove(&self, wait: Duration) -> io::Result<()> {
        if !self.path.is_dir() {
            return Ok(());
        }
        let deadline = Instant::now() + wait;
        if self.populated() {
            self.kill(deadline)?;
            if !self.wait_empty(deadline.saturating_duration_since(Instant::now())) {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "processes {:?} still in {} after SIGKILL",
                        self.pids(),
                        self.path.display()
                    ),
                ));
            }
        }
        self.remove()
    }

    /// The cgroups directly below this one.
    fn children(&self) -> Vec<Cgroup> {
        let Ok(entries) = fs::read_dir(&self.path) else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .map(|e| Cgroup::at(e.path()))
            .collect()
    }
}

/// Moves the calling process into the cgroup whose `cgroup.procs` is `procs` (from
/// [`Cgroup::procs_for_join`]). Async-signal-safe: one write(2), so it may run between
/// fork and exec.
pub fn join_by(procs: libc::c_int) -> io::Result<()> {
    // SAFETY: write(2) from a static buffer.
    if unsafe { libc::write(procs, b"0".as_ptr().cast(), 1) } == 1 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The cgroup2 mount in `mountinfo`: (the hierarchy's path it shows, where it is
/// mounted). Fields: id, parent, major:minor, root, mount point, options, optional
/// fields..., `-`, file system type, source, super options.
fn v2_mount(mountinfo: &str) -> Option<(String, String)> {
    mountinfo.lines().find_map(|line| {
        let (before, after) = line.split_once(" - ")?;
        if after.split_whitespace().next()? != "cgroup2" {
            return None;
        }
        let mut fields = before.split_whitespace().skip(3);
        let root = unescape(fields.next()?);
        let mount = unescape(fields.next()?);
        Some((root, mount))
    })
}

/// Where cgroup `own` (a path from /proc/PID/cgroup) is, given a cgroup2 mount at
/// `mount` that shows the hierarchy from `root` down; `None` if it is not below it.
fn below_mount(own: &str, root: &str, mount: &str) -> Option<PathBuf> {
    let below = own
        .strip_prefix(root.trim_end_matches('/'))
        .filter(|rest| rest.is_empty() || rest.starts_with('/'))?
        .trim_start_matches('/');
    let mut path = PathBuf::from(mount);
    if !below.is_empty() {
        path.push(below);
    }
    Some(path)
}

/// mountinfo writes a space, tab, newline and backslash in a path as `\040`, `\011`,
/// `\012` and `\134`.
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes.get(i + 1..i + 4).and_then(|d| {
            let d = std::str::from_utf8(d).ok()?;
            u8::from_str_radix(d, 8).ok()
        });
        match (bytes[i], octal) {
            (b'\\', Some(b)) => {
                out.push(b);
                i += 4;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::CommandExt;
    use std::process::{Command, Stdio};

    #[test]
    fn the_v2_mount_is_found_on_pure_and_hybrid_systems() {
        let pure = "25 1 0:22 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n";
        assert_eq!(v2_mount(pure), Some(("/".into(), "/sys/fs/cgroup".into())));
        let hybrid = "32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n\
             41 31 0:38 / /sys/fs/cgroup/unified rw,relatime shared:9 - cgroup2 cgroup2 rw\n";
        assert_eq!(
            v2_mount(hybrid),
            Some(("/".into(), "/sys/fs/cgroup/unified".into()))
        );
        assert_eq!(v2_mount(hybrid.lines().next().unwrap()), None);
        assert_eq!(unescape(r"/a\040b\134c"), r"/a b\c");
    }

    #[test]
    fn a_cgroup_is_found_below_the_mount_that_shows_it() {
        let at = |own, root, mount| below_mount(own, root, mount).map(|p| p.display().to_string());
        assert_eq!(
            at("/", "/", "/sys/fs/cgroup").as_deref(),
            Some("/sys/fs/cgroup")
        );
        assert_eq!(
            at("/user.slice/a.scope", "/", "/sys/fs/cgroup").as_deref(),
            Some("/sys/fs/cgroup/user.slice/a.scope")
        );
        // A mount of part of the hierarchy (a container's).
        assert_eq!(
            at("/ct/x", "/ct", "/sys/fs/cgroup").as_deref(),
            Some("/sys/fs/cgroup/x")
        );
        assert_eq!(at("/ctx/y", "/ct", "/sys/fs/cgroup"), None);
        assert_eq!(at("/other", "/ct", "/sys/fs/cgroup"), None);
    }

    /// A cgroup of this test's own below ours, or `None` (and a note) where this
    /// machine has no writable cgroup v2.
    fn scratch(name: &str) -> Option<Cgroup> {
        let own = Cgroup::own().ok()?;
        match own.create(&format!("cgilab-test-{}-{name}", std::process::id())) {
            Ok(cgroup) => Some(cgroup),
            Err(e) => {
                eprintln!("skipped: no writable cgroup v2 here ({e})");
                None
            }
        }
    }

    #[test]
    fn a_kill_takes_a_child_that_left_its_session_and_the_cgroup_is_removed() {
        let Some(cgroup) = scratch("kill") else {
            return;
        };
        let procs = cgroup.procs_for_join().unwrap();
        let fd = procs.as_raw_fd();
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("pid");
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg("setsid sleep 60 & echo $! > \"$0\"; wait")
            .arg(&pid_file)
            .stdout(Stdio::null());
        // SAFETY: join_by is one write(2).
        unsafe {
            cmd.pre_exec(move || join_by(fd));
        }
        let mut child = cmd.spawn().unwrap();
        drop(procs);
        let until = Instant::now() + Duration::from_secs(10);
        while fs::read_to_string(&pid_file).map_or(true, |s| !s.ends_with('\n')) {
            assert!(Instant::now() < until, "no pid file");
            std::thread::yield_now();
        }
        let escaped: libc::pid_t = fs::read_to_string(&pid_file)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert!(cgroup.pids().contains(&escaped));
        cgroup.kill_and_remove(Duration::from_secs(10)).unwrap();
        child.wait().unwrap();
        assert!(!cgroup.path().exists());
        // The escapee was init's to reap; the kill is what matters: it is no longer in
        // any cgroup of ours and is dead or a zombie.
        let stat = fs::read_to_string(format!("/proc/{escaped}/stat")).unwrap_or_default();
        let state = stat.rsplit(')').next().unwrap_or("").trim_start();
        assert!(stat.is_empty() || state.starts_with('Z') || state.starts_with('X'));
    }

    #[test]
    fn the_fallback_kills_each_pid_until_none_is_left() {
        let Some(cgroup) = scratch("each") else {
            return;
        };
        let procs = cgroup.procs_for_join().unwrap();
        let fd = procs.as_raw_fd();
        let mut cmd = Command::new("sh");
        cmd.arg("-c").arg("sleep 60 & sleep 60 & wait");
        // SAFETY: join_by is one write(2).
        unsafe {
            cmd.pre_exec(move || join_by(fd));
        }
        let mut child = cmd.spawn().unwrap();
        drop(procs);
        let until = Instant::now() + Duration::from_secs(10);
        while cgroup.pids().len() < 3 {
            assert!(Instant::now() < until, "the sleeps did not start");
            std::thread::yield_now();
        }
        cgroup.kill_each(Instant::now() + Duration::from_secs(10));
        child.wait().unwrap();
        assert!(cgroup.wait_empty(Duration::from_secs(10)));
        cgroup.remove().unwrap();
    }
}
