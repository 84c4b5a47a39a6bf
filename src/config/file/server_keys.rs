//! The server's settings at the top of a config file: each key stands for the flag of
//! the same name, and becomes that flag and its value, so the flag's own rules check it.

use std::path::Path;

use toml::Value;

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
    /// A table `{ NAME = "FILE[:CALLABLE]" }`: the flag once per pair, as
    /// `NAME=FILE[:CALLABLE]`, the file made absolute against the file's directory.
    AppPairs,
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
    ("embed", "--embed", Kind::AppPairs),
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
    ("accept", "--accept", Kind::Value),
    ("backlog", "--backlog", Kind::Value),
];

/// The flag a top-level key stands for (`cgi_bin` is `--cgi-bin`).
pub fn flag_of(key: &str) -> Option<&'static str> {
    SERVER_KEYS.iter().find(|k| k.0 == key).map(|k| k.1)
}

/// The key that stands for `flag`.
pub fn key_of(flag: &str) -> Option<&'static str> {
    SERVER_KEYS.iter().find(|k| k.1 == flag).map(|k| k.0)
}

/// The flags top-level `key` stands for.
pub(super) fn server_flags(
    key: &str,
    value: &Value,
    dir_of_file: &Path,
) -> Result<Vec<String>, String> {
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
        (Kind::AppPairs, Value::Table(pairs)) => {
            let mut out = Vec::new();
            for (name, v) in pairs {
                let Value::String(app) = v else {
                    return Err(format!(
                        "[{key}] {name} is a file and its callable, in quotes: \"app.py:application\""
                    ));
                };
                // FILE[:CALLABLE]: only the file is a path.
                let app = match app.rsplit_once(':') {
                    Some((file, callable)) if !callable.contains('/') => {
                        format!("{}:{callable}", absolute(dir_of_file, file))
                    }
                    _ => absolute(dir_of_file, app),
                };
                out.push(flag.clone());
                out.push(format!("{name}={app}"));
            }
            Ok(out)
        }
        (Kind::AppPairs, _) => Err(format!(
            "`{key}` is a section: [{key}] then NAME = \"FILE[:CALLABLE]\" lines"
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
pub(super) fn scalar(key: &str, value: &Value) -> Result<String, String> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Integer(n) => Ok(n.to_string()),
        Value::Float(x) => Ok(x.to_string()),
        Value::Boolean(b) => Ok(b.to_string()),
        _ => Err(format!("`{key}` is a single value, not a table or a list")),
    }
}

/// `path` against `dir`, unless it is absolute.
pub(super) fn absolute(dir: &Path, path: &str) -> String {
    let p = Path::new(path);
    if p.is_absolute() {
        path.to_string()
    } else {
        dir.join(p).display().to_string()
    }
}
