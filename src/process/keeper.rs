//! Nothing `cgilab serve` starts may outlive it, even when it is killed with SIGKILL and
//! has no chance to clean up. A process group is not enough (a child that calls `setsid`
//! leaves it), nor is `PR_SET_PDEATHSIG` (it stops at the first fork, and CGI scripts are
//! spawned on `posix_spawn`'s fast path, which runs no code of ours in the child). A
//! cgroup is: nothing a process starts can leave it.
//!
//! So, at start, before any thread, [`contain`] makes `cgilab-PID` below the server's own
//! cgroup, with a child `server`, and starts a *keeper*: this same binary, re-executed as
//! `cgilab __keeper`, which stays in the original cgroup and whose stdin is a pipe that
//! only the server holds open. The keeper forks once more and its first process exits,
//! so it is nobody's child that the server would count or have to reap, and it leaves
//! the server's session, so that no terminal signal reaches it. Then the server moves
//! itself into `cgilab-PID/server`, so every script and worker is born inside (no race,
//! no `pre_exec` on the CGI path). When the server ends, however it ends, the kernel
//! closes the pipe; the keeper ([`keep`]) reads end-of-file, kills everything left in
//! `cgilab-PID` (`cgroup.kill`), removes the cgroups and the server's private temp
//! directories, and exits. A byte on the pipe instead tells it that the server gave up
//! containing itself: it then removes the empty cgroups, and nothing else.
//!
//! Pool workers each get a cgroup of their own below `cgilab-PID` (see
//! [`crate::pool::group`]), so the processes a recycled worker leaves are killed with it.
//!
//! Where no cgroup v2 can be written (a plain user without a delegated cgroup, cgroup v1
//! only, a read-only `/sys/fs/cgroup`), the server runs as before and says once, in
//! [`warning`], what is then not guaranteed and how to get it.

use std::ffi::OsString;
use std::io::{self, Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use super::cgroup::Cgroup;
use super::private_dir::{self, Owner};

/// The hidden subcommand that runs the keeper.
pub const SUBCOMMAND: &str = "__keeper";
/// How long the keeper waits for the processes it killed to be gone.
const KILL_WAIT: Duration = Duration::from_secs(10);

/// What [`contain`] achieved.
enum Containment {
    /// The server runs in `root`/server, kept by a keeper.
    Contained {
        root: Cgroup,
        /// The write end of the keeper's stdin, open for as long as the server lives.
        _lifeline: OwnedFd,
    },
    /// Not contained, and why.
    Not(String),
}

static CONTAINMENT: OnceLock<Containment> = OnceLock::new();

/// Puts this process (the server) into a cgroup of its own, kept by a keeper process, so
/// that nothing it starts outlives it. Call once, at start, before any thread. If that
/// cannot be done the server runs uncontained, and [`warning`] says so.
pub fn contain() {
    let outcome = try_contain().unwrap_or_else(Containment::Not);
    let _ = CONTAINMENT.set(outcome);
}

/// The server's cgroup (`cgilab-PID`), in which pools make one per worker; `None` when
/// the server is not contained (as in tests that run a server inside their own process).
pub fn cgroup() -> Option<&'static Cgroup> {
    match CONTAINMENT.get()? {
        Containment::Contained { root, .. } => Some(root),
        Containment::Not(_) => None,
    }
}

/// The one line the server logs at start when it could not be contained.
pub fn warning() -> Option<String> {
    match CONTAINMENT.get()? {
        Containment::Contained { .. } => None,
        Containment::Not(why) => Some(format!(
            "no writable cgroup v2 ({why}): a process a script or worker starts with \
             setsid can outlive a killed server; run under systemd with Delegate=yes or \
             as root"
        )),
    }
}

fn try_contain() -> Result<Containment, String> {
    let own = Cgroup::own()?;
    let owner = Owner::this_process().map_err(|e| format!("cannot name this process: {e}"))?;
    let root = create_root(&own)?;
    match keep_and_join(&root, &owner) {
        Ok(lifeline) => Ok(Containment::Contained {
            root,
            _lifeline: lifeline,
        }),
        Err(e) => {
            let _ = root.remove();
            Err(e)
        }
    }
}

