//! The bench's results, as a table (with what a process costs next to its spawn floor),
//! CSV or JSON.

use std::time::Duration;

use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};

use crate::bench::load::Run;
use crate::measure::timing::Millis;
use crate::server::RAW_ROUTE;

fn ms(d: Duration) -> String {
    Millis(d).to_string()
}

pub fn table(runs: &[Run], floors: &[(String, Duration)], rss: Option<u64>) -> String {
    let mut t = Table::new();
    t.load_style(UTF8_FULL_CONDENSED).set_header([
        "target", "mode", "conc", "requests", "req/s", "mean ms", "p50 ms", "p90 ms", "p99 ms",
        "max ms", "errors",
    ]);
    for r in runs {
        t.add_row([
            r.target.clone(),
            r.mode.to_string(),
            r.concurrency.to_string(),
            r.requests.to_string(),
            format!("{:.0}", r.rate()),
            ms(r.mean()),
            ms(r.pct(0.5)),
            ms(r.pct(0.9)),
            ms(r.pct(0.99)),
            ms(r.pct(1.0)),
            r.errors.to_string(),
        ]);
    }
    let mut out = format!("{}\n", t.trim_fmt());
    let gateway = |c: usize| {
        runs.iter()
            .find(|r| r.target == "/app/hello" && r.concurrency == c)
    };
    let mut costs = Table::new();
    costs.load_style(UTF8_FULL_CONDENSED).set_header([
        "script",
        "conc",
        "cgi mean ms",
        "gateway mean ms",
        "process cost ms",
        "spawn floor ms",
        "cgi / floor",
    ]);
    let mut any = false;
    for r in runs.iter().filter(|r| r.mode == "cgi") {
        let Some(g) = gateway(r.concurrency) else {
            continue;
        };
        let floor = floors.iter().find(|(t, _)| *t == r.target).map(|(_, d)| *d);
        let cost = r.mean().saturating_sub(g.mean());
        costs.add_row([
            r.target.clone(),
            r.concurrency.to_string(),
            ms(r.mean()),
            ms(g.mean()),
            ms(cost),
            floor.map_or("-".into(), ms),
            floor.map_or("-".into(), |f| {
                format!("{:.2}x", r.mean().as_secs_f64() / f.as_secs_f64())
            }),
        ]);
        any = true;
    }
    if any {
        out.push_str("\nWhat a process per request costs (CGI minus gateway), next to the bare spawn of the same script:\n");
        out.push_str(&costs.trim_fmt());
        out.push('\n');
    }
    for g in runs.iter().filter(|r| r.target == "/app/hello") {
        if let Some(raw) = runs
            .iter()
            .find(|r| r.target == RAW_ROUTE && r.concurrency == g.concurrency)
        {
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

pub fn csv(runs: &[Run]) -> String {
    let mut out = String::from(
        "target,mode,concurrency,requests,req_per_s,mean_ms,p50_ms,p90_ms,p99_ms,max_ms,errors\n",
    );
    for r in runs {
        out.push_str(&format!(
            "{},{},{},{},{:.1},{},{},{},{},{},{}\n",
            r.target,
            r.mode,
            r.concurrency,
            r.requests,
            r.rate(),
            ms(r.mean()),
            ms(r.pct(0.5)),
            ms(r.pct(0.9)),
            ms(r.pct(0.99)),
            ms(r.pct(1.0)),
            r.errors
        ));
    }
    out
}

pub fn json(runs: &[Run], floors: &[(String, Duration)], rss: Option<u64>) -> String {
    let esc = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
    let rows: Vec<String> = runs
        .iter()
        .map(|r| {
            format!(
                "{{\"target\":\"{}\",\"mode\":\"{}\",\"concurrency\":{},\"requests\":{},\"req_per_s\":{:.1},\"mean_ms\":{},\"p50_ms\":{},\"p90_ms\":{},\"p99_ms\":{},\"max_ms\":{},\"errors\":{}}}",
                esc(&r.target), r.mode, r.concurrency, r.requests, r.rate(), ms(r.mean()),
                ms(r.pct(0.5)), ms(r.pct(0.9)), ms(r.pct(0.99)), ms(r.pct(1.0)), r.errors
            )
        })
        .collect();
    let floors: Vec<String> = floors
        .iter()
        .map(|(t, d)| format!("{{\"target\":\"{}\",\"mean_ms\":{}}}", esc(t), ms(*d)))
        .collect();
    let rss = rss.map_or("null".to_string(), |k| format!("{:.1}", k as f64 / 1024.0));
    format!(
        "{{\"runs\":[{}],\"spawn_floors\":[{}],\"server_peak_rss_mib\":{}}}\n",
        rows.join(","),
        floors.join(","),
        rss
    )
}
