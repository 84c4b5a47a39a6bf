//! Lesson 11 (The three layers): the check of its exercise.

use super::*;

pub(super) fn client_ip(c: &mut Check) -> Result<(), Failure> {
    let name = require_script(
        c,
        "client-ip",
        "print $REMOTE_ADDR, or the last address of $HTTP_X_FORWARDED_FOR when REMOTE_ADDR is 127.0.0.2, the proxy's",
    )?;
    let server = c.serve(&[])?;
    let target = format!("/cgi-bin/{name}");
    // The proxy connects from an address of its own (lesson 11's nginx.conf binds
    // 127.0.0.2), so the learner's own curl on 127.0.0.1 is told from it; 127.0.0.3 is
    // another stranger, so an answer that trusts everyone but 127.0.0.1 fails too.
    let proxy = Ipv4Addr::new(127, 0, 0, 2);
    let stranger = Ipv4Addr::new(127, 0, 0, 3);
    let cases = [
        (
            proxy,
            None,
            "127.0.0.2",
            "with no X-Forwarded-For, print $REMOTE_ADDR",
        ),
        (
            proxy,
            Some("203.0.113.7"),
            "203.0.113.7",
            "from the proxy (REMOTE_ADDR 127.0.0.2), the client is in $HTTP_X_FORWARDED_FOR",
        ),
        (
            proxy,
            Some("198.51.100.23, 203.0.113.7"),
            "203.0.113.7",
            "take the last address: the one your proxy added; the ones before it came from the client and can be made up",
        ),
        (
            Ipv4Addr::LOCALHOST,
            Some("203.0.113.7"),
            "127.0.0.1",
            "127.0.0.1 is you, or any program on this machine, not the proxy: ignore the header and print $REMOTE_ADDR",
        ),
        (
            stranger,
            Some("203.0.113.7"),
            "127.0.0.3",
            "trust the header only from the proxy's own address, 127.0.0.2: from any other, print $REMOTE_ADDR",
        ),
    ];
    for (from, forwarded, want, hint) in cases {
        let mut req = Req::get(&target);
        req.from = Some(from);
        if let Some(f) = forwarded {
            req = req.header("X-Forwarded-For", f);
        }
        let what = format!(
            "from {from}{}",
            forwarded.map_or(String::new(), |f| format!(" with X-Forwarded-For `{f}`"))
        );
        let resp = c.fetch(&server, &req, &name)?;
        c.expect_status(
            &server,
            &req,
            &resp,
            &name,
            200,
            "answer with the default status",
        )?;
        expect_plain_text(
            &resp,
            &what,
            "print `Content-Type: text/plain` as the header line",
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