/// Starts the keeper of `root` and moves this process into `root/server`; returns the
/// write end of the keeper's stdin, to hold for as long as the server lives.
fn keep_and_join(root: &Cgroup, owner: &Owner) -> Result<OwnedFd, String> {
    let server = root
        .create("server")
        .map_err(|e| format!("cannot create {}/server: {e}", root.path().display()))?;
    // The write end is close-on-exec: no script or worker inherits it, so the keeper
    // reads end-of-file when the server, and only the server, is gone.
    let (stdin, mut lifeline) = io::pipe().map_err(|e| format!("cannot make a pipe: {e}"))?;
    let mut keeper = Command::new("/proc/self/exe");
    keeper
        .arg(SUBCOMMAND)
        .arg(root.path())
        .args([owner.pidns, owner.pid.into(), owner.start].map(|n| n.to_string()))
        .stdin(Stdio::from(stdin))
        .stdout(Stdio::null())
        .current_dir("/")
        // A group of its own from the start (a session once it runs): a Ctrl-C at the
        // terminal, sent to the foreground group, or a kill of the server's group does
        // not reach it.
        .process_group(0);
    // Its first process exits once the keeper runs detached.
    match keeper.spawn().and_then(|mut first| first.wait()) {
        Ok(status) if status.success() => {}
        Ok(status) => return Err(format!("the keeper did not start: {status}")),
        Err(e) => return Err(format!("cannot start the keeper: {e}")),
    }
    if let Err(e) = server.join() {
        // The keeper then removes the cgroups it was given, and nothing else.
        let _ = lifeline.write_all(b"x");
        return Err(format!("cannot move into {}: {e}", server.path().display()));
    }
    Ok(lifeline.into())
}

/// Makes `cgilab-PID` below `own`. Another with that name (a server with the same pid in
/// another pid namespace) is never touched: a suffix makes the name new.
fn create_root(own: &Cgroup) -> Result<Cgroup, String> {
    let base = format!("cgilab-{}", std::process::id());
    let mut last = None;
    for n in 0..10 {
        let name = match n {
            0 => base.clone(),
            _ => format!("{base}-{n}"),
        };
        match own.create(&name) {
            Ok(root) => return Ok(root),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => {
                return Err(format!(
                    "cannot create a cgroup in {}: {e}",
                    own.path().display()
                ));
            }
        }
    }
    Err(format!(
        "cannot create {base} in {}: {}",
        own.path().display(),
        last.map(|e| e.to_string()).unwrap_or_default()
    ))
}

/// The keeper: `cgilab __keeper CGROUP PIDNS PID START`. Detaches, waits for end-of-file
/// on stdin (its server is gone), then kills whatever is left in CGROUP, removes it,
/// removes the private temp directories the server made, and returns.
pub fn keep(args: &[OsString]) -> Result<(), String> {
    let [cgroup, pidns, pid, start] = args else {
        return Err(format!("usage: cgilab {SUBCOMMAND} CGROUP PIDNS PID START"));
    };
    let number = |s: &OsString| {
        s.to_str()
            .and_then(|s| s.parse::<u64>().ok())
            .ok_or_else(|| format!("not a number: {}", s.to_string_lossy()))
    };
    let server = Owner {
        pidns: number(pidns)?,
        pid: u32::try_from(number(pid)?).map_err(|e| e.to_string())?,
        start: number(start)?,
    };
    let cgroup = Cgroup::at(PathBuf::from(cgroup));
    // Signals from a terminal (Ctrl-C, a hang-up, job control) are not for the keeper:
    // it ends when its work is done.
    for signal in [
        libc::SIGINT,
        libc::SIGHUP,
        libc::SIGQUIT,
        libc::SIGTSTP,
        libc::SIGTTIN,
        libc::SIGTTOU,
    ] {
        // SAFETY: setting a disposition to SIG_IGN.
        unsafe {
            libc::signal(signal, libc::SIG_IGN);
        }
    }
    detach()?;
    if !server_is_gone() {
        // The server did not move into the cgroup: only the cgroups are ours to remove.
        let _ = cgroup.remove();
        return Ok(());
    }
    // The server closes its end of the pipe while it exits, so it may still be listed:
    // it is not one of the processes it left.
    let left = cgroup
        .pids()
        .into_iter()
        .filter(|&pid| pid as u32 != server.pid)
        .count();
    if let Err(e) = cgroup.kill_and_remove(KILL_WAIT) {
        crate::log!("cgilab: keeper: {e}");
    } else if left > 0 {
        let processes = if left == 1 { "process" } else { "processes" };
        crate::log!(
            "cgilab: keeper: the server (pid {}) is gone; killed the {left} {processes} it left",
            server.pid
        );
    }
    private_dir::remove_made_by(&std::env::temp_dir(), "cgilab-", &server);
    Ok(())
}

/// Forks: the first process exits at once (the server waits for it), the second goes
/// on in a session of its own, a child of init (or of the nearest subreaper).
fn detach() -> Result<(), String> {
    // SAFETY: the keeper has one thread here, so fork is safe; the parent only _exits.
    match unsafe { libc::fork() } {
        -1 => Err(format!("cannot fork: {}", io::Error::last_os_error())),
        0 => {
            // SAFETY: setsid has no memory effects; it cannot fail in a fresh child.
            unsafe {
                libc::setsid();
            }
            Ok(())
        }
        // SAFETY: ends the first process without running anything more.
        _ => unsafe { libc::_exit(0) },
    }
}

/// Blocks until stdin reaches end-of-file with nothing read (the server is gone: true),
/// or a byte comes (the server gave up containing itself: false).
fn server_is_gone() -> bool {
    let mut stdin = io::stdin().lock();
    let mut buf = [0u8; 64];
    loop {
        match stdin.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => return false,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return true,
        }
    }
}
