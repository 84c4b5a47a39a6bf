//! The command line: what the user typed, as clap parses it. Checking it is
//! [`crate::config`]'s job; running it is [`run`]'s.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

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
    Serve(ServeArgs),
    /// List every route: URL, mode, what runs behind it, and its twin.
    Routes(RoutesArgs),
    /// Load CGI and gateway twins side by side and print what a process costs.
    Bench(crate::bench::BenchArgs),
    /// List the lessons with your progress, or check a lesson's exercise.
    Lessons(crate::lessons::LessonsArgs),
}

/// Arguments of `cgilab routes`.
#[derive(Debug, Clone, Args)]
pub struct RoutesArgs {
    /// Directory of CGI scripts.
    #[arg(long, value_name = "DIR", default_value = "./cgi-bin")]
    pub cgi_bin: PathBuf,
}

/// Arguments of `cgilab serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port (the log says which).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8000")]
    pub listen: String,

    /// Directory of CGI scripts, served at /cgi-bin/NAME.
    #[arg(long, value_name = "DIR", default_value = "./cgi-bin")]
    pub cgi_bin: PathBuf,

    /// Wall-clock limit for one script, in seconds; past it the script's process group is
    /// killed and the client gets 504.
    #[arg(long, value_name = "SECS", default_value = "30", value_parser = parse_secs)]
    pub timeout: Duration,

    /// An extra variable every script gets (repeatable), e.g. --env GIT_PROJECT_ROOT=/srv/git.
    #[arg(long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,

    /// Copy one variable from the server's own environment to every script (repeatable).
    #[arg(long = "pass-env", value_name = "NAME")]
    pub pass_env: Vec<String>,

    /// Largest request body accepted, in bytes; larger ones get 413.
    #[arg(long, value_name = "BYTES", default_value_t = 16 * 1024 * 1024)]
    pub max_body: u64,

    /// Most scripts running at once; past it requests get 503 with Retry-After.
    #[arg(long, value_name = "N", default_value_t = 32)]
    pub max_procs: usize,

    /// Most requests answered at once; each connection has a thread, and past this many
    /// a request waits for a turn.
    #[arg(long, value_name = "N", default_value_t = 64)]
    pub threads: usize,

    /// Seconds a client may stall mid-request or sit idle on a keep-alive connection.
    #[arg(long, value_name = "SECS", default_value = "15", value_parser = parse_secs)]
    pub read_timeout: Duration,

    /// Write no access log lines (errors and script stderr are still logged).
    #[arg(long)]
    pub quiet: bool,
}

impl Default for ServeArgs {
    /// The defaults of `cgilab serve` with no flags, so code that embeds the server sets
    /// only what it changes: `ServeArgs { listen: "127.0.0.1:0".into(), ..Default::default() }`.
    fn default() -> ServeArgs {
        match Cli::parse_from(["cgilab", "serve"]).command {
            Command::Serve(args) => args,
            _ => unreachable!("`serve` parses as Command::Serve"),
        }
    }
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

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Serve(args) => {
            let config = crate::config::Config::from_args(&args)?;
            crate::server::one_line_panics();
            let server = crate::server::Server::bind(config)?;
            server.run();
            Ok(())
        }
        Command::Routes(args) => {
            let dir = args.cgi_bin.canonicalize().map_err(|_| {
                format!(
                    "cgi-bin directory {} does not exist; pass --cgi-bin DIR",
                    args.cgi_bin.display()
                )
            })?;
            let rows = crate::routes::rows(&dir, &crate::gateway::Apps::builtin());
            println!("{}", crate::routes::table(&rows));
            Ok(())
        }
        Command::Bench(args) => crate::bench::run(&args),
        Command::Lessons(args) => crate::lessons::run(&args),
    }
}
