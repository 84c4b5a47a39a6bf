//! A small HTTP/1.1 client: one request on a fresh connection ([`request`], or
//! [`request_unix`] over a unix socket), and the one response reader
//! ([`read_response`]) that the load generator, the lesson checks, the benches and the
//! tests all use. Every read is bounded: line length, header count and body size. A
//! size a server declares is checked, never allocated: a body is read in pieces no
//! larger than the reader's buffer, and kept or only counted.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::num::IntErrorKind;
use std::os::fd::FromRawFd;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::client::deadline::{Deadline, Socket};

/// How long one request may take, in all, before the client gives up on it.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);
/// Most bytes accepted in one response body, kept or not.
const MAX_BODY: u64 = 64 << 20;
/// Longest status, header or chunk-size line accepted.
const MAX_LINE: u64 = 16 * 1024;
/// Most header (or trailer) lines accepted in one response.
const MAX_HEADER_LINES: usize = 100;

/// A response, read to its end.
#[derive(Debug, Clone, Default)]
pub struct Response {
    /// `HTTP/1.1`.
    pub version: String,
    pub status: u16,
    pub reason: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Whether the connection may carry another request.
    pub keep_alive: bool,
}

impl Response {
    /// The first value of a header field, matched case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// `200 OK`.
    pub fn status_line(&self) -> String {
        format!("{} {}", self.status, self.reason)
    }

    /// A duration from `Server-Timing`, e.g. `headers` in `headers;dur=1.178`, in ms.
    pub fn timing(&self, phase: &str) -> Option<f64> {
        self.header("Server-Timing")?.split(',').find_map(|part| {
            let (name, dur) = part.trim().split_once(";dur=")?;
            (name == phase).then(|| dur.parse().ok()).flatten()
        })
    }
}

/// What the reader does with a body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    /// Into [`Response::body`].
    Keep,
    /// Read to its end and dropped, piece by piece: a load generator needs its framing,
    /// not its bytes. Of the header fields, only [`LOAD_FIELDS`] are kept.
    Discard,
}

/// The fields a load generator reads (which server answered, and what it says each
/// response cost). Copying the others would cost the client more for a server that
/// sends more of them (`Date`, `Server-Timing`), on the cores the server shares.
pub const LOAD_FIELDS: [&str; 2] = ["Server", "Server-Timing"];

/// Reads one response from `r`: the head, then the body its framing says (none for a
/// HEAD request, 1xx, 204 and 304; chunked; `Content-Length`; or up to the close).
pub fn read_response(r: &mut impl BufRead, head_only: bool) -> io::Result<Response> {
    read_response_with(r, head_only, Body::Keep)
}

/// [`read_response`], keeping the body or discarding it.
pub fn read_response_with(
    r: &mut impl BufRead,
    head_only: bool,
    body: Body,
) -> io::Result<Response> {
    let mut line = String::new();
    read_line(r, &mut line)?;
    let status_line = line.trim_end();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default().to_string();
    let status = parts.next().and_then(|s| s.parse().ok()).ok_or_else(|| {
        bad(format!(
            "malformed status line `{}`",
            status_line.escape_debug()
        ))
    })?;
    let reason = parts.next().unwrap_or_default().to_string();
    // HTTP/1.1 keeps the connection unless told otherwise; HTTP/1.0 closes it unless
    // told otherwise (RFC 9112, section 9.3).
    let mut response = Response {
        keep_alive: version != "HTTP/1.0",
        version,
        status,
        reason,
        ..Response::default()
    };
    let (mut length, mut chunked) = (None, false);
    for _ in 0..=MAX_HEADER_LINES {
        read_line(r, &mut line)?;
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        let (name, value) = l
            .split_once(':')
            .ok_or_else(|| bad(format!("header line `{}`", l.escape_debug())))?;
        let value = value.trim();
        if name.eq_ignore_ascii_case("Content-Length") {
            length = Some(declared_size("Content-Length", value, 10, 0)?);
        } else if name.eq_ignore_ascii_case("Transfer-Encoding") {
            chunked = value.to_ascii_lowercase().contains("chunked");
        } else if name.eq_ignore_ascii_case("Connection") {
            for option in value.split(',').map(str::trim) {
                if option.eq_ignore_ascii_case("close") {
                    response.keep_alive = false;
                } else if option.eq_ignore_ascii_case("keep-alive") {
                    response.keep_alive = true;
                }
            }
        }
        if body == Body::Keep || LOAD_FIELDS.iter().any(|f| name.eq_ignore_ascii_case(f)) {
            response.headers.push((name.to_string(), value.to_string()));
        }
    }
    if !line.trim_end().is_empty() {
        return Err(bad("too many header lines"));
    }
    let bodyless = head_only || matches!(status, 100..=199 | 204 | 304);
    let mut keep = (body == Body::Keep).then_some(&mut response.body);
    if bodyless {
    } else if chunked {
        read_chunked(r, &mut line, &mut keep)?;
    } else if let Some(n) = length {
        read_body(r, n, &mut keep)?;
    } else {
        // Framed by the end of the connection.
        if read_pieces(r, MAX_BODY + 1, &mut keep)? > MAX_BODY {
            return Err(bad(format!(
                "body past this client's {} MiB limit",
                MAX_BODY >> 20
            )));
        }
        response.keep_alive = false;
    }
    Ok(response)
}

