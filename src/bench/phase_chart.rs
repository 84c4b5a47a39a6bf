//! `cgilab bench --chart-phases FILE`: where each target's time went, as told by the
//! `Server-Timing` of its responses ([`crate::bench::phases`]): one stacked bar per target
//! and concurrency, each as wide as the page, split into the phases' shares of the mean
//! `total`, with that total written beside it. Shares, not a common scale: CGI's hundreds
//! of milliseconds and a pool's fraction of one would not both be visible on one axis,
//! and the question is what each one's time is made of.
//!
//! cgilab's phases overlap (see [`crate::measure::timing`]): `headers` runs from the
//! request's arrival, so it holds `queue` and `spawn`, and an embedded app's `app`
//! holds its `gil`. The bar draws each piece once: `headers` less `queue` and `spawn`
//! (the script, from its start until its header block), `app` less `gil`, and `rest`,
//! what `total` holds besides the phases (the server's own work). A phase name that is
//! not cgilab's is left in `rest`.

use std::fmt::Write;

use crate::bench::load::Run;
use crate::svg::{esc, head};

const WIDTH: f64 = 960.0;
/// Room for the row labels on the left.
const LEFT: f64 = 300.0;
/// Room for the total on the right.
const RIGHT: f64 = 100.0;
const TOP: f64 = 74.0;
const ROW: f64 = 26.0;
const BOTTOM: f64 = 16.0;

/// A piece of a bar: its name in the legend, what it is, its colour.
struct Piece {
    name: &'static str,
    what: &'static str,
    colour: &'static str,
}

/// The pieces in the order a request meets them.
const PIECES: [Piece; 7] = [
    Piece {
        name: "queue",
        what: "waiting for a slot or an idle worker",
        colour: "#9e9e9e",
    },
    Piece {
        name: "spawn",
        what: "fork and exec of the script",
        colour: "#d1495b",
    },
    Piece {
        name: "headers",
        what: "the script, from its start until its header block",
        colour: "#edae49",
    },
    Piece {
        name: "call",
        what: "the in-process app's call",
        colour: "#00798c",
    },
    Piece {
        name: "gil",
        what: "waiting for the GIL",
        colour: "#8d6a9f",
    },
    Piece {
        name: "app",
        what: "the worker or embedded app, until its header block",
        colour: "#1b6ca8",
    },
    Piece {
        name: "rest",
        what: "the rest of total: the server's own work",
        colour: "#c8c8c8",
    },
];

/// One target's bar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bar {
    /// The mean milliseconds of each piece, in [`PIECES`] order.
    pub ms: [f64; 7],
    /// The mean `total`.
    pub total: f64,
}

/// The bar of `run`; `None` when no response carried a `Server-Timing` total.
pub fn bar(run: &Run) -> Option<Bar> {
    let p = &run.phases;
    let total = p.mean("total")?;
    let get = |name| p.mean(name).unwrap_or(0.0);
    let (queue, spawn, call, gil) = (get("queue"), get("spawn"), get("call"), get("gil"));
    let headers = p
        .mean("headers")
        .map_or(0.0, |h| (h - queue - spawn).max(0.0));
    let app = p.mean("app").map_or(0.0, |a| (a - gil).max(0.0));
    let named = queue + spawn + headers + call + gil + app;
    let rest = (total - named).max(0.0);
    Some(Bar {
        ms: [queue, spawn, headers, call, gil, app, rest],
        total,
    })
}

