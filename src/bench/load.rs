//! The load generator behind `cgilab bench`: keep-alive HTTP/1.1 connections, each in a
//! thread of its own, sending one request after another and timing each response.
//! Every run is bounded twice, by time and by a request count.

use std::io::{BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::client::read_response;
use crate::request::route::{APP_PREFIX, CGI_PREFIX, POOL_PREFIX};

/// One target at one concurrency.
#[derive(Debug, Clone)]
pub struct Run {
    pub target: String,
    pub mode: &'static str,
    pub concurrency: usize,
    pub requests: u64,
    pub errors: u64,
    pub seconds: f64,
    /// Latencies, sorted.
    pub latencies: Vec<Duration>,
}

impl Run {
    /// Adds another slice of the same target and concurrency.
    pub fn merge(&mut self, other: Run) {
        self.requests += other.requests;
        self.errors += other.errors;
        self.seconds += other.seconds;
        self.latencies.extend(other.latencies);
        self.latencies.sort();
    }

    pub fn rate(&self) -> f64 {
        self.requests as f64 / self.seconds.max(1e-9)
    }
    pub fn mean(&self) -> Duration {
        let n = self.latencies.len().max(1) as u32;
        self.latencies.iter().sum::<Duration>() / n
    }
    pub fn pct(&self, p: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let i = ((self.latencies.len() - 1) as f64 * p).round() as usize;
        self.latencies[i]
    }
}

/// Loads `path` with `concurrency` keep-alive connections for `duration`.
pub fn load(addr: SocketAddr, path: &str, concurrency: usize, duration: Duration, max: u64) -> Run {
    let started = Instant::now();
    let deadline = started + duration;
    let issued = Arc::new(AtomicU64::new(0));
    let threads: Vec<_> = (0..concurrency)
        .map(|_| {
            let issued = issued.clone();
            let request =
                format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: cgilab-bench\r\n\r\n");
            std::thread::spawn(move || client(addr, &request, deadline, &issued, max))
        })
        .collect();
    let mut latencies = Vec::new();
    let mut errors = 0;
    for t in threads {
        if let Ok((l, e)) = t.join() {
            latencies.extend(l);
            errors += e;
        }
    }
    latencies.sort();
    let mode = if path.starts_with(CGI_PREFIX) {
        "cgi"
    } else if path.starts_with(APP_PREFIX) {
        "gateway"
    } else if path.starts_with(POOL_PREFIX) {
        "pool"
    } else {
        "server"
    };
    Run {
        target: path.to_string(),
        mode,
        concurrency,
        requests: latencies.len() as u64,
        errors,
        seconds: started.elapsed().as_secs_f64(),
        latencies,
    }
}

/// One connection's loop: request, read the whole response, repeat.
fn client(
    addr: SocketAddr,
    request: &str,
    deadline: Instant,
    issued: &AtomicU64,
    max: u64,
) -> (Vec<Duration>, u64) {
    let mut latencies = Vec::new();
    let mut errors = 0u64;
    let mut conn: Option<BufReader<TcpStream>> = None;
    while Instant::now() < deadline && issued.fetch_add(1, Ordering::Relaxed) < max {
        if conn.is_none() {
            match TcpStream::connect_timeout(&addr, Duration::from_secs(2)) {
                Ok(s) => {
                    let _ = s.set_nodelay(true);
                    let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
                    conn = Some(BufReader::new(s));
                }
                Err(_) => {
                    errors += 1;
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                }
            }
        }
        let c = conn.as_mut().expect("connected above");
        let t = Instant::now();
        match c
            .get_mut()
            .write_all(request.as_bytes())
            .and_then(|_| read_response(c, false))
        {
            Ok(response) => {
                latencies.push(t.elapsed());
                if response.status >= 400 {
                    errors += 1;
                }
                if !response.keep_alive {
                    conn = None;
                }
            }
            Err(_) => {
                errors += 1;
                conn = None;
            }
        }
    }
    (latencies, errors)
}
