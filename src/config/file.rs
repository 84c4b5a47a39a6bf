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
//! mount = "/"
//! ```
//!
//! A top-level key stands for the flag of the same name (`cgi_bin` is `--cgi-bin`), so it
//! is checked by the same rules, and a flag given on the command line overrides it. A
//! relative path in the file is relative to the file's own directory, so the server reads
//! the same files whatever directory it is started from (as under a supervisor).

use std::path::{Path, PathBuf};

use toml::{Spanned, Value};

use super::pools::{PoolOwn, WorkerClass};

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

/// What a top-level key is, and how it becomes a flag.
#[derive(Clone, Copy)]
enum Kind {
    /// A string (or number) given as the flag's value.
    Value,
    /// A path, made absolute against the file's directory.
    Path,
    /// `--listen`'s value: a `unix:PATH` is made absolute as a path is.
    Listen,
    /// A program: a name is looked up on `PATH`, a path with a `/` made absolute, as a
    /// pool's `python` is.
    Program,
    /// `true` gives the flag; `false` nothing.
    Switch,
    /// `false` gives the flag (`lab = false` is `--no-lab`); `true` nothing.
    NegatedSwitch,
    /// A table `{ NAME = "value" }`: the flag once per pair, as `NAME=value`.
    Pairs,
    /// An array of strings: the flag once per string.
    List,
    /// A table `{ "/prefix" = "dir" }`: the flag once per pair, as `PREFIX=DIR`, the
    /// directory made absolute against the file's.
    PathPairs,
}

/// Every top-level key, the flag it stands for, and its kind.
const SERVER_KEYS: &[(&str, &str, Kind)] = &[
    ("listen", "--listen", Kind::Listen),
    ("pid", "--pid", Kind::Path),
    ("cgi_bin", "--cgi-bin", Kind::Path),
    ("lab", "--no-lab", Kind::NegatedSwitch),
    ("timeout", "--timeout", Kind::Value),
    ("read_timeout", "--read-timeout", Kind::Value),
    ("graceful_timeout", "--graceful-timeout", Kind::Value),
    ("queue_timeout", "--queue-timeout", Kind::Value),
    ("max_body", "--max-body", Kind::Value),
    ("max_procs", "--max-procs", Kind::Value),
    ("threads", "--threads", Kind::Value),
    ("quiet", "--quiet", Kind::Switch),
    ("pass_auth", "--pass-auth", Kind::Switch),
    ("env", "--env", Kind::Pairs),
    ("static", "--static", Kind::PathPairs),
    ("pass_env", "--pass-env", Kind::List),
    ("workers", "--workers", Kind::Value),
    ("worker_class", "--worker-class", Kind::Value),
    ("worker_threads", "--worker-threads", Kind::Value),
    ("worker_connections", "--worker-connections", Kind::Value),
    ("max_requests", "--max-requests", Kind::Value),
    ("max_requests_jitter", "--max-requests-jitter", Kind::Value),
    ("python", "--python", Kind::Program),
    ("forwarded_allow_ips", "--forwarded-allow-ips", Kind::Value),
    ("access_log", "--access-log", Kind::Path),
    ("access_log_format", "--access-log-format", Kind::Value),
    ("preload", "--preload", Kind::Switch),
];

/// The keys a `[pool.NAME]` section may hold.
const POOL_KEYS: &[&str] = &[
    "app",
    "fastcgi",
    "workers",
    "worker_class",
    "worker_threads",
    "worker_connections",
    "max_requests",
    "max_requests_jitter",
    "timeout",
    "python",
    "preload",
    "mount",
    "chdir",
    "pythonpath",
    "env",
];

/// The flag a top-level key stands for (`cgi_bin` is `--cgi-bin`).
pub fn flag_of(key: &str) -> Option<&'static str> {
    SERVER_KEYS.iter().find(|k| k.0 == key).map(|k| k.1)
}

