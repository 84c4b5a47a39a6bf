//! What a check uses to look at the learner's work from outside, as a client would: a
//! server process of its own on 127.0.0.1, and a small HTTP/1.1 client.
//!
//! The server is a separate process (this binary's `serve`, or the learner's own example
//! for lesson 5) so that its log can be read: when a script fails, the check can quote
//! what the server logged about it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::fd::FromRawFd;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long one request may take before the check gives up on it.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);
/// Log lines kept from a server, the most recent ones.
const LOG_LINES: usize = 200;

/// A server process started for a check; killed (with its process group) when dropped.
pub struct Served {
    child: Child,
    pub addr: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
}

impl Served {
    /// Starts `cmd` in its own process group and waits, up to `wait`, for the line
    /// `... listening on http://ADDR ...` on its stderr.
    pub fn start(mut cmd: Command, wait: Duration) -> Result<Served, String> {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .process_group(0);
        // If the check itself is killed, its server goes too.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot start {cmd:?}: {e}"))?;
        let stderr = child.stderr.take().expect("stderr is piped");
        let log = Arc::new(Mutex::new(Vec::new()));
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
                let mut lines = lines.lock().unwrap_or_else(|e| e.into_inner());
                if lines.len() == LOG_LINES {
                    lines.remove(0);
                }
                lines.push(line);
            }
        });
        let mut served = Served {
            child,
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            log,
        };
        match rx.recv_timeout(wait) {
            Ok(addr) => {
                served.addr = addr;
                Ok(served)
            }
            Err(e) => {
                // Disconnected: stderr closed, so the process ended (or closed it).
                let when = match e {
                    mpsc::RecvTimeoutError::Disconnected => "it exited before saying".to_string(),
                    mpsc::RecvTimeoutError::Timeout => {
                        format!("in {}s it did not say", wait.as_secs())
                    }
                };
                let said = served.log().join("\n");
                let said = if said.is_empty() {
                    "nothing".to_string()
                } else {
                    said
                };
                Err(format!(
                    "{when} `listening on http://...`; it said:\n{said}"
                ))
            }
        }
    }

    /// What the server has logged so far.
    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// What it logged about `path` (errors, and its scripts' stderr), after a short wait
    /// for the line to arrive.
    pub fn log_about(&self, script: &str) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_millis(300);
        loop {
            let lines: Vec<String> = self
                .log()
                .into_iter()
                .filter(|l| l.contains(script))
                .collect();
            if !lines.is_empty() || Instant::now() > deadline {
                return lines;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends one request and reads the whole response.
    pub fn request(&self, req: &Req<'_>) -> Result<Response, String> {
        request(self.addr, req)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        // The group id is the child's pid (process_group(0)): this kills the server and
        // anything it started, and nothing else.
        unsafe { libc::kill(-(self.child.id() as libc::pid_t), libc::SIGKILL) };
        let _ = self.child.wait();
    }
}

/// `cgilab: listening on http://127.0.0.1:40211 (...)` -> the address.
fn listening_addr(line: &str) -> Option<SocketAddr> {
    let rest = line.split("listening on http://").nth(1)?;
    rest.split_whitespace().next()?.parse().ok()
}

/// One request.
pub struct Req<'a> {
    pub method: &'a str,
    pub target: &'a str,
    pub headers: Vec<(&'a str, &'a str)>,
    pub body: &'a [u8],
    /// Connect from this local address instead of 127.0.0.1.
    pub from: Option<Ipv4Addr>,
}

impl<'a> Req<'a> {
    /// A GET with no extra header fields.
    pub fn get(target: &'a str) -> Req<'a> {
        Req {
            method: "GET",
            target,
            headers: Vec::new(),
            body: b"",
            from: None,
        }
    }

    /// A POST of `body`.
    pub fn post(target: &'a str, body: &'a [u8]) -> Req<'a> {
        Req {
            method: "POST",
            body,
            ..Req::get(target)
        }
    }

    /// Adds a header field.
    pub fn header(mut self, name: &'a str, value: &'a str) -> Req<'a> {
        self.headers.push((name, value));
        self
    }
}

/// A response, read to its end.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub reason: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The first value of a header field, matched case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// `200 OK`.
    pub fn status_line(&self) -> String {
        format!("{} {}", self.status, self.reason)
    }

    /// A duration from `Server-Timing`, e.g. `headers` in `headers;dur=1.178`, in ms.
    pub fn timing(&self, phase: &str) -> Option<f64> {
        self.header("Server-Timing")?.split(',').find_map(|part| {
            let (name, dur) = part.trim().split_once(";dur=")?;
            (name == phase).then(|| dur.parse().ok()).flatten()
        })
    }
}

