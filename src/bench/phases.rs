//! What the `Server-Timing` headers of a run's responses add up to: per phase, the sum
//! of its `dur` over the responses that carried the header, so the chart of phases
//! ([`crate::bench::phase_chart`]) can show where a target's time went on average.
//!
//! The header (W3C Server Timing) is a list of metrics, `spawn;dur=0.512,
//! headers;dur=203.417, total;dur=203.440`; cgilab's phases are listed in
//! [`crate::measure::timing`]. A server that sends no such header leaves a run without
//! phases; one that sends a metric with no `dur`, or one that is not a number, has that
//! metric left out.

/// At most this many distinct phase names are kept for a run: a server that invents a
/// new name on every response cannot grow the bench's memory.
pub const MAX_PHASES: usize = 16;

/// The phases of a run's responses.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Phases {
    /// Responses that carried a `Server-Timing` header with at least one `dur`.
    pub responses: u64,
    /// Each phase's name and the sum of its durations in milliseconds, in the order
    /// the names were first met.
    pub sums: Vec<(String, f64)>,
}

impl Phases {
    /// Adds one response's `Server-Timing` header value.
    pub fn add(&mut self, header: &str) {
        let mut any = false;
        for (name, ms) in parse(header) {
            self.add_to(name, ms);
            any = true;
        }
        if any {
            self.responses += 1;
        }
    }

    /// Adds `ms` to phase `name`, unless it is a new name past [`MAX_PHASES`].
    fn add_to(&mut self, name: &str, ms: f64) {
        if let Some((_, sum)) = self.sums.iter_mut().find(|(n, _)| n == name) {
            *sum += ms;
        } else if self.sums.len() < MAX_PHASES {
            self.sums.push((name.to_string(), ms));
        }
    }

    /// Adds the phases of another part of the same run.
    pub fn merge(&mut self, other: Phases) {
        self.responses += other.responses;
        for (name, ms) in other.sums {
            self.add_to(&name, ms);
        }
    }

    /// The mean of phase `name` in milliseconds, over the responses that carried the
    /// header (a response without the phase counts as 0), or `None` if no response had
    /// it.
    pub fn mean(&self, name: &str) -> Option<f64> {
        let (_, sum) = self.sums.iter().find(|(n, _)| n == name)?;
        Some(sum / self.responses.max(1) as f64)
    }
}

/// The `(name, dur)` pairs of a `Server-Timing` value: `name;dur=1.5;desc="x"`, metrics
/// separated by commas. Metrics without a usable `dur` are skipped.
pub fn parse(header: &str) -> impl Iterator<Item = (&str, f64)> {
    header.split(',').filter_map(|metric| {
        let mut parts = metric.split(';').map(str::trim);
        let name = parts.next().filter(|n| !n.is_empty())?;
        let dur = parts.find_map(|p| p.strip_prefix("dur="))?;
        let ms: f64 = dur.trim_matches('"').parse().ok()?;
        (ms.is_finite() && ms >= 0.0).then_some((name, ms))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_adds_each_phase_and_counts_the_response() {
        let mut p = Phases::default();
        p.add("spawn;dur=0.5, headers;dur=200.0, total;dur=201.0");
        p.add("spawn;dur=1.5, headers;dur=100.0, total;dur=103.0");
        assert_eq!(p.responses, 2);
        assert_eq!(p.mean("spawn"), Some(1.0));
        assert_eq!(p.mean("total"), Some(152.0));
        assert_eq!(p.mean("queue"), None);
        let names: Vec<&str> = p.sums.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["spawn", "headers", "total"]);
    }

    #[test]
    fn metrics_without_a_usable_dur_are_left_out() {
        let got: Vec<(&str, f64)> =
            parse(r#"cache;desc="hit", db;dur=abc, app;dur="2.5", ;dur=1, x;dur=-1, y;dur=NaN, total;desc=t;dur=3"#)
                .collect();
        assert_eq!(got, [("app", 2.5), ("total", 3.0)]);
        let mut p = Phases::default();
        p.add("cache;desc=hit");
        p.add("");
        assert_eq!(
            p.responses, 0,
            "a header without a dur is not a timed response"
        );
    }

    #[test]
    fn a_server_inventing_names_cannot_grow_the_list_past_its_bound() {
        let mut p = Phases::default();
        for i in 0..100 {
            p.add(&format!("m{i};dur=1"));
        }
        assert_eq!(p.sums.len(), MAX_PHASES);
        let mut q = Phases::default();
        q.add("other;dur=1");
        p.merge(q);
        assert_eq!(p.sums.len(), MAX_PHASES);
        assert_eq!(p.responses, 101);
    }
}
