//! The server stays the same size: what a request makes, it lets go.

use cgilab::client::http::Req;

use crate::support::*;

/// A thousand requests, of every kind that ends well or badly, leave the server with as
/// many threads and descriptors as before, and Python with no more objects than a few
/// its caches may keep (`gc.get_objects()`, counted through a route after a collection).
#[test]
fn a_thousand_requests_leave_no_growth() {
    let site = Site::new();
    let server = site.serve(&[]);
    let big = vec![b'x'; 100_000]; // spooled to a file: a descriptor per request
    let round = |server: &cgilab::client::ServerProcess| {
        for req in [
            Req::get("/wsgi/t/hello"),
            Req::get("/wsgi/t/counted"),
            Req::post("/wsgi/t/length", &big),
            Req::post("/wsgi/t/input", b"abcdef\nghi\njkl"),
            Req::get("/wsgi/t/raise"),
            Req::get("/wsgi/t/bad-header"),
            Req::get("/wsgi/t/errors"),
            Req {
                method: "HEAD",
                ..Req::get("/wsgi/t/counted")
            },
        ] {
            server.request(&req).unwrap();
        }
    };
    let counts = |server: &cgilab::client::ServerProcess| -> u64 {
        let text = get(server, "/wsgi/t/counts").text();
        let objects = text.split_whitespace().next().unwrap();
        objects.trim_start_matches("objects=").parse().unwrap()
    };
    for _ in 0..10 {
        round(&server);
    }
    let objects_before = counts(&server);
    let (threads_before, fds_before) = threads_and_fds(server.pid());
    for _ in 0..125 {
        round(&server);
    }
    let objects_after = counts(&server);
    // The last connection may still be closing (three descriptors, a thread): wait for
    // the count to come back, and fail with what it stayed at.
    let mut now = threads_and_fds(server.pid());
    let deadline = std::time::Instant::now() + WAIT;
    while now > (threads_before, fds_before) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
        now = threads_and_fds(server.pid());
    }
    let (threads_after, fds_after) = now;
    assert!(
        threads_after <= threads_before,
        "threads: {threads_before} before, {threads_after} after"
    );
    assert!(
        fds_after <= fds_before,
        "descriptors: {fds_before} before, {fds_after} after"
    );
    assert!(
        objects_after < objects_before + 100,
        "Python objects: {objects_before} before, {objects_after} after 1000 requests"
    );
}
