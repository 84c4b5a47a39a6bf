//! The worker pools a server runs, checked: `--wsgi NAME=FILE[:CALLABLE]` or
//! `NAME=MODULE[:CALLABLE]`, `--fastcgi NAME=FILE`, `--workers`, `--max-requests`,
//! `--python`, `--chdir`, `--pythonpath`, `--pool-env`, and the default pools for the
//! `*_wsgi.py` twins in cgi-bin.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::Config;
pub use super::app_spec::{DEFAULT_CALLABLE, WsgiSource};
use super::pool_settings::{PoolOwn, PoolSettings, WorkerClass};
use super::spec::{existing_dir, existing_file, is_pool_name, split_spec};

impl PoolApp {
    /// A WSGI app read from a spec as `--wsgi` and a config file give it
    /// ([`super::app_spec::parse`]).
    pub fn wsgi(spec: &str) -> Result<PoolApp, String> {
        let (source, callable) = super::app_spec::parse(spec)?;
        Ok(PoolApp::Wsgi { source, callable })
    }
}
use crate::process::interpreter::{self, find as find_program};

/// One pool, as configured: what its workers run, where, and with what environment.
/// [`Config::pool`] makes one with the server-wide flags as its defaults.
#[derive(Clone, PartialEq, Eq)]
pub struct PoolConfig {
    /// The name in `/pool/NAME`.
    pub name: String,
    pub app: PoolApp,
    /// What it sets for itself (its `[pool.NAME]` section of a config file); the rest
    /// comes from the server's flags ([`Config::settings`]).
    pub own: PoolOwn,
    /// The directory its workers work in (gunicorn's `--chdir`): by default the app
    /// file's own, and for a module the server's working directory, as gunicorn's.
    pub chdir: PathBuf,
    /// Directories a WSGI worker puts first on `sys.path`, in this order (gunicorn's
    /// `--pythonpath`); the working directory follows them.
    pub pythonpath: Vec<PathBuf>,
    /// Variables only this pool's workers get, on top of PATH, HOME, the locale and
    /// `--env` ([`crate::pool::program`]). They are the place for a pool's secrets: no
    /// request's meta-variables carry them, and no route shows them.
    pub env: Vec<(String, String)>,
    /// When its workers start: at once, or on its first request.
    pub start: PoolStart,
}

/// When a pool's workers start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolStart {
    /// With the server: the pools the user named (`--wsgi`, `--fastcgi`, a config file).
    AtOnce,
    /// On the pool's first request (php-fpm's `pm = ondemand`): the pools the server
    /// makes by itself for the `NAME_wsgi.py` twins, so that a server started for one
    /// script does not boot a Python for every twin in cgi-bin.
    OnDemand,
}

impl std::fmt::Debug for PoolConfig {
    /// The env's names, never its values: a secret must not reach a log by `{:?}`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.env.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("PoolConfig")
            .field("name", &self.name)
            .field("app", &self.app)
            .field("chdir", &self.chdir)
            .field("pythonpath", &self.pythonpath)
            .field("env", &names)
            .field("own", &self.own)
            .field("start", &self.start)
            .finish()
    }
}

/// What a pool's workers run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PoolApp {
    /// A WSGI app, run by cgilab's own worker: `callable` is the name of the callable in
    /// `source`, or a call of a factory that returns it, with literal arguments
    /// (`create_app()`, `create_app("prod", debug=False)`), as gunicorn's APP_MODULE.
    Wsgi {
        source: WsgiSource,
        callable: String,
    },
    /// A FastCGI responder: `program` with `args` (the interpreter and the file, or the
    /// file itself); `file` is its SCRIPT_FILENAME.
    FastCgi {
        program: PathBuf,
        args: Vec<PathBuf>,
        file: PathBuf,
    },
}

impl PoolApp {
    /// The app's file, when it has one (a module is found only by Python, at import).
    pub fn file(&self) -> Option<&Path> {
        match self {
            PoolApp::Wsgi {
                source: WsgiSource::File(file),
                ..
            }
            | PoolApp::FastCgi { file, .. } => Some(file),
            PoolApp::Wsgi { .. } => None,
        }
    }

