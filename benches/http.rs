//! End to end over loopback: one server, started before anything is timed, and one
//! keep-alive connection per benchmark, sending a request and reading the whole response
//! before the next. `/raw` is the ceiling: tiny_http with no dispatch at all.
//!
//! ```console
//! $ cargo bench --bench http
//! ```

mod common;

use std::time::{Duration, Instant};

use cgilab::server::{RAW_ROUTE, Server};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

/// Times `iters` GETs of `path` on `client`'s connection.
fn timed_gets(client: &mut common::Client, path: &str, iters: u64) -> Duration {
    let start = Instant::now();
    for _ in 0..iters {
        std::hint::black_box(client.get(path));
    }
    start.elapsed()
}

fn http(c: &mut Criterion) {
    let bin = common::cgi_bin();
    let server = Server::bind_with_apps(common::config(&bin.path), common::apps())
        .expect("a bench server binds");
    // Stops (with its pools) when dropped, at the end of the function.
    let server = server.spawn();
    let addr = server.addr();

    let mut group = common::flat_group(c, "http", 30, 4);
    for (mode, name, path) in [
        ("cgi", "hello-cgi", "/cgi-bin/hello-cgi"),
        ("cgi", "hello.sh", "/cgi-bin/hello.sh"),
        ("gateway", "hello", "/app/hello"),
        ("raw", "hello", RAW_ROUTE),
    ] {
        let mut client = common::Client::new(addr);
        assert_eq!(client.get(path), common::HELLO_BODY, "{path}");
        group.bench_function(BenchmarkId::new(mode, name), |b| {
            b.iter_custom(|iters| timed_gets(&mut client, path, iters))
        });
    }
    group.finish();

    let mut group = common::flat_group(c, "http_stream", 20, 3);
    for size in &common::SIZES[1..] {
        group.throughput(Throughput::Bytes(*size as u64));
        for (mode, route) in [
            ("cgi/zeros.sh", "/cgi-bin/zeros.sh"),
            ("gateway/zeros", "/app/zeros"),
        ] {
            let path = format!("{route}?n={size}");
            let mut client = common::Client::new(addr);
            let body = client.get(&path);
            assert!(
                body.len() == *size && body.iter().all(|&b| b == 0),
                "{path}"
            );
            group.bench_function(BenchmarkId::new(mode, size), |b| {
                b.iter_custom(|iters| timed_gets(&mut client, &path, iters))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, http);
criterion_main!(benches);
