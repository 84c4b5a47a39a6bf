//! The load generator behind `cgilab bench`: keep-alive HTTP/1.1 connections, each in a
//! thread of its own, sending one request after another and timing each response.
//! Every run is bounded twice, by time and by a request count, and ends by its own
//! deadline whatever the server does: a response still incomplete a grace after the run's
//! end ([`grace_after`]) is given up, counted as a failure, and its connection closed.
//! Bodies are read to their end and dropped.

use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::bench::phases::Phases;
use crate::client::{Body, Deadline, Response, read_response_with};

/// How long after a run's end a response in flight may still take to complete, at least.
pub const GRACE: Duration = Duration::from_secs(2);
/// A response in flight may take this many times the slowest one the target gave before.
const SLOWEST_TIMES: u32 = 4;

/// The grace for a target whose slowest response so far took `slowest`: [`GRACE`], or
/// more for a target that is slow (a Flask app as CGI on a busy machine takes seconds),
/// so that its slowness is timed, not counted as failures. A server that never answered
/// gets [`GRACE`].
pub fn grace_after(slowest: Duration) -> Duration {
    GRACE.max(slowest * SLOWEST_TIMES)
}
/// Longest wait for a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// Why a request got no response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fault {
    /// No connection: refused, or not accepted in time.
    Connect,
    /// The server closed or reset the connection before the response was complete.
    Closed,
    /// No complete response by the request's deadline.
    Late,
    /// A response the client refuses to read: malformed, or a body past its limit.
    Refused,
    /// Any other I/O error.
    Failed,
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Fault::Connect => "could not connect",
            Fault::Closed => "closed early",
            Fault::Late => "timed out",
            Fault::Refused => "refused",
            Fault::Failed => "failed",
        })
    }
}

/// How many requests failed for one reason, and what the first one said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Faulted {
    pub count: u64,
    pub first: String,
}

/// Adds `n` failures for `fault` to `faults`, keeping the first message.
fn add_fault(faults: &mut BTreeMap<Fault, Faulted>, fault: Fault, n: u64, why: String) {
    faults
        .entry(fault)
        .and_modify(|f| f.count += n)
        .or_insert(Faulted {
            count: n,
            first: why,
        });
}

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
    /// The same requests, by why (a client thread that panicked counts in `errors` only).
    pub faults: BTreeMap<Fault, Faulted>,
    /// How many responses had each status.
    pub statuses: BTreeMap<u16, u64>,
    /// The `Server` header of the first response, if any.
    pub software: Option<String>,
    pub seconds: f64,
    /// Latencies, sorted. At more than one connection, each connection's first response
    /// of a turn is left out when that connection got others: it found the server's queue
    /// empty, so it would make the queue look shorter than it is. It counts in `requests`.
    pub latencies: Vec<Duration>,
    /// The `Server-Timing` phases of every response, the first of each connection too.
    pub phases: Phases,
}

