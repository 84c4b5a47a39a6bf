//! Serve your own app next to the built-ins, the way one mounts a WSGI app.
//!
//! ```console
//! $ cargo run --example custom_app -- 127.0.0.1:8001
//! $ curl http://127.0.0.1:8001/app/greet?name=Ada
//! Hello, Ada!
//! ```

use cgilab::config::Config;
use cgilab::gateway::{AppRequest, AppResponse, Apps};
use cgilab::server::Server;

/// An app is a function from the request to a response: WSGI's callable.
fn greet(req: AppRequest<'_>) -> AppResponse {
    let query = req.environ.get("QUERY_STRING").unwrap_or("");
    let name = cgilab::gateway::apps::parse_form(query)
        .into_iter()
        .find(|(k, _)| k == "name")
        .map_or("world".to_string(), |(_, v)| v);
    AppResponse::text(200, format!("Hello, {name}!\n"))
}

fn main() {
    let listen = std::env::args().nth(1).unwrap_or("127.0.0.1:8001".into());
    // As `cgilab serve` does: a panicking app costs its request one log line.
    cgilab::server::one_line_panics();
    // Every setting of `cgilab serve` at its default, but the address.
    let config = Config::new(&listen, "./cgi-bin").unwrap_or_else(|e| {
        eprintln!("custom_app: error: {e}");
        std::process::exit(1);
    });
    // The built-in apps, plus one of our own; closures work too.
    let apps = Apps::builtin()
        .with("greet", greet)
        .with("time", |_: AppRequest<'_>| {
            let now = std::time::SystemTime::now();
            AppResponse::text(200, cgilab::http::response::http_date(now) + "\n")
        });
    let server = Server::bind_with_apps(config, apps).unwrap_or_else(|e| {
        eprintln!("custom_app: error: {e}");
        std::process::exit(1);
    });
    server.run();
}
