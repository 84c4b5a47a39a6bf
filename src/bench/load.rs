//! The load generator behind `cgilab bench`: keep-alive HTTP/1.1 connections, each in a
//! thread of its own, sending one request after another and timing each response.
//! Every run is bounded twice, by time and by a request count.

use std::collections::BTreeMap;
use std::io::{self, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::client::{Response, read_response};

/// One target at one concurrency.
#[derive(Debug, Clone)]
pub struct Run {
    /// The server's label: `cgilab` for the bench's own, or what `--url` named.
    pub server: String,
    /// The path loaded.
    pub target: String,
    /// `cgi`, `gateway`, `pool` or `server` for a cgilab; `external` for anything else.
    pub mode: String,
    pub concurrency: usize,
    /// Responses received, whatever their status.
    pub requests: u64,
    /// Requests that got no response at all (refused, reset, malformed, timed out).
    pub errors: u64,
    /// How many responses had each status.
    pub statuses: BTreeMap<u16, u64>,
    /// The `Server` header of the first response, if any.
    pub software: Option<String>,
    pub seconds: f64,
    /// Latencies, sorted.
    pub latencies: Vec<Duration>,
}

impl Run {
    /// Adds another slice of the same target and concurrency.
    pub fn merge(&mut self, other: Run) {
        self.requests += other.requests;
        self.errors += other.errors;
        for (status, n) in other.statuses {
            *self.statuses.entry(status).or_default() += n;
        }
        if self.software.is_none() {
            self.software = other.software;
        }
        self.seconds += other.seconds;
        self.latencies.extend(other.latencies);
        self.latencies.sort();
    }

    /// Responses whose status is not a success or a redirect (below 200, 400 and up).
    pub fn unexpected(&self) -> u64 {
        self.statuses
            .iter()
            .filter(|(s, _)| !(200..400).contains(*s))
            .map(|(_, n)| n)
            .sum()
    }

    /// `200=812 404=3`: every status with its count.
    pub fn status_counts(&self) -> String {
        let all: Vec<String> = self
            .statuses
            .iter()
            .map(|(s, n)| format!("{s}={n}"))
            .collect();
        all.join(" ")
    }

    pub fn rate(&self) -> f64 {
        self.requests as f64 / self.seconds.max(1e-9)
    }
    pub fn mean(&self) -> Duration {
        mean(&self.latencies)
    }
    pub fn pct(&self, p: f64) -> Duration {
        pct(&self.latencies, p)
    }
}

/// The mean of `times` (zero for none).
pub fn mean(times: &[Duration]) -> Duration {
    let n = times.len().max(1) as u32;
    times.iter().sum::<Duration>() / n
}

/// The `p` quantile (0 to 1) of sorted `times`, nearest rank (zero for none).
pub fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i]
}

/// Loads `path` on `addr` with `concurrency` keep-alive connections for `duration`.
/// `host` is the `Host` header to send.
pub fn load(
    addr: SocketAddr,
    host: &str,
    path: &str,
    concurrency: usize,
    duration: Duration,
    max: u64,
) -> Run {
    let started = Instant::now();
    let deadline = started + duration;
    let issued = Arc::new(AtomicU64::new(0));
    let threads: Vec<_> = (0..concurrency)
        .map(|_| {
            let issued = issued.clone();
            let request =
                format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: cgilab-bench\r\n\r\n");
            std::thread::spawn(move || client(addr, &request, deadline, &issued, max))
        })
        .collect();
    let mut run = Run {
        server: String::new(),
        target: path.to_string(),
        mode: String::new(),
        concurrency,
        requests: 0,
        errors: 0,
        statuses: BTreeMap::new(),
        software: None,
        seconds: 0.0,
        latencies: Vec::new(),
    };
    for t in threads {
        match t.join() {
            Ok(c) => {
                run.latencies.extend(c.latencies);
                run.errors += c.errors;
                for (status, n) in c.statuses {
                    *run.statuses.entry(status).or_default() += n;
                }
                run.software = run.software.or(c.software);
            }
            Err(_) => run.errors += 1,
        }
    }
    run.latencies.sort();
    run.requests = run.latencies.len() as u64;
    run.seconds = started.elapsed().as_secs_f64();
    run
}

/// What one connection's loop counted.
#[derive(Default)]
struct Counted {
    latencies: Vec<Duration>,
    errors: u64,
    statuses: BTreeMap<u16, u64>,
    software: Option<String>,
}

/// One connection's loop: request, read the whole response, repeat.
fn client(
    addr: SocketAddr,
    request: &str,
    deadline: Instant,
    issued: &AtomicU64,
    max: u64,
) -> Counted {
    let mut counted = Counted::default();
    let mut conn: Option<BufReader<TcpStream>> = None;
    while Instant::now() < deadline && issued.fetch_add(1, Ordering::Relaxed) < max {
        let reused = conn.is_some();
        let t = Instant::now();
        let mut answer = exchange(&mut conn, addr, request);
        // A server may close a kept-alive connection between two requests, and the client
        // only learns it when it sends the next one: such a request is sent again once, on
        // a new connection (RFC 9112, section 9.3.1).
        if reused && answer.as_ref().is_err_and(closed_early) {
            answer = exchange(&mut conn, addr, request);
        }
        match answer {
            Ok(response) => {
                counted.latencies.push(t.elapsed());
                *counted.statuses.entry(response.status).or_default() += 1;
                if counted.software.is_none() {
                    counted.software = response.header("Server").map(String::from);
                }
                if !response.keep_alive {
                    conn = None;
                }
            }
            Err(_) => {
                counted.errors += 1;
                conn = None;
                // A server that refuses connections is not hammered in a tight loop.
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
    counted
}

/// One request and its response, on `conn` or on a new connection.
fn exchange(
    conn: &mut Option<BufReader<TcpStream>>,
    addr: SocketAddr,
    request: &str,
) -> io::Result<Response> {
    if conn.is_none() {
        let s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
        let _ = s.set_nodelay(true);
        let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
        *conn = Some(BufReader::new(s));
    }
    let c = conn.as_mut().expect("connected above");
    let answer = c
        .get_mut()
        .write_all(request.as_bytes())
        .and_then(|_| read_response(c, false));
    if answer.is_err() {
        *conn = None;
    }
    answer
}

/// The server closed the connection before answering anything.
fn closed_early(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::UnexpectedEof
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionAborted
    )
}