/// A chunked body, up to its last chunk and trailer fields.
fn read_chunked(
    r: &mut impl BufRead,
    line: &mut String,
    keep: &mut Option<&mut Vec<u8>>,
) -> io::Result<()> {
    let mut total = 0;
    loop {
        read_line(r, line)?;
        let size = line.trim_end().split(';').next().unwrap_or("").trim();
        let size = declared_size("chunk size", size, 16, total)?;
        if size == 0 {
            break;
        }
        read_body(r, size, keep)?;
        total += size;
        let mut crlf = [0u8; 2];
        r.read_exact(&mut crlf)?;
        if &crlf != b"\r\n" {
            return Err(bad("chunk data not followed by CRLF"));
        }
    }
    for _ in 0..=MAX_HEADER_LINES {
        read_line(r, line)?;
        if line.trim_end().is_empty() {
            return Ok(());
        }
    }
    Err(bad("too many trailer lines"))
}

/// One line, with its line end, refusing one longer than [`MAX_LINE`].
fn read_line(r: &mut impl BufRead, line: &mut String) -> io::Result<()> {
    line.clear();
    let n = r.take(MAX_LINE).read_line(line)?;
    if n == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "connection closed before the response was complete",
        ));
    }
    if !line.ends_with('\n') {
        return Err(bad("line too long"));
    }
    Ok(())
}

/// A size a server declared (`what`, in `radix`), with `so_far` body bytes already read:
/// refused unless the body stays within [`MAX_BODY`].
fn declared_size(what: &str, text: &str, radix: u32, so_far: u64) -> io::Result<u64> {
    let too_large = || {
        bad(format!(
            "{what} {} would take the body past this client's {} MiB limit",
            text.escape_debug(),
            MAX_BODY >> 20
        ))
    };
    let n = u64::from_str_radix(text, radix).map_err(|e| match e.kind() {
        IntErrorKind::PosOverflow => too_large(),
        _ => bad(format!("{what} `{}` is not a size", text.escape_debug())),
    })?;
    if n > MAX_BODY - so_far {
        return Err(too_large());
    }
    Ok(n)
}

/// Exactly `n` more body bytes (see [`read_pieces`]).
fn read_body(r: &mut impl BufRead, n: u64, keep: &mut Option<&mut Vec<u8>>) -> io::Result<()> {
    if read_pieces(r, n, keep)? < n {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "connection closed before the body was complete",
        ));
    }
    Ok(())
}

/// Up to `n` more body bytes, or fewer if the connection closes first, in pieces no
/// larger than the reader's buffer, onto the body if it is kept: its buffer grows with
/// what arrives, never with what was declared. Returns how many were read.
fn read_pieces(r: &mut impl BufRead, n: u64, keep: &mut Option<&mut Vec<u8>>) -> io::Result<u64> {
    let mut read = 0;
    while read < n {
        let piece = match r.fill_buf() {
            Ok([]) => break,
            Ok(piece) => piece,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let k = piece
            .len()
            .min(usize::try_from(n - read).unwrap_or(usize::MAX));
        if let Some(body) = keep {
            body.extend_from_slice(&piece[..k]);
        }
        r.consume(k);
        read += k as u64;
    }
    Ok(read)
}

fn bad(why: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, why.into())
}

/// One request.
pub struct Req<'a> {
    pub method: &'a str,
    pub target: &'a str,
    pub headers: Vec<(&'a str, &'a str)>,
    pub body: &'a [u8],
    /// Connect from this local address instead of 127.0.0.1.
    pub from: Option<Ipv4Addr>,
}

impl<'a> Req<'a> {
    /// A GET with no extra header fields.
    pub fn get(target: &'a str) -> Req<'a> {
        Req {
            method: "GET",
            target,
            headers: Vec::new(),
            body: b"",
            from: None,
        }
    }

    /// A POST of `body`.
    pub fn post(target: &'a str, body: &'a [u8]) -> Req<'a> {
        Req {
            method: "POST",
            body,
            ..Req::get(target)
        }
    }

    /// Adds a header field.
    pub fn header(mut self, name: &'a str, value: &'a str) -> Req<'a> {
        self.headers.push((name, value));
        self
    }
}

