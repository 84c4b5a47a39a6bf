//! `cgilab routes`: every URL the server answers, what runs behind it, and its twin.

use std::path::Path;

use comfy_table::{ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};

use crate::cgi::script;
use crate::config::Config;
use crate::config::pool_settings::Accept;
use crate::config::pools::{PoolApp, PoolStart, WsgiSource};
use crate::gateway::Apps;
use crate::request::route::{APP_PREFIX, CGI_PREFIX, POOL_PREFIX, WSGI_PREFIX};

/// One row of the routes table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteRow {
    pub url: String,
    pub mode: &'static str,
    pub runs: String,
    pub twin: String,
}

/// The routes for the scripts in `cgi_bin`, the apps in `apps` and the pools of `config`.
pub fn rows(cgi_bin: &Path, apps: &Apps, config: &Config) -> Vec<RouteRow> {
    let scripts = script::list(cgi_bin);
    let mut rows = Vec::new();
    for name in &scripts {
        let url = format!("{CGI_PREFIX}{name}");
        let runs = match script::find(cgi_bin, name, &url) {
            Ok(s) => match s.interpreter {
                Some(i) => format!("{i} {name}"),
                None => format!("{name} (executable{})", shebang(&s.path)),
            },
            Err(e) => format!("refused: {e}"),
        };
        let twin = match script::twin_app(name).filter(|app| apps.get(app).is_some()) {
            Some(app) => format!("{APP_PREFIX}{app}"),
            None => String::new(),
        };
        rows.push(RouteRow {
            url,
            mode: "cgi",
            runs,
            twin,
        });
    }
    for app in apps.names() {
        let twins: Vec<String> = script::twins(app, &scripts)
            .iter()
            .map(|s| format!("{CGI_PREFIX}{s}"))
            .collect();
        rows.push(RouteRow {
            url: format!("{APP_PREFIX}{app}"),
            mode: "gateway",
            runs: format!("app {app} (in-process)"),
            twin: twins.join(" "),
        });
    }
    for pool in &config.pools {
        // File names only: the table reads the same on every machine.
        let name = |p: &Path| {
            p.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        };
        // A module by its name; never the pool's env.
        let source = |source: &WsgiSource| match source {
            WsgiSource::File(file) => name(file),
            WsgiSource::Module(module) => module.clone(),
        };
        let settings = config.settings(pool);
        let runs = match &pool.app {
            PoolApp::Wsgi {
                source: s,
                callable,
            } if settings.preload => format!(
                "{} workers forked from one preloader: {} wsgi_worker.py --preload {}:{callable}",
                settings.workers,
                name(&settings.python),
                source(s)
            ),
            PoolApp::Wsgi {
                source: s,
                callable,
            } => format!(
                "{} workers: {} wsgi_worker.py {}:{callable}",
                settings.workers,
                name(&settings.python),
                source(s)
            ),
            PoolApp::FastCgi { program, args, .. } => {
                let args: Vec<String> = args.iter().map(|a| name(a)).collect();
                format!(
                    "{} workers: {} {}",
                    settings.workers,
                    name(program),
                    args.join(" ")
                )
            }
        };
        // The default design goes unsaid; the other one is named.
        let runs = match settings.accept {
            Accept::Dispatch => runs,
            Accept::Shared => runs.replacen(
                " workers",
                &format!(
                    " workers on one shared socket (--accept shared, backlog {})",
                    settings.backlog
                ),
                1,
            ),
        };
        // The same file run as CGI (when it is in cgi-bin), and the in-process twin.
        let mut twins: Vec<String> = scripts
            .iter()
            .filter(|s| {
                let file = pool.app.file().and_then(|f| f.file_name());
                Some(s.as_str()) == file.and_then(|n| n.to_str())
            })
            .map(|s| format!("{CGI_PREFIX}{s}"))
            .collect();
        if apps.get(&pool.name).is_some() {
            twins.push(format!("{APP_PREFIX}{}", pool.name));
        }
        // A twin's pool starts on its first request.
        let runs = match pool.start {
            PoolStart::OnDemand => runs.replacen(" workers", " workers on demand", 1),
            PoolStart::AtOnce => runs,
        };
        rows.push(RouteRow {
            url: format!("{POOL_PREFIX}{}", pool.name),
            mode: "pool",
            runs: runs.trim_end().to_string(),
            twin: twins.join(" "),
        });
    }
    for embed in &config.embeds {
        let file = embed
            .file
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("");
        let mut twins: Vec<String> = scripts
            .iter()
            .filter(|s| s.as_str() == file)
            .map(|s| format!("{CGI_PREFIX}{s}"))
            .collect();
        if config.pools.iter().any(|p| p.name == embed.name) {
            twins.push(format!("{POOL_PREFIX}{}", embed.name));
        }
        rows.push(RouteRow {
            url: format!("{WSGI_PREFIX}{}", embed.name),
            mode: "embed",
            runs: format!("{file}:{} in the server's process", embed.callable),
            twin: twins.join(" "),
        });
    }
    rows
}

/// `, #!/bin/sh` for a script with a `#!` line.
fn shebang(path: &Path) -> String {
    let Ok(text) = std::fs::read(path) else {
        return String::new();
    };
    let first = text.split(|&b| b == b'\n').next().unwrap_or_default();
    match first.strip_prefix(b"#!") {
        Some(rest) => format!(", #!{}", String::from_utf8_lossy(rest).trim()),
        None => String::new(),
    }
}

/// The table `cgilab routes` prints.
pub fn table(rows: &[RouteRow]) -> String {
    let mut table = Table::new();
    table
        .load_style(UTF8_FULL_CONDENSED)
        // Wrapped to the terminal's width on a terminal (comfy-table asks the terminal
        // only when stdout is one); into a pipe or a file, as wide as it needs.
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(["URL", "mode", "runs", "twin"]);
    for r in rows {
        table.add_row([r.url.as_str(), r.mode, r.runs.as_str(), r.twin.as_str()]);
    }
    table.trim_fmt()
}
