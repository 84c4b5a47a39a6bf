//! From the script's output to the client (RFC 3875 §5, §6): header parsing, status,
//! redirects, bad output, framing and streaming.

use std::time::Duration;

use crate::support::{HELLO, Server, Site};

/// A script that prints `output` (a printf format string, so `\n`, `\r`, `\001` work).
fn printing(output: &str) -> String {
    format!("#!/bin/sh\nprintf '{output}'\n")
}

/// A server with one script, `s.sh`, printing `output`.
fn serving(output: &str) -> Server {
    Site::new().script("s.sh", &printing(output)).start()
}

/// §6.1: a header block with LF line ends is accepted.
#[test]
fn lf_header_block_is_accepted() {
    let server = serving("Content-Type: text/plain\\nX-One: 1\\n\\nbody\\n");
    let res = server.get("/cgi-bin/s.sh");
    assert_eq!(res.status, 200);
    assert_eq!(res.header("X-One"), Some("1"));
    assert_eq!(res.header("Content-Type"), Some("text/plain"));
    assert_eq!(res.text(), "body\n");
}

/// §6.1: a header block with CRLF line ends is accepted too.
#[test]
fn crlf_header_block_is_accepted() {
    let server = serving("Content-Type: text/plain\\r\\nX-One: 1\\r\\n\\r\\nbody\\r\\n");
    let res = server.get("/cgi-bin/s.sh");
    assert_eq!(res.status, 200);
    assert_eq!(res.header("X-One"), Some("1"));
    assert_eq!(res.text(), "body\r\n");
}

/// §6.3.3: the script's reason phrase goes to the client as it wrote it (RFC 9112 §4).
#[test]
fn the_scripts_reason_phrase_is_passed_on() {
    let server = serving("Status: 299 Custom Reason\nContent-Type: text/plain\n\nok\n");
    let res = server.get("/cgi-bin/s.sh");
    assert_eq!(res.status, 299);
    assert_eq!(res.status_line(), "299 Custom Reason");
}

/// §6.3.3: the Status header chooses the response code.
#[test]
fn status_header_chooses_the_code() {
    let server = serving("Status: 418 I am a teapot\\nContent-Type: text/plain\\n\\nteapot\\n");
    let res = server.get("/cgi-bin/s.sh");
    assert_eq!(res.status, 418);
    assert_eq!(
        res.header("Status"),
        None,
        "Status is not a response header"
    );
    assert_eq!(res.text(), "teapot\n");
}

/// §6.2.3: an absolute Location without Status is a client redirect: 302.
#[test]
fn location_without_status_is_302() {
    let server = serving("Location: http://example.test/elsewhere\\n\\n");
    let res = server.get("/cgi-bin/s.sh");
    assert_eq!(res.status, 302);
    assert_eq!(
        res.header("Location"),
        Some("http://example.test/elsewhere")
    );
}

/// §6.2.4: a Status next to an absolute Location chooses the redirect's code.
#[test]
fn status_overrides_the_redirect_code() {
    let server = serving(
        "Status: 301 Moved\\nLocation: https://example.test/new\\nContent-Type: text/plain\\n\\nmoved\\n",
    );
    let res = server.get("/cgi-bin/s.sh");
    assert_eq!(res.status, 301);
    assert_eq!(res.header("Location"), Some("https://example.test/new"));
}

/// §6.2.2: a local Location (`/path`) is served by the server itself; the client sees the
/// target's response, never a 302.
#[test]
fn local_location_is_served_internally() {
    let server = Site::new()
        .script("from.sh", &printing("Location: /cgi-bin/to.sh?x=1\\n\\n"))
        .script(
            "to.sh",
            "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\ntarget %s %s\\n' \"$REQUEST_METHOD\" \"$QUERY_STRING\"\n",
        )
        .start();
    let res = server.get("/cgi-bin/from.sh");
    assert_eq!(res.status, 200, "{}", server.log_text());
    assert_eq!(res.header("Location"), None);
    assert_eq!(res.text(), "target GET x=1\n");
    // One request, one log line, which says where the redirect led.
    let line = server.access_line("GET", "/cgi-bin/from.sh");
    assert!(line.contains("local-redirect=/cgi-bin/to.sh?x=1"), "{line}");
}

