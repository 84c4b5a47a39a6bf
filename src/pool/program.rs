//! What a pool's workers run: the command line, environment and directory, from the
//! pool's one description in the configuration ([`crate::config::pools::PoolConfig`]).

use std::ffi::OsString;
use std::path::Path;

use crate::config::Config;
use crate::config::pools::{PoolApp, PoolConfig};

use super::spawn::Program;

/// The program every worker of `pool` starts as; `worker` is the WSGI worker's source.
pub fn for_pool(pool: &PoolConfig, config: &Config, worker: &Path) -> Program {
    let env = config.site.extra.clone();
    let settings = config.settings(pool);
    let dir = |file: &Path| file.parent().unwrap_or(Path::new("/")).to_path_buf();
    match &pool.app {
        PoolApp::Wsgi { file, callable } => Program {
            program: settings.python.clone(),
            // -u: the log gets lines as they are written.
            args: vec![
                OsString::from("-u"),
                worker.into(),
                file.into(),
                callable.into(),
                "--worker-class".into(),
                settings.worker_class.as_str().into(),
                "--threads".into(),
                settings.worker_threads.to_string().into(),
                "--worker-connections".into(),
                settings.worker_connections.to_string().into(),
            ],
            env,
            dir: dir(file),
        },
        PoolApp::FastCgi {
            program,
            args,
            file,
        } => Program {
            program: program.clone(),
            args: args.iter().map(OsString::from).collect(),
            env: fastcgi_env(program).into_iter().chain(env).collect(),
            dir: dir(file),
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

/// How many requests one worker of `pool` serves at once: the worker class's for a WSGI
/// pool; one for any other FastCGI program (nothing says it could take more).
pub fn capacity(pool: &PoolConfig, config: &Config) -> usize {
    match pool.app {
        PoolApp::Wsgi { .. } => config.settings(pool).capacity(),
        PoolApp::FastCgi { .. } => 1,
    }
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
