//! The notes app on SQLite, its default: one file, shared by the CGI processes and the
//! pool's workers.

use std::thread;

use cgilab::client::http::{Req, request};

use crate::notes::*;
use crate::support::{wait_for, wait_for_log};

/// A note made as CGI is read in the pool and the other way round: the notes are in the
/// database, not in a process. Every answer is JSON with its length; HEAD has GET's.
#[test]
fn notes_made_one_way_are_read_the_other() {
    let site = site();
    let server = serve(&site, &[]);

    let res = post_form(&server, MODES[0], "title=CGI&text=a+process+per+request");
    assert_eq!(res.status, 201, "{}", res.text());
    assert_eq!(res.header("Location"), Some("/cgi-bin/notes.py/notes/1"));
    assert_eq!(
        res.text(),
        "{\"id\":1,\"title\":\"CGI\",\"text\":\"a process per request\"}\n"
    );
    let res = post_form(&server, MODES[1], "title=pool%20%C3%A9t%C3%A9");
    assert_eq!(res.status, 201, "{}", res.text());
    assert_eq!(res.header("Location"), Some("/pool/notes/notes/2"));

    for prefix in MODES {
        let one = send(&server, &Req::get(&format!("{prefix}/notes/1")));
        assert_eq!(one.status, 200, "{prefix}: {}", one.text());
        assert_eq!(one.header("Content-Type"), Some("application/json"));
        assert_eq!(
            one.text(),
            "{\"id\":1,\"title\":\"CGI\",\"text\":\"a process per request\"}\n",
            "{prefix}"
        );
        let all = send(&server, &Req::get(&format!("{prefix}/notes")));
        assert_eq!(
            all.text(),
            "[{\"id\":1,\"title\":\"CGI\"},{\"id\":2,\"title\":\"pool été\"}]\n",
            "{prefix}"
        );
        let target = format!("{prefix}/notes/1");
        let head = send(
            &server,
            &Req {
                method: "HEAD",
                ..Req::get(&target)
            },
        );
        assert_eq!(head.status, 200, "{prefix}");
        assert!(head.body.is_empty(), "{prefix}");
        assert_eq!(
            head.header("Content-Length"),
            one.header("Content-Length"),
            "{prefix}"
        );
    }
    assert!(default_db(&site).is_file());
    no_traceback(&server);
}

/// A request the app must refuse: method, path, content type, body, the status, and a
/// part of the reason it gives.
type Refusal<'a> = (&'a str, &'a str, &'a str, &'a [u8], u16, &'a str);

/// Every bad request is the client's fault, said in a 4xx with a reason: never a
/// traceback and a 500.
#[test]
fn bad_requests_are_refused_with_a_reason() {
    let site = site();
    let server = serve(&site, &[]);
    assert_eq!(post_form(&server, MODES[1], "title=first").status, 201);
    let long = format!("title={}", "x".repeat(101));
    let form = "application/x-www-form-urlencoded";
    let cases: [Refusal; 17] = [
        ("GET", "/notes/abc", "", b"", 400, "a whole number"),
        ("GET", "/notes/-1", "", b"", 400, "a whole number"),
        ("GET", "/notes/1.0", "", b"", 400, "a whole number"),
        ("GET", "/notes/99", "", b"", 404, "no note 99"),
        (
            "GET",
            "/notes/99999999999999999999",
            "",
            b"",
            404,
            "no note",
        ),
        ("GET", "/notes/1/more", "", b"", 404, "no page"),
        ("GET", "/nothing", "", b"", 404, "no page"),
        (
            "POST",
            "/notes",
            form,
            long.as_bytes(),
            400,
            "101 characters",
        ),
        (
            "POST",
            "/notes",
            form,
            b"title=a&title=b",
            400,
            "more than once",
        ),
        (
            "POST",
            "/notes",
            form,
            b"title=a&author=b",
            400,
            "unknown field",
        ),
        (
            "POST",
            "/notes",
            form,
            b"title=&text=x",
            400,
            "needs a title",
        ),
        ("POST", "/notes", form, b"title=a%0Ab", 400, "one line"),
        ("POST", "/notes", form, b"title=%FF", 400, "UTF-8"),
        (
            "POST",
            "/notes",
            "application/json",
            b"{}",
            415,
            "send a form",
        ),
        (
            "PUT",
            "/notes",
            form,
            b"title=a",
            405,
            "use GET, HEAD or POST",
        ),
        ("GET", "/slow?ms=lots", "", b"", 400, "?ms=N"),
        ("GET", "/slow?ms=10001", "", b"", 400, "?ms=N"),
    ];
    for prefix in MODES {
        for (method, path, ctype, body, status, reason) in cases {
            let target = format!("{prefix}{path}");
            let mut req = Req {
                method,
                body,
                ..Req::get(&target)
            };
            if !ctype.is_empty() {
                req = req.header("Content-Type", ctype);
            }
            let res = send(&server, &req);
            assert_eq!(res.status, status, "{method} {target}: {}", res.text());
            assert!(
                error(&res).contains(reason),
                "{method} {target}: {}",
                res.text()
            );
        }
        let target = format!("{prefix}/notes/1");
        let res = send(
            &server,
            &Req {
                method: "DELETE",
                ..Req::get(&target)
            },
        );
        assert_eq!(res.status, 405, "{}", res.text());
        assert_eq!(res.header("Allow"), Some("GET, HEAD"));
    }
    // Nothing was written by the refused requests.
    let all = send(&server, &Req::get("/pool/notes/notes"));
    assert_eq!(all.text(), "[{\"id\":1,\"title\":\"first\"}]\n");
    no_traceback(&server);
}

