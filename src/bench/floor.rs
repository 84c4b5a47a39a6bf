//! The spawn floor: the cost of a process with no HTTP at all. Spawn a script the way the
//! server does (the same [`crate::cgi::command()`], an environ from the same
//! [`crate::request::environ::build`]), drain its stdout, wait for it. `cgilab bench`
//! and the criterion bench `spawn` both measure it with [`run_once`].

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::cgi::script::Script;
use crate::request::environ::{self, Environ, Invocation, RequestHead, Site};
use crate::request::route::CGI_PREFIX;

/// Runs `script` as the server would for a plain GET: returns its stdout and how it exited.
pub fn run_once(script: &Script, env: &Environ) -> std::io::Result<(Vec<u8>, ExitStatus)> {
    let mut child = crate::cgi::command(script, env, "")
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

/// Times of spawning `name` the way the server does, draining its stdout and waiting for
/// it, repeated for `budget` (at least 3 times, at most 2000).
pub fn spawn_times(cgi_bin: &Path, name: &str, budget: Duration) -> Vec<Duration> {
    let mut times = Vec::new();
    let Ok(script) = crate::cgi::script::find(cgi_bin, name, name) else {
        return times;
    };
    let env = sample_environ(&script);
    let deadline = Instant::now() + budget;
    while times.len() < 2000 && (times.len() < 3 || Instant::now() < deadline) {
        let t = Instant::now();
        if run_once(&script, &env).is_err() {
            break;
        }
        times.push(t.elapsed());
    }
    times
}

/// The environ of a plain GET for `script`, as the server would build it.
pub fn sample_environ(script: &Script) -> Environ {
    let head = RequestHead {
        method: "GET".into(),
        target: format!("{CGI_PREFIX}{}", script.name),
        protocol: "HTTP/1.1".into(),
        headers: vec![
            ("Host".into(), "127.0.0.1:8000".into()),
            ("User-Agent".into(), "cgilab-bench".into()),
        ],
        raw_values: Vec::new(),
        remote: "127.0.0.1:40000".parse().unwrap(),
        local: "127.0.0.1:8000".parse().unwrap(),
        forwarded: Default::default(),
    };
    let filename = script.path.to_string_lossy();
    let script_name = format!("{CGI_PREFIX}{}", script.name);
    let inv = Invocation {
        script_name: &script_name,
        path_info: "",
        script_filename: &filename,
        content_length: None,
    };
    let site = Site {
        software: crate::http::response::SERVER.into(),
        document_root: script.path.parent().map(PathBuf::from).unwrap_or_default(),
        extra: vec![("PATH".into(), std::env::var("PATH").unwrap_or_default())],
        pass_auth: false,
    };
    environ::build(&head, &inv, &site)
}
