//! A config file for `cgilab serve --config FILE`, in TOML: the server's settings at the
//! top, and one `[pool.NAME]` section per pool with the settings it gives itself.
//!
//! ```toml
//! listen = "127.0.0.1:8000"
//! lab = false                 # no index page, built-in apps, /raw or cgi-bin
//! workers = 2                 # every pool's, unless it says otherwise
//!
//! [pool.flaskr]
//! app = "flaskr.py:app"
//! workers = 4
//! worker_class = "gevent"
//! preload = true
//! accept = "shared"           # one socket every worker accepts on (php-fpm, gunicorn)
//! mount = "/"
//! ```
//!
//! A top-level key stands for the flag of the same name (`cgi_bin` is `--cgi-bin`), so it
//! is checked by the same rules, and a flag given on the command line overrides it. A
//! relative path in the file is relative to the file's own directory, so the server reads
//! the same files whatever directory it is started from (as under a supervisor).

//!
//! Read it in this order: this module reads the file and finds each value's line;
//! [`server_keys`] turns a top-level key into its flag; [`pool_section`] checks a
//! `[pool.NAME]` section.

mod pool_section;
mod server_keys;

use std::path::{Path, PathBuf};

use toml::{Spanned, Value};

use super::pool_settings::PoolOwn;
pub use server_keys::{flag_of, key_of};

/// A config file, read and checked key by key.
#[derive(Debug, Default)]
pub struct ConfigFile {
    /// Flags the top-level keys stand for, each with the line it came from.
    pub flags: Vec<(usize, Vec<String>)>,
    pub pools: Vec<PoolSection>,
}

/// One `[pool.NAME]` section.
#[derive(Debug)]
pub struct PoolSection {
    pub name: String,
    pub line: usize,
    /// `app = "FILE[:CALLABLE]"` (a WSGI app) or `fastcgi = "FILE"`: the spec of `--wsgi`
    /// or `--fastcgi`, with its path made absolute.
    pub app: AppSpec,
    pub own: PoolOwn,
    /// Where it answers besides `/pool/NAME`.
    pub mount: Option<String>,
    /// Its workers' directory, absolute (gunicorn's `chdir`).
    pub chdir: Option<PathBuf>,
    /// Put first on `sys.path`, absolute, in this order (gunicorn's `pythonpath`).
    pub pythonpath: Vec<PathBuf>,
    /// Variables only its workers get: the place for its secrets.
    pub env: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppSpec {
    Wsgi(String),
    FastCgi(String),
}

/// Reads and checks `path`. Every error found is returned, each as `LINE: message`
/// (line 0 when it belongs to no line), not only the first.
pub fn read(path: &Path) -> Result<ConfigFile, Vec<(usize, String)>> {
    let (file, errors) = read_all(path);
    if errors.is_empty() {
        Ok(file)
    } else {
        Err(errors)
    }
}

/// Reads `path`: what could be read of it, and every error found.
pub fn read_all(path: &Path) -> (ConfigFile, Vec<(usize, String)>) {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) => {
            let e = format!("cannot read it: {e}; pass --config FILE");
            return (ConfigFile::default(), vec![(0, e)]);
        }
    };
    let dir = path
        .canonicalize()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_default();
    parse_all(&text, &dir)
}

/// Parses the text of a config file whose relative paths are relative to `dir`.
pub fn parse(text: &str, dir: &Path) -> Result<ConfigFile, Vec<(usize, String)>> {
    let (file, errors) = parse_all(text, dir);
    if errors.is_empty() {
        Ok(file)
    } else {
        Err(errors)
    }
}