/// A worker imports the driver and connects on its first request, then keeps the
/// connection: later requests have only a `query` phase, its `/stats` says one connect,
/// and between requests it holds one descriptor on the database file. A CGI process has
/// nothing to keep: every request imports and connects.
#[test]
fn a_worker_keeps_one_connection_and_every_cgi_request_makes_its_own() {
    let site = site();
    let server = serve(&site, &["--workers", "1"]);
    assert_eq!(post_form(&server, MODES[0], "title=kept").status, 201);

    for i in 0..3 {
        let res = send(&server, &Req::get("/cgi-bin/notes.py/notes/1"));
        assert_eq!(res.status, 200, "{}", res.text());
        assert_eq!(
            app_phases(&res),
            ["db-import", "connect", "query"],
            "CGI request {i}"
        );
    }

    let first = send(&server, &Req::get("/pool/notes/notes/1"));
    assert_eq!(
        app_phases(&first),
        ["db-import", "connect", "query"],
        "the worker's first request"
    );
    for i in 0..5 {
        let res = send(&server, &Req::get("/pool/notes/notes/1"));
        assert_eq!(res.status, 200, "{}", res.text());
        assert_eq!(
            app_phases(&res),
            ["query"],
            "the worker's request {}",
            i + 2
        );
    }
    let stats = send(&server, &Req::get("/pool/notes/stats"));
    assert_eq!(number(&stats, "requests"), 7, "{}", stats.text());
    assert_eq!(number(&stats, "connects"), 1, "{}", stats.text());
    assert_eq!(number(&stats, "kept"), 1, "{}", stats.text());
    assert_eq!(number(&stats, "in_use"), 0, "{}", stats.text());
    let pid = number(&stats, "pid") as u32;
    assert_eq!(open_on(pid, &default_db(&site)), 1);
}

/// Slow requests in flight at the same time, all in one gevent worker's process, each
/// holding a connection of its own (one connection carries one conversation): seen in
/// the worker's `/stats` while they wait, which gevent lets it answer meanwhile. Each
/// waits long enough for all of them to arrive on a busy machine; nothing is timed.
#[test]
fn a_gevent_worker_holds_many_slow_requests_at_once() {
    assert!(
        python_has("gevent"),
        "gevent is not installed for python3 (.ci/run installs it)"
    );
    const N: usize = 8;
    let site = site();
    let server = serve(
        &site,
        &[
            "--workers",
            "1",
            "--worker-class",
            "gevent",
            "--timeout",
            "60",
        ],
    );
    let addr = server.addr;
    let slow: Vec<_> = (0..N)
        .map(|_| thread::spawn(move || request(addr, &Req::get("/pool/notes/slow?ms=10000"))))
        .collect();
    let mut seen = 0;
    wait_for("every slow request to be in flight in the worker", || {
        let stats = send(&server, &Req::get("/pool/notes/stats"));
        seen = number(&stats, "in_use");
        seen == N as i64
    });
    let pids: Vec<i64> = (0..3)
        .map(|_| number(&send(&server, &Req::get("/pool/notes/stats")), "pid"))
        .collect();
    assert!(
        pids.windows(2).all(|w| w[0] == w[1]),
        "one worker: {pids:?}"
    );
    for s in slow {
        let res = s.join().unwrap().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(res.status, 200, "{}", res.text());
        assert_eq!(app_phases(&res).last().map(String::as_str), Some("query"));
    }
    let stats = send(&server, &Req::get("/pool/notes/stats"));
    assert_eq!(number(&stats, "connects"), N as i64, "{}", stats.text());
    assert_eq!(number(&stats, "kept"), N as i64, "{}", stats.text());
}

/// A database that cannot be opened is the server's trouble, not the client's: 503, a
/// reason the client may read, and the driver's own words in the log only.
#[test]
fn a_database_that_cannot_be_opened_is_a_503() {
    let site = site();
    // A folder in /proc takes no new file, not even from root.
    let server = serve(&site, &["--env", "DATABASE_URL=sqlite:///proc/notes.db"]);
    for prefix in MODES {
        let res = send(&server, &Req::get(&format!("{prefix}/notes")));
        assert_eq!(res.status, 503, "{prefix}: {}", res.text());
        assert_eq!(
            error(&res),
            "cannot connect to the database; the server's log says why"
        );
        assert_eq!(res.header("Retry-After"), Some("1"));
    }
    wait_for_log(
        &server,
        2,
        &["notes: cannot connect to the database: unable to open database file"],
    );
    no_traceback(&server);
}

/// A DATABASE_URL the app cannot use stops it at import, so the pool never starts it,
/// and says why.
#[test]
fn a_database_url_it_cannot_use_stops_the_app_from_starting() {
    let site = site();
    let server = serve(&site, &["--env", "DATABASE_URL=postgres://db/notes"]);
    wait_for_log(
        &server,
        1,
        &[
            "pool notes: FAILED",
            "DATABASE_URL=postgres://db/notes: expected sqlite:///PATH or mysql://",
        ],
    );
    let res = send(&server, &Req::get("/pool/notes/notes"));
    assert_eq!(res.status, 503, "{}", res.text());
}