/// §6.2.2: a script that redirects locally to itself ends in 500, not a hang.
#[test]
fn local_redirect_loop_ends_in_500() {
    let server = Site::new()
        .script("loop.sh", &printing("Location: /cgi-bin/loop.sh\\n\\n"))
        .start();
    let res = server.get("/cgi-bin/loop.sh");
    assert_eq!(res.status, 500);
    let line = server.access_line("GET", "/cgi-bin/loop.sh");
    assert!(line.contains(" 500 ") && line.contains("error="), "{line}");
}

const NPH: &[u8] =
    b"HTTP/1.1 299 Odd Reason\r\nX-Spacing:   kept   \r\nContent-Length: 5\r\n\r\nhello";

fn nph_server() -> Server {
    Site::new()
        .script(
            "nph-raw.sh",
            "#!/bin/sh\nprintf 'HTTP/1.1 299 Odd Reason\\r\\nX-Spacing:   kept   \\r\\nContent-Length: 5\\r\\n\\r\\nhello'\n",
        )
        .start()
}

/// §5: an nph- script's output reaches the client unmodified, byte for byte.
#[test]
fn nph_output_passes_through_byte_exact() {
    let server = nph_server();
    let mut conn = server.connect();
    conn.send(b"GET /cgi-bin/nph-raw.sh HTTP/1.1\r\nHost: x\r\n\r\n");
    let got = conn.read_to_close().expect("reading to close");
    assert_eq!(
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(NPH),
        "nph output altered"
    );
}

/// §5: after an nph- response the connection closes, even if the client asked to keep it.
#[test]
fn nph_response_closes_the_connection() {
    let server = nph_server();
    let mut conn = server.connect();
    conn.send(b"GET /cgi-bin/nph-raw.sh HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n");
    let res = conn.response();
    assert_eq!(res.status, 299);
    assert_eq!(res.body, b"hello");
    assert!(
        conn.closed_within(Duration::from_secs(10)),
        "connection left open"
    );
}

/// The script `s.sh` prints `output`; the client gets 502 and the log one line: the access
/// line, whose error names `why`.
fn assert_bad_output(output: &str, why: &str) {
    assert_bad_script(&printing(output), why);
}

/// The script `s.sh` is `script`; the client gets 502 and the log one line, naming `why`.
fn assert_bad_script(script: &str, why: &str) {
    let server = Site::new().script("s.sh", script).start();
    let res = server.get("/cgi-bin/s.sh");
    assert_eq!(res.status, 502, "{why}: {}", res.text());
    let line = server.access_line("GET", "/cgi-bin/s.sh");
    assert!(line.contains(" 502 ") && line.contains("error="), "{line}");
    assert!(
        line.contains(why),
        "the error does not name `{why}`: {line}"
    );
    let lines: Vec<String> = server
        .log()
        .into_iter()
        .filter(|l| l.contains("s.sh"))
        .collect();
    assert_eq!(lines.len(), 1, "{why}: expected one log line: {lines:#?}");
}

/// §6: a script that prints nothing is a bad gateway.
#[test]
fn no_output_is_502() {
    assert_bad_output("", "no output");
}

/// §6: output that starts with a blank line has no header block.
#[test]
fn blank_first_line_is_502() {
    assert_bad_output("\\nbody\\n", "no headers");
}

/// §6.3: every header line needs a colon.
#[test]
fn header_line_without_colon_is_502() {
    assert_bad_output("this is not a header\\n\\nbody\\n", "colon");
}

/// §6.3: a header name must be a token.
#[test]
fn invalid_header_name_is_502() {
    assert_bad_output(
        "Content-Type: text/plain\\nBad Name: x\\n\\nbody\\n",
        "header name",
    );
}

/// §6.3: a control character in a header value would let a script split the response.
#[test]
fn control_char_in_header_value_is_502() {
    assert_bad_output(
        "Content-Type: text/plain\\nX-Evil: a\\001b\\n\\nbody\\n",
        "control character",
    );
}

/// §6.3: a NUL in a header value is refused.
#[test]
fn nul_in_header_value_is_502() {
    assert_bad_output(
        "Content-Type: text/plain\\nX-Evil: a\\000b\\n\\nbody\\n",
        "control character",
    );
}

/// §6.3.3: Status must start with a three-digit code.
#[test]
fn non_numeric_status_is_502() {
    assert_bad_output(
        "Status: abc\\nContent-Type: text/plain\\n\\nbody\\n",
        "Status",
    );
}

