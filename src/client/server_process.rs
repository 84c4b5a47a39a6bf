//! A `cgilab serve` (or any server that prints cgilab's listening line) started as a
//! process of its own: wait for `listening on http://ADDR` (or `listening on unix:PATH`),
//! keep its log, and kill it when done. `cgilab bench`, the lesson checks and the tests
//! all start servers this way.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::http::endpoint::Endpoint;

/// Log lines kept from a server, the most recent ones: room for a few seconds of a load
/// test logging every request, so that the lines around it are still there to check.
const LOG_LINES: usize = 100_000;

/// The most recent lines, and how many older ones were let go, so that a reader can
/// keep its place in the whole log by counting from the start.
#[derive(Default)]
struct Log {
    lines: VecDeque<String>,
    dropped: usize,
}

/// A server process; killed (with its process group, if it leads one) when dropped.
pub struct ServerProcess {
    child: Child,
    /// Its TCP address (`127.0.0.1:0` if it listens on a unix socket).
    pub addr: SocketAddr,
    /// Where it listens, TCP or a unix socket.
    pub endpoint: Endpoint,
    log: Arc<Mutex<Log>>,
}

impl ServerProcess {
    /// Starts `cmd` in its own process group (killed if this process dies) and waits, up
    /// to `wait`, for its listening line.
    pub fn start(mut cmd: Command, wait: Duration) -> Result<ServerProcess, String> {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .process_group(0);
        // If the process that started it is killed, the server goes too.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = cmd
            .spawn()
            .map_err(|e| format!("cannot start {cmd:?}: {e}"))?;
        ServerProcess::watch(child, wait)
    }

    /// Takes charge of a server spawned by the caller with stderr piped, and waits, up to
    /// `wait`, for its listening line.
    pub fn watch(mut child: Child, wait: Duration) -> Result<ServerProcess, String> {
        let Some(stderr) = child.stderr.take() else {
            let _ = child.kill();
            let _ = child.wait();
            return Err("the server's stderr is not piped".into());
        };
        let log = Arc::new(Mutex::new(Log::default()));
        let (tx, rx) = mpsc::channel();
        let lines = log.clone();
        // Drain stderr for as long as the server lives, so it never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if !sent && let Some(addr) = listening_addr(&line) {
                    let _ = tx.send(addr);
                    sent = true;
                }
                let mut log = lines.lock().unwrap_or_else(|e| e.into_inner());
                if log.lines.len() == LOG_LINES {
                    log.lines.pop_front();
                    log.dropped += 1;
                }
                log.lines.push_back(line);
            }
        });
        let unknown = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        let mut server = ServerProcess {
            child,
            addr: unknown,
            endpoint: Endpoint::Tcp(unknown),
            log,
        };
        match rx.recv_timeout(wait) {
            Ok(endpoint) => {
                if let Endpoint::Tcp(addr) = &endpoint {
                    server.addr = *addr;
                }
                server.endpoint = endpoint;
                Ok(server)
            }
            Err(e) => {
                // Disconnected: stderr closed, so the process ended (or closed it).
                let when = match e {
                    mpsc::RecvTimeoutError::Disconnected => "it exited before saying".to_string(),
                    mpsc::RecvTimeoutError::Timeout => {
                        format!("in {}s it did not say", wait.as_secs())
                    }
                };
                let said = server.log().join("\n");
                let said = if said.is_empty() {
                    "nothing".to_string()
                } else {
                    said
                };
                Err(format!(
                    "{when} `listening on http://...` (or `unix:...`); it said:\n{said}"
                ))
            }
        }
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// True while it has not exited.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits up to `within` for it to exit (after a signal, say): its exit status, or
    /// `None` if it still runs.
    pub fn wait_exit(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + within;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return Some(status),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                _ => return None,
            }
        }
    }

    /// What the server has logged so far.
    pub fn log(&self) -> Vec<String> {
        self.log_from().1
    }

    /// What the server has logged and still kept, with the number of the first kept line
    /// in the whole log (0 until more than the kept number of lines came).
    pub fn log_from(&self) -> (usize, Vec<String>) {
        let log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        (log.dropped, log.lines.iter().cloned().collect())
    }

    /// What it logged that mentions `what` (errors, and its scripts' stderr). A request's
    /// access line comes last, written just after its response: this waits for one that
    /// mentions `what`, up to two seconds (a `--quiet` server writes one only for a
    /// request that failed).
    pub fn log_about(&self, what: &str) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            let lines: Vec<String> = self
                .log()
                .into_iter()
                .filter(|l| l.contains(what))
                .collect();
            if lines.iter().any(|l| l.contains(" mode=")) || Instant::now() > deadline {
                return lines;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends one request and reads the whole response.
    pub fn request(&self, req: &super::http::Req<'_>) -> Result<super::http::Response, String> {
        match &self.endpoint {
            Endpoint::Tcp(addr) => super::http::request(*addr, req),
            Endpoint::Unix(path) => super::http::request_unix(path, req),
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let pid = self.child.id() as libc::pid_t;
            // Its group, if it leads one (then this takes what it started too), and
            // itself. The child is not reaped yet, so neither id can have been reused.
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
                libc::kill(pid, libc::SIGKILL);
            }
        }
        let _ = self.child.wait();
    }
}

/// `cgilab: listening on http://127.0.0.1:40211 (...)` -> the address;
/// `cgilab: listening on unix:/run/cgilab.sock (...)` -> the socket (its path ends
/// before ` (`).
pub fn listening_addr(line: &str) -> Option<Endpoint> {
    let rest = line.split_once("listening on ")?.1;
    if let Some(addr) = rest.strip_prefix("http://") {
        return addr
            .split_whitespace()
            .next()?
            .parse()
            .ok()
            .map(Endpoint::Tcp);
    }
    let path = rest.strip_prefix("unix:")?;
    let path = path.split_once(" (").map_or(path, |(path, _)| path);
    Some(Endpoint::Unix(path.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_listening_address() {
        let line = "cgilab: listening on http://127.0.0.1:40211 (cgi-bin x, 64 threads)";
        assert_eq!(
            listening_addr(line),
            Some("127.0.0.1:40211".parse().unwrap())
        );
        let line = "cgilab: listening on unix:/run/my app.sock (--no-lab: pools only, 64 threads)";
        assert_eq!(
            listening_addr(line),
            Some(Endpoint::Unix("/run/my app.sock".into()))
        );
    }
}
