//! The timeline as SVG: time runs left to right, in seconds since the log's first line;
//! one row per worker, grouped by pool, in the order they started. A worker's row is
//! pale while it boots (spawned, not yet ready) and solid while it serves, in its
//! generation's colour, and ends in a tick where it exited (hover for how). Each signal
//! that reshaped a pool is a dashed line across it, named (`HUP`, `TTIN`, `TTOU`).

use std::fmt::Write;

use crate::svg::{colour, esc, head};
use crate::timeline::events::{Timeline, Worker};

const WIDTH: f64 = 960.0;
/// Room for the row labels on the left.
const LEFT: f64 = 170.0;
const RIGHT: f64 = 30.0;
const TOP: f64 = 80.0;
const ROW: f64 = 22.0;
/// Room for the axis below.
const BOTTOM: f64 = 40.0;

/// The SVG document for `t`.
pub fn svg(t: &Timeline) -> String {
    let mut workers: Vec<&Worker> = t.workers.iter().collect();
    let pools = t.pools();
    // Grouped by pool, then in the order they started (one never seen starting, where
    // it ended).
    let start = |w: &Worker| {
        w.spawned
            .or(w.ended.as_ref().map(|(at, _)| *at))
            .unwrap_or(0.0)
    };
    workers.sort_by(|a, b| {
        let pool = |w: &Worker| pools.iter().position(|p| *p == w.pool);
        pool(a).cmp(&pool(b)).then(start(a).total_cmp(&start(b)))
    });
    let span = t.span.max(0.001);
    let step = tick_step(span);
    let end = (span / step).ceil() * step;
    let x = |s: f64| LEFT + s / end * (WIDTH - LEFT - RIGHT);
    let bottom = TOP + ROW * workers.len() as f64;
    let height = bottom + BOTTOM;
    let mut out = head(WIDTH, height, "cgilab timeline: a pool's workers over time");
    let _ = writeln!(
        out,
        r##"<text x="{LEFT}" y="20" font-size="14">Workers over time (s), read from the server's log</text>
<text x="{LEFT}" y="36" fill="#555">pale: booting, from spawn to ready; solid: ready and serving, until the tick where it exited</text>"##
    );
    // The legend: one entry per generation, then the pale boot.
    let generations = workers.iter().map(|w| w.generation).max().unwrap_or(0);
    let mut lx = LEFT;
    for g in 0..=generations {
        let label = generation_label(g, generations);
        let _ = writeln!(
            out,
            r#"<g class="legend"><rect x="{lx:.1}" y="48" width="12" height="12" fill="{}"/><text x="{:.1}" y="58">{label}</text></g>"#,
            colour(g as usize),
            lx + 16.0
        );
        lx += 28.0 + 7.0 * label.len() as f64;
    }
    // The time axis.
    let mut s = 0.0;
    while s <= end + step / 2.0 {
        let gx = x(s);
        let _ = writeln!(
            out,
            r##"<line x1="{gx:.1}" y1="{TOP}" x2="{gx:.1}" y2="{bottom}" stroke="#eee"/><text x="{gx:.1}" y="{:.1}" text-anchor="middle" fill="#333">{}</text>"##,
            bottom + 16.0,
            seconds_label(s, step)
        );
        s += step;
    }
    let _ = writeln!(
        out,
        r##"<text x="{:.1}" y="{:.1}" text-anchor="end" fill="#333">s</text>"##,
        WIDTH - 4.0,
        bottom + 32.0
    );
    for (row, w) in workers.iter().enumerate() {
        let y = TOP + ROW * row as f64;
        let mid = y + ROW / 2.0;
        let c = colour(w.generation as usize);
        let _ = writeln!(
            out,
            r#"<g class="worker" data-pool="{}" data-pid="{}" data-generation="{}">"#,
            esc(&w.pool),
            w.pid,
            w.generation
        );
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{} worker {}</text>"#,
            LEFT - 8.0,
            mid + 4.0,
            esc(&w.pool),
            w.pid
        );
        let ended = w.ended.as_ref().map(|(at, _)| *at);
        if let (Some(spawned), Some(ready)) = (w.spawned, w.ready) {
            let _ = writeln!(
                out,
                r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{c}" fill-opacity="0.3"><title>booting: {:.3} s</title></rect>"#,
                x(spawned),
                y + 4.0,
                (x(ready) - x(spawned)).max(1.0),
                ROW - 8.0,
                ready - spawned
            );
            let until = ended.unwrap_or(t.span);
            let _ = writeln!(
                out,
                r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{c}"><title>ready at {ready:.3} s{}</title></rect>"#,
                x(ready),
                y + 4.0,
                (x(until) - x(ready)).max(1.0),
                ROW - 8.0,
                if ended.is_some() {
                    ""
                } else {
                    ", still running at the log's end"
                }
            );
        }
        if let Some((at, how)) = &w.ended {
            let ex = x(*at);
            let _ = writeln!(
                out,
                r#"<line x1="{ex:.1}" y1="{:.1}" x2="{ex:.1}" y2="{:.1}" stroke="black" stroke-width="2"><title>{} at {at:.3} s</title></line>"#,
                y + 2.0,
                y + ROW - 2.0,
                esc(how)
            );
        }
        out.push_str("</g>\n");
    }
    // The signals, across the rows of their pool.
    for m in &t.marks {
        let rows: Vec<usize> = workers
            .iter()
            .enumerate()
            .filter(|(_, w)| w.pool == m.pool)
            .map(|(i, _)| i)
            .collect();
        let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
            continue;
        };
        let mx = x(m.at);
        let _ = writeln!(
            out,
            r##"<g class="signal" data-pool="{}"><line x1="{mx:.1}" y1="{:.1}" x2="{mx:.1}" y2="{:.1}" stroke="#d1495b" stroke-dasharray="4 3"/><text x="{:.1}" y="{:.1}" fill="#d1495b">{}</text></g>"##,
            esc(&m.pool),
            TOP + ROW * *first as f64 - 6.0,
            TOP + ROW * (*last + 1) as f64,
            mx + 3.0,
            TOP + ROW * *first as f64 - 8.0 + if *first == 0 { 0.0 } else { 4.0 },
            m.signal.as_str()
        );
    }
    out.push_str("</svg>\n");
    out
}