/// The key that stands for `flag`.
pub fn key_of(flag: &str) -> Option<&'static str> {
    SERVER_KEYS.iter().find(|k| k.1 == flag).map(|k| k.0)
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
        match server_flags(key, value, dir) {
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
                match pool_section(name, section, dir, &at_key) {
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

/// The flags top-level `key` stands for.
fn server_flags(key: &str, value: &Value, dir_of_file: &Path) -> Result<Vec<String>, String> {
    let Some(&(_, flag, kind)) = SERVER_KEYS.iter().find(|k| k.0 == key) else {
        let known: Vec<&str> = SERVER_KEYS.iter().map(|k| k.0).collect();
        return Err(format!(
            "`{key}` is not a setting; the settings are {}, and [pool.NAME] sections",
            known.join(", ")
        ));
    };
    let flag = flag.to_string();
    match (kind, value) {
        (Kind::Switch, Value::Boolean(on)) => Ok(if *on { vec![flag] } else { vec![] }),
        (Kind::NegatedSwitch, Value::Boolean(on)) => Ok(if *on { vec![] } else { vec![flag] }),
        (Kind::Switch | Kind::NegatedSwitch, _) => Err(format!("`{key}` is true or false")),
        // `-` is standard output (`access_log = "-"`), not a file.
        (Kind::Path, Value::String(s)) if s == "-" => Ok(vec![flag, s.clone()]),
        (Kind::Path, Value::String(s)) => Ok(vec![flag, absolute(dir_of_file, s)]),
        (Kind::Listen, Value::String(s)) => match s.strip_prefix("unix:") {
            Some(path) if !path.is_empty() && !path.starts_with('@') => {
                Ok(vec![flag, format!("unix:{}", absolute(dir_of_file, path))])
            }
            _ => Ok(vec![flag, s.clone()]),
        },
        (Kind::Program, Value::String(s)) if s.contains('/') => {
            Ok(vec![flag, absolute(dir_of_file, s)])
        }
        (Kind::Program, Value::String(s)) => Ok(vec![flag, s.clone()]),
        (Kind::Program, _) => Err(format!("`{key}` is a program, in quotes")),
        (Kind::Listen, _) => Err(format!(
            "`{key}` is a string: \"HOST:PORT\" or \"unix:PATH\""
        )),
        (Kind::Value, v) => Ok(vec![flag, scalar(key, v)?]),
        (Kind::Pairs, Value::Table(pairs)) => {
            let mut out = Vec::new();
            for (name, v) in pairs {
                out.push(flag.clone());
                out.push(format!("{name}={}", scalar(&format!("{key}.{name}"), v)?));
            }
            Ok(out)
        }
        (Kind::Pairs, _) => Err(format!(
            "`{key}` is a table: {key} = {{ NAME = \"value\" }}"
        )),
        (Kind::PathPairs, Value::Table(pairs)) => {
            let mut out = Vec::new();
            for (prefix, v) in pairs {
                let Value::String(dir) = v else {
                    return Err(format!("[{key}] \"{prefix}\" is a directory, in quotes"));
                };
                out.push(flag.clone());
                out.push(format!("{prefix}={}", absolute(dir_of_file, dir)));
            }
            Ok(out)
        }
        (Kind::PathPairs, _) => Err(format!(
            "`{key}` is a section: [{key}] then \"/prefix\" = \"directory\" lines"
        )),
        (Kind::List, Value::Array(items)) => {
            let mut out = Vec::new();
            for item in items {
                out.push(flag.clone());
                out.push(scalar(key, item)?);
            }
            Ok(out)
        }
        (Kind::List, _) => Err(format!("`{key}` is a list: {key} = [\"NAME\", ...]")),
        (Kind::Path, _) => Err(format!("`{key}` is a path, in quotes")),
    }
}

/// A string, number or boolean as the text a flag takes.
fn scalar(key: &str, value: &Value) -> Result<String, String> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Integer(n) => Ok(n.to_string()),
        Value::Float(x) => Ok(x.to_string()),
        Value::Boolean(b) => Ok(b.to_string()),
        _ => Err(format!("`{key}` is a single value, not a table or a list")),
    }
}

/// `path` against `dir`, unless it is absolute.
fn absolute(dir: &Path, path: &str) -> String {
    let p = Path::new(path);
    if p.is_absolute() {
        path.to_string()
    } else {
        dir.join(p).display().to_string()
    }
}

