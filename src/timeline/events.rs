//! A pool's life as its server logged it, read back: each worker's start, ready and exit,
//! and each signal that reshaped the pool. The lines read are the pool's own:
//!
//! ```text
//! 2026-12-06T12:40:11.384Z pool w: worker 17891 started (225 ms to ready; RSS 16.3 MiB, ...)
//! 2026-12-06T12:40:12.387Z pool w: reload: starting 2 new workers; 2 old ones retire when idle
//! 2026-12-06T12:40:12.951Z pool w: worker 17891 exited with code 0 (reloaded, 0 requests served; ...)
//! 2026-12-06T12:40:13.101Z pool w: 3 workers (SIGTTIN)
//! ```
//!
//! A worker was spawned its "ms to ready" before its `started` line. Its generation is
//! the number of reloads of its pool logged before that line. Every other line (access
//! lines, what an app printed, which the server logs as `pool w: worker 17891: TEXT`) is
//! passed over.

use std::io::BufRead;

/// A worker: when it was spawned and ready, and how it ended, in seconds since the
/// log's first line.
#[derive(Debug, Clone, PartialEq)]
pub struct Worker {
    pub pool: String,
    pub pid: u32,
    /// Reloads of its pool before it started: 0 for the first workers.
    pub generation: u32,
    /// `None` for a worker whose start is not in the log (it never became ready, or
    /// the log begins after it started).
    pub spawned: Option<f64>,
    pub ready: Option<f64>,
    /// When it ended and how, as the log said it (`exited with code 0 (reloaded, ...)`).
    pub ended: Option<(f64, String)>,
}

/// A signal that reshaped a pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// A reload: new workers first, then the old ones retire.
    Hup,
    /// One worker more.
    Ttin,
    /// One worker fewer.
    Ttou,
}

impl Signal {
    pub fn as_str(self) -> &'static str {
        match self {
            Signal::Hup => "HUP",
            Signal::Ttin => "TTIN",
            Signal::Ttou => "TTOU",
        }
    }
}

/// A signal's mark on the timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct Mark {
    pub pool: String,
    pub at: f64,
    pub signal: Signal,
}

/// Everything read from one log.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Timeline {
    pub workers: Vec<Worker>,
    pub marks: Vec<Mark>,
    /// Seconds from the first line to the last line with a time.
    pub span: f64,
}

impl Timeline {
    /// The pools, in the order the log first names them.
    pub fn pools(&self) -> Vec<&str> {
        let mut pools: Vec<&str> = Vec::new();
        for w in &self.workers {
            if !pools.contains(&w.pool.as_str()) {
                pools.push(&w.pool);
            }
        }
        pools
    }
}

/// Reads a server's log.
pub fn read(log: impl BufRead) -> std::io::Result<Timeline> {
    let mut t = Timeline::default();
    let mut first: Option<f64> = None;
    let mut reloads: Vec<(String, u32)> = Vec::new();
    for line in log.split(b'\n') {
        let line = String::from_utf8_lossy(&line?).into_owned();
        let Some((time, message)) = line.split_once(' ') else {
            continue;
        };
        let Some(at) = seconds(time) else {
            continue;
        };
        let at = at - *first.get_or_insert(at);
        t.span = t.span.max(at);
        let Some(rest) = message.strip_prefix("pool ") else {
            continue;
        };
        let Some((pool, event)) = rest.split_once(": ") else {
            continue;
        };
        if event.starts_with("reload: starting") {
            t.marks.push(mark(pool, at, Signal::Hup));
            match reloads.iter_mut().find(|(p, _)| p == pool) {
                Some((_, n)) => *n += 1,
                None => reloads.push((pool.to_string(), 1)),
            }
        } else if event.ends_with(" workers (SIGTTIN)") {
            t.marks.push(mark(pool, at, Signal::Ttin));
        } else if event.ends_with(" workers (SIGTTOU)") {
            t.marks.push(mark(pool, at, Signal::Ttou));
        } else if let Some((pid, what)) = event
            .strip_prefix("worker ")
            .and_then(|e| e.split_once(' '))
            .and_then(|(pid, what)| Some((pid.parse::<u32>().ok()?, what)))
        {
            let generation = reloads
                .iter()
                .find(|(p, _)| p == pool)
                .map_or(0, |(_, n)| *n);
            let worker = |t: &mut Timeline| -> usize {
                match t
                    .workers
                    .iter()
                    .rposition(|w| w.pool == pool && w.pid == pid && w.ended.is_none())
                {
                    Some(i) => i,
                    None => {
                        t.workers.push(Worker {
                            pool: pool.to_string(),
                            pid,
                            generation,
                            spawned: None,
                            ready: None,
                            ended: None,
                        });
                        t.workers.len() - 1
                    }
                }
            };
            if let Some(boot) = what.strip_prefix("started (") {
                let i = worker(&mut t);
                let ms: Option<f64> = boot
                    .split_once(" ms to ready")
                    .and_then(|(ms, _)| ms.parse().ok());
                let w = &mut t.workers[i];
                w.generation = generation;
                w.ready = Some(at);
                w.spawned = Some(ms.map_or(at, |ms| (at - ms / 1000.0).max(0.0)));
            } else if ["exited with code ", "killed by signal ", "ended"]
                .iter()
                .any(|how| what.starts_with(how))
            {
                let i = worker(&mut t);
                t.workers[i].ended = Some((at, what.to_string()));
            }
        }
    }
    Ok(t)
}