    /// What the pool runs, as its SCRIPT_FILENAME and on the index page: the app's file,
    /// or `module:callable` (as a gateway app's is its name).
    pub fn describe(&self) -> String {
        match self {
            PoolApp::Wsgi {
                source: WsgiSource::Module(module),
                callable,
            } => format!("{module}:{callable}"),
            _ => self
                .file()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default(),
        }
    }
}

/// The suffix that marks a WSGI twin in cgi-bin: `hello_wsgi.py` is pool `hello`.
pub const WSGI_TWIN_SUFFIX: &str = "_wsgi.py";

impl Config {
    /// Adds a WSGI pool from `NAME=FILE[:CALLABLE]` or `NAME=MODULE[:CALLABLE]`
    /// ([`PoolApp::wsgi`] says how the two are told apart).
    pub fn add_wsgi(&mut self, spec: &str) -> Result<(), String> {
        let form = "NAME=FILE[:CALLABLE] or NAME=MODULE[:CALLABLE]";
        let (name, rest) = split_spec(spec, "--wsgi", form)?;
        let app = PoolApp::wsgi(rest).map_err(|e| format!("--wsgi {spec}: {e}"))?;
        let pool = self.pool(name, app);
        self.add_pool(pool)
    }

    /// A pool called `name` running `app`, with the server-wide settings as its own:
    /// `--chdir` (else the default: the app file's directory, or for a module the
    /// server's working directory) and `--pythonpath`. A config file's section changes
    /// them afterwards.
    pub fn pool(&self, name: &str, app: PoolApp) -> PoolConfig {
        let chdir = match (&self.chdir, app.file()) {
            (Some(dir), _) => dir.clone(),
            (None, Some(file)) => file.parent().unwrap_or(Path::new("/")).to_path_buf(),
            (None, None) => std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/")),
        };
        PoolConfig {
            name: name.to_string(),
            app,
            chdir,
            pythonpath: self.pythonpath.clone(),
            env: Vec::new(),
            own: PoolOwn::default(),
            start: PoolStart::AtOnce,
        }
    }

    /// `--chdir DIR`: where every pool's workers work, unless a pool says otherwise.
    /// Set before the pools are added.
    pub fn set_chdir(&mut self, dir: &Path) -> Result<(), String> {
        self.chdir = Some(existing_dir(dir, Path::new("."), "--chdir")?);
        Ok(())
    }

    /// `--pythonpath DIRS`: directories, separated by commas as gunicorn's, put first on
    /// every WSGI pool's `sys.path`; relative ones are taken from `--chdir`, as gunicorn
    /// does (it changes directory first), else from the server's working directory. Set
    /// after `--chdir` and before the pools are added.
    pub fn set_pythonpath(&mut self, dirs: &str) -> Result<(), String> {
        let base = self.chdir.clone().unwrap_or_else(|| PathBuf::from("."));
        for dir in dirs.split(',').filter(|d| !d.is_empty()) {
            let dir = existing_dir(Path::new(dir), &base, "--pythonpath")?;
            if !self.pythonpath.contains(&dir) {
                self.pythonpath.push(dir);
            }
        }
        Ok(())
    }

    /// `--pool-env NAME:KEY=VALUE` gives pool NAME's workers a variable of their own;
    /// `--pool-env NAME:KEY` copies KEY from the server's environment (so that a secret
    /// need not be written on a command line, where `ps` shows it).
    pub fn add_pool_env(&mut self, spec: &str) -> Result<(), String> {
        let form = "expected NAME:KEY=VALUE or NAME:KEY, e.g. --pool-env mysite:DJANGO_SECRET_KEY";
        let (name, pair) = spec
            .split_once(':')
            .ok_or_else(|| format!("--pool-env {spec}: {form}"))?;
        let (key, value) = match pair.split_once('=') {
            Some((key, value)) => (key, Some(value.to_string())),
            None => (pair, None),
        };
        super::check_name(key, "--pool-env")?;
        let names: Vec<String> = self.pools.iter().map(|p| p.name.clone()).collect();
        let Some(pool) = self.pools.iter_mut().find(|p| p.name == name) else {
            return Err(format!(
                "--pool-env {name}:{key}: there is no pool `{name}`; the pools are: {}",
                if names.is_empty() {
                    "none (add one with --wsgi or --fastcgi)".to_string()
                } else {
                    names.join(", ")
                }
            ));
        };
        let value = match value {
            Some(value) => value,
            None => match std::env::var(key) {
                Ok(value) => value,
                Err(_) => {
                    crate::log!(
                        "cgilab: warning: --pool-env {name}:{key}: not set in the server's \
                         environment; pool {name} will not get it"
                    );
                    return Ok(());
                }
            },
        };
        if value.contains('\0') {
            return Err(format!(
                "--pool-env {name}:{key}: the value contains a NUL byte"
            ));
        }
        pool.env.retain(|(k, _)| k != key);
        pool.env.push((key.to_string(), value));
        Ok(())
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
        let pool = self.pool(
            name,
            PoolApp::FastCgi {
                program,
                args,
                file,
            },
        );
        self.add_pool(pool)
    }

