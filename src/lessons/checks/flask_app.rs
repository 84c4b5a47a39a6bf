//! Lesson 10 (Your Flask app): the check of its exercise.

use super::*;

pub(super) fn flask_app(c: &mut Check) -> Result<(), Failure> {
    let hint = "app = Flask(__name__), a route @app.get(\"/hello/<name>\") returning f\"Hello, {name}!\\n\", and under `if __name__ == \"__main__\":` wsgiref's CGIHandler().run(app)";
    let name = "flask_app.py";
    if !c.opts.cgi_bin.join(name).is_file() {
        return Err(fail(
            format!("{} does not exist", c.script_path(name)),
            hint,
        ));
    }
    c.pass(format!("{} exists", c.script_path(name)));
    // The course's virtual environment, if it was made, runs both: its python3 comes
    // first on the server's PATH, for the scripts and for the workers.
    // A full path: scripts run in cgi-bin, where a relative one would mean another folder.
    let venv = c
        .opts
        .workdir
        .join(".venv/bin")
        .canonicalize()
        .unwrap_or_default();
    let file = c.opts.cgi_bin.join(name);
    let extra = [
        format!("--wsgi=flask={}:app", file.display()),
        "--workers=1".into(),
    ];
    let server = if venv.is_absolute() && venv.join("python3").exists() {
        c.serve_with_path(&extra, &venv)?
    } else {
        c.serve(&extra)?
    };
    let who = format!("ada{}", nonce());
    let want = format!("Hello, {who}!\n");
    let mut took = Vec::new();
    for (mode, target) in [
        ("as CGI", format!("/cgi-bin/{name}/hello/{who}")),
        ("in a pool", format!("/pool/flask/hello/{who}")),
    ] {
        let req = Req::get(&target);
        let resp = c.fetch(&server, &req, "flask")?;
        c.expect_status(
            &server,
            &req,
            &resp,
            "flask",
            200,
            "is Flask installed for the python3 that runs it? lesson 10 makes .venv with it",
        )?;
        if resp.text() != want {
            return Err(fail(
                format!(
                    "GET {target} answered `{}`, expected `{}`",
                    resp.text().escape_debug(),
                    want.escape_debug()
                ),
                hint,
            ));
        }
        // The task says plain text; Flask's default for a returned string is text/html.
        expect_plain_text(
            &resp,
            &format!("GET {target}"),
            "Flask sends a returned string as text/html; return it with a header: `return f\"Hello, {name}!\\n\", {\"Content-Type\": \"text/plain; charset=utf-8\"}`",
        )?;
        // A worker's first request also pays what Flask sets up lazily (a few ms, far
        // more on a busy machine): time the pool on its second, as it runs from then on.
        let resp = if mode == "in a pool" {
            c.fetch(&server, &req, "flask")?
        } else {
            resp
        };
        let ms = resp.timing("total").unwrap_or(0.0);
        took.push(ms);
        c.pass(format!(
            "{mode}, GET {target} says `Hello, {who}!` as text/plain in {ms:.1} ms"
        ));
    }
    let target = format!("/pool/flask/nope{}", nonce());
    let req = Req::get(&target);
    let resp = c.fetch(&server, &req, "flask")?;
    c.expect_status(
        &server,
        &req,
        &resp,
        "flask",
        404,
        "leave unknown paths to Flask: it answers 404 itself",
    )?;
    c.pass(format!("GET {target} is Flask's own 404"));
    if took[1] > 0.0 {
        c.pass(format!(
            "the pool answered in 1/{:.0} of the CGI time: Python and Flask were already loaded",
            took[0] / took[1]
        ));
    }
    Ok(())
}
