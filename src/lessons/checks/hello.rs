//! Lesson 1 (Hello, CGI): the check of its exercise.

use super::*;

pub(super) fn hello(c: &mut Check) -> Result<(), Failure> {
    let name = "me.sh";
    if !c.opts.cgi_bin.join(name).is_file() {
        return Err(fail(
            format!("{} does not exist", c.script_path(name)),
            "create it: a `Content-Type: text/plain` line, an empty line, then `Hello from NAME!`",
        ));
    }
    c.pass(format!("{} exists", c.script_path(name)));
    let server = c.serve(&[])?;
    let req = Req::get("/cgi-bin/me.sh");
    let resp = c.fetch(&server, &req, name)?;
    c.expect_status(
        &server,
        &req,
        &resp,
        name,
        200,
        "answer with the default status",
    )?;
    let ctype = resp.header("Content-Type").unwrap_or("");
    if !ctype.starts_with("text/plain") {
        return Err(fail(
            format!("its Content-Type is `{ctype}`, not text/plain"),
            "print `Content-Type: text/plain` as the header line",
        ));
    }
    c.pass("GET /cgi-bin/me.sh answers 200 text/plain");
    let body = resp.text();
    let said = body.trim_end_matches('\n');
    let who = said
        .strip_prefix("Hello from ")
        .and_then(|rest| rest.strip_suffix('!'))
        .filter(|who| !who.trim().is_empty() && !said.contains('\n'));
    match who {
        Some(who) if who == "NAME" || who == "world" => Err(fail(
            format!("it says `{said}`"),
            "put your own name in place of NAME",
        )),
        Some(_) => {
            c.pass(format!("it says: {said}"));
            Ok(())
        }
        None => Err(fail(
            format!("its body is `{}`", body.escape_debug()),
            "the body must be one line, `Hello from NAME!`, with your name for NAME",
        )),
    }
}
