//! One `[pool.NAME]` section of a config file: the settings a pool gives itself, checked
//! key by key, each error on its own line.

use std::path::{Path, PathBuf};

use toml::Value;

use super::server_keys::{absolute, scalar};
use super::{AppSpec, PoolSection};
use crate::config::pool_settings::{Accept, PoolOwn, WorkerClass};

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
    "accept",
    "mount",
    "chdir",
    "pythonpath",
    "env",
];

/// One `[pool.NAME]` section, checked key by key.
pub(super) fn pool_section(
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
                "accept" => {
                    let accept = match value {
                        Value::String(s) => s.parse::<Accept>(),
                        _ => Err("it is dispatch or shared".into()),
                    };
                    own.accept = Some(accept.map_err(|e| format!("{}: {e}", what(key)))?);
                }
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
                            crate::config::mounts::check_prefix(s)
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
