//! The server's own latency counters, per URL path: the most recent request and the
//! median of the last hundred, shown on the index page.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use crate::measure::timing::Mode;

/// How many recent latencies are kept per path.
const WINDOW: usize = 100;

/// Latencies by URL path (without the query).
#[derive(Default)]
pub struct Stats {
    by_path: Mutex<HashMap<String, Recent>>,
}

#[derive(Default)]
struct Recent {
    samples: Vec<Duration>,
    next: usize,
    last: Duration,
}

/// What the index page shows for one path.
#[derive(Debug, Clone, Copy)]
pub struct Summary {
    pub last: Duration,
    pub median: Duration,
    pub count: usize,
}

impl Stats {
    /// Records one answered request; only scripts and apps are counted.
    pub fn record(&self, target: &str, mode: Mode, status: u16, took: Duration) {
        if mode == Mode::Server || status >= 500 {
            return;
        }
        let path = crate::request::route::split_target(target).0;
        let mut map = self.by_path.lock().unwrap_or_else(|e| e.into_inner());
        if !map.contains_key(path) {
            map.insert(path.to_string(), Recent::default());
        }
        let recent = map.get_mut(path).expect("inserted above");
        if recent.samples.len() < WINDOW {
            recent.samples.push(took);
        } else {
            recent.samples[recent.next] = took;
        }
        recent.next = (recent.next + 1) % WINDOW;
        recent.last = took;
    }

    /// The summary for `path`, if it has been requested.
    pub fn summary(&self, path: &str) -> Option<Summary> {
        let map = self.by_path.lock().unwrap_or_else(|e| e.into_inner());
        let recent = map.get(path)?;
        let mut sorted = recent.samples.clone();
        sorted.sort();
        Some(Summary {
            last: recent.last,
            median: sorted[sorted.len() / 2],
            count: sorted.len(),
        })
    }
}