/// What could be parsed of `text`, and every error found.
fn parse_all(text: &str, dir: &Path) -> (ConfigFile, Vec<(usize, String)>) {
    let line = |offset: usize| text[..offset.min(text.len())].matches('\n').count() + 1;
    let table: toml::Table = match toml::from_str(text) {
        Ok(table) => table,
        Err(e) => {
            let at = e.span().map(|s| line(s.start)).unwrap_or(0);
            return (
                ConfigFile::default(),
                vec![(at, e.message().trim().to_string())],
            );
        }
    };
    // Parsed again with spans, for the line of every value.
    type Spans = std::collections::BTreeMap<String, Spanned<Value>>;
    let spans: Spans = toml::from_str(text).unwrap_or_default();
    let pool_spans: std::collections::BTreeMap<String, Spans> = toml::from_str::<PoolSpans>(text)
        .map(|p| p.pool)
        .unwrap_or_default();
    let at = |key: &str| spans.get(key).map(|v| line(v.span().start)).unwrap_or(0);

    let mut file = ConfigFile::default();
    let mut errors = Vec::new();
    for (key, value) in &table {
        if key == "pool" {
            continue;
        }
        match server_keys::server_flags(key, value, dir) {
            Ok(flags) => file.flags.push((at(key), flags)),
            Err(e) => errors.push((at(key), e)),
        }
    }
    match table.get("pool") {
        None => {}
        Some(Value::Table(pools)) => {
            for (name, section) in pools {
                let spans = pool_spans.get(name);
                // A key's own line; for the section as a whole, its `[pool.NAME]` line.
                let header = header_line(text, name).unwrap_or(at("pool"));
                let at_key = |key: &str| {
                    spans
                        .and_then(|s| s.get(key))
                        .map(|v| line(v.span().start))
                        .unwrap_or(header)
                };
                match pool_section::pool_section(name, section, dir, &at_key) {
                    Ok(section) => file.pools.push(section),
                    Err(mut e) => errors.append(&mut e),
                }
            }
        }
        Some(_) => errors.push((
            at("pool"),
            "`pool` is for sections: write `[pool.NAME]` above each pool's keys".into(),
        )),
    }
    errors.sort();
    (file, errors)
}

/// The line of the `[pool.NAME]` header (quoted names included).
fn header_line(text: &str, name: &str) -> Option<usize> {
    text.lines()
        .position(|l| {
            let l: String = l
                .split('#')
                .next()
                .unwrap_or("")
                .split_whitespace()
                .collect();
            l == format!("[pool.{name}]") || l == format!("[pool.\"{name}\"]")
        })
        .map(|i| i + 1)
}

#[derive(serde::Deserialize, Default)]
struct PoolSpans {
    #[serde(default)]
    pool: std::collections::BTreeMap<String, std::collections::BTreeMap<String, Spanned<Value>>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::pool_settings::{Accept, WorkerClass};

    fn errors(text: &str) -> Vec<(usize, String)> {
        parse(text, Path::new("/srv")).expect_err("errors")
    }

    #[test]
    fn top_level_keys_become_their_flags_with_paths_made_absolute() {
        let file = parse(
            "listen = \"127.0.0.1:9000\"\ncgi_bin = \"bin\"\nlab = false\nquiet = true\n\
             timeout = 2.5\nenv = { A = \"1\" }\npid = \"run/cgilab.pid\"\n",
            Path::new("/srv"),
        )
        .unwrap();
        let flags: Vec<String> = file.flags.iter().flat_map(|f| f.1.clone()).collect();
        for want in [
            "--listen",
            "127.0.0.1:9000",
            "--cgi-bin",
            "/srv/bin",
            "--no-lab",
            "--quiet",
            "--timeout",
            "2.5",
            "--env",
            "A=1",
            "--pid",
            "/srv/run/cgilab.pid",
        ] {
            assert!(flags.contains(&want.to_string()), "{want} in {flags:?}");
        }
    }

    /// `[embed]` names the embedded apps; each file is relative to the config file, and
    /// its callable stays as written.
    #[test]
    fn an_embed_section_becomes_embed_flags_with_files_made_absolute() {
        let file = parse(
            "[embed]
hello = \"apps/hello.py\"
shop = \"/srv/shop/wsgi.py:app\"
",
            Path::new("/etc/cgilab"),
        )
        .unwrap();
        let flags: Vec<String> = file.flags.iter().flat_map(|f| f.1.clone()).collect();
        assert_eq!(
            flags,
            [
                "--embed",
                "hello=/etc/cgilab/apps/hello.py",
                "--embed",
                "shop=/srv/shop/wsgi.py:app"
            ]
        );
        let err = errors("[embed]\nhello = 3\n");
        assert_eq!(err.len(), 1, "{err:?}");
        assert!(err[0].1.contains("in quotes"), "{err:?}");
    }