impl Run {
    /// Adds another slice of the same target and concurrency.
    pub fn merge(&mut self, other: Run) {
        self.requests += other.requests;
        self.errors += other.errors;
        for (fault, f) in other.faults {
            add_fault(&mut self.faults, fault, f.count, f.first);
        }
        for (status, n) in other.statuses {
            *self.statuses.entry(status).or_default() += n;
        }
        if self.software.is_none() {
            self.software = other.software;
        }
        self.seconds += other.seconds;
        self.latencies.extend(other.latencies);
        self.latencies.sort();
        self.phases.merge(other.phases);
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
    /// The `p` quantile, if the run has enough latencies to tell it ([`supports`]).
    pub fn pct_if_supported(&self, p: f64) -> Option<Duration> {
        supports(self.latencies.len(), p).then(|| self.pct(p))
    }
}

/// The fewest samples from which the `p` quantile (0 to 1) means something: 1/(1-p), so
/// 2 for the median, 10 for p90, 100 for p99. With fewer, no sample lies above the
/// quantile's rank: a "p90" of 4 samples is the slowest of the 4, one request that
/// happened to be slow, and says nothing about the other 10% that the name promises.
pub fn min_samples(p: f64) -> usize {
    if p >= 1.0 {
        return 1; // the maximum is what it says it is
    }
    (1.0 / (1.0 - p)).round() as usize
}

/// Whether `n` samples support the `p` quantile ([`min_samples`]).
pub fn supports(n: usize, p: f64) -> bool {
    n > 0 && n >= min_samples(p)
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

/// Loads `path` on `addr` with `concurrency` keep-alive connections for `duration`,
/// then waits at most `grace` for the responses in flight. `host` is the `Host`
/// header to send.
pub fn load(
    addr: SocketAddr,
    host: &str,
    path: &str,
    concurrency: usize,
    duration: Duration,
    max: u64,
    grace: Duration,
) -> Run {
    let started = Instant::now();
    let deadline = started + duration;
    let issued = Arc::new(AtomicU64::new(0));
    let threads: Vec<_> = (0..concurrency)
        .map(|_| {
            let issued = issued.clone();
            let request =
                format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: cgilab-bench\r\n\r\n");
            std::thread::spawn(move || {
                let mut counted = client(addr, &request, (deadline, grace), &issued, max);
                // Past one connection, the first response of each found the server's queue
                // empty: left out of the latencies when the connection has others to show.
                if concurrency > 1 && counted.latencies.len() > 1 {
                    counted.latencies.remove(0);
                    counted.ramp = 1;
                }
                counted
            })
        })
        .collect();
    let mut run = Run {
        server: String::new(),
        target: path.to_string(),
        mode: String::new(),
        concurrency,
        requests: 0,
        errors: 0,
        faults: BTreeMap::new(),
        statuses: BTreeMap::new(),
        software: None,
        seconds: 0.0,
        latencies: Vec::new(),
        phases: Phases::default(),
    };
    let mut ramp = 0;
    for t in threads {
        match t.join() {
            Ok(c) => {
                ramp += c.ramp;
                run.latencies.extend(c.latencies);
                run.errors += c.errors;
                for (fault, f) in c.faults {
                    add_fault(&mut run.faults, fault, f.count, f.first);
                }
                for (status, n) in c.statuses {
                    *run.statuses.entry(status).or_default() += n;
                }
                run.software = run.software.or(c.software);
                run.phases.merge(c.phases);
            }
            Err(_) => run.errors += 1,
        }
    }
    run.latencies.sort();
    run.requests = run.latencies.len() as u64 + ramp;
    run.seconds = started.elapsed().as_secs_f64();
    run
}

/// What one connection's loop counted.
#[derive(Default)]
struct Counted {
    latencies: Vec<Duration>,
    /// The first response, answered before the queue had filled: not in `latencies`.
    ramp: u64,
    errors: u64,
    faults: BTreeMap<Fault, Faulted>,
    statuses: BTreeMap<u16, u64>,
    software: Option<String>,
    phases: Phases,
}

/// One connection's loop: request, read the whole response, repeat, until the run's
/// end. Every request ends by `until`, the end plus its grace, so the loop does too.
fn client(
    addr: SocketAddr,
    request: &str,
    (deadline, grace): (Instant, Duration),
    issued: &AtomicU64,
    max: u64,
) -> Counted {
    let mut counted = Counted::default();
    let until = deadline + grace;
    let mut conn: Option<BufReader<Deadline>> = None;
    while Instant::now() < deadline && issued.fetch_add(1, Ordering::Relaxed) < max {
        let reused = conn.is_some();
        let t = Instant::now();
        let mut answer = exchange(&mut conn, addr, request, (until, grace));
        // A server may close a kept-alive connection between two requests, and the client
        // only learns it when it sends the next one: such a request is sent again once, on
        // a new connection (RFC 9112, section 9.3.1).
        if reused && matches!(answer, Err((Fault::Closed, _))) {
            answer = exchange(&mut conn, addr, request, (until, grace));
        }
        match answer {
            Ok(response) => {
                counted.latencies.push(t.elapsed());
                *counted.statuses.entry(response.status).or_default() += 1;
                if counted.software.is_none() {
                    counted.software = response.header("Server").map(String::from);
                }
                if let Some(timing) = response.header("Server-Timing") {
                    counted.phases.add(timing);
                }
                if !response.keep_alive {
                    conn = None;
                }
            }
            Err((fault, why)) => {
                counted.errors += 1;
                add_fault(&mut counted.faults, fault, 1, why);
                conn = None;
                // A server that refuses connections is not hammered in a tight loop.
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
    counted
}

/// One request and its response by `until` (the run's end plus `grace`), on `conn` or
/// on a new connection. On a failure the connection is dropped, which closes it.
fn exchange(
    conn: &mut Option<BufReader<Deadline>>,
    addr: SocketAddr,
    request: &str,
    (until, grace): (Instant, Duration),
) -> Result<Response, (Fault, String)> {
    if conn.is_none() {
        let left = until.saturating_duration_since(Instant::now());
        let s = TcpStream::connect_timeout(&addr, left.min(CONNECT_TIMEOUT))
            .map_err(|e| (Fault::Connect, e.to_string()))?;
        let _ = s.set_nodelay(true);
        *conn = Some(BufReader::new(Deadline::new(s, until)));
    }
    let c = conn.as_mut().expect("connected above");
    c.get_mut().set(until);
    let answer = c
        .get_mut()
        .write_all(request.as_bytes())
        .and_then(|_| read_response_with(c, false, Body::Discard));
    answer.map_err(|e| {
        *conn = None;
        fault(e, grace)
    })
}

/// Why `e` ended a request, `grace` after its turn of load, and what to say about it.
fn fault(e: io::Error, grace: Duration) -> (Fault, String) {
    let fault = match e.kind() {
        io::ErrorKind::TimedOut => {
            let why = format!(
                "no complete response within {:.1} s after its turn of load ended",
                grace.as_secs_f64()
            );
            return (Fault::Late, why);
        }
        io::ErrorKind::UnexpectedEof
        | io::ErrorKind::ConnectionReset
        | io::ErrorKind::BrokenPipe
        | io::ErrorKind::ConnectionAborted => Fault::Closed,
        io::ErrorKind::InvalidData => Fault::Refused,
        _ => Fault::Failed,
    };
    (fault, e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, Write};
    use std::net::TcpListener;

    /// A keep-alive server that answers every request at once, on a thread per
    /// connection, until the test ends.
    fn hello_server() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(conn.try_clone().unwrap());
                    let mut conn = conn;
                    let mut line = String::new();
                    while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
                        if line == "\r\n" {
                            let answer = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
                            if conn.write_all(answer.as_bytes()).is_err() {
                                return;
                            }
                        }
                        line.clear();
                    }
                });
            }
        });
        addr
    }

    /// Past one connection, each connection's first response of a turn is counted but
    /// leaves no latency (when it has others): at most one per connection, and at least
    /// one, since 400 requests on 4 connections give some connection more than one.
    #[test]
    fn each_connections_first_response_is_counted_but_not_timed() {
        let addr = hello_server();
        let run = load(
            addr,
            "x",
            "/",
            4,
            Duration::from_secs(1),
            400,
            GRACE_FOR_TEST,
        );
        assert_eq!(run.errors, 0);
        let ramp = run.requests - run.latencies.len() as u64;
        assert!(
            (1..=4).contains(&ramp),
            "{ramp} of {} left out",
            run.requests
        );
    }

    const GRACE_FOR_TEST: Duration = Duration::from_secs(2);
}
