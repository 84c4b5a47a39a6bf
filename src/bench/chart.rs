//! `cgilab bench --chart FILE`: the latencies as a picture, one series (colour) per
//! target and one row per concurrency, on a log scale, since a thousandfold difference is
//! better seen than read. Hand-written SVG: a whisker from p1 to p99, a box from p25 to
//! p75, a bar at the median and a dot at the mean.

use std::fmt::Write;
use std::time::Duration;

use crate::bench::load::Run;
use crate::svg::{colour, esc, head};

const WIDTH: f64 = 960.0;
/// Room for the row labels on the left.
const LEFT: f64 = 300.0;
const RIGHT: f64 = 30.0;
const TOP: f64 = 50.0;
const ROW: f64 = 24.0;
/// Room for the axis labels below.
const BOTTOM: f64 = 50.0;

/// The SVG document for `runs`.
pub fn svg(runs: &[Run]) -> String {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let measured = runs.iter().filter(|r| !r.latencies.is_empty());
    let lo = measured
        .clone()
        .map(|r| ms(r.pct(0.01)))
        .fold(f64::MAX, f64::min);
    let hi = measured.map(|r| ms(r.pct(0.99))).fold(0.0, f64::max);
    let (lo, hi) = if hi > 0.0 {
        (lo.max(1e-3).log10().floor(), hi.max(1e-3).log10().ceil())
    } else {
        (-1.0, 2.0)
    };
    let hi = hi.max(lo + 1.0);
    let x = |ms: f64| LEFT + (ms.max(1e-3).log10() - lo) / (hi - lo) * (WIDTH - LEFT - RIGHT);

    // One series per target, in the order the targets were loaded.
    let mut series: Vec<(&str, &str)> = Vec::new();
    for r in runs {
        if !series.contains(&(r.server.as_str(), r.target.as_str())) {
            series.push((r.server.as_str(), r.target.as_str()));
        }
    }
    let height = TOP + ROW * runs.len() as f64 + BOTTOM;
    let mut out = head(WIDTH, height, "cgilab bench: latency per target");
    let _ = writeln!(
        out,
        r##"<text x="{LEFT}" y="20" font-size="14">Latency per target, log scale (ms)</text>
<text x="{LEFT}" y="36" fill="#555">whisker p1 to p99, box p25 to p75, bar median, dot mean</text>"##
    );
    let axis_y = TOP + ROW * runs.len() as f64;
    for decade in lo as i32..=hi as i32 {
        let v = 10f64.powi(decade);
        let gx = x(v);
        let _ = writeln!(
            out,
            r##"<line x1="{gx:.1}" y1="{TOP}" x2="{gx:.1}" y2="{axis_y}" stroke="#ddd"/><text x="{gx:.1}" y="{:.1}" text-anchor="middle" fill="#333">{}</text>"##,
            axis_y + 16.0,
            decade_label(decade)
        );
    }
    let mut row = 0usize;
    for (i, (server, target)) in series.iter().enumerate() {
        let colour = colour(i);
        let _ = writeln!(
            out,
            r#"<g class="series" data-server="{}" data-target="{}" fill="{colour}" stroke="{colour}">"#,
            esc(server),
            esc(target)
        );
        for r in runs
            .iter()
            .filter(|r| r.server == *server && r.target == *target)
        {
            let y = TOP + ROW * row as f64 + ROW / 2.0;
            row += 1;
            let _ = writeln!(
                out,
                r#"<text x="{:.1}" y="{:.1}" text-anchor="end" stroke="none">{} {} conc {}</text>"#,
                LEFT - 8.0,
                y + 4.0,
                esc(server),
                esc(target),
                r.concurrency
            );
            if r.latencies.is_empty() {
                let _ = writeln!(
                    out,
                    r#"<text x="{:.1}" y="{:.1}" stroke="none">no responses</text>"#,
                    LEFT + 4.0,
                    y + 4.0
                );
                continue;
            }
            let p = |q: f64| x(ms(r.pct(q)));
            let (p25, p75) = (p(0.25), p(0.75));
            let _ = writeln!(
                out,
                r#"<line x1="{:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}"/><rect x="{p25:.1}" y="{:.1}" width="{:.1}" height="12" fill-opacity="0.35"/><line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke-width="2"/><circle cx="{:.1}" cy="{y:.1}" r="3"/>"#,
                p(0.01),
                p(0.99),
                y - 6.0,
                (p75 - p25).max(1.0),
                p(0.5),
                y - 8.0,
                p(0.5),
                y + 8.0,
                x(ms(r.mean()))
            );
        }
        out.push_str("</g>\n");
    }
    out.push_str("</svg>\n");
    out
}

/// `0.01 ms`, `1 ms`, `1 s`.
fn decade_label(decade: i32) -> String {
    match decade {
        d if d < 0 => format!("{} ms", 10f64.powi(d)),
        d if d < 3 => format!("{} ms", 10i64.pow(d as u32)),
        d => format!("{} s", 10i64.pow(d as u32 - 3)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decades_are_labelled_in_ms_then_s() {
        assert_eq!(decade_label(-2), "0.01 ms");
        assert_eq!(decade_label(0), "1 ms");
        assert_eq!(decade_label(2), "100 ms");
        assert_eq!(decade_label(4), "10 s");
    }
}