/// The SVG document for `runs`.
pub fn svg(runs: &[Run]) -> String {
    let rows: Vec<(&Run, Option<Bar>)> = runs.iter().map(|r| (r, bar(r))).collect();
    let height = TOP + ROW * rows.len() as f64 + BOTTOM;
    let mut out = head(WIDTH, height, "cgilab bench: where the time went, by phase");
    let _ = writeln!(
        out,
        r##"<text x="{LEFT}" y="20" font-size="14">Where each response's time went: Server-Timing phases, share of the mean total</text>
<text x="{LEFT}" y="36" fill="#555">each bar is one target's mean total; headers is shown less queue and spawn, app less gil</text>"##
    );
    // The legend: only the pieces some bar has.
    let used: Vec<usize> = (0..PIECES.len())
        .filter(|&i| rows.iter().any(|(_, b)| b.is_some_and(|b| b.ms[i] > 0.0)))
        .collect();
    let mut x = LEFT;
    for &i in &used {
        let piece = &PIECES[i];
        let _ = writeln!(
            out,
            r#"<g class="legend"><rect x="{x:.1}" y="46" width="12" height="12" fill="{}"><title>{}</title></rect><text x="{:.1}" y="56">{}</text></g>"#,
            piece.colour,
            esc(piece.what),
            x + 16.0,
            piece.name
        );
        x += 24.0 + 7.0 * piece.name.len() as f64;
    }
    let width = WIDTH - LEFT - RIGHT;
    let _ = writeln!(
        out,
        r##"<text x="{:.1}" y="{:.1}" fill="#555">mean total</text>"##,
        WIDTH - RIGHT + 8.0,
        TOP - 4.0
    );
    for (row, (run, bar)) in rows.iter().enumerate() {
        let y = TOP + ROW * row as f64;
        let _ = writeln!(
            out,
            r#"<g class="series" data-server="{}" data-target="{}">"#,
            esc(&run.server),
            esc(&run.target)
        );
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{} {} conc {}</text>"#,
            LEFT - 8.0,
            y + ROW / 2.0 + 4.0,
            esc(&run.server),
            esc(&run.target),
            run.concurrency
        );
        let Some(Bar { ms, total }) = bar else {
            let _ = writeln!(
                out,
                r##"<text x="{:.1}" y="{:.1}" fill="#555">no Server-Timing total in its responses</text>"##,
                LEFT + 4.0,
                y + ROW / 2.0 + 4.0
            );
            out.push_str("</g>\n");
            continue;
        };
        let sum: f64 = ms.iter().sum();
        let mut at = LEFT;
        for (piece, &d) in PIECES.iter().zip(ms.iter()) {
            if d <= 0.0 || sum <= 0.0 {
                continue;
            }
            let w = d / sum * width;
            let _ = write!(
                out,
                r#"<rect class="phase" data-phase="{}" x="{at:.1}" y="{:.1}" width="{w:.1}" height="{:.1}" fill="{}"><title>{} {d:.3} ms ({:.0}%)</title></rect>"#,
                piece.name,
                y + 3.0,
                ROW - 6.0,
                piece.colour,
                piece.name,
                d / sum * 100.0
            );
            // A name inside a piece wide enough to hold it.
            if w > 8.0 * piece.name.len() as f64 + 8.0 {
                let _ = write!(
                    out,
                    r#"<text x="{:.1}" y="{:.1}" font-size="11">{}</text>"#,
                    at + 4.0,
                    y + ROW / 2.0 + 4.0,
                    piece.name
                );
            }
            out.push('\n');
            at += w;
        }
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}">{total:.3} ms</text>"#,
            WIDTH - RIGHT + 8.0,
            y + ROW / 2.0 + 4.0
        );
        out.push_str("</g>\n");
    }
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::phases::Phases;

    fn run(target: &str, headers: &[&str]) -> Run {
        let mut phases = Phases::default();
        for h in headers {
            phases.add(h);
        }
        Run {
            server: "cgilab".into(),
            target: target.into(),
            mode: String::new(),
            concurrency: 1,
            requests: headers.len() as u64,
            errors: 0,
            faults: Default::default(),
            statuses: Default::default(),
            software: None,
            seconds: 1.0,
            latencies: Vec::new(),
            phases,
        }
    }

    /// CGI's `headers` holds `spawn` (and `queue`): drawn once, the pieces add up to
    /// the total.
    #[test]
    fn overlapping_phases_are_drawn_once_and_add_up_to_the_total() {
        let cgi = run(
            "/cgi-bin/x.py",
            &["queue;dur=1, spawn;dur=2, headers;dur=10, total;dur=12"],
        );
        let Bar { ms, total } = bar(&cgi).unwrap();
        assert_eq!(ms, [1.0, 2.0, 7.0, 0.0, 0.0, 0.0, 2.0]);
        assert_eq!(ms.iter().sum::<f64>(), total);
        let embed = run("/wsgi/x", &["gil;dur=1, app;dur=3, total;dur=5"]);
        assert_eq!(bar(&embed).unwrap().ms, [0.0, 0.0, 0.0, 0.0, 1.0, 2.0, 2.0]);
    }

    #[test]
    fn each_target_is_a_row_and_each_phase_it_has_a_piece_and_a_legend_entry() {
        let svg = svg(&[
            run(
                "/cgi-bin/hello.sh",
                &["spawn;dur=0.5, headers;dur=2, total;dur=2.1"],
            ),
            run(
                "/pool/hello",
                &["queue;dur=0.01, app;dur=0.3, total;dur=0.4"],
            ),
            run("/elsewhere", &[]),
        ]);
        for phase in ["queue", "spawn", "headers", "app", "rest"] {
            assert!(
                svg.contains(&format!(r#"data-phase="{phase}""#)),
                "no piece for {phase}:\n{svg}"
            );
            assert!(
                svg.contains(&format!(">{phase}</text></g>")),
                "no legend entry for {phase}"
            );
        }
        // Phases no target had are not in the legend.
        assert!(!svg.contains(">call</text></g>") && !svg.contains(">gil</text></g>"));
        assert_eq!(svg.matches(r#"class="series""#).count(), 3);
        assert!(svg.contains("cgilab /pool/hello conc 1"));
        assert!(svg.contains("no Server-Timing total in its responses"));
        assert!(svg.contains(">2.100 ms</text>"));
    }

    /// A name from the server is escaped: it cannot end the chart's markup.
    #[test]
    fn labels_are_escaped() {
        let svg = svg(&[run("/x?a=<b>&c", &["total;dur=1"])]);
        assert!(svg.contains("/x?a=&lt;b&gt;&amp;c"));
        assert!(!svg.contains("<b>"));
    }
}
