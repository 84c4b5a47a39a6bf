//! The load generator behind `cgilab bench`: keep-alive HTTP/1.1 connections, each in a
//! thread of its own, sending one request after another and timing each response.
//! Every run is bounded twice, by time and by a request count.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

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
    let mode = if path.starts_with("/cgi-bin/") {
        "cgi"
    } else if path.starts_with("/app/") {
        "gateway"
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
            .and_then(|_| read_response(c))
        {
            Ok((status, keep)) => {
                latencies.push(t.elapsed());
                if status >= 400 {
                    errors += 1;
                }
                if !keep {
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

/// Reads one response; returns its status and whether the connection stays open.
pub fn read_response(r: &mut BufReader<TcpStream>) -> std::io::Result<(u16, bool)> {
    let bad = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string());
    let mut line = String::new();
    r.read_line(&mut line)?;
    let status: u16 = line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("status line"))?;
    let (mut length, mut chunked, mut keep) = (None, false, true);
    loop {
        line.clear();
        if r.read_line(&mut line)? == 0 {
            return Err(bad("end of headers"));
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        let (name, value) = l.split_once(':').unwrap_or((l, ""));
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            length = value.parse::<u64>().ok();
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.eq_ignore_ascii_case("chunked");
        } else if name.eq_ignore_ascii_case("connection") {
            keep = !value.eq_ignore_ascii_case("close");
        }
    }
    if chunked {
        loop {
            line.clear();
            r.read_line(&mut line)?;
            let size = u64::from_str_radix(line.trim(), 16).map_err(|_| bad("chunk size"))?;
            std::io::copy(&mut r.by_ref().take(size + 2), &mut std::io::sink())?;
            if size == 0 {
                break;
            }
        }
    } else if let Some(n) = length {
        std::io::copy(&mut r.by_ref().take(n), &mut std::io::sink())?;
    } else if status != 204 && status != 304 {
        std::io::copy(r, &mut std::io::sink())?;
        keep = false;
    }
    Ok((status, keep))
}
