//! Connections that arrive before the front answers: a request already waiting in the
//! listen backlog when the server starts is answered like any other, on its own
//! connection's thread.

use std::net::TcpListener;
use std::sync::{Arc, mpsc};

use crate::support::{Conn, WAIT};

const HEAD: &[u8] = b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\na";

/// Two uploads whose heads wait in the backlog when the front starts, finished in the
/// opposite order, are both answered, and neither reaches `recv()`. Such requests used
/// to: the inline handler was set on the built server, after its accept thread started,
/// so a head read in between was queued for `recv()` and answered there, one at a time;
/// the first one's body then waited on a client that waited for the second's response,
/// and both sat silent until the read timeout.
#[test]
fn requests_waiting_in_the_backlog_reach_the_inline_handler() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut first = Conn::open(addr);
    let mut second = Conn::open(addr);
    first.send(HEAD);
    second.send(HEAD);
    let (handed_over, heads) = mpsc::channel();
    let echo: tiny_http::Handler = Arc::new(move |mut request: tiny_http::Request| {
        let _ = handed_over.send(());
        let mut body = String::new();
        let _ = request.as_reader().read_to_string(&mut body);
        let _ = request.respond(tiny_http::Response::from_string(body));
    });
    let server = tiny_http::Server::from_listener_inline(listener, None, echo, false)
        .expect("a bound listener is accepted");
    // Both heads are read and handed over; their bodies are still 2 bytes short.
    for i in 0..2 {
        heads
            .recv_timeout(WAIT)
            .unwrap_or_else(|_| panic!("head {i} never reached the handler"));
    }
    second.send(b"bc");
    let res = second.response();
    assert_eq!((res.status, res.text()), (200, "abc".to_string()));
    first.send(b"yz");
    let res = first.response();
    assert_eq!((res.status, res.text()), (200, "ayz".to_string()));
    assert!(
        server.try_recv().expect("no accept error").is_none(),
        "a request went to recv()"
    );
}
