//! `cgilab`: parse the command line, run it, report an error once.

use clap::Parser;

/// mimalloc, not the system's malloc: see Cargo.toml.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let cli = match cgilab::cli::Cli::try_parse() {
        Ok(cli) => cli,
        // --help and --version print as clap formats them.
        Err(e) if !e.use_stderr() => e.exit(),
        Err(e) => {
            // One line, in the same form as every other error.
            let rendered = e.render().to_string();
            let first = rendered.lines().next().unwrap_or_default();
            let message = first.strip_prefix("error: ").unwrap_or(first);
            let values = rendered
                .lines()
                .map(str::trim)
                .find(|l| l.starts_with("[possible values"))
                .map(|l| format!(" {l}"))
                .unwrap_or_default();
            eprintln!("cgilab: error: {message}{values}; see `cgilab --help`");
            std::process::exit(2);
        }
    };
    let cli = match cgilab::cli::config_file::expand(cli, std::env::args_os().collect()) {
        Ok(cli) => cli,
        Err(message) => {
            eprintln!("cgilab: error: {message}");
            std::process::exit(2);
        }
    };
    if let Err(message) = cgilab::cli::run(cli) {
        eprintln!("cgilab: error: {message}");
        std::process::exit(1);
    }
}