/// One `[pool.NAME]` section, checked key by key.
fn pool_section(
    name: &str,
    section: &Value,
    dir: &Path,
    at: &dyn Fn(&str) -> usize,
) -> Result<PoolSection, Vec<(usize, String)>> {
    let Value::Table(keys) = section else {
        return Err(vec![(
            at(""),
            format!("`pool.{name}` is a section: [pool.{name}]"),
        )]);
    };
    let mut errors = Vec::new();
    let mut own = PoolOwn::default();
    let mut app = None;
    let mut mount = None;
    let mut chdir = None;
    let mut pythonpath = Vec::new();
    let mut env = Vec::new();
    let what = |key: &str| format!("[pool.{name}] {key}");
    for (key, value) in keys {
        let result: Result<(), String> = (|| {
            match key.as_str() {
                "app" | "fastcgi" => {
                    let spec = match value {
                        Value::String(s) => s,
                        _ => return Err(format!("{} is a string: the app's file", what(key))),
                    };
                    let spec = absolute_spec(dir, spec);
                    if app.is_some() {
                        return Err(format!(
                            "[pool.{name}] has both `app` and `fastcgi`; keep one"
                        ));
                    }
                    app = Some(match key.as_str() {
                        "app" => AppSpec::Wsgi(spec),
                        _ => AppSpec::FastCgi(spec),
                    });
                }
                "workers" => own.workers = Some(count(value, &what(key))? as usize),
                "worker_threads" => own.worker_threads = Some(count(value, &what(key))? as usize),
                "worker_connections" => {
                    own.worker_connections = Some(count(value, &what(key))? as usize)
                }
                "max_requests" => own.max_requests = Some(whole(value, &what(key))?),
                "max_requests_jitter" => own.max_requests_jitter = Some(whole(value, &what(key))?),
                "worker_class" => {
                    let class = match value {
                        Value::String(s) => s.parse::<WorkerClass>(),
                        _ => Err("it is one of sync, gthread, gevent".into()),
                    };
                    own.worker_class = Some(class.map_err(|e| format!("{}: {e}", what(key)))?);
                }
                "timeout" => {
                    let secs = match value {
                        Value::Integer(n) => *n as f64,
                        Value::Float(x) => *x,
                        _ => f64::NAN,
                    };
                    if !(secs > 0.0 && secs < 1e9) {
                        return Err(format!("{} is a number of seconds, more than 0", what(key)));
                    }
                    own.timeout = Some(std::time::Duration::from_secs_f64(secs));
                }
                "python" => match value {
                    Value::String(s) if s.contains('/') => {
                        own.python = Some(PathBuf::from(absolute(dir, s)))
                    }
                    Value::String(s) => own.python = Some(PathBuf::from(s)),
                    _ => return Err(format!("{} is a program, in quotes", what(key))),
                },
                "preload" => match value {
                    Value::Boolean(b) => own.preload = Some(*b),
                    _ => return Err(format!("{} is true or false", what(key))),
                },
                "chdir" => match value {
                    Value::String(s) => chdir = Some(PathBuf::from(absolute(dir, s))),
                    _ => return Err(format!("{} is a directory, in quotes", what(key))),
                },
                "pythonpath" => {
                    let items = match value {
                        Value::Array(items) => items.clone(),
                        Value::String(_) => vec![value.clone()],
                        _ => return Err(format!("{} is a list of directories", what(key))),
                    };
                    for item in items {
                        let Value::String(s) = item else {
                            return Err(format!("{} is a list of directories", what(key)));
                        };
                        pythonpath.push(PathBuf::from(absolute(dir, &s)));
                    }
                }
                "env" => {
                    let Value::Table(pairs) = value else {
                        return Err(format!(
                            "{} is a table: env = {{ NAME = \"value\" }}",
                            what(key)
                        ));
                    };
                    for (name, v) in pairs {
                        env.push((name.clone(), scalar(&what(&format!("env.{name}")), v)?));
                    }
                }
                "mount" => match value {
                    Value::String(s) => {
                        mount = Some(
                            super::mounts::check_prefix(s)
                                .map_err(|e| format!("{}: {e}", what(key)))?,
                        )
                    }
                    _ => {
                        return Err(format!(
                            "{} is a URL path, such as \"/\" or \"/blog\"",
                            what(key)
                        ));
                    }
                },
                _ => {
                    return Err(format!(
                        "{} is not a pool setting; a pool's are {}",
                        what(key),
                        POOL_KEYS.join(", ")
                    ));
                }
            }
            Ok(())
        })();
        if let Err(e) = result {
            errors.push((at(key), e));
        }
    }
    let Some(app) = app else {
        errors.push((
            at(""),
            format!("[pool.{name}] needs `app = \"FILE[:CALLABLE]\"` (or `fastcgi = \"FILE\"`)"),
        ));
        return Err(errors);
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(PoolSection {
        name: name.to_string(),
        line: at(""),
        app,
        own,
        mount,
        chdir,
        pythonpath,
        env,
    })
}

/// An app spec whose file part is made absolute against `dir`: `app.py:app` becomes
/// `DIR/app.py:app`. A spec with no `/` and no `.py` is a module name, left as it is.
fn absolute_spec(dir: &Path, spec: &str) -> String {
    let file_part = spec.split(':').next().unwrap_or(spec);
    // The rule of `--wsgi` ([`super::app_spec`]): a file has a `/` or ends in `.py`.
    let is_file = file_part.contains('/') || file_part.ends_with(".py");
    if is_file && !Path::new(file_part).is_absolute() {
        format!("{}{}", absolute(dir, file_part), &spec[file_part.len()..])
    } else {
        spec.to_string()
    }
}

/// A whole number, 1 or more.
fn count(value: &Value, what: &str) -> Result<u64, String> {
    match value {
        Value::Integer(n) if *n >= 1 => Ok(*n as u64),
        _ => Err(format!("{what} is a whole number, 1 or more")),
    }
}

/// A whole number, 0 or more.
fn whole(value: &Value, what: &str) -> Result<u64, String> {
    match value {
        Value::Integer(n) if *n >= 0 => Ok(*n as u64),
        _ => Err(format!("{what} is a whole number, 0 or more")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
