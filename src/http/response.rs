//! Writing a response on the wire: the status line, the header fields, and a body whose
//! framing the server chooses (RFC 9112 §6).
//!
//! A body of known length is sent with `Content-Length`. A streamed body (a script's
//! output) is sent chunked to HTTP/1.1 clients, one chunk per read from the script, so the
//! client sees output as soon as the script writes it; an HTTP/1.0 client gets it
//! unframed and the connection closes after it. HEAD gets the header fields only.

use std::io::{self, Write};
use std::time::SystemTime;

use tiny_http::{ConnectionCloser, Request};

/// What the server sends as `Server`.
pub const SERVER: &str = concat!("cgilab/", env!("CARGO_PKG_VERSION"));

/// How the body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// The length is known up front.
    Length(u64),
    /// The length is known only at the end.
    Stream,
}

/// The part of the request that decides how to answer it.
#[derive(Debug, Clone, Copy)]
pub struct ClientFraming {
    pub http10: bool,
    pub head_only: bool,
    /// The client asked to close (`Connection: close`), or HTTP/1.0 without keep-alive.
    pub client_closes: bool,
}

impl ClientFraming {
    /// Reads it off a tiny_http request.
    pub fn of(request: &Request) -> ClientFraming {
        let http10 = *request.http_version() < (1, 1);
        let connection = request
            .headers()
            .iter()
            .find(|h| h.field.equiv("Connection"))
            .map(|h| h.value.as_str().to_ascii_lowercase())
            .unwrap_or_default();
        let client_closes =
            connection.contains("close") || (http10 && !connection.contains("keep-alive"));
        ClientFraming {
            http10,
            head_only: *request.method() == tiny_http::Method::Head,
            client_closes,
        }
    }
}

/// A response being written; the body goes through [`BodyWriter::write`].
pub struct BodyWriter {
    out: Box<dyn Write + Send>,
    pending: Vec<u8>,
    chunked: bool,
    send_body: bool,
    closer: Option<ConnectionCloser>,
    /// Body bytes sent (not counting framing).
    pub sent: u64,
}

/// Sends the status line and header fields; returns the writer for the body.
/// `close` ends the connection after this response (e.g. a request body left unread).
pub fn start(
    request: Request,
    status: u16,
    headers: &[(String, String)],
    framing: Framing,
    close: bool,
) -> BodyWriter {
    start_with_reason(request, status, None, headers, framing, close)
}