/// §6.3.3: Status must be a three-digit code a response can have.
#[test]
fn two_digit_status_is_502() {
    assert_bad_output(
        "Status: 99\\nContent-Type: text/plain\\n\\nbody\\n",
        "Status",
    );
}

/// A header block over 64 KiB is refused rather than buffered without end.
#[test]
fn header_block_over_64_kib_is_502() {
    assert_bad_script(
        "#!/bin/sh\nprintf 'Content-Type: text/plain\\n'\n\
         i=0\nwhile [ $i -lt 2000 ]; do\n  \
         printf 'X-Filler-%d: %s\\n' $i 0123456789012345678901234567890123456789\n  \
         i=$((i+1))\ndone\nprintf '\\nbody\\n'\n",
        "64 KiB",
    );
}

/// §6.2: a response needs at least one of Content-Type, Location or Status.
#[test]
fn no_content_type_location_or_status_is_502() {
    assert_bad_output(
        "X-Only: header\\n\\nbody\\n",
        "Content-Type, Location or Status",
    );
}

/// A script's own Content-Length, Transfer-Encoding and Connection cannot corrupt the
/// framing: the next request on the same keep-alive connection still works.
#[test]
fn script_framing_headers_do_not_corrupt_keep_alive() {
    let server = Site::new()
        .script(
            "liar.sh",
            &printing(
                "Content-Type: text/plain\\nContent-Length: 13\\nTransfer-Encoding: chunked\\nConnection: close\\n\\nhello, world\\n",
            ),
        )
        .script("hello.sh", HELLO)
        .start();
    let mut conn = server.connect();
    let res = conn.get("/cgi-bin/liar.sh");
    assert_eq!(res.status, 200);
    assert_eq!(res.text(), "hello, world\n");
    assert_eq!(res.headers_named("Content-Length"), ["13"]);
    assert!(res.headers_named("Transfer-Encoding").is_empty());
    let next = conn.get("/cgi-bin/hello.sh");
    assert_eq!(next.status, 200);
    assert_eq!(next.text(), "Hello, world!\n");
    let again = conn.get("/cgi-bin/liar.sh");
    assert_eq!(again.text(), "hello, world\n");
}

/// A HEAD request gets the header fields and no body; the connection stays in step.
#[test]
fn head_request_gets_no_body() {
    let server = Site::new().script("hello.sh", HELLO).start();
    let mut conn = server.connect();
    let res = conn.request("HEAD", "/cgi-bin/hello.sh", &[], b"");
    assert_eq!(res.status, 200);
    assert_eq!(res.header("Content-Type"), Some("text/plain"));
    // Any body bytes sent would be taken for the start of the next response.
    let next = conn.get("/cgi-bin/hello.sh");
    assert_eq!(next.status, 200);
    assert_eq!(next.text(), "Hello, world!\n");
}

/// The body streams: what the script writes reaches the client before the script is done.
/// The script writes its second line only once the client has its first, and the client
/// says so by creating `$STATE_DIR/go` (a script whose output waited for its end would
/// wait for ever, or until this client gives up).
#[test]
fn output_streams_as_the_script_writes() {
    let server = Site::new()
        .script(
            "drip.sh",
            "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n'\necho first-line\ni=0\nwhile [ ! -e \"$STATE_DIR/go\" ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i + 1)); done\n[ -e \"$STATE_DIR/go\" ] && echo second-line\n",
        )
        .start();
    let mut conn = server.connect();
    conn.send(b"GET /cgi-bin/drip.sh HTTP/1.1\r\nHost: x\r\n\r\n");
    conn.read_until(b"first-line").expect("the first line");
    std::fs::write(server.state().join("go"), "").unwrap();
    let res = conn.response();
    assert_eq!(res.text(), "first-line\nsecond-line\n");
}

/// A 20 MiB body streams through intact.
#[test]
fn twenty_mib_body_streams_intact() {
    const LINE: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz-cgilab\n";
    const SIZE: usize = 20 * 1024 * 1024;
    let server = Site::new()
        .script(
            "big.sh",
            &format!(
                "#!/bin/sh\nprintf 'Content-Type: application/octet-stream\\n\\n'\nyes '{}' | head -c {SIZE}\n",
                std::str::from_utf8(&LINE[..LINE.len() - 1]).unwrap()
            ),
        )
        .start();
    let res = server.get("/cgi-bin/big.sh");
    assert_eq!(res.status, 200, "{}", server.log_text());
    assert_eq!(res.body.len(), SIZE);
    let expected: Vec<u8> = LINE.iter().copied().cycle().take(SIZE).collect();
    assert!(res.body == expected, "the body came back altered");
}

