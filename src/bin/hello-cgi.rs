//! A compiled CGI hello: the same response as cgi-bin/hello.sh with no interpreter to
//! start, so it measures what a process per request costs by itself. `cargo build
//! --release` puts it next to `cgilab`; `cgilab bench` and the benches use it.

use std::io::Write;

fn main() {
    let _ = std::io::stdout().write_all(b"Content-Type: text/plain\n\nHello, world!\n");
}
