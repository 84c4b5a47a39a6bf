//! One request through the CGI dispatcher and through the gateway, in-process and with no
//! socket: `dispatch::handle` on tiny_http `TestRequest`s, whose response goes to a sink.
//! Everything the server does per request is here (routing, environ, body, spawn or call,
//! header parsing, response framing, stats) except the network.
//!
//! ```console
//! $ cargo bench --bench dispatch
//! ```

mod common;

use std::net::SocketAddr;
use std::sync::Arc;

use cgilab::server::dispatch::{self, ServerState};
use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use tiny_http::{Header, Method, Request, TestRequest};

fn header(name: &str, value: &str) -> Header {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("a valid header")
}

fn get(path: &str) -> Request {
    TestRequest::new()
        .with_path(path)
        .with_header(header("Host", "127.0.0.1:8000"))
        .with_header(header("User-Agent", "curl/8.5.0"))
        .with_header(header("Accept", "*/*"))
        .into()
}

fn post(path: &str, body: &'static str) -> Request {
    TestRequest::new()
        .with_method(Method::Post)
        .with_path(path)
        .with_header(header("Host", "127.0.0.1:8000"))
        .with_header(header("Content-Type", "application/octet-stream"))
        .with_body(body)
        .into()
}

/// Answers `make()` once on a fresh context, and checks it was answered below 500: the
/// stats count only those (a refusal would also print a log line, even with `quiet`).
fn check(bin: &common::CgiBin, path: &str, make: impl Fn() -> Request) {
    let ctx = ctx(bin);
    dispatch::handle(&ctx, make());
    let count = ctx.stats.summary(path).map_or(0, |s| s.count);
    assert_eq!(count, 1, "{path} was not answered");
}

fn ctx(bin: &common::CgiBin) -> Arc<ServerState> {
    let local: SocketAddr = "127.0.0.1:8000".parse().unwrap();
    Arc::new(ServerState::new(
        common::config(&bin.path),
        common::apps(),
        None,
        local.into(),
    ))
}

fn hello(c: &mut Criterion) {
    let bin = common::cgi_bin();
    let ctx = ctx(&bin);
    let mut group = common::flat_group(c, "dispatch", 30, 4);
    for (mode, name, path) in [
        ("cgi", "hello.sh", "/cgi-bin/hello.sh"),
        ("cgi", "hello-cgi", "/cgi-bin/hello-cgi"),
        ("gateway", "hello", "/app/hello"),
    ] {
        check(&bin, path, || get(path));
        group.bench_function(BenchmarkId::new(mode, name), |b| {
            b.iter_batched(
                || get(path),
                |request| dispatch::handle(&ctx, request),
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

fn post_sizes(c: &mut Criterion) {
    let bin = common::cgi_bin();
    let ctx = ctx(&bin);
    let mut group = common::flat_group(c, "dispatch_post", 20, 3);
    for size in common::SIZES {
        // TestRequest bodies are `&'static str`: one per size, for the whole run.
        let body: &'static str = "x".repeat(size).leak();
        group.throughput(Throughput::Bytes(size as u64));
        for (mode, path) in [
            ("cgi/echo.sh", "/cgi-bin/echo.sh"),
            ("gateway/echo", "/app/echo"),
        ] {
            check(&bin, path, || post(path, body));
            group.bench_function(BenchmarkId::new(mode, size), |b| {
                b.iter_batched(
                    || post(path, body),
                    |request| dispatch::handle(&ctx, request),
                    BatchSize::SmallInput,
                )
            });
        }
    }
    group.finish();
}

criterion_group!(benches, hello, post_sizes);
criterion_main!(benches);
