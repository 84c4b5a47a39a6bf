//! `cgilab bench`: a bounded load generator that puts CGI and gateway twins side by side.

use clap::Args;

/// Arguments of `cgilab bench`.
#[derive(Debug, Clone, Args)]
pub struct BenchArgs {}

/// Runs `cgilab bench`.
pub fn run(_args: &BenchArgs) -> Result<(), String> {
    Err("not yet".into())
}
