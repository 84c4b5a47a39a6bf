//! The built-in gateway apps: each is the twin of a script in cgi-bin and answers with a
//! byte-identical body, so the only difference left to measure is the process.

use std::io::Read;
use std::time::Duration;

use crate::gateway::app::{AppBody, AppRequest, AppResponse, Apps};
use crate::request::percent::decode_form;

impl Apps {
    /// The built-in apps, twins of the scripts in cgi-bin.
    pub fn builtin() -> Apps {
        register(Apps::empty())
    }
}

/// Adds the built-in apps to `apps`.
pub fn register(apps: Apps) -> Apps {
    apps.with("hello", hello)
        .with("printenv", printenv)
        .with("form", form)
        .with("redirect", redirect)
        .with("status", status)
        .with("slow", slow)
        .with("stream", stream)
}

/// Twin of hello.sh, hello.py and hello.pl.
pub fn hello(_: AppRequest<'_>) -> AppResponse {
    AppResponse::text(200, "Hello, world!\n")
}

/// Twin of printenv.sh: the meta-variables, one `NAME=value` line each, sorted.
pub fn printenv(req: AppRequest<'_>) -> AppResponse {
    let mut lines: Vec<String> = req
        .environ
        .iter()
        .map(|(n, v)| format!("{n}={v}\n"))
        .collect();
    lines.sort();
    AppResponse::text(200, lines.concat())
}

/// Twin of form.py: the fields of the query and of an urlencoded POST body.
pub fn form(req: AppRequest<'_>) -> AppResponse {
    let env = req.environ;
    let mut out = format!("method {}\n", env.get("REQUEST_METHOD").unwrap_or(""));
    for (name, value) in parse_form(env.get("QUERY_STRING").unwrap_or("")) {
        out.push_str(&format!("query {name}={value}\n"));
    }
    let length: u64 = env
        .get("CONTENT_LENGTH")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    let mut body = Vec::new();
    let _ = req.input.take(length).read_to_end(&mut body);
    let ctype = env.get("CONTENT_TYPE").unwrap_or("");
    if ctype.starts_with("application/x-www-form-urlencoded") {
        for (name, value) in parse_form(&String::from_utf8_lossy(&body)) {
            out.push_str(&format!("form {name}={value}\n"));
        }
    }
    AppResponse::new(200, "text/plain; charset=utf-8", out)
}

/// Twin of redirect.sh: a client redirect to the hello app.
pub fn redirect(req: AppRequest<'_>) -> AppResponse {
    let env = req.environ;
    let host = match env.get("HTTP_HOST") {
        Some(h) if !h.is_empty() => h.to_string(),
        _ => format!(
            "{}:{}",
            env.get("SERVER_NAME").unwrap_or(""),
            env.get("SERVER_PORT").unwrap_or("")
        ),
    };
    AppResponse {
        status: 302,
        headers: vec![("Location".into(), format!("http://{host}/app/hello"))],
        body: AppBody::Full(Vec::new()),
    }
}

/// Twin of status.sh: `?code=418` chooses the status; 404 otherwise.
pub fn status(req: AppRequest<'_>) -> AppResponse {
    let query = req.environ.get("QUERY_STRING").unwrap_or("");
    let code = query
        .strip_prefix("code=")
        .filter(|c| c.len() == 3 && c.bytes().all(|b| b.is_ascii_digit()))
        .filter(|c| (b'2'..=b'5').contains(&c.as_bytes()[0]))
        .and_then(|c| c.parse().ok())
        .unwrap_or(404);
    AppResponse::text(code, format!("status {code}\n"))
}

/// Twin of slow.sh: `?secs=5` sleeps that long (default 2) before answering. In-process,
/// the sleep holds a server thread, and nothing can cut it short.
pub fn slow(req: AppRequest<'_>) -> AppResponse {
    let query = req.environ.get("QUERY_STRING").unwrap_or("");
    let secs: u64 = query
        .strip_prefix("secs=")
        .filter(|s| (1..=2).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|s| s.parse().ok())
        .unwrap_or(2);
    std::thread::sleep(Duration::from_secs(secs));
    AppResponse::text(200, format!("slept {secs}\n"))
}

/// Twin of stream.sh: five lines, half a second apart, each sent as it is made.
pub fn stream(_: AppRequest<'_>) -> AppResponse {
    let lines = (1..=5).map(|i| {
        if i > 1 {
            std::thread::sleep(Duration::from_millis(500));
        }
        format!("line {i}\n").into_bytes()
    });
    AppResponse {
        status: 200,
        headers: vec![("Content-Type".into(), "text/plain".into())],
        body: AppBody::Stream(Box::new(lines)),
    }
}

/// `application/x-www-form-urlencoded` fields, decoded as Python's `parse_qsl` does with
/// `keep_blank_values=True`: `+` is a space, a malformed escape stays as it is.
pub fn parse_form(s: &str) -> Vec<(String, String)> {
    s.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode_form(name), decode_form(value))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_fields_decode_like_parse_qsl() {
        let got = parse_form("a=1&b=x+y%21&c&&d=%zz");
        let want = [("a", "1"), ("b", "x y!"), ("c", ""), ("d", "%zz")];
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        assert_eq!(got, want);
    }
}
