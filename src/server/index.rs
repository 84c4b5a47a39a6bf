//! The index page at `/`: every app three ways (CGI twins, in-process, a worker pool), and
//! a fourth where the server embeds its Python twin (`--embed`), with the latency the
//! server measured for each, and each pool's workers. Plain HTML, no external assets,
//! readable in a terminal browser.

use std::fmt::Write as _;

use crate::cgi::script;
use crate::measure::stats::Stats;
use crate::measure::timing::ms;
use crate::pool::{PoolView, Status};
use crate::request::route::{APP_PREFIX, CGI_PREFIX, POOL_PREFIX, WSGI_PREFIX};

/// Renders the page: the apps named `apps`, the scripts in `scripts`, the `pools`, the
/// apps embedded in the server (`embedded`), and their latency from `stats`.
pub fn page<'a>(
    apps: impl Iterator<Item = &'a str>,
    scripts: &[String],
    pools: &[PoolView],
    embedded: &[&str],
    stats: &Stats,
) -> String {
    let mut html = String::from(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>cgilab</title></head><body>\n\
         <h1>cgilab</h1>\n<p>Each row is one app: as CGI scripts (a new process per request), \
         as a gateway app (called in-process) and in a worker pool (a process that stays, \
         over FastCGI)",
    );
    if !embedded.is_empty() {
        html.push_str(", and embedded (Python called in the server's own process)");
    }
    html.push_str(
        ". Latency is the server's own measure: the most recent request, and \
         the median of the last 100.</p>\n\
         <table border=\"1\" cellpadding=\"4\">\n\
         <tr><th>app</th><th>CGI</th><th>last</th><th>median</th>\
         <th>gateway</th><th>last</th><th>median</th>\
         <th>pool</th><th>last</th><th>median</th>",
    );
    if !embedded.is_empty() {
        html.push_str("<th>embedded</th><th>last</th><th>median</th>");
    }
    html.push_str("</tr>\n");
    // The fourth mode's cell, on pages that have the column.
    let embed_cell = |html: &mut String, name: &str, first_row: bool| {
        if embedded.is_empty() {
            return;
        }
        match embedded.iter().find(|e| **e == name) {
            _ if !first_row => html.push_str("<td></td><td></td><td></td>"),
            Some(e) => cell(html, stats, &format!("{WSGI_PREFIX}{e}"), e),
            None => empty(html),
        }
    };
    let mut shown: Vec<&str> = Vec::new();
    let mut twinned = Vec::new();
    let mut pooled = Vec::new();
    for app in apps {
        let cgi_twins = script::twins(app, scripts);
        twinned.extend(cgi_twins.iter().map(|s| s.as_str()));
        let pool = pools.iter().find(|p| p.name == app);
        pooled.extend(pool.map(|p| p.name.as_str()));
        let rows = cgi_twins.len().max(1);
        for i in 0..rows {
            html.push_str("<tr>");
            let _ = write!(
                html,
                "<td>{}</td>",
                if i == 0 { escape(app) } else { String::new() }
            );
            match cgi_twins.get(i) {
                Some(script) => cell(&mut html, stats, &format!("{CGI_PREFIX}{script}"), script),
                None => empty(&mut html),
            }
            match (i, pool) {
                (0, pool) => {
                    cell(&mut html, stats, &format!("{APP_PREFIX}{app}"), app);
                    match pool {
                        Some(p) => cell(
                            &mut html,
                            stats,
                            &format!("{POOL_PREFIX}{}", p.name),
                            &p.name,
                        ),
                        None => empty(&mut html),
                    }
                }
                _ => html.push_str("<td></td><td></td><td></td><td></td><td></td><td></td>"),
            }
            embed_cell(&mut html, app, i == 0);
            html.push_str("</tr>\n");
        }
        shown.push(app);
    }
    for pool in pools.iter().filter(|p| !pooled.contains(&p.name.as_str())) {
        let _ = write!(html, "<tr><td>{}</td>", escape(&pool.name));
        empty(&mut html);
        empty(&mut html);
        cell(
            &mut html,
            stats,
            &format!("{POOL_PREFIX}{}", pool.name),
            &pool.name,
        );
        embed_cell(&mut html, &pool.name, true);
        html.push_str("</tr>\n");
        shown.push(&pool.name);
    }
    for name in embedded.iter().filter(|e| !shown.contains(e)) {
        let _ = write!(html, "<tr><td>{}</td>", escape(name));
        empty(&mut html);
        empty(&mut html);
        empty(&mut html);
        embed_cell(&mut html, name, true);
        html.push_str("</tr>\n");
    }
    html.push_str("</table>\n");
    workers(&mut html, pools);
    html.push_str("<h2>Other scripts in cgi-bin</h2>\n<ul>\n");
    for script in scripts.iter().filter(|s| !twinned.contains(&s.as_str())) {
        let url = format!("{CGI_PREFIX}{script}");
        let _ = writeln!(
            html,
            "<li><a href=\"{}\">{}</a></li>",
            escape(&url),
            escape(script)
        );
    }
    html.push_str("</ul>\n</body></html>\n");
    html
}