    #[test]
    fn a_unix_socket_in_the_file_is_relative_to_the_file() {
        let flags = |text: &str| -> Vec<String> {
            let file = parse(text, Path::new("/srv")).unwrap();
            file.flags.iter().flat_map(|f| f.1.clone()).collect()
        };
        assert_eq!(
            flags("listen = \"unix:run/cgilab.sock\"\n"),
            ["--listen", "unix:/srv/run/cgilab.sock"]
        );
        assert_eq!(
            flags("listen = \"unix:/run/cgilab.sock\"\n"),
            ["--listen", "unix:/run/cgilab.sock"]
        );
        assert_eq!(
            flags("listen = \"127.0.0.1:0\"\n"),
            ["--listen", "127.0.0.1:0"]
        );
    }

    #[test]
    fn a_python_path_in_the_file_is_relative_to_the_file() {
        let flags = |text: &str| -> Vec<String> {
            let file = parse(text, Path::new("/srv")).unwrap();
            file.flags.iter().flat_map(|f| f.1.clone()).collect()
        };
        assert_eq!(
            flags("python = \"../venv/bin/python3\"\n"),
            ["--python", "/srv/../venv/bin/python3"]
        );
        assert_eq!(flags("python = \"python3\"\n"), ["--python", "python3"]);
        assert!(parse("python = 3\n", Path::new("/srv")).is_err());
    }

    #[test]
    fn a_pool_section_gives_the_pool_its_own_settings() {
        let file = parse(
            "[pool.blog]\napp = \"blog.py:app\"\nworkers = 4\nworker_class = \"gevent\"\n\
             timeout = 5\npreload = true\nmount = \"/blog\"\n",
            Path::new("/srv"),
        )
        .unwrap();
        let pool = &file.pools[0];
        assert_eq!(pool.name, "blog");
        assert_eq!(pool.app, AppSpec::Wsgi("/srv/blog.py:app".into()));
        assert_eq!(pool.own.workers, Some(4));
        assert_eq!(pool.own.worker_class, Some(WorkerClass::Gevent));
        assert_eq!(pool.own.preload, Some(true));
        assert_eq!(pool.mount.as_deref(), Some("/blog"));
    }

    #[test]
    fn accept_is_a_server_key_and_a_pool_setting() {
        let file = parse(
            "accept = \"shared\"\nbacklog = 64\n[pool.blog]\napp = \"blog.py\"\n\
             accept = \"dispatch\"\n",
            Path::new("/srv"),
        )
        .unwrap();
        assert_eq!(file.pools[0].own.accept, Some(Accept::Dispatch));
        let bad = errors("[pool.a]\napp = \"a.py\"\naccept = \"kernel\"\n");
        assert_eq!(bad.len(), 1, "{bad:?}");
        assert_eq!(bad[0].0, 3, "{bad:?}");
        assert!(bad[0].1.contains("dispatch or shared"), "{bad:?}");
    }

    #[test]
    fn every_error_is_reported_with_its_line() {
        let found = errors(
            "listen = \"x\"\nworkerz = 2\nquiet = \"yes\"\n\n[pool.a]\nworkers = 0\n\
             colour = \"red\"\n",
        );
        let lines: Vec<usize> = found.iter().map(|e| e.0).collect();
        assert_eq!(lines, [2, 3, 5, 6, 7], "{found:?}");
        assert!(
            found[0].1.contains("`workerz` is not a setting"),
            "{found:?}"
        );
        assert!(found[1].1.contains("true or false"), "{found:?}");
        assert!(
            found.iter().any(|e| e.1.contains("needs `app")),
            "{found:?}"
        );
        assert!(found.iter().any(|e| e.1.contains("1 or more")), "{found:?}");
        assert!(
            found
                .iter()
                .any(|e| e.1.contains("`colour`") || e.1.contains("colour is not")),
            "{found:?}"
        );
    }

    #[test]
    fn a_listen_or_pid_that_is_not_a_string_names_its_line() {
        let found = errors("workers = 2\nlisten = 8000\npid = true\n");
        let lines: Vec<usize> = found.iter().map(|e| e.0).collect();
        assert_eq!(lines, [2, 3], "{found:?}");
        assert!(found[0].1.contains("\"unix:PATH\""), "{found:?}");
        assert!(found[1].1.contains("is a path"), "{found:?}");
    }

    #[test]
    fn a_syntax_error_names_its_line() {
        let found = errors("listen = \"127.0.0.1:8000\"\nworkers = = 2\n");
        assert_eq!(found[0].0, 2, "{found:?}");
    }
}
