//! The worker pools a server runs, checked: `--wsgi NAME=FILE[:CALLABLE]`,
//! `--fastcgi NAME=FILE`, `--workers`, `--max-requests`, `--python`, and the default pools
//! for the `*_wsgi.py` twins in cgi-bin.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::Config;
use crate::process::interpreter::{self, find as find_program};

/// One pool, as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolConfig {
    /// The name in `/pool/NAME`.
    pub name: String,
    pub app: PoolApp,
    /// What it sets for itself (its `[pool.NAME]` section of a config file); the rest
    /// comes from the server's flags ([`Config::settings`]).
    pub own: PoolOwn,
}

/// Settings one pool may give itself; `None` takes the server's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PoolOwn {
    pub workers: Option<usize>,
    pub worker_class: Option<WorkerClass>,
    pub worker_threads: Option<usize>,
    pub worker_connections: Option<usize>,
    pub max_requests: Option<u64>,
    pub max_requests_jitter: Option<u64>,
    pub timeout: Option<std::time::Duration>,
    pub python: Option<PathBuf>,
    pub preload: Option<bool>,
}

/// One pool's settings: its own, else the server's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolSettings {
    pub workers: usize,
    pub worker_class: WorkerClass,
    pub worker_threads: usize,
    pub worker_connections: usize,
    pub max_requests: u64,
    pub max_requests_jitter: u64,
    pub timeout: std::time::Duration,
    pub python: PathBuf,
    pub preload: bool,
}

impl PoolSettings {
    /// How many requests one WSGI worker serves at once.
    pub fn capacity(&self) -> usize {
        match self.worker_class {
            WorkerClass::Sync => 1,
            WorkerClass::Gthread => self.worker_threads,
            WorkerClass::Gevent => self.worker_connections,
        }
    }
}

/// What a pool's workers run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PoolApp {
    /// A WSGI callable in a Python file, run by cgilab's own worker.
    Wsgi { file: PathBuf, callable: String },
    /// A FastCGI responder: `program` with `args` (the interpreter and the file, or the
    /// file itself); `file` is its SCRIPT_FILENAME.
    FastCgi {
        program: PathBuf,
        args: Vec<PathBuf>,
        file: PathBuf,
    },
}

impl PoolApp {
    /// The file the pool serves.
    pub fn file(&self) -> &Path {
        match self {
            PoolApp::Wsgi { file, .. } | PoolApp::FastCgi { file, .. } => file,
        }
    }
}

/// How a WSGI worker serves requests, with gunicorn's names (`-k`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WorkerClass {
    /// One request at a time (gunicorn's `sync`).
    #[default]
    Sync,
    /// A request per thread, up to `--worker-threads` at once (gunicorn's `gthread`).
    Gthread,
    /// A request per greenlet, up to `--worker-connections` at once, after gevent's
    /// `monkey.patch_all()` (gunicorn's `gevent`).
    Gevent,
}

impl WorkerClass {
    pub fn as_str(self) -> &'static str {
        match self {
            WorkerClass::Sync => "sync",
            WorkerClass::Gthread => "gthread",
            WorkerClass::Gevent => "gevent",
        }
    }
}

impl std::str::FromStr for WorkerClass {
    type Err = String;

    fn from_str(s: &str) -> Result<WorkerClass, String> {
        match s {
            "sync" => Ok(WorkerClass::Sync),
            "gthread" => Ok(WorkerClass::Gthread),
            "gevent" => Ok(WorkerClass::Gevent),
            _ => Err(format!(
                "`{s}` is not a worker class; use sync, gthread or gevent"
            )),
        }
    }
}

/// The suffix that marks a WSGI twin in cgi-bin: `hello_wsgi.py` is pool `hello`.
pub const WSGI_TWIN_SUFFIX: &str = "_wsgi.py";

