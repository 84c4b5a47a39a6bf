//! The server `cgilab bench` starts for itself: this same binary, `serve --quiet` on
//! 127.0.0.1:0, over the learner's `--cgi-bin` or a temporary one holding the hello
//! twins, with any extra `serve` arguments given after `--` (pools, timeouts, ...).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::client::ServerProcess;

/// The hello twins, as they stand in cgi-bin, so the bench needs no checkout.
/// `hello_wsgi.py` is also served by a pool of its own (the server's default for
/// `NAME_wsgi.py`).
pub const HELLO_SCRIPTS: [(&str, &str); 4] = [
    ("hello.sh", include_str!("../../cgi-bin/hello.sh")),
    ("hello.pl", include_str!("../../cgi-bin/hello.pl")),
    ("hello.py", include_str!("../../cgi-bin/hello.py")),
    ("hello_wsgi.py", include_str!("../../cgi-bin/hello_wsgi.py")),
];
/// The compiled twin, built next to `cgilab`.
pub const COMPILED: &str = "hello-cgi";

/// A server the bench started, and where its scripts are.
pub struct OwnServer {
    pub process: ServerProcess,
    cgi_bin: CgiBin,
}

enum CgiBin {
    /// The hello twins, in a folder that goes when the bench ends.
    Twins(tempfile::TempDir),
    /// The learner's own.
    Given(PathBuf),
}

impl OwnServer {
    /// Starts `cgilab serve` on a free port over `cgi_bin` (or the hello twins), with
    /// `extra` arguments after the bench's own.
    pub fn start(cgi_bin: Option<&Path>, extra: &[String]) -> Result<OwnServer, String> {
        let exe = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
        let cgi_bin = match cgi_bin {
            Some(dir) if dir.is_dir() => CgiBin::Given(
                dir.canonicalize()
                    .map_err(|e| format!("--cgi-bin {}: {e}", dir.display()))?,
            ),
            Some(dir) => {
                return Err(format!(
                    "--cgi-bin {}: no such directory; pass the folder of your scripts",
                    dir.display()
                ));
            }
            None => CgiBin::Twins(hello_twins(&exe)?),
        };
        let mut cmd = Command::new(&exe);
        cmd.args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--quiet",
            "--max-procs",
            "256",
            "--threads",
            "128",
        ]);
        let dir = match &cgi_bin {
            CgiBin::Twins(t) => t.path(),
            CgiBin::Given(p) => p.as_path(),
        };
        cmd.arg("--cgi-bin").arg(dir).args(extra);
        let process = ServerProcess::start(cmd, Duration::from_secs(20)).map_err(|e| {
            format!("the bench's own server did not start (`cgilab serve` with the arguments after `--`): {e}")
        })?;
        Ok(OwnServer { process, cgi_bin })
    }

    /// Where its scripts are.
    pub fn cgi_bin(&self) -> &Path {
        match &self.cgi_bin {
            CgiBin::Twins(t) => t.path(),
            CgiBin::Given(p) => p,
        }
    }

    /// Whether it serves the learner's `--cgi-bin` (rather than the hello twins only).
    pub fn has_given_cgi_bin(&self) -> bool {
        matches!(self.cgi_bin, CgiBin::Given(_))
    }

    /// Its peak resident set (VmHWM), in KiB.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.process.pid())).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }
}

/// A temporary cgi-bin holding the hello twins, and the compiled one if it is built.
fn hello_twins(exe: &Path) -> Result<tempfile::TempDir, String> {
    let dir = tempfile::tempdir().map_err(|e| format!("cannot make a temporary cgi-bin: {e}"))?;
    for (name, text) in HELLO_SCRIPTS {
        std::fs::write(dir.path().join(name), text).map_err(|e| e.to_string())?;
    }
    let compiled = exe.with_file_name(COMPILED);
    if compiled.exists() {
        std::fs::copy(&compiled, dir.path().join(COMPILED)).map_err(|e| e.to_string())?;
    } else {
        eprintln!(
            "bench: no {COMPILED} next to cgilab (build it with `cargo build --release`); skipping it"
        );
    }
    Ok(dir)
}
