//! The ceiling for `/app/hello`: tiny_http's own "Hello World", as its README writes it,
//! answered from 2 handler threads with no routing, environ, timing or log line.
//!
//! ```console
//! $ cargo run --release --example bare_hello -- 127.0.0.1:8002
//! $ wrk -t1 -c1 -d4s http://127.0.0.1:8002/
//! ```
//!
//! It builds on the tiny_http this crate depends on (the patched copy in
//! `vendor/tiny_http`); BENCHMARKS.md says how to build it on stock tiny_http 0.12 too.

use std::sync::Arc;
use std::thread;

fn main() {
    let listen = std::env::args().nth(1).unwrap_or("127.0.0.1:8002".into());
    let server = Arc::new(tiny_http::Server::http(&listen).expect("listening"));
    println!("bare_hello: listening on http://{}", server.server_addr());
    let handlers: Vec<_> = (0..2)
        .map(|_| {
            let server = server.clone();
            thread::spawn(move || {
                for request in server.incoming_requests() {
                    let _ = request.respond(tiny_http::Response::from_string("Hello World"));
                }
            })
        })
        .collect();
    for h in handlers {
        let _ = h.join();
    }
}
