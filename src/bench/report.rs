//! The bench's results, as a table (with what a process costs next to its spawn floor),
//! CSV or JSON, and the runs that answered errors, one line each.

use std::time::Duration;

use comfy_table::{ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};

use crate::bench::load::{Run, mean, min_samples, pct};
use crate::measure::timing::Millis;
use crate::server::RAW_ROUTE;

fn ms(d: Duration) -> String {
    Millis(d).to_string()
}

/// The spawn floor of `path`, as sorted times, if it was measured.
fn floor_of<'a>(floors: &'a [(String, Vec<Duration>)], path: &str) -> Option<&'a [Duration]> {
    floors
        .iter()
        .find(|(t, _)| t == path)
        .map(|(_, times)| times.as_slice())
}

/// The percentiles the tables print, with the marks they may carry.
const QUANTILES: [f64; 3] = [0.5, 0.9, 0.99];

/// A percentile for the table: the figure, marked `*` when the run has too few latencies
/// to support it ([`crate::bench::load::supports`]); `-` when there are none.
fn pct_cell(r: &Run, p: f64) -> String {
    match (r.latencies.is_empty(), r.pct_if_supported(p)) {
        (true, _) => "-".into(),
        (false, Some(d)) => ms(d),
        (false, None) => format!("{}*", ms(r.pct(p))),
    }
}

/// A percentile for CSV and JSON: the figure, or nothing (an empty field, `null`) when
/// the run has too few latencies to support it.
fn pct_value(r: &Run, p: f64, none: &str) -> String {
    r.pct_if_supported(p).map_or(none.into(), ms)
}

/// The footnote for the marks of [`pct_cell`], if any cell has one.
fn too_few_note(runs: &[Run]) -> Option<String> {
    let marked = runs.iter().any(|r| {
        !r.latencies.is_empty() && QUANTILES.iter().any(|&p| r.pct_if_supported(p).is_none())
    });
    marked.then(|| {
        format!(
            "* from too few requests to be that percentile (p50 needs {}, p90 {}, p99 {}): with fewer, nothing lies above it, and the figure is one of the slowest requests; run longer for it.\n",
            min_samples(0.5),
            min_samples(0.9),
            min_samples(0.99)
        )
    })
}

pub fn table(runs: &[Run], floors: &[(String, Vec<Duration>)], rss: Option<u64>) -> String {
    let mut t = Table::new();
    // Wrapped to the terminal's width on a terminal; as wide as it needs into a pipe.
    t.set_content_arrangement(ContentArrangement::Dynamic);
    t.load_style(UTF8_FULL_CONDENSED).set_header([
        "server", "target", "mode", "conc", "requests", "req/s", "mean ms", "p50 ms", "p90 ms",
        "p99 ms", "max ms", "errors",
    ]);
    for r in runs {
        t.add_row([
            r.server.clone(),
            r.target.clone(),
            r.mode.clone(),
            r.concurrency.to_string(),
            r.requests.to_string(),
            format!("{:.0}", r.rate()),
            ms(r.mean()),
            pct_cell(r, 0.5),
            pct_cell(r, 0.9),
            pct_cell(r, 0.99),
            ms(r.pct(1.0)),
            (r.errors + r.unexpected()).to_string(),
        ]);
    }
    let mut out = format!("{}\n", t.trim_fmt());
    out.push_str(&too_few_note(runs).unwrap_or_default());
    out.push_str(&costs(runs, floors));
    for g in runs.iter().filter(|r| r.target == "/app/hello") {
        if let Some(raw) = runs.iter().find(|r| {
            r.target == RAW_ROUTE && r.server == g.server && r.concurrency == g.concurrency
        }) {
            out.push_str(&format!(
                "gateway /app/hello at concurrency {}: {:.2}x the req/s of /raw (no dispatch)\n",
                g.concurrency,
                g.rate() / raw.rate().max(1e-9)
            ));
        }
    }
    if let Some(kib) = rss {
        out.push_str(&format!(
            "server peak RSS: {:.1} MiB\n",
            kib as f64 / 1024.0
        ));
    }
    out.push_str("One benchmark is never the whole story: rerun, vary --concurrency, and compare ratios, not lone numbers.\n");
    out
}