/// A 204 has no body even if the script prints one; the connection stays in step.
#[test]
fn status_204_sends_no_body() {
    let server = Site::new()
        .script(
            "empty.sh",
            &printing("Status: 204 No Content\\nContent-Type: text/plain\\n\\nmust not be sent\\n"),
        )
        .script("hello.sh", HELLO)
        .start();
    let mut conn = server.connect();
    let res = conn.get("/cgi-bin/empty.sh");
    assert_eq!(res.status, 204);
    let next = conn.get("/cgi-bin/hello.sh");
    assert_eq!(
        next.status, 200,
        "body bytes of the 204 leaked into the next response"
    );
    assert_eq!(next.text(), "Hello, world!\n");
}

/// §6.2.2: a local redirect is answered as a GET for the new location; the body was for
/// the first script, so the second sees no CONTENT_LENGTH and no body framing.
#[test]
fn local_redirect_of_a_post_is_a_get_without_a_body() {
    let server = Site::new()
        .script("from.sh", &printing("Location: /cgi-bin/env.sh\\n\\n"))
        .script("env.sh", crate::support::ENV_ECHO)
        .start();
    let res = server.connect().request(
        "POST",
        "/cgi-bin/from.sh",
        &[("Content-Type", "text/plain")],
        b"abc",
    );
    assert_eq!(res.status, 200, "{}", server.log_text());
    let env = res.env();
    assert_eq!(env.get("REQUEST_METHOD").map(String::as_str), Some("GET"));
    assert_eq!(env.get("CONTENT_TYPE"), None);
    assert_eq!(env.get("CONTENT_LENGTH"), None, "a GET without a body");

    let mut conn = server.connect();
    conn.send(
        b"POST /cgi-bin/from.sh HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    );
    let env = conn.response().env();
    assert_eq!(env.get("CONTENT_LENGTH"), None, "a GET without a body");
    assert_eq!(env.get("HTTP_TRANSFER_ENCODING"), None);
}

/// §5: an nph- script that prints nothing has sent nothing, so the server can still
/// answer 502, as for any script without output.
#[test]
fn nph_script_with_no_output_is_502() {
    let server = Site::new()
        .script("nph-empty.sh", "#!/bin/sh\nexit 0\n")
        .start();
    let res = server
        .connect()
        .try_response_to("GET", "/cgi-bin/nph-empty.sh");
    assert_eq!(res.map(|r| r.status).ok(), Some(502));
}

/// A script that cannot be started (its interpreter does not exist) is a 500, logged.
#[test]
fn script_that_cannot_start_is_500() {
    let server = Site::new()
        .script("badbang.sh", "#!/nonexistent/interpreter\n")
        .start();
    let res = server.get("/cgi-bin/badbang.sh");
    assert_eq!(res.status, 500);
    let line = server.access_line("GET", "/cgi-bin/badbang.sh");
    assert!(line.contains(" 500 ") && line.contains("error="), "{line}");
}

/// RFC 9112 §6.3: HTTP/1.0 has no chunked coding, so a streamed script's body reaches an
/// HTTP/1.0 client unframed and the connection closes to end it; a body of known length
/// (a gateway app) keeps the connection open when the client asked for keep-alive.
#[test]
fn http10_clients_get_a_close_delimited_stream_or_a_length() {
    let server = Site::new().script("hello.sh", HELLO).start();
    let mut conn = server.connect();
    conn.send(b"GET /cgi-bin/hello.sh HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    let raw = String::from_utf8(conn.read_to_close().unwrap()).unwrap();
    assert!(raw.starts_with("HTTP/1.0 200 "), "{raw}");
    assert!(!raw.contains("Transfer-Encoding"), "{raw}");
    assert!(raw.contains("Connection: close\r\n"), "{raw}");
    assert!(raw.ends_with("\r\n\r\nHello, world!\n"), "{raw}");

    let mut conn = server.connect();
    conn.send(b"GET /app/hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    let first = conn.response();
    assert_eq!(first.header("Content-Length"), Some("14"));
    assert_eq!(first.header("Connection"), Some("keep-alive"));
    conn.send(b"GET /app/hello HTTP/1.0\r\n\r\n");
    assert_eq!(conn.response().text(), "Hello, world!\n");
}
