//! What a page starts in the background (`cmd &`: nginx, gunicorn, a second cgilab), and
//! the spare ports such programs listen on, each a free port for the page's run.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::{SPARE_PORTS, prepare, replace_number};

/// The spare ports of one page's run: (the page's, the real one).
pub struct Spares(Vec<(String, String)>);

impl Spares {
    /// A free port for each of [`SPARE_PORTS`].
    pub fn new() -> Spares {
        Spares(
            SPARE_PORTS
                .iter()
                .map(|p| (p.to_string(), spare_port().to_string()))
                .collect(),
        )
    }

    /// `127.0.0.1:8080` in a command -> the real port.
    pub fn to_real(&self, cmd: &str) -> String {
        let mut cmd = cmd.to_string();
        for (page, real) in &self.0 {
            cmd = cmd.replace(&format!("127.0.0.1:{page}"), &format!("127.0.0.1:{real}"));
        }
        cmd
    }

    /// A real port in output -> the page's.
    pub fn to_page(&self, line: &str) -> String {
        let mut line = line.to_string();
        for (page, real) in &self.0 {
            line = replace_number(&line, real, page);
        }
        line
    }
}

/// A free port below the kernel's ephemeral range (32768 and up on Linux): servers the
/// pages start bind port 0 and get an ephemeral one, so a spare port can never be handed
/// to them as well, as one picked by binding port 0 and letting go could be. Each call
/// takes the next port, and each test binary starts at its own place.
fn spare_port() -> u16 {
    use std::sync::atomic::{AtomicU16, Ordering};
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let base = 20_000 + (std::process::id() % 1_000) as u16 * 10;
    loop {
        let offset = NEXT.fetch_add(1, Ordering::Relaxed) % 10_000;
        let port = 20_000 + (base - 20_000 + offset) % 10_000;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// A command a page starts with a trailing `&` (nginx, gunicorn, a second cgilab): it
/// runs until the page ends, in its own process group, which is then stopped.
pub struct Background {
    child: std::process::Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Background {
    pub fn start(dir: &Path, cmd: &str) -> Background {
        let mut command = Command::new("sh");
        command.arg("-c").arg(format!("exec 2>&1\n{cmd}"));
        prepare(&mut command, dir);
        command.stdout(Stdio::piped()).stderr(Stdio::null());
        let mut child = command.spawn().expect("sh starts");
        let stdout = child.stdout.take().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let into = lines.clone();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                into.lock().unwrap().push(line);
            }
        });
        Background { child, lines }
    }

    /// Waits up to `wait` for `n` lines of output; returns the first `n` (or fewer).
    pub fn first_lines(&self, n: usize, wait: Duration) -> Vec<String> {
        let deadline = Instant::now() + wait;
        loop {
            let lines = self.lines.lock().unwrap().clone();
            if lines.len() >= n || Instant::now() > deadline {
                return lines.into_iter().take(n).collect();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        let group = -(self.child.id() as libc::pid_t);
        // Politely first, so nginx and gunicorn stop their workers; then for good.
        unsafe { libc::kill(group, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(3);
        while self.child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        unsafe { libc::kill(group, libc::SIGKILL) };
        let _ = self.child.wait();
    }
}

/// The command of `cmd &`, if it ends so.
pub fn background_command(cmd: &str) -> Option<&str> {
    cmd.trim_end().strip_suffix(" &").map(str::trim_end)
}
