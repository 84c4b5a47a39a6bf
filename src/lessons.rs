//! `cgilab lessons`: the course in lessons/, with the learner's progress.

use clap::Args;

/// Arguments of `cgilab lessons`.
#[derive(Debug, Clone, Args)]
pub struct LessonsArgs {}

/// Runs `cgilab lessons`.
pub fn run(_args: &LessonsArgs) -> Result<(), String> {
    Err("the lessons are not written yet".into())
}