/// RSS, PSS and USS in MiB (see [`crate::process::memory`]), or dashes when unknown.
fn memory_cells(memory: Option<crate::process::memory::Memory>) -> String {
    match memory {
        Some(m) => {
            let mib = |kib: u64| kib as f64 / 1024.0;
            format!(
                "<td>{:.1}</td><td>{:.1}</td><td>{:.1}</td>",
                mib(m.rss_kib),
                mib(m.pss_kib),
                mib(m.uss_kib)
            )
        }
        None => "<td>-</td><td>-</td><td>-</td>".to_string(),
    }
}

/// A worker's state; a worker that serves several requests at once says how many.
fn state(w: &crate::pool::WorkerView) -> String {
    match (w.phase, w.capacity) {
        (crate::pool::Phase::Busy, n) if n > 1 => format!("busy ({} of {n})", w.in_flight),
        (phase, _) => phase.as_str().to_string(),
    }
}

/// How a pool's workers get their requests, and where a burst waits.
fn accept_mode(pool: &PoolView) -> String {
    match (pool.accept, pool.backlog) {
        (crate::config::pool_settings::Accept::Shared, Some((backlog, waiting))) => format!(
            "shared: every worker accepts on one socket and the kernel picks; a burst waits \
             in its listen backlog ({} waiting now, at most {backlog}), and the server \
             cannot see which worker is busy",
            waiting.map_or("?".to_string(), |n| n.to_string())
        ),
        _ => "dispatch: each worker has a socket of its own and the server hands each \
              request to an idle worker it chose; a burst waits in the server's line"
            .to_string(),
    }
}

/// Each pool's workers: pid, state, requests served, age.
fn workers(html: &mut String, pools: &[PoolView]) {
    if pools.is_empty() {
        return;
    }
    html.push_str("<h2>Worker pools</h2>\n");
    for pool in pools {
        let status = match &pool.status {
            Status::Dormant => {
                "DORMANT: on demand, its first request starts its workers".to_string()
            }
            Status::Running => "running".to_string(),
            Status::Backoff => "backing off after a failed boot".to_string(),
            Status::Held(why) => {
                format!(
                    "HELD: new workers cannot start, the old ones serve (SIGHUP to retry): {why}"
                )
            }
            Status::Failed(why) => format!("FAILED (send SIGHUP to retry): {why}"),
            Status::Stopping => "stopping".to_string(),
        };
        let _ = write!(
            html,
            "<h3>{}</h3>\n<p>{}: {}</p>\n<p>accept: {}</p>\n\
             <table border=\"1\" cellpadding=\"4\">\n\
             <tr><th>pid</th><th>state</th><th>requests</th><th>age</th>\
             <th>RSS MiB</th><th>PSS MiB</th><th>USS MiB</th></tr>\n",
            escape(&pool.name),
            escape(&pool.app),
            escape(&status),
            escape(&accept_mode(pool))
        );
        if let Some((pid, memory)) = pool.preloader {
            let _ = writeln!(
                html,
                "<tr><td>{pid}</td><td>preloader (--preload)</td><td>-</td><td>-</td>{}</tr>",
                memory_cells(memory)
            );
        }
        for w in &pool.workers {
            // A worker being replaced says why; past --max-requests, by how much.
            let leaving = w.leaving.map(|why| format!(", {why}")).unwrap_or_default();
            // On the shared socket the server cannot count a worker's requests.
            let served = match pool.accept {
                crate::config::pool_settings::Accept::Shared => "-".to_string(),
                crate::config::pool_settings::Accept::Dispatch => w.served.to_string(),
            };
            let past = match (w.past_limit, w.max_requests) {
                (0, 0) => String::new(),
                (0, limit) => format!(" of {limit}"),
                (n, _) => format!(" ({n} past --max-requests)"),
            };
            let _ = writeln!(
                html,
                "<tr><td>{}</td><td>{}{leaving}</td><td>{}{past}</td><td>{:.1} s</td>{}</tr>",
                w.pid,
                state(w),
                served,
                w.age.as_secs_f64(),
                memory_cells(w.memory)
            );
        }
        html.push_str("</table>\n");
    }
}

