//! The command line: [`args`] holds what the user typed (clap's structs); [`run`] turns
//! it into plain values and runs the command; [`routes`] is `cgilab routes`; [`pipe`]
//! lets a command's reader stop early (`| head -1`).

pub mod args;
pub mod config_file;
pub mod pipe;
pub mod routes;

pub use args::{Cli, Command};

use crate::config::Config;
use crate::lessons::Lang;
use args::{BenchArgs, FormatArg, LessonsCommand, ServeArgs};

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Serve(args) => {
            // First: no child may see systemd's variables or inherit its socket.
            let systemd = crate::server::systemd::take()?;
            let config = serve_config(&args)?;
            // Before any thread: everything the server starts is born in its cgroup.
            crate::process::keeper::contain();
            crate::server::one_line_panics();
            let server = crate::server::Server::bind_for(config, systemd)?;
            server.run()
        }
        Command::Routes(args) => {
            let mut config = Config::new("127.0.0.1:0", &args.cgi_bin)?;
            add_pools(&mut config, &args.pools, None)?;
            let apps = crate::gateway::Apps::builtin();
            let rows = routes::rows(&config.cgi_bin, &apps, &config);
            pipe::print(&format!("{}\n", routes::table(&rows)))
        }
        Command::Bench(args) => crate::bench::run(&bench_plan(args)),
        Command::Lessons(args) => {
            let check = match args.command {
                None | Some(LessonsCommand::List) => None,
                Some(LessonsCommand::Check { lesson }) => Some(lesson),
            };
            let lang = match args.lang.as_deref().and_then(Lang::from_code) {
                Some(lang) => lang,
                None => Lang::from_locale(|name| std::env::var(name).ok()),
            };
            pipe::quiet_on_broken_pipe(|| {
                crate::lessons::run(check, &args.lessons, &args.cgi_bin, lang)
            })
        }
        Command::Timeline { log, svg } => crate::timeline::run(&log, &svg),
        Command::Keeper { args } => crate::process::keeper::keep(&args),
        Command::CheckConfig { file } => config_file::check(&file),
    }
}

/// The arguments of `cgilab serve`, checked, as a [`Config`].
pub fn serve_config(args: &ServeArgs) -> Result<Config, String> {
    let mut config = if args.no_lab {
        Config::without_lab(&args.listen)?
    } else {
        Config::new(&args.listen, &args.cgi_bin)?
    };
    config.timeout = args.timeout;
    config.read_timeout = args.read_timeout;
    config.graceful_timeout = args.graceful_timeout;
    config.max_body = args.max_body;
    config.max_procs = args.max_procs;
    config.queue_timeout = args.queue_timeout;
    config.site.pass_auth = args.pass_auth;
    config.threads = args.threads;
    config.quiet = args.quiet;
    config.set_forwarded_allow_ips(&args.forwarded_allow_ips)?;
    config.set_access_log(
        args.access_log.as_deref(),
        args.access_log_format.as_deref(),
    )?;
    config.pid_file = args.pid.clone();
    config.check_limits()?;
    for name in &args.pass_env {
        config.pass_env(name)?;
    }
    for pair in &args.env {
        config.add_env(pair)?;
    }
    config.max_requests = args.max_requests;
    config.max_requests_jitter = args.max_requests_jitter;
    let file = match &args.config {
        Some(path) => Some(crate::config::file::read(path).map_err(|errors| {
            let (line, e) = &errors[0];
            format!("{}:{line}: {e}", path.display())
        })?),
        None => None,
    };
    for spec in &args.statics {
        config.add_static(spec)?;
    }
    add_pools(&mut config, &args.pools, file.as_ref())?;
    Ok(config)
}

