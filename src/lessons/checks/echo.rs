//! Lesson 2 (The environment): the check of its exercise.

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
    Ok(())
}
