//! The same WSGI hello three ways, over loopback on one keep-alive connection: as CGI
//! (`hello_wsgi.py` through wsgiref, a new python3 per request), in a worker pool (the
//! same file, imported once by a worker that stays, over FastCGI), and the Rust
//! in-process hello beside them; built with `--features python`, a fourth: the same file
//! embedded, called by the server in its own process. The pool minus the embedded app
//! is what the hop costs: a FastCGI round trip to another process and the Python
//! worker's side of it (`cargo bench --bench hop` measures the bare round trip).
//!
//! ```console
//! $ cargo bench --bench pool
//! $ cargo bench --features python --bench pool
//! ```

mod common;

use std::path::Path;
use std::time::Instant;

use cgilab::server::Server;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

fn three_ways(c: &mut Criterion) {
    if cgilab::process::interpreter::find(Path::new("python3")).is_none() {
        eprintln!("skipped: python3 is not installed");
        return;
    }
    let bin = common::cgi_bin();
    let twin = Path::new(env!("CARGO_MANIFEST_DIR")).join("cgi-bin/hello_wsgi.py");
    std::fs::copy(&twin, bin.path.join("hello_wsgi.py")).expect("copy hello_wsgi.py");
    let mut config = common::config(&bin.path);
    config.workers = 1;
    config
        .add_wsgi(&format!(
            "hello={}",
            bin.path.join("hello_wsgi.py").display()
        ))
        .expect("a pool for hello_wsgi.py");
    config.check_pools().expect("python3 for the pool");
    #[cfg(feature = "python")]
    config
        .add_embed(&format!(
            "hello={}",
            bin.path.join("hello_wsgi.py").display()
        ))
        .expect("hello_wsgi.py embedded");
    let server = Server::bind_with_apps(config, common::apps()).expect("a bench server binds");
    // Stops (with its pools) when dropped, at the end of the function.
    let server = server.spawn();
    let addr = server.addr();

    let mut group = common::flat_group(c, "hello_three_ways", 20, 4);
    let mut modes = vec![
        ("cgi", "hello_wsgi.py", "/cgi-bin/hello_wsgi.py"),
        ("pool", "hello", "/pool/hello"),
        ("gateway", "hello", "/app/hello"),
    ];
    if cfg!(feature = "python") {
        modes.push(("embed", "hello", "/wsgi/hello"));
    }
    for (mode, name, path) in modes {
        let mut client = common::Client::new(addr);
        // The first pool request also waits for the worker to boot.
        assert_eq!(client.get(path), common::HELLO_BODY, "{path}");
        group.bench_function(BenchmarkId::new(mode, name), |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    std::hint::black_box(client.get(path));
                }
                start.elapsed()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, three_ways);
criterion_main!(benches);