/// Sends `req` to `addr` on a fresh connection (`Connection: close`; `Host` is the
/// address unless `req` names one) and reads the response to its end.
pub fn request(addr: SocketAddr, req: &Req<'_>) -> Result<Response, String> {
    let what = format!("{} {}", req.method, req.target);
    let until = Instant::now() + REQUEST_TIMEOUT;
    let stream = connect(addr, req.from).map_err(|e| format!("{what}: cannot connect: {e}"))?;
    exchange(Deadline::new(stream, until), &addr.to_string(), req)
}

/// Sends `req` over the unix socket at `path` (`@NAME` for one in the abstract
/// namespace), as [`request`] does over TCP (`Host` is `localhost` unless `req` names
/// one).
pub fn request_unix(path: &Path, req: &Req<'_>) -> Result<Response, String> {
    use std::os::linux::net::SocketAddrExt;
    use std::os::unix::ffi::OsStrExt;
    let what = format!("{} {}", req.method, req.target);
    let until = Instant::now() + REQUEST_TIMEOUT;
    let stream = match path.as_os_str().as_bytes() {
        [b'@', name @ ..] => std::os::unix::net::SocketAddr::from_abstract_name(name)
            .and_then(|addr| UnixStream::connect_addr(&addr)),
        _ => UnixStream::connect(path),
    }
    .map_err(|e| format!("{what}: cannot connect to {}: {e}", path.display()))?;
    exchange(Deadline::new(stream, until), "localhost", req)
}

/// Writes `req` on `stream` and reads the response.
fn exchange<S: Socket>(
    mut stream: Deadline<S>,
    host: &str,
    req: &Req<'_>,
) -> Result<Response, String> {
    let what = format!("{} {}", req.method, req.target);
    let mut head = format!("{} {} HTTP/1.1\r\n", req.method, req.target);
    if !req
        .headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("Host"))
    {
        head.push_str(&format!("Host: {host}\r\n"));
    }
    head.push_str("User-Agent: cgilab-lessons\r\nConnection: close\r\n");
    for (name, value) in &req.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if !req.body.is_empty() || req.method == "POST" {
        head.push_str(&format!("Content-Length: {}\r\n", req.body.len()));
    }
    head.push_str("\r\n");
    let mut raw = head.into_bytes();
    raw.extend_from_slice(req.body);
    stream
        .write_all(&raw)
        .map_err(|e| format!("{what}: cannot send the request: {e}"))?;
    read_response(&mut BufReader::new(stream), req.method == "HEAD").map_err(|e| {
        if e.kind() == io::ErrorKind::TimedOut {
            format!(
                "{what}: no complete answer within {}s: {e}",
                REQUEST_TIMEOUT.as_secs()
            )
        } else {
            format!("{what}: {e}")
        }
    })
}

