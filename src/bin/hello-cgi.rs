//! A compiled CGI hello: the same response as cgi-bin/hello.sh with no interpreter to
//! start, so it measures what a process per request costs by itself. `cargo build
//! --release` puts it next to `cgilab`; `cgilab bench` and the benches use it.
//!
//! `no_main` skips Rust's runtime start-up (which reads /proc/self/maps and sets up
//! signal handlers): this program should cost as little as a C one.

#![no_main]

#[unsafe(no_mangle)]
pub extern "C" fn main(_argc: i32, _argv: *const *const u8) -> i32 {
    const RESPONSE: &[u8] = b"Content-Type: text/plain\n\nHello, world!\n";
    let n = unsafe { libc::write(1, RESPONSE.as_ptr().cast(), RESPONSE.len()) };
    if n == RESPONSE.len() as isize { 0 } else { 1 }
}