impl Config {
    /// Adds a WSGI pool from `NAME=FILE[:CALLABLE]`.
    pub fn add_wsgi(&mut self, spec: &str) -> Result<(), String> {
        let (name, rest) = split_spec(spec, "--wsgi", "NAME=FILE[:CALLABLE]")?;
        // A `:` followed by a Python name ends the file; any other `:` is part of it.
        let (file, callable) = match rest.rsplit_once(':') {
            Some((file, callable)) if is_identifier(callable) => (file, callable),
            _ => (rest, "application"),
        };
        let file = existing_file(file, "--wsgi", name)?;
        self.add_pool(PoolConfig {
            name: name.to_string(),
            app: PoolApp::Wsgi {
                file,
                callable: callable.to_string(),
            },
            own: PoolOwn::default(),
        })
    }

    /// Adds a FastCGI pool from `NAME=FILE`; FILE's interpreter is chosen as for a
    /// script in cgi-bin: itself if executable (its `#!` line), else by its extension.
    pub fn add_fastcgi(&mut self, spec: &str) -> Result<(), String> {
        let (name, file) = split_spec(spec, "--fastcgi", "NAME=FILE")?;
        let file = existing_file(file, "--fastcgi", name)?;
        let executable = file
            .metadata()
            .is_ok_and(|m| m.permissions().mode() & 0o111 != 0);
        let (program, args) = if executable {
            (file.clone(), Vec::new())
        } else {
            let ext = file.extension().and_then(|e| e.to_str()).unwrap_or("");
            let interpreter = match interpreter::for_extension(ext, true) {
                Some("python3") => self.python.clone(),
                Some(program) => PathBuf::from(program),
                None => {
                    return Err(format!(
                        "--fastcgi {name}={}: no interpreter for it; make it executable with a #! line, or name it .py, .php, .pl or .sh",
                        file.display()
                    ));
                }
            };
            let found = find_program(&interpreter).ok_or_else(|| {
                format!(
                    "--fastcgi {name}: `{}` is not on PATH; install it (for .php: apt-get install php-cgi)",
                    interpreter.display()
                )
            })?;
            (found, vec![file.clone()])
        };
        self.add_pool(PoolConfig {
            name: name.to_string(),
            app: PoolApp::FastCgi {
                program,
                args,
                file,
            },
            own: PoolOwn::default(),
        })
    }

    /// Sets the Python that runs WSGI workers (a path, or a name looked up on PATH).
    pub fn set_python(&mut self, python: &str) -> Result<(), String> {
        self.python = find_program(Path::new(python)).ok_or_else(|| {
            format!("--python {python}: not an executable program; pass --python PATH")
        })?;
        Ok(())
    }

    /// With no pool asked for, one pool for each `NAME_wsgi.py` twin in cgi-bin, so a
    /// fresh clone shows every app three ways. Says so in the log when Python is missing.
    pub fn add_default_pools(&mut self) {
        if !self.pools.is_empty() {
            return;
        }
        let Ok(entries) = std::fs::read_dir(&self.cgi_bin) else {
            return;
        };
        let mut twins: Vec<(String, PathBuf)> = entries
            .flatten()
            .filter_map(|e| {
                let file = e.file_name().to_str()?.to_string();
                let name = file.strip_suffix(WSGI_TWIN_SUFFIX)?;
                (is_pool_name(name) && e.path().is_file()).then(|| (name.to_string(), e.path()))
            })
            .collect();
        if twins.is_empty() {
            return;
        }
        twins.sort();
        let Some(python) = find_program(&self.python) else {
            eprintln!(
                "cgilab: {} not found; the {} twins run only as CGI (no pools)",
                self.python.display(),
                WSGI_TWIN_SUFFIX
            );
            return;
        };
        self.python = python;
        for (name, file) in twins {
            self.pools.push(PoolConfig {
                name,
                app: PoolApp::Wsgi {
                    file,
                    callable: "application".to_string(),
                },
                own: PoolOwn::default(),
            });
        }
    }

