//! The index page at `/`: every app next to its CGI twin, with the latency the server
//! measured for each. Plain HTML, no external assets, readable in a terminal browser.

use std::fmt::Write as _;

use crate::cgi::script;
use crate::measure::stats::Stats;
use crate::measure::timing::ms;
use crate::request::route::{APP_PREFIX, CGI_PREFIX};

/// Renders the page: the apps named `apps`, the scripts in `scripts`, and their latency
/// from `stats`.
pub fn page<'a>(apps: impl Iterator<Item = &'a str>, scripts: &[String], stats: &Stats) -> String {
    let mut html = String::from(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>cgilab</title></head><body>\n\
         <h1>cgilab</h1>\n<p>Each row is one app, as a CGI script (a new process per request) \
         and as a gateway app (called in-process). Latency is the server's own measure: \
         the most recent request, and the median of the last 100.</p>\n\
         <table border=\"1\" cellpadding=\"4\">\n\
         <tr><th>app</th><th>CGI</th><th>last</th><th>median</th>\
         <th>gateway</th><th>last</th><th>median</th></tr>\n",
    );
    let mut twinned = Vec::new();
    for app in apps {
        let cgi_twins = script::twins(app, scripts);
        twinned.extend(cgi_twins.iter().map(|s| s.as_str()));
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
                None => html.push_str("<td>-</td><td></td><td></td>"),
            }
            if i == 0 {
                cell(&mut html, stats, &format!("{APP_PREFIX}{app}"), app);
            } else {
                html.push_str("<td></td><td></td><td></td>");
            }
            html.push_str("</tr>\n");
        }
    }
    html.push_str("</table>\n<h2>Other scripts in cgi-bin</h2>\n<ul>\n");
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