/// The pools of `--wsgi`, `--fastcgi`, a config file's sections, `--workers`,
/// `--python`, `--chdir`, `--pythonpath` and `--pool-env`, or the default ones; and
/// `--mount`.
fn add_pools(
    config: &mut Config,
    args: &args::PoolArgs,
    file: Option<&crate::config::file::ConfigFile>,
) -> Result<(), String> {
    config.workers = args.workers;
    config.worker_class = args.worker_class;
    config.worker_threads = args.worker_threads;
    config.worker_connections = args.worker_connections;
    config.preload = args.preload;
    config.accept = args.accept;
    config.backlog = args.backlog;
    if let Some(python) = &args.python {
        config.set_python(python)?;
    }
    // The pools' defaults first: each pool takes them when it is added.
    if let Some(dir) = &args.chdir {
        config.set_chdir(dir)?;
    }
    for dirs in &args.pythonpath {
        config.set_pythonpath(dirs)?;
    }
    for spec in &args.wsgi {
        config.add_wsgi(spec)?;
    }
    for spec in &args.fastcgi {
        config.add_fastcgi(spec)?;
    }
    for spec in &args.embed {
        config.add_embed(spec)?;
    }
    if let Some(file) = file {
        config_file::add_pools(config, file)?;
    }
    for spec in &args.mount {
        config.add_mount(spec)?;
    }
    config.check_pools()?;
    if config.routes.lab {
        config.add_default_pools();
    }
    for spec in &args.pool_env {
        config.add_pool_env(spec)?;
    }
    config.check_mounts()
}

/// Pool flags as `cgilab serve` takes them, for the server a bench starts.
fn pool_flags(pools: &args::PoolArgs) -> Vec<String> {
    let mut out = Vec::new();
    for spec in &pools.wsgi {
        out.extend(["--wsgi".to_string(), spec.clone()]);
    }
    for spec in &pools.fastcgi {
        out.extend(["--fastcgi".to_string(), spec.clone()]);
    }
    if let Some(python) = &pools.python {
        out.extend(["--python".to_string(), python.clone()]);
    }
    if pools.workers != crate::config::DEFAULT_WORKERS || !out.is_empty() {
        out.extend(["--workers".to_string(), pools.workers.to_string()]);
    }
    if pools.preload {
        out.push("--preload".to_string());
    }
    if pools.accept != crate::config::pool_settings::Accept::Dispatch {
        out.extend(["--accept".to_string(), pools.accept.as_str().to_string()]);
        out.extend(["--backlog".to_string(), pools.backlog.to_string()]);
    }
    if let Some(dir) = &pools.chdir {
        out.extend(["--chdir".to_string(), dir.to_string_lossy().into_owned()]);
    }
    for dirs in &pools.pythonpath {
        out.extend(["--pythonpath".to_string(), dirs.clone()]);
    }
    for spec in &pools.pool_env {
        out.extend(["--pool-env".to_string(), spec.clone()]);
    }
    if pools.worker_class != crate::config::pool_settings::WorkerClass::Sync
        || pools.worker_threads > 1
    {
        out.extend([
            "--worker-class".to_string(),
            pools.worker_class.as_str().to_string(),
            "--worker-threads".to_string(),
            pools.worker_threads.to_string(),
            "--worker-connections".to_string(),
            pools.worker_connections.to_string(),
        ]);
    }
    for spec in &pools.embed {
        out.extend(["--embed".to_string(), spec.clone()]);
    }
    out
}

/// The arguments of `cgilab bench`, as its plan.
fn bench_plan(args: BenchArgs) -> crate::bench::Plan {
    use crate::bench::Format;
    crate::bench::Plan {
        urls: args.url,
        cgi_bin: args.cgi_bin,
        // The pool flags first, then whatever came after `--`.
        serve_args: pool_flags(&args.pools)
            .into_iter()
            .chain(args.serve_args)
            .collect(),
        chart: args.chart,
        chart_phases: args.chart_phases,
        duration: args.duration,
        concurrency: args.concurrency,
        targets: args.targets,
        max_requests: args.max_requests,
        format: match args.format {
            FormatArg::Table => Format::Table,
            FormatArg::Csv => Format::Csv,
            FormatArg::Json => Format::Json,
        },
        allow_remote: args.allow_remote,
    }
}