    /// `pool`'s settings: its own, else the server's flags. As in gunicorn, threads
    /// with the sync class mean the threaded class.
    pub fn settings(&self, pool: &PoolConfig) -> PoolSettings {
        self.settings_with(&pool.own)
    }

    /// The settings of a pool that sets `own` for itself.
    pub fn settings_with(&self, own: &PoolOwn) -> PoolSettings {
        let worker_threads = own.worker_threads.unwrap_or(self.worker_threads);
        let mut worker_class = own.worker_class.unwrap_or(self.worker_class);
        if worker_class == WorkerClass::Sync && worker_threads > 1 {
            worker_class = WorkerClass::Gthread;
        }
        PoolSettings {
            workers: own.workers.unwrap_or(self.workers),
            worker_class,
            worker_threads,
            worker_connections: own.worker_connections.unwrap_or(self.worker_connections),
            max_requests: own.max_requests.unwrap_or(self.max_requests),
            max_requests_jitter: own.max_requests_jitter.unwrap_or(self.max_requests_jitter),
            timeout: own.timeout.unwrap_or(self.timeout),
            python: own.python.clone().unwrap_or_else(|| self.python.clone()),
            preload: own.preload.unwrap_or(self.preload),
        }
    }

    /// Refuses pool settings that would serve nothing, and a Python that cannot run.
    pub fn check_pools(&mut self) -> Result<(), String> {
        if self.workers == 0 {
            return Err("--workers must be at least 1".into());
        }
        if self.worker_threads == 0 || self.worker_connections == 0 {
            return Err("--worker-threads and --worker-connections must be at least 1".into());
        }
        // As gunicorn: threads with the sync class mean the threaded class.
        if self.worker_class == WorkerClass::Sync && self.worker_threads > 1 {
            self.worker_class = WorkerClass::Gthread;
        }
        let wsgi = self
            .pools
            .iter()
            .any(|p| matches!(p.app, PoolApp::Wsgi { .. }));
        if wsgi {
            self.python = find_program(&self.python).ok_or_else(|| {
                format!(
                    "--python {}: not found; install python3 or pass --python PATH",
                    self.python.display()
                )
            })?;
        }
        let mut gevent_checked: Vec<PathBuf> = Vec::new();
        for i in 0..self.pools.len() {
            let pool = &self.pools[i];
            let name = pool.name.clone();
            let is_wsgi = matches!(pool.app, PoolApp::Wsgi { .. });
            let own = &pool.own;
            if own.workers == Some(0) || own.worker_threads == Some(0) {
                return Err(format!(
                    "pool `{name}`: workers and worker_threads must be at least 1"
                ));
            }
            if own.worker_connections == Some(0) {
                return Err(format!(
                    "pool `{name}`: worker_connections must be at least 1"
                ));
            }
            if let Some(python) = own.python.clone().filter(|_| is_wsgi) {
                let found = find_program(&python).ok_or_else(|| {
                    format!(
                        "pool `{name}`: python {}: not found; give the path of a Python",
                        python.display()
                    )
                })?;
                self.pools[i].own.python = Some(found);
            }
            let settings = self.settings(&self.pools[i]);
            if is_wsgi
                && settings.worker_class == WorkerClass::Gevent
                && !gevent_checked.contains(&settings.python)
            {
                check_gevent(&settings.python)?;
                gevent_checked.push(settings.python);
            }
        }
        Ok(())
    }

    fn add_pool(&mut self, pool: PoolConfig) -> Result<(), String> {
        if self.pools.iter().any(|p| p.name == pool.name) {
            return Err(format!(
                "pool `{}` is named twice; give each --wsgi or --fastcgi its own NAME",
                pool.name
            ));
        }
        self.pools.push(pool);
        Ok(())
    }
}