/// `old workers` and `new workers` for one reload; generations by number past it.
fn generation_label(g: u32, last: u32) -> String {
    match (g, last) {
        (0, 0) => "workers".to_string(),
        (0, 1) => "old workers".to_string(),
        (1, 1) => "new workers".to_string(),
        (g, _) => format!("generation {g}"),
    }
}

/// A round step for about ten ticks over `span` seconds: 1, 2 or 5 times a power of ten.
fn tick_step(span: f64) -> f64 {
    let raw = span / 10.0;
    let power = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * power)
}

/// A tick's label with as many decimals as the step needs.
fn seconds_label(s: f64, step: f64) -> String {
    let decimals = (-step.log10().floor()).max(0.0) as usize;
    format!("{s:.decimals$}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timeline::events::{Mark, Signal};

    fn worker(pid: u32, generation: u32, spawned: f64, ready: f64, ended: Option<f64>) -> Worker {
        Worker {
            pool: "w".into(),
            pid,
            generation,
            spawned: Some(spawned),
            ready: Some(ready),
            ended: ended.map(|at| {
                (
                    at,
                    "exited with code 0 (reloaded, 3 requests served)".into(),
                )
            }),
        }
    }

    #[test]
    fn a_reload_shows_old_and_new_workers_and_the_hup() {
        let t = Timeline {
            workers: vec![
                worker(20, 1, 1.0, 1.5, None),
                worker(10, 0, 0.0, 0.2, Some(1.6)),
            ],
            marks: vec![Mark {
                pool: "w".into(),
                at: 1.0,
                signal: Signal::Hup,
            }],
            span: 2.0,
        };
        let svg = svg(&t);
        for text in [
            ">old workers</text>",
            ">new workers</text>",
            ">HUP</text>",
            ">w worker 10</text>",
        ] {
            assert!(svg.contains(text), "no {text} in\n{svg}");
        }
        // The old worker's row comes first: it started first.
        assert!(svg.find("worker 10<").unwrap() < svg.find("worker 20<").unwrap());
        assert!(svg.contains("exited with code 0 (reloaded, 3 requests served) at 1.600 s"));
        assert!(svg.contains("still running at the log's end"));
        assert_eq!(svg.matches(r#"class="worker""#).count(), 2);
    }

    #[test]
    fn ticks_are_round() {
        let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
        assert!(close(tick_step(2.0), 0.2));
        assert!(close(tick_step(35.0), 5.0));
        assert!(close(tick_step(0.9), 0.1));
        assert_eq!(seconds_label(0.4, 0.2), "0.4");
        assert_eq!(seconds_label(10.0, 5.0), "10");
        assert_eq!(generation_label(2, 2), "generation 2");
    }
}