fn empty(html: &mut String) {
    html.push_str("<td>-</td><td></td><td></td>");
}

fn cell(html: &mut String, stats: &Stats, url: &str, label: &str) {
    let _ = write!(
        html,
        "<td><a href=\"{}\">{}</a></td>",
        escape(url),
        escape(label)
    );
    match stats.summary(url) {
        Some(s) => {
            let _ = write!(
                html,
                "<td>{:.2} ms</td><td>{:.2} ms</td>",
                ms(s.last),
                ms(s.median)
            );
        }
        None => html.push_str("<td>-</td><td>-</td>"),
    }
}

/// Escapes text for HTML.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::pool_settings::Accept;
    use crate::pool::{Phase, WorkerView};
    use std::time::Duration;

    /// Checks that every `table`, `tr`, `td`, `th`, `p` and `ul` the page opens it closes,
    /// in order (an element closed that is not the innermost open one is an error), and
    /// that a table holds rows only, and a row cells only (a browser moves anything else
    /// out of the table, away from where the page put it).
    fn well_formed(html: &str) -> Result<(), String> {
        const CHECKED: [&str; 6] = ["table", "tr", "td", "th", "p", "ul"];
        let mut open: Vec<&str> = Vec::new();
        for (at, _) in html.match_indices('<') {
            let rest = &html[at + 1..];
            let (closing, rest) = match rest.strip_prefix('/') {
                Some(rest) => (true, rest),
                None => (false, rest),
            };
            let name_end = rest
                .find(|c: char| !c.is_ascii_alphanumeric())
                .unwrap_or(rest.len());
            let name = &rest[..name_end];
            if !CHECKED.contains(&name) {
                continue;
            }
            if !closing {
                let inside = open.last().copied();
                let allowed = match (inside, name) {
                    (Some("table"), child) => child == "tr",
                    (Some("tr"), child) => child == "td" || child == "th",
                    (_, "tr") => false,
                    (_, "td" | "th") => false,
                    _ => true,
                };
                if !allowed {
                    return Err(format!("`<{name}>` at byte {at} inside {inside:?}"));
                }
                open.push(name);
            } else if open.pop() != Some(name) {
                return Err(format!("`</{name}>` at byte {at} closes nothing open"));
            }
        }
        match open.last() {
            Some(name) => Err(format!("`<{name}>` is never closed")),
            None => Ok(()),
        }
    }

    fn worker(pid: u32, phase: Phase) -> WorkerView {
        WorkerView {
            pid,
            phase,
            in_flight: 0,
            capacity: 1,
            served: 3,
            age: Duration::from_secs(2),
            leaving: None,
            past_limit: 0,
            max_requests: 0,
            memory: None,
        }
    }

    #[test]
    fn the_page_closes_every_table_row_and_cell_it_opens() {
        let pools = [
            PoolView {
                name: "hello".into(),
                app: "hello_wsgi.py".into(),
                status: Status::Running,
                preloader: Some((10, None)),
                workers: vec![worker(11, Phase::Idle), worker(12, Phase::Busy)],
                accept: Accept::Dispatch,
                backlog: None,
            },
            PoolView {
                name: "lonely".into(),
                app: "lonely_wsgi.py".into(),
                status: Status::Dormant,
                preloader: None,
                workers: Vec::new(),
                accept: Accept::Shared,
                backlog: Some((64, Some(0))),
            },
        ];
        let scripts = ["hello.sh".to_string(), "other.sh".to_string()];
        let stats = Stats::default();
        for embedded in [&[][..], &["hello", "solo"][..]] {
            let html = page(
                ["hello", "status"].into_iter(),
                &scripts,
                &pools,
                embedded,
                &stats,
            );
            assert_eq!(well_formed(&html), Ok(()), "{html}");
            assert!(html.contains("DORMANT"), "{html}");
        }
        // The check itself catches the stray closing tag this page once had.
        assert!(well_formed("<table><tr><td></td></tr></table></table>").is_err());
        assert!(well_formed("<table><tr><td></td></table>").is_err());
        assert!(well_formed("<table><tr><th></th></tr><p>x</p></table>").is_err());
    }
}
