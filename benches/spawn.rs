//! The physical floor of CGI: spawn a hello, drain its stdout, wait for it. No HTTP, no
//! dispatch: the same `Command` the server builds (`cgi::command`, with an environ from
//! `environ::build` and the server's stdio), run to its end by `bench::floor::run_once`,
//! the loop `cgilab bench` times too.
//!
//! ```console
//! $ cargo bench --bench spawn
//! ```

mod common;

use cgilab::bench::floor;
use cgilab::cgi::script::{self, Script};
use cgilab::request::environ::Environ;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

/// Runs `script` as the server would for a GET, and returns its stdout.
fn run(script: &Script, env: &Environ) -> Vec<u8> {
    let (out, status) =
        floor::run_once(script, env).unwrap_or_else(|e| panic!("run {}: {e}", script.name));
    assert!(status.success(), "{} failed: {status}", script.name);
    out
}

fn spawn(c: &mut Criterion) {
    let bin = common::cgi_bin();
    // Interpreters take milliseconds per run: few, flat samples.
    let mut group = common::flat_group(c, "spawn", 30, 4);
    for name in ["hello.sh", "hello.pl", "hello.py", "hello-cgi"] {
        let url_path = format!("/cgi-bin/{name}");
        let script = script::find(&bin.path, name, &url_path)
            .unwrap_or_else(|e| panic!("{name} in the bench cgi-bin: {e}"));
        // The environ `cgilab bench` spawns its floor with, from `environ::build`.
        let env = floor::sample_environ(&script);
        assert_eq!(run(&script, &env), common::HELLO_OUTPUT, "{name}");
        group.bench_with_input(BenchmarkId::from_parameter(name), &script, |b, script| {
            b.iter(|| run(script, &env))
        });
    }
    group.finish();
}

criterion_group!(benches, spawn);
criterion_main!(benches);
