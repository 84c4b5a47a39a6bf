//! Lesson 4 (The price of a process): the check of its exercise.

use super::*;

/// How many times each hello is timed.
const TIMED: usize = 9;

pub(super) fn compiled(c: &mut Check) -> Result<(), Failure> {
    let name = "hello-cgi";
    let path = c.opts.cgi_bin.join(name);
    let shown_path = c.script_path(name);
    let copy = "copy it: `cp target/release/hello-cgi cgi-bin/` (after `cargo build --release`)";
    let Ok(meta) = path.symlink_metadata() else {
        return Err(fail(format!("{shown_path} does not exist"), copy));
    };
    if meta.file_type().is_symlink() {
        return Err(fail(
            format!("{shown_path} is a symlink"),
            format!(
                "cgilab refuses to run a file whose real path leaves cgi-bin (lesson 7 says why); {copy}"
            ),
        ));
    }
    let head = std::fs::read(&path).unwrap_or_default();
    if !head.starts_with(b"\x7fELF") {
        return Err(fail(
            format!("{shown_path} is not a compiled program"),
            format!("the point is a process with no interpreter to start; {copy}"),
        ));
    }
    c.pass(format!("{shown_path} is a compiled program"));
    let server = c.serve(&[])?;
    let req = Req::get("/cgi-bin/hello-cgi");
    let resp = c.fetch(&server, &req, name)?;
    c.expect_status(
        &server,
        &req,
        &resp,
        name,
        200,
        "answer with the default status",
    )?;
    if resp.body != b"Hello, world!\n" {
        return Err(fail(
            format!("its body is `{}`", resp.text().escape_debug()),
            "it should say `Hello, world!`, like hello.sh",
        ));
    }
    c.pass("GET /cgi-bin/hello-cgi answers Hello, world!");
    let mut timed = Vec::new();
    for script in [name, "hello.sh", "hello.py"] {
        if script != name && !c.opts.cgi_bin.join(script).is_file() {
            continue;
        }
        let target = format!("/cgi-bin/{script}");
        let mut times = Vec::with_capacity(TIMED);
        for _ in 0..TIMED {
            let req = Req::get(&target);
            // The whole round trip, as a client sees it: until the script has exited
            // and the response is complete.
            let started = std::time::Instant::now();
            let resp = c.fetch(&server, &req, script)?;
            times.push(crate::measure::timing::ms(started.elapsed()));
            c.expect_status(&server, &req, &resp, script, 200, "it should answer 200")?;
        }
        times.sort_by(f64::total_cmp);
        timed.push((script, times[TIMED / 2]));
    }
    let table: Vec<String> = timed
        .iter()
        .map(|(s, ms)| format!("{s} {ms:.2} ms"))
        .collect();
    let table = table.join(", ");
    if let Some((_, python)) = timed.iter().find(|(s, _)| *s == "hello.py")
        && timed[0].1 >= *python
    {
        return Err(fail(
            format!("hello-cgi is not faster than hello.py: {table}"),
            "is the machine busy? run the check again; a compiled hello should win easily",
        ));
    }
    c.pass(format!(
        "median time per request, {TIMED} requests each: {table}"
    ));
    Ok(())
}
