//! What the user typed, as clap parses it: the one place that knows about clap.
//! [`super::run`] turns it into plain values ([`crate::config::Config`], [`crate::bench::Plan`]).

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// cgilab: a workbench that shows, by measurement, why the web moved from CGI to gateways.
#[derive(Debug, Parser)]
#[command(name = "cgilab", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve scripts from cgi-bin (a process per request) and built-in apps (in-process).
    // A flag given twice takes its last value: the config file's come first.
    #[command(args_override_self = true)]
    Serve(ServeArgs),
    /// Check a config file for `serve --config`: every error, with its line.
    CheckConfig {
        /// The TOML file.
        file: PathBuf,
    },
    /// List every route: URL, mode, what runs behind it, and its twin.
    Routes(RoutesArgs),
    /// Load CGI and gateway twins side by side and print what a process costs.
    Bench(BenchArgs),
    /// List the lessons with your progress, or check a lesson's exercise.
    Lessons(LessonsArgs),
    /// Draw a pool's workers over time from a server's log: starts, exits, reloads.
    Timeline {
        /// The server's log (what `cgilab serve` wrote to stderr).
        log: PathBuf,
        /// Where to draw it, as an SVG file.
        #[arg(long, value_name = "FILE")]
        svg: PathBuf,
    },
    /// The keeper of a server's cgroup, which `serve` starts itself (not for people).
    #[command(name = "__keeper", hide = true)]
    Keeper {
        /// CGROUP PIDNS PID START.
        #[arg(value_parser = clap::value_parser!(std::ffi::OsString))]
        args: Vec<std::ffi::OsString>,
    },
}

/// Arguments of `cgilab routes`.
#[derive(Debug, Clone, Args)]
pub struct RoutesArgs {
    /// Directory of CGI scripts.
    #[arg(long, value_name = "DIR", default_value = "./cgi-bin")]
    pub cgi_bin: PathBuf,

    #[command(flatten)]
    pub pools: PoolArgs,
}

/// Arguments of `cgilab serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Read settings from a TOML file: the server's at the top, one [pool.NAME] section
    /// per pool (see the README). A flag given here overrides the file.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// No lab routes: no index page, built-in apps, /raw or cgi-bin (which is then not
    /// needed). Only pools answer, at /pool/NAME and where they are mounted.
    #[arg(long)]
    pub no_lab: bool,

    /// Serve the files of DIR at PREFIX as they are (repeatable), with ETag and
    /// Last-Modified, as nginx would in front of an app: `--static /static=./static`.
    #[arg(long = "static", value_name = "PREFIX=DIR")]
    pub statics: Vec<String>,

    /// Address to listen on, HOST:PORT (port 0 picks a free port; the log says which) or
    /// unix:PATH (a socket of mode 0660). A socket systemd passes takes its place.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8000")]
    pub listen: String,

    /// Write the server's process id to FILE once it listens, and remove it at exit
    /// (gunicorn's -p); refuse to start while FILE names a running process.
    #[arg(long, value_name = "FILE")]
    pub pid: Option<PathBuf>,

    /// Directory of CGI scripts, served at /cgi-bin/NAME.
    #[arg(long, value_name = "DIR", default_value = "./cgi-bin")]
    pub cgi_bin: PathBuf,

    /// Wall-clock limit for one script, in seconds; past it the script's process group is
    /// killed and the client gets 504.
    #[arg(long, value_name = "SECS", default_value = "30", value_parser = parse_secs)]
    pub timeout: Duration,

    /// On SIGTERM, seconds the requests in flight get to finish before the workers and
    /// scripts still running are stopped (gunicorn's --graceful-timeout). SIGINT does
    /// not wait.
    #[arg(long, value_name = "SECS", default_value = "30", value_parser = parse_secs)]
    pub graceful_timeout: Duration,

    /// An extra variable every script, app and pool worker gets, and that printenv shows
    /// (repeatable), e.g. --env GIT_PROJECT_ROOT=/srv/git; a pool's secrets go in --pool-env.
    #[arg(long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,

    /// Copy one variable from the server's own environment to every script (repeatable).
    #[arg(long = "pass-env", value_name = "NAME")]
    pub pass_env: Vec<String>,

    /// Largest request body accepted, in bytes; larger ones get 413.
    #[arg(long, value_name = "BYTES", default_value_t = 16 * 1024 * 1024)]
    pub max_body: u64,

    /// Most scripts running at once; past it requests wait their turn (--queue-timeout).
    #[arg(long, value_name = "N", default_value_t = 32)]
    pub max_procs: usize,

    /// Seconds a request waits for a --max-procs slot, first come first served, before
    /// it gets 503 with Retry-After.
    #[arg(long, value_name = "SECS", default_value = "30", value_parser = parse_secs)]
    pub queue_timeout: Duration,

    /// Give scripts the client's Authorization header as HTTP_AUTHORIZATION. Off by
    /// default: every script in cgi-bin would see every user's credentials.
    #[arg(long)]
    pub pass_auth: bool,

    /// Most requests answered at once; each connection has a thread, and past this many
    /// a request waits for a turn, which it takes once its body has been read.
    #[arg(long, value_name = "N", default_value_t = 64)]
    pub threads: usize,

    /// Recycle a pool worker after N requests (its successor starts first); 0: never.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub max_requests: u64,

    /// Add up to N requests to each worker's --max-requests, drawn for each worker, so
    /// workers started together do not all leave together (gunicorn's).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub max_requests_jitter: u64,

    /// Seconds a client may stall mid-request or sit idle on a keep-alive connection.
    #[arg(long, value_name = "SECS", default_value = "15", value_parser = parse_secs)]
    pub read_timeout: Duration,

    /// Write no access lines to the server's log (errors and script stderr are still
    /// logged; an --access-log still gets its lines).
    #[arg(long)]
    pub quiet: bool,

    /// The proxies trusted to say, in X-Forwarded-Proto and X-Forwarded-For, that a
    /// request came over HTTPS and from whom (gunicorn's --forwarded-allow-ips):
    /// addresses and networks separated by commas, * for every peer, '' for none.
    #[arg(long, value_name = "IPS", default_value = crate::request::forwarded::DEFAULT_ALLOW)]
    pub forwarded_allow_ips: String,

    /// Also write one line per request to FILE (- for standard output) in
    /// --access-log-format; SIGUSR1 reopens it.
    #[arg(long, value_name = "FILE|-")]
    pub access_log: Option<String>,

    /// The format of --access-log: common, combined (the default), or gunicorn's atoms,
    /// e.g. '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"'.
    #[arg(long, value_name = "FORMAT")]
    pub access_log_format: Option<String>,

    #[command(flatten)]
    pub pools: PoolArgs,
}