/// Sends `req` to `addr` on a fresh connection and reads the response to its end.
pub fn request(addr: SocketAddr, req: &Req<'_>) -> Result<Response, String> {
    let what = format!("{} {}", req.method, req.target);
    let mut stream = connect(addr, req.from).map_err(|e| format!("{what}: cannot connect: {e}"))?;
    stream
        .set_read_timeout(Some(REQUEST_TIMEOUT))
        .and_then(|_| stream.set_write_timeout(Some(REQUEST_TIMEOUT)))
        .map_err(|e| e.to_string())?;
    let mut head = format!(
        "{} {} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: cgilab-lessons\r\nConnection: close\r\n",
        req.method, req.target
    );
    for (name, value) in &req.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if !req.body.is_empty() || req.method == "POST" {
        head.push_str(&format!("Content-Length: {}\r\n", req.body.len()));
    }
    head.push_str("\r\n");
    let mut raw = head.into_bytes();
    raw.extend_from_slice(req.body);
    stream
        .write_all(&raw)
        .map_err(|e| format!("{what}: cannot send the request: {e}"))?;
    let mut answer = Vec::new();
    stream
        .take(64 << 20)
        .read_to_end(&mut answer)
        .map_err(|e| {
            format!(
                "{what}: no complete answer within {}s: {e}",
                REQUEST_TIMEOUT.as_secs()
            )
        })?;
    parse(&answer).map_err(|why| format!("{what}: {why}"))
}

fn connect(addr: SocketAddr, from: Option<Ipv4Addr>) -> std::io::Result<TcpStream> {
    let Some(from) = from else {
        return TcpStream::connect_timeout(&addr, REQUEST_TIMEOUT);
    };
    let SocketAddr::V4(to) = addr else {
        return Err(std::io::Error::other("only IPv4 can pick its source"));
    };
    // std cannot bind a socket before connecting it; libc can.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let stream = TcpStream::from_raw_fd(fd); // closes fd on every path from here
        let sockaddr = |ip: Ipv4Addr, port: u16| libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: port.to_be(),
            sin_addr: libc::in_addr {
                s_addr: u32::from(ip).to_be(),
            },
            sin_zero: [0; 8],
        };
        let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        let local = sockaddr(from, 0);
        if libc::bind(fd, (&local as *const libc::sockaddr_in).cast(), len) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        let remote = sockaddr(*to.ip(), to.port());
        if libc::connect(fd, (&remote as *const libc::sockaddr_in).cast(), len) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(stream)
    }
}

/// Parses a whole HTTP/1.1 response; the connection was closed after it.
fn parse(raw: &[u8]) -> Result<Response, String> {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("the answer has no complete header block")?;
    let head = String::from_utf8_lossy(&raw[..end]);
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let _version = parts.next();
    let status = parts
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("malformed status line `{}`", status_line.escape_debug()))?;
    let reason = parts.next().unwrap_or_default().to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let rest = &raw[end + 4..];
    let chunked = headers
        .iter()
        .any(|(n, v)| n.eq_ignore_ascii_case("Transfer-Encoding") && v.contains("chunked"));
    let body = if chunked {
        dechunk(rest).ok_or("the chunked body ended early")?
    } else {
        rest.to_vec()
    };
    Ok(Response {
        status,
        reason,
        headers,
        body,
    })
}

/// Decodes a chunked body; `None` if it is cut short.
fn dechunk(mut rest: &[u8]) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let nl = rest.windows(2).position(|w| w == b"\r\n")?;
        let size = std::str::from_utf8(&rest[..nl]).ok()?;
        let size = usize::from_str_radix(size.split(';').next()?.trim(), 16).ok()?;
        rest = &rest[nl + 2..];
        if size == 0 {
            return Some(body);
        }
        body.extend_from_slice(rest.get(..size)?);
        rest = rest.get(size + 2..)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_chunked_and_plain_bodies() {
        let r = parse(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
            .unwrap();
        assert_eq!(r.body, b"abcde");
        let r = parse(b"HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nno").unwrap();
        assert_eq!(
            (r.status, r.reason.as_str(), r.text().as_str()),
            (404, "Not Found", "no")
        );
        assert!(parse(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nab").is_err());
    }

    #[test]
    fn reads_server_timing_phases() {
        let r = Response {
            status: 200,
            reason: "OK".into(),
            headers: vec![(
                "Server-Timing".into(),
                "spawn;dur=0.305, headers;dur=1.178, total;dur=1.187".into(),
            )],
            body: Vec::new(),
        };
        assert_eq!(r.timing("headers"), Some(1.178));
        assert_eq!(r.timing("call"), None);
    }

    #[test]
    fn finds_the_listening_address() {
        let line = "cgilab: listening on http://127.0.0.1:40211 (cgi-bin x, 64 threads)";
        assert_eq!(
            listening_addr(line),
            Some("127.0.0.1:40211".parse().unwrap())
        );
    }
}