fn mark(pool: &str, at: f64, signal: Signal) -> Mark {
    Mark {
        pool: pool.to_string(),
        at,
        signal,
    }
}

/// Seconds since 1970 of a log line's time, `2026-12-06T12:40:11.148Z` (RFC 3339 in
/// UTC, as [`crate::log::clock`] writes it); `None` for anything else.
pub fn seconds(time: &str) -> Option<f64> {
    let t = time.strip_suffix('Z')?;
    let (date, clock) = t.split_once('T')?;
    let mut d = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let mut c = clock.splitn(3, ':');
    let (h, min) = (
        c.next()?.parse::<i64>().ok()?,
        c.next()?.parse::<i64>().ok()?,
    );
    let s: f64 = c.next()?.parse().ok()?;
    if !(1..=12).contains(&m)
        || !(1..=31).contains(&day)
        || h > 23
        || min > 59
        || !(0.0..61.0).contains(&s)
    {
        return None;
    }
    Some((days_from_civil(y, m, day) * 86_400 + h * 3600 + min * 60) as f64 + s)
}

/// Days since 1970-01-01 of a date in the proleptic Gregorian calendar (Howard
/// Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "\
2026-12-06T12:40:11.148Z cgilab: listening on http://127.0.0.1:35159 (--no-lab: pools only, 64 threads)
2026-12-06T12:40:11.384Z pool w: worker 17891 started (225 ms to ready; RSS 16.3 MiB, PSS 10.6 MiB, USS 9.6 MiB)
2026-12-06T12:40:11.466Z pool w: worker 17885 started (313 ms to ready; RSS 16.3 MiB)
2026-12-06T12:40:11.500Z 127.0.0.1:4242 GET /pool/w 200 6B mode=pool app=0.3ms total=0.4ms
2026-12-06T12:40:11.600Z pool w: worker 17885: pool w: worker 17885 exited with code 9 (a forged line)
2026-12-06T12:40:12.387Z pool w: reload: starting 2 new workers; 2 old ones retire when idle
2026-12-06T12:40:12.920Z pool w: worker 18090 started (516 ms to ready; RSS 16.3 MiB)
2026-12-06T12:40:12.951Z pool w: worker 17885 exited with code 0 (reloaded, 0 requests served)
2026-12-06T12:40:13.101Z pool w: 3 workers (SIGTTIN)
not a log line
2026-12-06T12:40:15.099Z pool w: worker 18090 killed by signal 9 (request past --timeout)
";

    #[test]
    fn workers_are_read_with_their_generation_start_ready_and_end() {
        let t = read(LOG.as_bytes()).unwrap();
        assert_eq!(t.workers.len(), 3);
        let w = |pid| t.workers.iter().find(|w| w.pid == pid).unwrap();
        let close = |a: f64, b: f64| (a - b).abs() < 1e-6;
        // Ready 0.236 s after the first line; spawned 225 ms before that.
        assert!(close(w(17891).ready.unwrap(), 0.236));
        assert!(close(w(17891).spawned.unwrap(), 0.011));
        assert_eq!(w(17891).ended, None);
        assert_eq!(w(17885).generation, 0);
        assert_eq!(w(18090).generation, 1);
        let (at, how) = w(17885).ended.clone().unwrap();
        assert!(close(at, 1.803), "{at}");
        assert_eq!(how, "exited with code 0 (reloaded, 0 requests served)");
        assert!(
            w(18090)
                .ended
                .as_ref()
                .unwrap()
                .1
                .starts_with("killed by signal 9")
        );
        let signals: Vec<Signal> = t.marks.iter().map(|m| m.signal).collect();
        assert_eq!(signals, [Signal::Hup, Signal::Ttin]);
        assert!(close(t.span, 3.951));
        assert_eq!(t.pools(), ["w"]);
    }

    #[test]
    fn a_worker_that_never_started_has_no_start() {
        let t = read(
            "2026-12-06T12:00:00.000Z pool b: worker 7 exited with code 1 before it was ready (boot failure 1 of 5): ImportError\n"
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(t.workers.len(), 1);
        assert_eq!(t.workers[0].spawned, None);
        assert!(t.workers[0].ended.is_some());
    }

    #[test]
    fn times_are_read_as_the_log_writes_them() {
        assert_eq!(seconds("1970-01-01T00:00:01.500Z"), Some(1.5));
        assert_eq!(seconds("2000-03-01T00:00:00.000Z"), Some(951_868_800.0));
        assert_eq!(seconds("2026-13-01T00:00:00.000Z"), None);
        assert_eq!(seconds("2026-12-01T00:00:00.000"), None);
        assert_eq!(seconds("pool"), None);
    }
}
