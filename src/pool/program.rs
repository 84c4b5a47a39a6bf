//! What a pool's workers run: the command line, environment and directory, from the
//! pool's one description in the configuration ([`crate::config::pools::PoolConfig`]).
//!
//! A worker's environment is built, never inherited: PATH, HOME and the locale (LANG,
//! LANGUAGE, LC_*) from the server's own, then `--env` and `--pass-env` (what every script
//! gets, and what every request's meta-variables carry anyway), then the pool's own `env`,
//! which wins. Nothing else of the server's environment reaches it: not its PYTHONPATH
//! (`--pythonpath` says what a pool imports from), not another pool's secrets. The
//! locale is kept because systemd gives a service just these (from locale.conf), and
//! Python decodes file names and standard streams by it.

use std::ffi::OsString;
use std::path::Path;

use crate::config::Config;
use crate::config::pool_settings::Accept;
use crate::config::pools::{PoolApp, PoolConfig, WsgiSource};

use super::shared_accept;
use super::spawn::Program;

/// The program every worker of `pool` starts as; `worker` is the WSGI worker's source.
pub fn for_pool(pool: &PoolConfig, config: &Config, worker: &Path) -> Program {
    let settings = config.settings(pool);
    match &pool.app {
        PoolApp::Wsgi { source, callable } => {
            let source: OsString = match source {
                WsgiSource::File(file) => file.into(),
                WsgiSource::Module(module) => module.into(),
            };
            // -u: the log gets lines as they are written.
            let mut args = vec![
                OsString::from("-u"),
                worker.into(),
                source,
                callable.into(),
                "--chdir".into(),
                pool.chdir.clone().into(),
            ];
            for dir in &pool.pythonpath {
                args.extend(["--pythonpath".into(), dir.into()]);
            }
            args.extend([
                "--worker-class".into(),
                settings.worker_class.as_str().into(),
                "--threads".into(),
                settings.worker_threads.to_string().into(),
                "--worker-connections".into(),
                settings.worker_connections.to_string().into(),
            ]);
            if settings.accept == Accept::Shared {
                // The server cannot see its requests: the worker beats, and counts its
                // own requests for --max-requests, as gunicorn's workers do.
                let every = shared_accept::beat_every(settings.timeout);
                args.extend([
                    "--heartbeat".into(),
                    format!("{}", every.as_secs_f64()).into(),
                    "--max-requests".into(),
                    settings.max_requests.to_string().into(),
                    "--max-requests-jitter".into(),
                    settings.max_requests_jitter.to_string().into(),
                ]);
            }
            Program {
                program: settings.python.clone(),
                args,
                env: worker_env(pool, config, Vec::new()),
                // The worker changes to `pool.chdir` itself, as gunicorn does: a directory
                // it cannot enter is then its own last line, the reason the pool gives.
                dir: "/".into(),
            }
        }
        PoolApp::FastCgi { program, args, .. } => Program {
            program: program.clone(),
            args: args.iter().map(OsString::from).collect(),
            env: worker_env(pool, config, fastcgi_env(program)),
            dir: pool.chdir.clone(),
        },
    }
}

/// With `--preload`, what a WSGI pool's preloader runs: the worker, told to import the
/// app and fork workers when asked. `None` for a pool that starts each worker itself.
pub fn preloader(pool: &PoolConfig, config: &Config, worker: &Path) -> Option<Program> {
    if !config.settings(pool).preload || !matches!(pool.app, PoolApp::Wsgi { .. }) {
        return None;
    }
    let mut program = for_pool(pool, config, worker);
    program.args.push("--preload".into());
    Some(program)
}

/// Whether the workers of `pool` keep a heartbeat with `--accept shared`: cgilab's own
/// WSGI worker does, another FastCGI program cannot.
pub fn beats(pool: &PoolConfig, config: &Config) -> bool {
    config.settings(pool).accept == Accept::Shared && matches!(pool.app, PoolApp::Wsgi { .. })
}

/// How many requests one worker of `pool` serves at once: the worker class's for a WSGI
/// pool; one for any other FastCGI program (nothing says it could take more).
pub fn capacity(pool: &PoolConfig, config: &Config) -> usize {
    match pool.app {
        PoolApp::Wsgi { .. } => config.settings(pool).capacity(),
        PoolApp::FastCgi { .. } => 1,
    }
}

/// The whole environment of `pool`'s workers (see the module's docs); `program_env` is
/// what the program itself needs, before the pool's own.
fn worker_env(
    pool: &PoolConfig,
    config: &Config,
    program_env: Vec<(String, String)>,
) -> Vec<(String, String)> {
    let inherited = std::env::vars_os().filter_map(|(name, value)| {
        let (name, value) = (name.into_string().ok()?, value.into_string().ok()?);
        inherited(&name).then_some((name, value))
    });
    let mut env: Vec<(String, String)> = Vec::new();
    let layers = inherited
        .chain(config.site.extra.iter().cloned())
        .chain(program_env)
        .chain(pool.env.iter().cloned());
    for (name, value) in layers {
        // A later layer wins.
        env.retain(|(n, _)| *n != name);
        env.push((name, value));
    }
    env
}

/// Whether a worker keeps variable `name` of the server's own environment (PATH comes
/// with `--env`'s, from the configuration).
fn inherited(name: &str) -> bool {
    matches!(name, "HOME" | "LANG" | "LANGUAGE") || name.starts_with("LC_")
}

/// What a FastCGI program needs in its own environment besides PATH and `--env`.
fn fastcgi_env(program: &Path) -> Vec<(String, String)> {
    let php = program
        .file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with("php"));
    if php {
        // php-cgi exits after 500 requests by default; recycling is --max-requests' job.
        vec![("PHP_FCGI_MAX_REQUESTS".to_string(), "0".to_string())]
    } else {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_worker_keeps_home_and_the_locale_of_the_servers_environment_and_nothing_else() {
        for name in [
            "HOME",
            "LANG",
            "LANGUAGE",
            "LC_ALL",
            "LC_CTYPE",
            "LC_MESSAGES",
        ] {
            assert!(inherited(name), "{name}");
        }
        for name in [
            "PYTHONPATH",
            "USER",
            "SHELL",
            "DJANGO_SECRET_KEY",
            "LD_PRELOAD",
        ] {
            assert!(!inherited(name), "{name}");
        }
    }

    #[test]
    fn the_pools_own_env_comes_last_and_so_wins() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("app.py"), "").unwrap();
        let mut config = Config::new("127.0.0.1:0", dir.path()).unwrap();
        config.add_env("SHARED=every").unwrap();
        config
            .add_wsgi(&format!("a={}", dir.path().join("app.py").display()))
            .unwrap();
        config.add_pool_env("a:SHARED=mine").unwrap();
        let program = for_pool(&config.pools[0], &config, Path::new("w.py"));
        let shared: Vec<&str> = program
            .env
            .iter()
            .filter(|(k, _)| k == "SHARED")
            .map(|(_, v)| v.as_str())
            .collect();
        assert_eq!(shared, ["mine"]);
    }
}