/// Worker pools: `cgilab serve` runs them, `cgilab bench` passes them to the server it starts.
#[derive(Debug, Clone, Default, Args)]
pub struct PoolArgs {
    /// A pool of Python workers serving a WSGI app at /pool/NAME (repeatable), from a
    /// FILE (a path with `/` or ending in .py) or a MODULE imported as gunicorn does
    /// (mysite.wsgi). CALLABLE defaults to `application`; a factory is called with
    /// literal arguments: flaskr:create_app(). Without --wsgi or --fastcgi, cgi-bin's
    /// NAME_wsgi.py twins each get a pool.
    #[arg(long = "wsgi", value_name = "NAME=FILE|MODULE[:CALLABLE]")]
    pub wsgi: Vec<String>,

    /// Import the WSGI app in FILE into the server's own process and call it at
    /// /wsgi/NAME (repeatable; CALLABLE defaults to `application`): no worker, no hop,
    /// one GIL. Needs a build with `--features python`.
    #[arg(long = "embed", value_name = "NAME=FILE[:CALLABLE]")]
    pub embed: Vec<String>,

    /// Also serve pool NAME at PREFIX (repeatable): `--mount /=blog` gives it the whole
    /// site. The prefix is the app's SCRIPT_NAME, so the URLs it makes are the public ones.
    #[arg(long = "mount", value_name = "PREFIX=NAME")]
    pub mount: Vec<String>,

    /// A pool of any FastCGI responder (php-cgi for .php, a flup script...) at /pool/NAME
    /// (repeatable); its interpreter is chosen as for cgi-bin.
    #[arg(long = "fastcgi", value_name = "NAME=FILE")]
    pub fastcgi: Vec<String>,

    /// Workers per pool.
    #[arg(long, value_name = "N", default_value_t = crate::config::DEFAULT_WORKERS)]
    pub workers: usize,

    /// The Python that runs WSGI workers (its start-up is paid once per worker);
    /// python3 on PATH by default.
    #[arg(long, value_name = "PATH")]
    pub python: Option<String>,

    /// How a WSGI worker serves requests (gunicorn's -k): sync (one at a time), gthread
    /// (one per thread, --worker-threads), gevent (one per greenlet,
    /// --worker-connections; gevent must be installed for --python).
    #[arg(long, value_name = "CLASS", default_value = "sync")]
    pub worker_class: crate::config::pool_settings::WorkerClass,

    /// Threads per gthread worker (gunicorn's --threads); more than 1 with the sync
    /// class means gthread, as in gunicorn.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub worker_threads: usize,

    /// Requests one gevent worker serves at once (gunicorn's --worker-connections).
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub worker_connections: usize,

    /// The directory every pool's workers work in (gunicorn's --chdir); a WSGI worker
    /// also puts it on sys.path. By default the app file's directory, and for a MODULE
    /// the directory cgilab was started in.
    #[arg(long, value_name = "DIR")]
    pub chdir: Option<PathBuf>,

    /// Directories put first on every WSGI worker's sys.path, separated by commas
    /// (gunicorn's --pythonpath; repeatable); relative ones are taken from --chdir.
    #[arg(long, value_name = "DIRS")]
    pub pythonpath: Vec<String>,

    /// A variable only pool NAME's workers get (repeatable): KEY=VALUE, or KEY alone to
    /// copy it from cgilab's own environment. For secrets: unlike --env, no request's
    /// variables carry it and no route shows it.
    #[arg(long = "pool-env", value_name = "NAME:KEY[=VALUE]")]
    pub pool_env: Vec<String>,

