//! Lesson 2 (The environment): the check of its exercise.

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::process::Stdio;
use std::time::Instant;

use super::*;

pub(super) fn echo(c: &mut Check) -> Result<(), Failure> {
    let name = require_script(
        c,
        "echo",
        "lesson 2's exercise says what it prints: path, query, color and body lines",
    )?;
    let server = c.serve(&[])?;
    let n = nonce();
    let post_target = format!("/cgi-bin/{name}/lesson/two?color=teal&n={n}");
    // A backslash, as in a Windows path: `echo` in dash (Debian's sh) would turn `\n`
    // into a line break and `\t` into a tab.
    let post_body = format!("a body of {n} from C:\\new\\table");
    let color = format!("teal-{n}");
    let get_target = format!("/cgi-bin/{name}/{n}/b%20c");
    let requests = [
        (
            Req::post(&post_target, post_body.as_bytes()).header("X-Color", &color),
            [
                "path /lesson/two".to_string(),
                format!("query color=teal&n={n}"),
                format!("color {color}"),
                format!("body {post_body}"),
            ],
        ),
        (
            Req::get(&get_target).header("X-Color", "red"),
            [
                format!("path /{n}/b c"),
                "query".to_string(),
                "color red".to_string(),
                "body".to_string(),
            ],
        ),
    ];
    for (req, want) in &requests {
        let resp = c.fetch(&server, req, &name)?;
        c.expect_status(
            &server,
            req,
            &resp,
            &name,
            200,
            "answer with the default status",
        )?;
        expect_plain_text(
            &resp,
            &format!("{} {}", req.method, req.target),
            "print `Content-Type: text/plain` as the header line",
        )?;
        let got = lines(&resp);
        for (i, want) in want.iter().enumerate() {
            let have = got.get(i).map_or("(nothing)", String::as_str);
            if have != want {
                let hint = match i {
                    0 => "print `path ` and then $PATH_INFO (it is already decoded)",
                    1 => "print `query ` and then $QUERY_STRING, as it is",
                    2 => "the X-Color header reaches a script as $HTTP_X_COLOR",
                    _ if want.contains('\\') && have != "body" => {
                        "the body has backslashes, and `echo` in dash (Debian's sh) rewrites them (`\\n` becomes a line break): print it with printf '%s\\n'"
                    }
                    _ => {
                        "read $CONTENT_LENGTH bytes from stdin (`head -c \"${CONTENT_LENGTH:-0}\"`); a GET has no body"
                    }
                };
                return Err(fail(
                    format!(
                        "{} {}: line {} is `{have}`, expected `{want}`",
                        req.method,
                        req.target,
                        i + 1
                    ),
                    hint,
                ));
            }
        }
        c.pass(format!(
            "{} {} echoes path, query, color and body",
            req.method, req.target
        ));
    }
    reads_only_content_length(c, &name, n)
}

/// RFC 3875 §4.2: a script reads `CONTENT_LENGTH` bytes of its stdin, and the server need
/// not close it after them. cgilab does close it, so a script that reads to the end of
/// stdin passes every request above; run directly, as the server would, with more bytes
/// waiting after the body, it prints them too.
fn reads_only_content_length(c: &mut Check, name: &str, n: u32) -> Result<(), Failure> {
    let path = c.opts.cgi_bin.join(name);
    let path = path.canonicalize().unwrap_or(path);
    let executable = std::fs::metadata(&path).is_ok_and(|m| m.permissions().mode() & 0o111 != 0);
    let mut cmd = match crate::cgi::script::interpreter_for(name) {
        Some(interpreter) if !executable => {
            let mut cmd = Command::new(interpreter);
            cmd.arg(&path);
            cmd
        }
        _ => Command::new(&path),
    };
    let body = format!("name=Ada&n={n}");
    let after = "&after=the-body";
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("GATEWAY_INTERFACE", "CGI/1.1")
        .env("SERVER_PROTOCOL", "HTTP/1.1")
        .env("REQUEST_METHOD", "POST")
        .env("SCRIPT_NAME", format!("/cgi-bin/{name}"))
        .env("PATH_INFO", "/stdin")
        .env("QUERY_STRING", "")
        .env("CONTENT_TYPE", "application/x-www-form-urlencoded")
        .env("CONTENT_LENGTH", body.len().to_string())
        .env("HTTP_X_COLOR", "teal")
        .current_dir(path.parent().unwrap_or(Path::new(".")))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let what = format!(
        "{name} run with {} bytes of body and more after them on stdin",
        body.len()
    );
    let hint = "read exactly $CONTENT_LENGTH bytes (`head -c \"${CONTENT_LENGTH:-0}\"`, `sys.stdin.buffer.read(n)`): RFC 3875 does not promise that stdin ends after the body; cgilab closes it there, another server may not";
    let mut child = cmd
        .spawn()
        .map_err(|e| fail(format!("{what}: cannot start it: {e}"), hint))?;
    // The bytes fit in a pipe, so this write does not wait for the script to read them.
    let mut stdin = child.stdin.take().expect("piped");
    let _ = stdin.write_all(format!("{body}{after}").as_bytes());
    drop(stdin);
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    let mut out = String::new();
    if let Some(mut stdout) = child.stdout.take() {
        let mut bytes = Vec::new();
        let _ = stdout.read_to_end(&mut bytes);
        out = String::from_utf8_lossy(&bytes).into_owned();
    }
    if status.is_none() {
        return Err(fail(format!("{what}: it did not finish in 10 s"), hint));
    }
    let want = format!("body {body}");
    let got = out
        .split_once("\n\n")
        .or_else(|| out.split_once("\r\n\r\n"))
        .map_or("", |(_, b)| b)
        .lines()
        .find(|l| l.starts_with("body"))
        .unwrap_or("(no body line)")
        .trim_end()
        .to_string();
    if got != want {
        return Err(fail(
            format!(
                "{what}: it printed `{}`, expected `{want}`",
                got.escape_debug()
            ),
            hint,
        ));
    }
    c.pass("reads $CONTENT_LENGTH bytes of stdin, not to its end");
    Ok(())
}