    /// Sets the Python that runs WSGI workers (a path, or a name looked up on PATH).
    pub fn set_python(&mut self, python: &str) -> Result<(), String> {
        self.python = find_program(Path::new(python)).ok_or_else(|| {
            format!("--python {python}: not an executable program; pass --python PATH")
        })?;
        Ok(())
    }

    /// With no pool asked for, one pool for each `NAME_wsgi.py` twin in cgi-bin, so a
    /// fresh clone shows every app three ways. Each starts on its first request
    /// ([`PoolStart::OnDemand`]). Says so in the log when Python is missing.
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
            crate::log!(
                "cgilab: {} not found; the {} twins run only as CGI (no pools)",
                self.python.display(),
                WSGI_TWIN_SUFFIX
            );
            return;
        };
        self.python = python;
        for (name, file) in twins {
            let app = PoolApp::Wsgi {
                source: WsgiSource::File(file),
                callable: DEFAULT_CALLABLE.to_string(),
            };
            let mut pool = self.pool(&name, app);
            pool.start = PoolStart::OnDemand;
            self.pools.push(pool);
        }
    }

    /// `pool`'s settings: its own, else the server's flags. As in gunicorn, threads
    /// with the sync class mean the threaded class.
    pub fn settings(&self, pool: &PoolConfig) -> PoolSettings {
        self.settings_with(&pool.own)
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
    fn a_file_works_in_its_directory_a_module_in_the_servers_and_chdir_moves_both() {
        let (dir, mut c) = config();
        let app = dir.path().join("app.py");
        c.add_wsgi(&format!("f={}", app.display())).unwrap();
        c.add_wsgi("m=mysite.wsgi").unwrap();
        let real = dir.path().canonicalize().unwrap();
        assert_eq!(c.pools[0].chdir, real);
        assert_eq!(c.pools[1].chdir, std::env::current_dir().unwrap());
        let (_, mut c) = config();
        c.set_chdir(dir.path()).unwrap();
        c.set_pythonpath(&format!(".,{}", dir.path().display()))
            .unwrap();
        c.add_wsgi("m=mysite.wsgi").unwrap();
        assert_eq!(c.pools[0].chdir, real);
        assert_eq!(c.pools[0].pythonpath, [real], "once, however named");
        let err = c.set_chdir(&dir.path().join("app.py")).unwrap_err();
        assert!(err.contains("not a directory"), "{err}");
    }

    #[test]
    fn a_pools_env_is_its_own_and_hidden_from_debug() {
        let (_, mut c) = config();
        c.add_wsgi("a=mod").unwrap();
        c.add_wsgi("b=mod").unwrap();
        c.add_pool_env("a:TOKEN=first").unwrap();
        c.add_pool_env("a:TOKEN=s3cret").unwrap();
        assert_eq!(c.pools[0].env, [("TOKEN".into(), "s3cret".into())]);
        assert!(c.pools[1].env.is_empty());
        let shown = format!("{:?}", c.pools[0]);
        assert!(
            shown.contains("TOKEN") && !shown.contains("s3cret"),
            "{shown}"
        );
        let err = c.add_pool_env("c:TOKEN=x").unwrap_err();
        assert!(err.contains("the pools are: a, b"), "{err}");
        assert!(c.add_pool_env("a:TOKEN=x\0y").unwrap_err().contains("NUL"));
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
