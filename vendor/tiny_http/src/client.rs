//! One client connection: read a request, hand it over, wait until it is answered, then
//! read the next.
//!
//! cgilab patch: upstream parsed pipelined requests ahead without limit into the server's
//! queue, so a client that never read its responses grew the server without bound and
//! held every worker on its writer; bytes left in an unread body were parsed as requests.
//! Now at most one request of a connection is in flight: the next head is not read until
//! the previous response is written and the previous body read to its end (or the
//! connection is closed), and a response that ends the connection is the last thing
//! written on it.

use std::io::{BufWriter, ErrorKind, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::channel;
use std::sync::Arc;
use std::time::Duration;

use crate::body::{Body, Framed, Outbound};
use crate::head::{self, HeadError, Refusal};
use crate::util::{Inbound, RefinedTcpStream};
use crate::Request;

/// A request head may take this many read timeouts from its first byte.
const HEAD_TIME_FACTOR: u32 = 2;

/// What a request's handler shares with its connection.
pub(crate) struct Shared {
    /// A clone of the socket, to shut it down from the handler's thread.
    pub(crate) socket: Option<crate::connection::Connection>,
    /// Set when the handler ends the connection: no request is read after this one.
    pub(crate) closing: AtomicBool,
}

pub struct ClientConnection {
    remote_addr: Option<SocketAddr>,
    inbound: Inbound,
    outbound: BufWriter<RefinedTcpStream>,
    secure: bool,
    shared: Arc<Shared>,
    /// The socket's read timeout: a head gets twice that, a body that as a grace period.
    read_timeout: Option<Duration>,
}

impl ClientConnection {
    /// Creates a new `ClientConnection` that takes ownership of the `TcpStream`.
    pub fn new(write_socket: RefinedTcpStream, mut read_socket: RefinedTcpStream) -> Self {
        let remote_addr = read_socket.peer_addr().ok().flatten();
        let secure = read_socket.secure();
        let shared = Arc::new(Shared {
            socket: read_socket.closer(),
            closing: AtomicBool::new(false),
        });
        let read_timeout = read_socket.read_timeout();
        ClientConnection {
            remote_addr,
            inbound: Inbound::new(read_socket),
            outbound: BufWriter::with_capacity(1024, write_socket),
            secure,
            shared,
            read_timeout,
        }
    }

    /// Reads requests and gives each to `deliver`, one at a time, until the connection
    /// ends. With `refusal_events`, a head the front refuses is delivered too (as a
    /// request whose [`Request::refusal`] is set) so the server answers and logs it;
    /// otherwise the front answers it itself.
    pub(crate) fn serve(self, refusal_events: &AtomicBool, mut deliver: impl FnMut(Request)) {
        let ClientConnection {
            remote_addr,
            mut inbound,
            mut outbound,
            secure,
            shared,
            read_timeout,
        } = self;
        let head_limit = read_timeout.map(|t| t * HEAD_TIME_FACTOR);
        loop {
            let head = match head::read(&mut inbound, head_limit) {
                Ok(head) => head,
                Err(HeadError::Closed) => return,
                Err(HeadError::Refused(refusal)) => {
                    if refusal_events.load(Ordering::Relaxed) {
                        let (back, returned) = channel();
                        let writer = Outbound::new(outbound, back);
                        deliver(Request::refused(refusal, secure, remote_addr, writer, &shared));
                        // Wait until it is answered; then the connection closes.
                        let _ = returned.recv();
                    } else {
                        write_refusal(&mut outbound, &refusal);
                    }
                    linger(&shared, &mut inbound);
                    return;
                }
            };
            let last = head.last;
            let expects_continue = head.expects_continue;
            let (body_back, body_returned) = channel();
            let (writer_back, writer_returned) = channel();
            let framed = Framed::new(head.framing, read_timeout.map(|t| t * HEAD_TIME_FACTOR));
            let body = Body::new(inbound, framed, body_back);
            let writer = Outbound::new(outbound, writer_back);
            deliver(Request::from_head(head, secure, remote_addr, body, writer, &shared));

            // The body comes back when the request is answered or dropped; what the
            // handler left unread is read now, while its response is being written.
            let Ok((mut src, mut framed)) = body_returned.recv() else {
                return;
            };
            // A client that waits for `100 Continue` and was answered without it may
            // send its body or may not (RFC 9110 §10.1.1): reading on could take its
            // next request for the body, so the connection ends instead.
            let unasked = expects_continue && framed.untouched();
            let drained = !unasked && framed.drain(&mut src);
            let Ok((writer, failed)) = writer_returned.recv() else {
                return;
            };
            if failed {
                return;
            }
            if !drained || last || shared.closing.load(Ordering::Acquire) {
                linger(&shared, &mut src);
                return;
            }
            inbound = src;
            outbound = writer;
        }
    }
}

/// How long, and how much, a closing connection reads and discards before it closes.
const LINGER: Duration = Duration::from_secs(2);
const LINGER_BYTES: usize = 1 << 20;

/// Ends a connection without a reset: closing a socket with unread input makes the kernel
/// send RST, which can destroy the response just written before the client reads it. So
/// the write side is shut first (the client sees the end of the response), and what the
/// client still sends is read and dropped, for a bounded time, until it closes too
/// (Apache calls this a lingering close).
fn linger(shared: &Shared, src: &mut Inbound) {
    let Some(socket) = &shared.socket else {
        return;
    };
    let _ = socket.shutdown(std::net::Shutdown::Write);
    let _ = socket.set_read_timeout(Some(Duration::from_millis(100)));
    let started = std::time::Instant::now();
    let mut scratch = [0u8; 8192];
    let mut total = 0;
    while started.elapsed() < LINGER && total < LINGER_BYTES {
        match std::io::Read::read(src, &mut scratch) {
            Ok(0) => break,
            Ok(n) => total += n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
}

/// The front's own answer to a head it refuses, for servers that do not take refusals
/// as requests.
fn write_refusal(out: &mut BufWriter<RefinedTcpStream>, refusal: &Refusal) {
    let reason = crate::StatusCode(refusal.status).default_reason_phrase();
    let _ = write!(
        out,
        "HTTP/1.1 {} {reason}\r\nServer: tiny-http (Rust)\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        refusal.status
    );
    let _ = out.flush();
}
