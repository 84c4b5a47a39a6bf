//! The spawn floor: the cost of a process with no HTTP at all. A script is started exactly
//! as the CGI host starts it for the bench's own request (the same [`crate::cgi::command()`]:
//! the same program and arguments, by the script's `#!` line or its extension; the same
//! working directory and process group; the environ [`crate::request::environ::build`]
//! makes for the same request on the same server), its output is read, and it is reaped.
//! Only the HTTP is missing, the client's port in `REMOTE_PORT`, and the script's stderr,
//! which goes nowhere.
//!
//! `cgilab bench` stops the clock where its client's stops ([`spawn_times`]): at the last
//! byte of a declared `Content-Length`, else at the end of the output. The criterion
//! bench `spawn` times the whole life, to the reaping, with [`run_once`].

use std::io::Read;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::cgi::script::Script;
use crate::request::cgi_response::{self, CgiResponse};
use crate::request::environ::{self, Environ, Invocation, RequestHead, Site};
use crate::request::route::{self, CGI_PREFIX, Route};

/// Runs `script` as the server would for a plain GET: returns its stdout and how it exited.
pub fn run_once(script: &Script, env: &Environ) -> std::io::Result<(Vec<u8>, ExitStatus)> {
    run_with(script, env, "")
}

/// Runs `script` as the server would for a GET with `query` (whose search words, if any,
/// are its arguments, RFC 3875 §4.4): returns its stdout and how it exited.
fn run_with(script: &Script, env: &Environ, query: &str) -> std::io::Result<(Vec<u8>, ExitStatus)> {
    let mut child = crate::cgi::command(script, env, query)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut out = Vec::new();
    if let Some(mut stdout) = child.stdout.take() {
        stdout.read_to_end(&mut out)?;
    }
    Ok((out, child.wait()?))
}

/// The bench's own server, as far as a script's start depends on it.
#[derive(Debug, Clone)]
pub struct Server {
    /// Where it listens: `SERVER_PORT`, and the `Host` the bench sends.
    pub addr: SocketAddr,
    /// Its cgi-bin (canonical); `DOCUMENT_ROOT` is its parent, as the server's is.
    pub cgi_bin: PathBuf,
    /// The arguments after `--`, for the variables `--env` and `--pass-env` add.
    pub serve_args: Vec<String>,
}

impl Server {
    /// What the server gives every script besides the meta-variables ([`Site`]): its
    /// `PATH`, then `--pass-env` and `--env` in the order the server applies them.
    pub fn site(&self) -> Site {
        let mut extra = vec![("PATH".into(), std::env::var("PATH").unwrap_or_default())];
        for name in flag_values(&self.serve_args, "--pass-env") {
            if let Ok(value) = std::env::var(name) {
                extra.push((name.to_string(), value));
            }
        }
        for pair in flag_values(&self.serve_args, "--env") {
            if let Some((name, value)) = pair.split_once('=') {
                extra.push((name.to_string(), value.to_string()));
            }
        }
        Site {
            software: crate::http::response::SERVER.into(),
            document_root: self.cgi_bin.parent().unwrap_or(&self.cgi_bin).to_path_buf(),
            extra,
            pass_auth: self.serve_args.iter().any(|a| a == "--pass-auth"),
        }
    }
}

/// The values given to `flag` in `args`, as `--flag VALUE` or `--flag=VALUE`.
fn flag_values<'a>(args: &'a [String], flag: &'a str) -> impl Iterator<Item = &'a str> {
    args.iter().enumerate().filter_map(move |(i, a)| {
        match a.strip_prefix(flag)?.strip_prefix('=') {
            Some(value) => Some(value),
            None if a == flag => args.get(i + 1).map(String::as_str),
            None => None,
        }
    })
}

/// Times of starting the script of `target` (`/cgi-bin/NAME[/PATH_INFO][?QUERY]`) as
/// `server` does for a GET of it from the bench, draining its stdout and waiting for it,
/// repeated for `budget` (at least 3 times, at most 2000).
pub fn spawn_times(server: &Server, target: &str, budget: Duration) -> Vec<Duration> {
    let mut times = Vec::new();
    let Some((script, env, query)) = prepare(server, target) else {
        return times;
    };
    let deadline = Instant::now() + budget;
    while times.len() < 2000 && (times.len() < 3 || Instant::now() < deadline) {
        let t = Instant::now();
        match run_until_answered(&script, &env, &query) {
            Ok(answered) => times.push(answered - t),
            Err(_) => break,
        }
    }
    times
}

