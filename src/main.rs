//! `cgilab`: parse the command line, run it, report an error once.

use clap::Parser;

fn main() {
    let cli = cgilab::cli::Cli::parse();
    if let Err(message) = cgilab::cli::run(cli) {
        eprintln!("cgilab: error: {message}");
        std::process::exit(1);
    }
}