fn connect(addr: SocketAddr, from: Option<Ipv4Addr>) -> io::Result<TcpStream> {
    let Some(from) = from else {
        return TcpStream::connect_timeout(&addr, REQUEST_TIMEOUT);
    };
    let SocketAddr::V4(to) = addr else {
        return Err(io::Error::other("only IPv4 can pick its source"));
    };
    // std cannot bind a socket before connecting it; libc can.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let stream = TcpStream::from_raw_fd(fd); // closes fd on every path from here
        let sockaddr = |ip: Ipv4Addr, port: u16| libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: port.to_be(),
            sin_addr: libc::in_addr {
                s_addr: u32::from(ip).to_be(),
            },
            sin_zero: [0; 8],
        };
        let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        let local = sockaddr(from, 0);
        if libc::bind(fd, (&local as *const libc::sockaddr_in).cast(), len) != 0 {
            return Err(io::Error::last_os_error());
        }
        let remote = sockaddr(*to.ip(), to.port());
        if libc::connect(fd, (&remote as *const libc::sockaddr_in).cast(), len) != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(stream)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(raw: &[u8]) -> io::Result<Response> {
        read_response(&mut &raw[..], false)
    }

    #[test]
    fn reads_chunked_length_and_close_delimited_bodies() {
        let r = read(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
            .unwrap();
        assert_eq!(r.body, b"abcde");
        let r = read(b"HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nno").unwrap();
        assert_eq!(
            (r.status, r.reason.as_str(), r.text().as_str(), r.keep_alive),
            (404, "Not Found", "no", true)
        );
        let r = read(b"HTTP/1.0 200 OK\r\n\r\nto the end").unwrap();
        assert_eq!((r.text().as_str(), r.keep_alive), ("to the end", false));
        let r = read(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok").unwrap();
        assert!(!r.keep_alive, "HTTP/1.0 closes unless it says keep-alive");
        let r = read(b"HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\nok")
            .unwrap();
        assert!(r.keep_alive);
        let r = read(b"HTTP/1.1 200 OK\r\nConnection: upgrade, close\r\nContent-Length: 0\r\n\r\n")
            .unwrap();
        assert!(!r.keep_alive);
        assert!(read(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nab").is_err());
    }

    fn refused(raw: &[u8], body: Body) -> String {
        let e = read_response_with(&mut &raw[..], false, body).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData, "{e}");
        e.to_string()
    }

    /// A length past what the client reads is refused as soon as it is read, by name.
    #[test]
    fn a_declared_length_past_the_limit_is_refused_by_name() {
        let e = refused(
            b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999\r\n\r\nabc",
            Body::Keep,
        );
        assert!(
            e.contains("Content-Length 99999999999999 would take"),
            "{e}"
        );
        let e = refused(
            b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n",
            Body::Discard,
        );
        assert!(e.contains("past this client's 64 MiB limit"), "{e}");
        let e = refused(b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", Body::Keep);
        assert!(e.contains("Content-Length `-1` is not a size"), "{e}");
    }

    /// A chunk size is checked against what the body already holds, never added blindly:
    /// one that would overflow is refused like any other too large.
    #[test]
    fn a_chunk_size_past_the_limit_is_refused_by_name() {
        let e = refused(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nffffffffffffffff\r\nabc",
            Body::Keep,
        );
        assert!(e.contains("chunk size ffffffffffffffff would take"), "{e}");
        let e = refused(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1ffffffffffffffff\r\n",
            Body::Discard,
        );
        assert!(e.contains("chunk size 1ffffffffffffffff would take"), "{e}");
    }

    /// A reader that records the largest read asked of it.
    struct Watched<'a> {
        data: &'a [u8],
        largest: usize,
    }

    impl Read for Watched<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.largest = self.largest.max(buf.len());
            self.data.read(buf)
        }
    }

    /// A declared length sizes no buffer: the body comes in pieces of the reader's
    /// buffer, kept or discarded.
    #[test]
    fn a_declared_length_is_read_in_bounded_pieces() {
        let mut raw = b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n".to_vec();
        raw.resize(raw.len() + 1_000_000, b'x');
        for body in [Body::Keep, Body::Discard] {
            let mut watched = Watched {
                data: &raw,
                largest: 0,
            };
            let mut r = BufReader::with_capacity(8192, &mut watched);
            let got = read_response_with(&mut r, false, body).unwrap();
            let kept = if body == Body::Keep { 1_000_000 } else { 0 };
            assert_eq!(got.body.len(), kept);
            drop(r);
            assert!(watched.largest <= 8192, "a read of {}", watched.largest);
        }
    }

    /// A discarded body is still read to its end: the next response on the connection
    /// is read from the right place.
    #[test]
    fn a_discarded_body_is_read_to_its_end() {
        let raw = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello\
            HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n\
            HTTP/1.1 204 No Content\r\n\r\n";
        let mut r = &raw[..];
        for status in [200, 201, 204] {
            let got = read_response_with(&mut r, false, Body::Discard).unwrap();
            assert_eq!((got.status, got.body.len()), (status, 0));
        }
        assert!(r.is_empty());
    }

    /// Chunks that keep coming: the same chunk forever.
    struct Endless {
        chunk: Vec<u8>,
        at: usize,
    }

    impl Read for Endless {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = (&self.chunk[self.at..]).read(buf)?;
            self.at = (self.at + n) % self.chunk.len();
            Ok(n)
        }
    }

    /// A body without end, chunked or framed by a close that never comes, is cut at the
    /// limit even when nothing is kept.
    #[test]
    fn a_body_without_end_is_cut_at_the_limit() {
        let mut chunk = b"100000\r\n".to_vec();
        chunk.resize(chunk.len() + (1 << 20), b'x');
        chunk.extend_from_slice(b"\r\n");
        let head = &b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"[..];
        let mut r = BufReader::new(head.chain(Endless { chunk, at: 0 }));
        let e = read_response_with(&mut r, false, Body::Discard).unwrap_err();
        assert!(
            e.to_string().contains("chunk size 100000 would take"),
            "{e}"
        );
        let head = &b"HTTP/1.0 200 OK\r\n\r\n"[..];
        let mut r = BufReader::new(head.chain(io::repeat(b'x')));
        let e = read_response_with(&mut r, false, Body::Discard).unwrap_err();
        assert!(e.to_string().contains("64 MiB limit"), "{e}");
    }

    #[test]
    fn reads_server_timing_phases() {
        let r = Response {
            headers: vec![(
                "Server-Timing".into(),
                "spawn;dur=0.305, headers;dur=1.178, total;dur=1.187".into(),
            )],
            ..Response::default()
        };
        assert_eq!(r.timing("headers"), Some(1.178));
        assert_eq!(r.timing("call"), None);
    }
}
