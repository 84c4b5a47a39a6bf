//! Lesson 3 (Responses and failures): the check of its exercise.

use super::*;

pub(super) fn create(c: &mut Check) -> Result<(), Failure> {
    let name = require_script(
        c,
        "create",
        "answer a POST with `Status: 201 Created` and a `Location:` line",
    )?;
    // With every access line logged, a local redirect shows as `local-redirect=PATH`.
    let server = c.serve_logging(&[])?;
    let target = format!("/cgi-bin/{name}");
    let req = Req::post(&target, b"title=hello")
        .header("Content-Type", "application/x-www-form-urlencoded");
    let resp = c.fetch(&server, &req, &name)?;
    if resp.status != 201
        && let Some(to) = local_redirect(&server, "POST", &target)
    {
        return Err(Failure {
            what: format!(
                "POST {target} answered {}, not 201: the server followed its Location, {to}, as a GET",
                resp.status_line()
            ),
            details: logged(&server, &name),
            hint: format!(
                "a Location that is only a path, with no Status, is a local redirect (RFC 3875 §6.2.2): the server serves {to} in the script's place, with a GET, and that GET's answer is what came back; print `Status: 201 Created` before the Location"
            ),
        });
    }
    let hint = match resp.status {
        302 => "a Location without a Status is a redirect: print `Status: 201 Created` too",
        200 => "print `Status: 201 Created` among the header lines",
        405 => {
            "a POST is the one method to accept: compare $REQUEST_METHOD with POST (and print `Status: 201 Created`: without it, a Location that is only a path is followed by the server as a GET)"
        }
        _ => "print `Status: 201 Created` and `Location: /cgi-bin/...` for a POST",
    };
    c.expect_status(&server, &req, &resp, &name, 201, hint)?;
    let Some(location) = resp.header("Location") else {
        return Err(fail(
            format!("POST {target} answered 201 with no Location"),
            "print `Location: /cgi-bin/create.sh/1` (where the new thing lives) with the Status",
        ));
    };
    c.pass(format!(
        "POST {target} answers 201 Created, Location {location}"
    ));
    for method in ["GET", "PUT"] {
        let req = Req {
            method,
            ..Req::get(&target)
        };
        let resp = c.fetch(&server, &req, &name)?;
        c.expect_status(
            &server,
            &req,
            &resp,
            &name,
            405,
            "answer every method but POST with `Status: 405 Method Not Allowed`",
        )?;
        // RFC 9110 §15.5.6: Allow lists the methods the resource supports, and POST is
        // the only one here; a list with GET in it would invite the 405 it came with.
        let allow = resp.header("Allow").unwrap_or("");
        let allowed: Vec<&str> = allow
            .split(',')
            .map(str::trim)
            .filter(|m| !m.is_empty())
            .collect();
        if allowed != ["POST"] {
            return Err(fail(
                format!("{method} {target} answered 405 with Allow `{allow}`"),
                "a 405 must say what is allowed, and only POST is: print `Allow: POST`",
            ));
        }
    }
    c.pass(format!("GET and PUT {target} answer 405, Allow: POST"));
    Ok(())
}

/// Where the server's access line for `method target` says a local redirect led, if it
/// did: the line ends with ` local-redirect=PATH`. Waits for the line (up to a few
/// seconds), which the server writes once the response has gone.
fn local_redirect(server: &ServerProcess, method: &str, target: &str) -> Option<String> {
    let request = format!(" {method} {target} ");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let line = server.log().into_iter().find(|l| l.contains(&request));
        if let Some(line) = line {
            let (_, rest) = line.split_once(" local-redirect=")?;
            return rest.split_whitespace().next().map(String::from);
        }
        if std::time::Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