    /// Import each WSGI app once, in a preloader, and fork its workers from it
    /// (gunicorn's --preload): they share its memory until they write to it. SIGHUP
    /// imports the app anew.
    #[arg(long)]
    pub preload: bool,

    /// How a pool's workers get their requests: dispatch (each worker listens on a
    /// socket of its own and cgilab hands each request to an idle worker it chose, as
    /// mod_fcgid) or shared (every worker accepts on one socket and the kernel picks,
    /// as php-fpm and gunicorn).
    #[arg(long, value_name = "MODE", default_value = "dispatch")]
    pub accept: crate::config::pool_settings::Accept,

    /// With --accept shared: the shared socket's listen backlog, the connections that
    /// wait for a worker's accept(); past it a request gets 503 (gunicorn's --backlog,
    /// php-fpm's listen.backlog).
    #[arg(long, value_name = "N", default_value_t = crate::config::DEFAULT_BACKLOG)]
    pub backlog: u32,
}

/// Parses seconds, whole or fractional (`30`, `0.5`).
pub fn parse_secs(s: &str) -> Result<Duration, String> {
    match s.parse::<f64>() {
        Ok(secs) if secs > 0.0 && secs.is_finite() && secs < 1e9 => {
            Ok(Duration::from_secs_f64(secs))
        }
        _ => Err(format!("`{s}` is not a positive number of seconds")),
    }
}

/// Arguments of `cgilab bench`.
#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// A server that is already running, as [LABEL=]http://HOST:PORT[/PATH] (repeatable).
    /// Without a path, --targets are loaded on it instead of the bench's own server; with
    /// one (e.g. gunicorn=http://127.0.0.1:8002/), it is one more target, loaded in turn
    /// with the bench's own server's.
    #[arg(long, value_name = "URL")]
    pub url: Vec<String>,

    /// The scripts of the bench's own server (default: a folder of the hello twins).
    #[arg(long, value_name = "DIR")]
    pub cgi_bin: Option<PathBuf>,

    /// Seconds to load each target at each concurrency, in turns of half a second.
    #[arg(long, value_name = "SECS", default_value = "2", value_parser = parse_secs)]
    pub duration: Duration,

    /// Concurrent keep-alive connections, as a list: 1,8,64.
    #[arg(long, value_name = "N,N", value_delimiter = ',', default_values_t = [1usize, 8])]
    pub concurrency: Vec<usize>,

    /// Paths to load, as a list; by default the hello twins and /raw.
    #[arg(long, value_name = "PATH,PATH", value_delimiter = ',')]
    pub targets: Vec<String>,

    /// Most requests in one run, a bound besides --duration.
    #[arg(long, value_name = "N", default_value_t = 200_000)]
    pub max_requests: u64,

    /// Output format.
    #[arg(long, value_enum, default_value_t = FormatArg::Table)]
    pub format: FormatArg,

    /// Draw the latency of each target, on a log scale, as an SVG file.
    #[arg(long, value_name = "FILE")]
    pub chart: Option<PathBuf>,

    /// Draw where each target's time went, from its `Server-Timing` phases, as an SVG
    /// file of stacked bars.
    #[arg(long, value_name = "FILE")]
    pub chart_phases: Option<PathBuf>,

    /// Allow a --url that is not on this machine.
    #[arg(long)]
    pub allow_remote: bool,

    /// Pools for the server the bench starts (without --url); load them with
    /// --targets /pool/NAME.
    #[command(flatten)]
    pub pools: PoolArgs,

    /// More arguments for the bench's own `cgilab serve`, after `--`
    /// (e.g. -- --timeout 5 --max-requests 100).
    #[arg(last = true, value_name = "SERVE ARGS")]
    pub serve_args: Vec<String>,
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    Table,
    Csv,
    Json,
}

/// Arguments of `cgilab lessons`.
#[derive(Debug, Clone, Args)]
pub struct LessonsArgs {
    #[command(subcommand)]
    pub command: Option<LessonsCommand>,

    /// The course's directory.
    #[arg(long, value_name = "DIR", default_value = "./lessons", global = true)]
    pub lessons: PathBuf,

    /// Your CGI scripts, where the checks look for your work.
    #[arg(long, value_name = "DIR", default_value = "./cgi-bin", global = true)]
    pub cgi_bin: PathBuf,

    /// The course's language: en, or zh for Simplified Chinese (README.zh.md pages).
    /// Without it, a zh_* locale (LC_ALL, LC_MESSAGES, LANG) picks zh.
    #[arg(long, value_name = "LANG", value_parser = ["en", "zh"], global = true)]
    pub lang: Option<String>,
}

#[derive(Debug, Clone, Subcommand)]
pub enum LessonsCommand {
    /// List the lessons, checking each exercise (the default).
    List,
    /// Check lesson N's exercise and say what is wrong, if anything.
    Check {
        /// The lesson's number.
        #[arg(value_name = "N")]
        lesson: usize,
    },
}