/// The gevent class needs gevent in the workers' own Python: said at start, not as a
/// pool that fails to boot.
fn check_gevent(python: &Path) -> Result<(), String> {
    let found = std::process::Command::new(python)
        .args(["-c", "import gevent"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if found {
        return Ok(());
    }
    let python = python.display();
    Err(format!(
        "--worker-class gevent: gevent is not installed for {python}; install it \
         ({python} -m pip install gevent) or pass --python with a Python that has it"
    ))
}

/// `NAME=REST`, with NAME checked.
pub(super) fn split_spec<'a>(
    spec: &'a str,
    flag: &str,
    form: &str,
) -> Result<(&'a str, &'a str), String> {
    let (name, rest) = spec
        .split_once('=')
        .filter(|(_, rest)| !rest.is_empty())
        .ok_or_else(|| format!("{flag} {spec}: expected {form}, e.g. {flag} hello=app.py"))?;
    if !is_pool_name(name) {
        return Err(format!(
            "{flag} {spec}: `{name}` is not a pool name; use letters, digits, `-` and `_`"
        ));
    }
    Ok((name, rest))
}

pub(super) fn existing_file(file: &str, flag: &str, name: &str) -> Result<PathBuf, String> {
    let path = Path::new(file)
        .canonicalize()
        .map_err(|_| format!("{flag} {name}={file}: no such file; pass an existing FILE"))?;
    if !path.is_file() {
        return Err(format!("{flag} {name}={file}: not a file"));
    }
    Ok(path)
}

/// A name for `/pool/NAME`: what a URL path segment holds without encoding.
pub fn is_pool_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

pub(super) fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with(|c: char| c.is_ascii_digit())
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> (tempfile::TempDir, Config) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("app.py"), "").unwrap();
        std::fs::write(dir.path().join("a:b.py"), "").unwrap();
        let config = Config::new("127.0.0.1:0", dir.path()).unwrap();
        (dir, config)
    }

    #[test]
    fn wsgi_takes_name_file_and_an_optional_callable() {
        let (dir, mut c) = config();
        let app = dir.path().join("app.py");
        c.add_wsgi(&format!("a={}", app.display())).unwrap();
        c.add_wsgi(&format!("b={}:make_app", app.display()))
            .unwrap();
        c.add_wsgi(&format!("c={}", dir.path().join("a:b.py").display()))
            .unwrap();
        let callables: Vec<&str> = c
            .pools
            .iter()
            .map(|p| match &p.app {
                PoolApp::Wsgi { callable, .. } => callable.as_str(),
                _ => "",
            })
            .collect();
        assert_eq!(callables, ["application", "make_app", "application"]);
    }

    #[test]
    fn bad_specs_say_what_to_do() {
        let (dir, mut c) = config();
        let app = format!("x={}", dir.path().join("app.py").display());
        assert!(c.add_wsgi("app.py").unwrap_err().contains("NAME=FILE"));
        assert!(
            c.add_wsgi("x=nope.py")
                .unwrap_err()
                .contains("no such file")
        );
        assert!(c.add_wsgi("a/b=app.py").unwrap_err().contains("pool name"));
        c.add_wsgi(&app).unwrap();
        assert!(c.add_wsgi(&app).unwrap_err().contains("twice"));
        assert!(c.add_fastcgi(&app).unwrap_err().contains("twice"));
    }

    #[test]
    fn fastcgi_chooses_the_interpreter_by_extension() {
        let (dir, mut c) = config();
        std::fs::write(dir.path().join("data.txt"), "").unwrap();
        let err = c
            .add_fastcgi(&format!("t={}", dir.path().join("data.txt").display()))
            .unwrap_err();
        assert!(err.contains("no interpreter"), "{err}");
        c.add_fastcgi(&format!("s={}", dir.path().join("app.py").display()))
            .unwrap();
        let PoolApp::FastCgi { args, .. } = &c.pools[0].app else {
            panic!()
        };
        assert_eq!(args, &[dir.path().join("app.py").canonicalize().unwrap()]);
    }
}
