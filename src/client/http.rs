//! A small HTTP/1.1 client: one request on a fresh connection ([`request`]), and the one
//! response reader ([`read_response`]) that the load generator, the lesson checks, the
//! benches and the tests all use. Every read is bounded: line length, header count and
//! body size.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::fd::FromRawFd;
use std::time::Duration;

/// How long one request may take before the client gives up on it.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);
/// Most bytes accepted in one response body.
const MAX_BODY: usize = 64 << 20;
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

/// Reads one response from `r`: the head, then the body its framing says (none for a
/// HEAD request, 1xx, 204 and 304; chunked; `Content-Length`; or up to the close).
pub fn read_response(r: &mut impl BufRead, head_only: bool) -> io::Result<Response> {
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
    let mut response = Response {
        version,
        status,
        reason,
        keep_alive: true,
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
            length = Some(value.parse::<usize>().map_err(|_| bad("Content-Length"))?);
        } else if name.eq_ignore_ascii_case("Transfer-Encoding") {
            chunked = value.to_ascii_lowercase().contains("chunked");
        } else if name.eq_ignore_ascii_case("Connection") {
            response.keep_alive = !value.eq_ignore_ascii_case("close");
        }
        response.headers.push((name.to_string(), value.to_string()));
    }
    if !line.trim_end().is_empty() {
        return Err(bad("too many header lines"));
    }
    let bodyless = head_only || matches!(status, 100..=199 | 204 | 304);
    if bodyless {
    } else if chunked {
        read_chunked(r, &mut line, &mut response.body)?;
    } else if let Some(n) = length {
        read_exact(r, &mut response.body, n)?;
    } else {
        // Framed by the end of the connection.
        r.take(MAX_BODY as u64 + 1)
            .read_to_end(&mut response.body)?;
        if response.body.len() > MAX_BODY {
            return Err(bad("response body too large"));
        }
        response.keep_alive = false;
    }
    Ok(response)
}

/// A chunked body, up to its last chunk and trailer fields.
fn read_chunked(r: &mut impl BufRead, line: &mut String, body: &mut Vec<u8>) -> io::Result<()> {
    loop {
        read_line(r, line)?;
        let size = line.trim_end().split(';').next().unwrap_or("");
        let size = usize::from_str_radix(size.trim(), 16)
            .map_err(|_| bad(format!("chunk size `{}`", line.trim_end().escape_debug())))?;
        if size == 0 {
            break;
        }
        read_exact(r, body, size)?;
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

/// Exactly `n` more bytes onto `body`.
fn read_exact(r: &mut impl Read, body: &mut Vec<u8>, n: usize) -> io::Result<()> {
    if body.len() + n > MAX_BODY {
        return Err(bad("response body too large"));
    }
    let start = body.len();
    body.resize(start + n, 0);
    r.read_exact(&mut body[start..])
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
    let mut stream = connect(addr, req.from).map_err(|e| format!("{what}: cannot connect: {e}"))?;
    stream
        .set_read_timeout(Some(REQUEST_TIMEOUT))
        .and_then(|_| stream.set_write_timeout(Some(REQUEST_TIMEOUT)))
        .map_err(|e| e.to_string())?;
    let mut head = format!("{} {} HTTP/1.1\r\n", req.method, req.target);
    if !req
        .headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("Host"))
    {
        head.push_str(&format!("Host: {addr}\r\n"));
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
        if matches!(
            e.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        ) {
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
        assert!(read(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nab").is_err());
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