/// The second table: each CGI row against the gateway hello on the same server, and
/// against the bare spawn of the same script. Empty if there is no such pair.
fn costs(runs: &[Run], floors: &[(String, Vec<Duration>)]) -> String {
    let mut costs = Table::new();
    costs.set_content_arrangement(ContentArrangement::Dynamic);
    costs.load_style(UTF8_FULL_CONDENSED).set_header([
        "script",
        "conc",
        "cgi mean ms",
        "cgi p50 ms",
        "gateway mean ms",
        "gateway p50 ms",
        "process cost ms",
        "floor mean ms",
        "floor p50 ms",
        "cgi / floor",
    ]);
    let mut any = false;
    for r in runs.iter().filter(|r| r.mode == "cgi") {
        let Some(g) = runs.iter().find(|g| {
            g.target == "/app/hello" && g.server == r.server && g.concurrency == r.concurrency
        }) else {
            continue;
        };
        let floor = floor_of(floors, &r.target);
        let cost = r.mean().saturating_sub(g.mean());
        costs.add_row([
            r.target.clone(),
            r.concurrency.to_string(),
            ms(r.mean()),
            ms(r.pct(0.5)),
            ms(g.mean()),
            ms(g.pct(0.5)),
            ms(cost),
            floor.map_or("-".into(), |f| ms(mean(f))),
            floor.map_or("-".into(), |f| ms(pct(f, 0.5))),
            floor.map_or("-".into(), |f| {
                format!(
                    "{:.2}x",
                    r.pct(0.5).as_secs_f64() / pct(f, 0.5).as_secs_f64().max(1e-9)
                )
            }),
        ]);
        any = true;
    }
    if !any {
        return String::new();
    }
    format!(
        "\nWhat a process per request costs (CGI mean minus gateway mean), next to its floor: the same script started as the server starts it (the same command line, working directory and environment), with no HTTP, timed to the last byte of its answer (cgi / floor compares medians):\n{}\n",
        costs.trim_fmt()
    )
}

pub fn csv(runs: &[Run]) -> String {
    let mut out = String::from(
        "server,target,mode,concurrency,requests,req_per_s,mean_ms,p50_ms,p90_ms,p99_ms,max_ms,errors,unexpected,statuses\n",
    );
    for r in runs {
        out.push_str(&format!(
            "{},{},{},{},{},{:.1},{},{},{},{},{},{},{},{}\n",
            r.server,
            r.target,
            r.mode,
            r.concurrency,
            r.requests,
            r.rate(),
            ms(r.mean()),
            pct_value(r, 0.5, ""),
            pct_value(r, 0.9, ""),
            pct_value(r, 0.99, ""),
            ms(r.pct(1.0)),
            r.errors,
            r.unexpected(),
            r.status_counts()
        ));
    }
    out
}

pub fn json(runs: &[Run], floors: &[(String, Vec<Duration>)], rss: Option<u64>) -> String {
    let esc = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
    let rows: Vec<String> = runs
        .iter()
        .map(|r| {
            let statuses: Vec<String> = r
                .statuses
                .iter()
                .map(|(s, n)| format!("\"{s}\":{n}"))
                .collect();
            format!(
                "{{\"server\":\"{}\",\"target\":\"{}\",\"mode\":\"{}\",\"concurrency\":{},\"requests\":{},\"req_per_s\":{:.1},\"mean_ms\":{},\"p50_ms\":{},\"p90_ms\":{},\"p99_ms\":{},\"max_ms\":{},\"errors\":{},\"unexpected\":{},\"statuses\":{{{}}}}}",
                esc(&r.server), esc(&r.target), r.mode, r.concurrency, r.requests, r.rate(),
                ms(r.mean()), pct_value(r, 0.5, "null"), pct_value(r, 0.9, "null"),
                pct_value(r, 0.99, "null"), ms(r.pct(1.0)),
                r.errors, r.unexpected(), statuses.join(",")
            )
        })
        .collect();
    let floors: Vec<String> = floors
        .iter()
        .map(|(t, times)| {
            format!(
                "{{\"target\":\"{}\",\"mean_ms\":{},\"p50_ms\":{}}}",
                esc(t),
                ms(mean(times)),
                ms(pct(times, 0.5))
            )
        })
        .collect();
    let rss = rss.map_or("null".to_string(), |k| format!("{:.1}", k as f64 / 1024.0));
    format!(
        "{{\"runs\":[{}],\"spawn_floors\":[{}],\"server_peak_rss_mib\":{}}}\n",
        rows.join(","),
        floors.join(","),
        rss
    )
}

/// One line for each run that got no response to some requests, or answered a status
/// that is not a success or a redirect.
pub fn problems(runs: &[Run]) -> Vec<String> {
    runs.iter()
        .filter(|r| r.errors > 0 || r.unexpected() > 0 || r.requests == 0)
        .map(|r| {
            let mut why = Vec::new();
            if r.errors > 0 || r.requests == 0 {
                let faults: Vec<String> = r
                    .faults
                    .iter()
                    .map(|(fault, f)| format!("{} {fault}: {}", f.count, f.first))
                    .collect();
                let mut line = format!("{} requests got no response", r.errors);
                if !faults.is_empty() {
                    line.push_str(&format!(" ({})", faults.join("; ")));
                }
                why.push(line);
            }
            if r.unexpected() > 0 {
                why.push(format!(
                    "{} of {} responses were errors ({})",
                    r.unexpected(),
                    r.requests,
                    r.status_counts()
                ));
            }
            format!(
                "{} {} at concurrency {}: {}",
                r.server,
                r.target,
                r.concurrency,
                why.join("; ")
            )
        })
        .collect()
}
