//! Lesson 11 (The three layers): the check of its exercise.

use super::*;

pub(super) fn client_ip(c: &mut Check) -> Result<(), Failure> {
    let name = require_script(
        c,
        "client-ip",
        "print $REMOTE_ADDR, or the last address of $HTTP_X_FORWARDED_FOR when REMOTE_ADDR is 127.0.0.1",
    )?;
    let server = c.serve(&[])?;
    let target = format!("/cgi-bin/{name}");
    let other = Ipv4Addr::new(127, 0, 0, 2);
    let cases = [
        (
            None,
            None,
            "127.0.0.1",
            "with no X-Forwarded-For, print $REMOTE_ADDR",
        ),
        (
            None,
            Some("203.0.113.7"),
            "203.0.113.7",
            "behind the proxy (REMOTE_ADDR 127.0.0.1), the client is in $HTTP_X_FORWARDED_FOR",
        ),
        (
            None,
            Some("198.51.100.23, 203.0.113.7"),
            "203.0.113.7",
            "take the last address: the one your proxy added; the ones before it came from the client and can be made up",
        ),
        (
            Some(other),
            Some("203.0.113.7"),
            "127.0.0.2",
            "from any address but 127.0.0.1 the header is not your proxy's: ignore it and print $REMOTE_ADDR",
        ),
    ];
    for (from, forwarded, want, hint) in cases {
        let mut req = Req::get(&target);
        req.from = from;
        if let Some(f) = forwarded {
            req = req.header("X-Forwarded-For", f);
        }
        let what = format!(
            "from {}{}",
            from.unwrap_or(Ipv4Addr::LOCALHOST),
            forwarded.map_or(String::new(), |f| format!(" with X-Forwarded-For `{f}`"))
        );
        let resp = match c.fetch(&server, &req, &name) {
            Err(_) if from.is_some() => {
                c.pass(format!("(skipped: cannot connect {what})"));
                continue;
            }
            r => r?,
        };
        c.expect_status(
            &server,
            &req,
            &resp,
            &name,
            200,
            "answer with the default status",
        )?;
        let got = resp.text();
        if got.trim() != want {
            return Err(fail(
                format!(
                    "{what}: it says `{}`, expected `{want}`",
                    got.trim().escape_debug()
                ),
                hint,
            ));
        }
        c.pass(format!("{what}: {want}"));
    }
    Ok(())
}