/// [`start`], with the app's own reason phrase (already checked: no control bytes) in
/// place of the standard one.
pub fn start_with_reason(
    request: Request,
    status: u16,
    reason_phrase: Option<&str>,
    headers: &[(String, String)],
    framing: Framing,
    close: bool,
) -> BodyWriter {
    let client = ClientFraming::of(&request);
    let bodyless = client.head_only || status == 204 || status == 304;
    let chunked = framing == Framing::Stream && !client.http10 && !bodyless;
    // A streamed body to an HTTP/1.0 client ends when the connection does.
    let must_close = framing == Framing::Stream && client.http10 && !bodyless;
    let closer = request.connection_closer();
    // A client still waiting for `100 Continue` may or may not send its body after this
    // answer (RFC 9110 §10.1.1), so the connection ends with it.
    let closing = close || must_close || client.client_closes || request.awaits_continue();
    if closing && let Some(c) = &closer {
        c.close_after_response();
    }

    let mut head = Vec::with_capacity(256);
    let version = if client.http10 {
        "HTTP/1.0"
    } else {
        "HTTP/1.1"
    };
    let _ = write!(head, "{version} {status} ");
    push_latin1(&mut head, reason_phrase.unwrap_or(reason(status)));
    head.extend_from_slice(b"\r\n");
    let has = |name: &str| headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name));
    if !has("Date") {
        head.extend_from_slice(b"Date: ");
        head.extend_from_slice(now_date().as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    if !has("Server") {
        let _ = write!(head, "Server: {SERVER}\r\n");
    }
    for (name, value) in headers {
        head.extend_from_slice(name.as_bytes());
        head.extend_from_slice(b": ");
        push_latin1(&mut head, value);
        head.extend_from_slice(b"\r\n");
    }
    match framing {
        Framing::Length(n) if status != 204 && status != 304 => {
            let _ = write!(head, "Content-Length: {n}\r\n");
        }
        _ if chunked => head.extend_from_slice(b"Transfer-Encoding: chunked\r\n"),
        _ => {}
    }
    if closing {
        head.extend_from_slice(b"Connection: close\r\n");
    } else if client.http10 {
        head.extend_from_slice(b"Connection: keep-alive\r\n");
    }
    head.extend_from_slice(b"\r\n");
    BodyWriter {
        out: request.into_writer(),
        pending: head,
        chunked,
        send_body: !bodyless,
        closer,
        sent: 0,
    }
}

impl BodyWriter {
    /// Sends a piece of the body now (with anything still pending, such as the head).
    pub fn write(&mut self, data: &[u8]) -> io::Result<()> {
        // A large unframed piece goes out as it is, not copied behind the head first.
        if self.send_body && !self.chunked && data.len() > 64 * 1024 {
            self.flush()?;
            self.out.write_all(data)?;
            self.sent += data.len() as u64;
            return self.out.flush();
        }
        if self.send_body && !data.is_empty() {
            if self.chunked {
                let _ = write!(self.pending, "{:x}\r\n", data.len());
                self.pending.extend_from_slice(data);
                self.pending.extend_from_slice(b"\r\n");
            } else {
                self.pending.extend_from_slice(data);
            }
            self.sent += data.len() as u64;
        }
        self.flush()
    }

    /// Sends whatever is pending.
    pub fn flush(&mut self) -> io::Result<()> {
        if !self.pending.is_empty() {
            self.out.write_all(&self.pending)?;
            self.pending.clear();
        }
        self.out.flush()
    }

    /// Ends the body properly.
    pub fn finish(mut self) -> io::Result<u64> {
        if self.chunked {
            self.pending.extend_from_slice(b"0\r\n\r\n");
        }
        self.flush()?;
        Ok(self.sent)
    }

    /// Ends the response short: the connection is cut, so the client sees an incomplete
    /// body instead of a complete-looking one.
    pub fn abort(self) -> u64 {
        if let Some(closer) = &self.closer {
            closer.abort();
        }
        self.sent
    }
}

/// A field value goes out as octets (RFC 9110 §5.5): each char up to U+00FF as one byte
/// (Latin-1, as WSGI holds header values), so obs-text a script wrote comes back out
/// unchanged; a char beyond Latin-1, which no octet can hold, goes as UTF-8.
fn push_latin1(out: &mut Vec<u8>, value: &str) {
    if value.is_ascii() {
        out.extend_from_slice(value.as_bytes());
        return;
    }
    for c in value.chars() {
        match u8::try_from(u32::from(c)) {
            Ok(b) => out.push(b),
            Err(_) => out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
        }
    }
}

/// Sends a complete response with a body in memory.
pub fn send(
    request: Request,
    status: u16,
    headers: &[(String, String)],
    body: &[u8],
    close: bool,
) -> io::Result<u64> {
    let mut w = start(
        request,
        status,
        headers,
        Framing::Length(body.len() as u64),
        close,
    );
    w.write(body)?;
    w.finish()
}

/// A response an nph script writes itself: the bytes pass through unmodified, and the
/// connection ends after them, since only the script knows how its body is framed.
pub fn raw(request: Request) -> BodyWriter {
    let closer = request.connection_closer();
    if let Some(c) = &closer {
        c.close_after_response();
    }
    BodyWriter {
        out: request.into_writer(),
        pending: Vec::new(),
        chunked: false,
        send_body: true,
        closer,
        sent: 0,
    }
}

/// The reason phrase of a status code (RFC 9110 §15).
pub fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        206 => "Partial Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        418 => "I'm a teapot",
        422 => "Unprocessable Content",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => match status / 100 {
            2 => "Success",
            3 => "Redirection",
            4 => "Client Error",
            _ => "Server Error",
        },
    }
}

/// The current IMF-fixdate, formatted once a second per thread.
fn now_date() -> std::rc::Rc<str> {
    thread_local! {
        static CACHE: std::cell::RefCell<(u64, std::rc::Rc<str>)> =
            std::cell::RefCell::new((u64::MAX, "".into()));
    }
    let now = SystemTime::now();
    let secs = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.0 != secs {
            *c = (secs, http_date(now).into());
        }
        c.1.clone()
    })
}

/// An IMF-fixdate (RFC 9110 §5.6.7): `Sun, 06 Nov 1994 08:49:37 GMT`.
pub fn http_date(t: SystemTime) -> String {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{}, {day:02} {} {year} {:02}:{:02}:{:02} GMT",
        WEEKDAYS[(days % 7) as usize],
        MONTHS[(month - 1) as usize],
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn http_date_is_imf_fixdate() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777);
        assert_eq!(http_date(t), "Sun, 06 Nov 1994 08:49:37 GMT");
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(951_782_400); // leap day
        assert_eq!(http_date(t), "Tue, 29 Feb 2000 00:00:00 GMT");
    }
}