/// Runs `script` as [`run_with`] does, and returns when its answer was complete as a
/// client sees it: at the last byte of a declared `Content-Length` (the server sends the
/// response as soon as it has them), else at the end of its output. The process is then
/// read to its end and reaped, untimed: a Python script's teardown runs after its last
/// byte (wsgiref's CGIHandler declares the length of a one-piece body), and a client of
/// the server does not wait for it either.
fn run_until_answered(script: &Script, env: &Environ, query: &str) -> std::io::Result<Instant> {
    let mut child = crate::cgi::command(script, env, query)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        // The server reads it into its log; unread here, a pipe could fill and block.
        .stderr(Stdio::null())
        .spawn()?;
    let mut out = Vec::new();
    let mut answered = None;
    let mut complete_at: Option<usize> = None; // the length of a whole answer, once known
    if let Some(mut stdout) = child.stdout.take() {
        let mut buf = [0u8; 8192];
        loop {
            let n = stdout.read(&mut buf)?;
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
            if complete_at.is_none() {
                complete_at = whole_length(&out);
            }
            if answered.is_none() && complete_at.is_some_and(|whole| out.len() >= whole) {
                answered = Some(Instant::now());
            }
        }
    }
    let answered = answered.unwrap_or_else(Instant::now);
    child.wait()?;
    Ok(answered)
}

/// The script `target` names on `server`, the environ the server would give it for the
/// bench's GET, and its query string.
pub fn prepare(server: &Server, target: &str) -> Option<(Script, Environ, String)> {
    let Ok(Route::Cgi(found)) = route::route(target) else {
        return None;
    };
    let script = crate::cgi::script::find(&server.cgi_bin, &found.name, target).ok()?;
    let (_, query) = route::split_target(target);
    let host = server.addr.to_string();
    let env = request_environ(&script, &found, target, &host, server.addr, &server.site());
    Some((script, env, query.to_string()))
}

/// How many bytes of a script's output make its answer whole, once its header block is
/// in `out` and declares a `Content-Length`: the block and that many bytes of body.
fn whole_length(out: &[u8]) -> Option<usize> {
    let (block, body) = cgi_response::find_end(out)?;
    match cgi_response::parse(&out[..block]) {
        Ok(CgiResponse::Document(head)) => head.content_length.map(|n| body + n as usize),
        _ => None,
    }
}

/// The environ of a plain GET for `script`, as a server on 127.0.0.1:8000 over the
/// script's own folder would build it.
pub fn sample_environ(script: &Script) -> Environ {
    let addr: SocketAddr = "127.0.0.1:8000".parse().unwrap();
    let target = format!("{CGI_PREFIX}{}", script.name);
    let found = route::Target {
        name: script.name.clone(),
        path_info: String::new(),
        script_name: target.clone(),
    };
    let site = Site {
        software: crate::http::response::SERVER.into(),
        document_root: script.path.parent().map(PathBuf::from).unwrap_or_default(),
        extra: vec![("PATH".into(), std::env::var("PATH").unwrap_or_default())],
        pass_auth: false,
    };
    request_environ(script, &found, &target, &addr.to_string(), addr, &site)
}

/// The environ of the bench's GET of `target` (routed to `found`) with `Host: host`, to
/// a server listening on `local` with `site`.
fn request_environ(
    script: &Script,
    found: &route::Target,
    target: &str,
    host: &str,
    local: SocketAddr,
    site: &Site,
) -> Environ {
    let head = RequestHead {
        method: "GET".into(),
        target: target.to_string(),
        protocol: "HTTP/1.1".into(),
        // The headers `load` sends, in its order.
        headers: vec![
            ("Host".into(), host.to_string()),
            ("User-Agent".into(), "cgilab-bench".into()),
        ],
        raw_values: Vec::new(),
        remote: "127.0.0.1:40000".parse().unwrap(),
        local: local.into(),
        forwarded: Default::default(),
    };
    let filename = script.path.to_string_lossy();
    let inv = Invocation {
        script_name: &found.script_name,
        path_info: &found.path_info,
        script_filename: &filename,
        content_length: None,
    };
    environ::build(&head, &inv, site)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_is_whole_at_its_declared_length_or_else_at_its_end() {
        let declared = b"Content-Type: text/plain\nContent-Length: 3\n\nabc";
        assert_eq!(whole_length(declared), Some(declared.len()));
        assert_eq!(whole_length(&declared[..20]), None, "no header block yet");
        assert_eq!(whole_length(b"Content-Type: text/plain\n\nabc"), None);
        assert_eq!(whole_length(b"Location: /cgi-bin/x\n\n"), None);
    }
}
