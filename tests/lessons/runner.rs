//! The runner's own rules, as the page authors are told them.

use crate::support::*;

#[test]
fn the_runner_matches_and_normalises_as_documented() {
    assert!(line_matches("Server: cgilab/[..]", "Server: cgilab/0.1.0"));
    assert!(line_matches("a[..]c[..]e", "abcde"));
    assert!(!line_matches("a[..]c", "abd"));
    let p = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert!(lines_match(
        &p(&["a", "...", "d"]),
        &p(&["a", "b", "c", "d"])
    ));
    assert!(lines_match(&p(&["a", "...", "d"]), &p(&["a", "d"])));
    assert!(!lines_match(&p(&["a", "d"]), &p(&["a", "b", "d"])));
    assert_eq!(
        normalise(
            "Server-Timing: spawn;dur=0.305, headers;dur=1.178, total;dur=1.187",
            PAGE_PORT
        ),
        "Server-Timing: spawn;dur=#, headers;dur=#, total;dur=#"
    );
    assert_eq!(
        normalise(
            "127.0.0.1:47534 GET /x 200 14B mode=cgi spawn=0.305ms total=1.355ms",
            PAGE_PORT
        ),
        "127.0.0.1:# GET /x 200 14B mode=cgi spawn=#ms total=#ms"
    );
    assert_eq!(
        normalise(
            "HTTP_HOST=127.0.0.1:41234 SERVER_PORT=41234 141234",
            "41234"
        ),
        "HTTP_HOST=127.0.0.1:8000 SERVER_PORT=8000 141234"
    );
    assert_eq!(
        measurements("│ /app/hello  ┆ 8    ┆ 19641 ┆ 0.393   │ ──── ══"),
        "│ /app/hello ┆ # ┆ # ┆ # │ ─ ═"
    );
    assert_eq!(
        normalise("hello.sh 1.10 ms, 3 ms", PAGE_PORT),
        "hello.sh # ms, 3 ms"
    );
    assert_eq!(
        normalise(
            "error=\"waited 1.1s (--queue-timeout) for one of 1 slots\" ran past --timeout 1s",
            PAGE_PORT
        ),
        "error=\"waited #s (--queue-timeout) for one of 1 slots\" ran past --timeout 1s"
    );
    assert_eq!(
        normalise("took 2.5 s, 2.5 seconds", PAGE_PORT),
        "took # s, 2.5 seconds"
    );
    let log = p(&["start", "b 2", "x", "a 1", "c"]);
    let ab = p(&["a [..]", "b [..]"]);
    assert_eq!(
        find_log_lines(&ab, &log, 0, false),
        Err("b [..]".to_string())
    );
    assert_eq!(find_log_lines(&ab, &log, 0, true), Ok(4));
    assert_eq!(
        find_log_lines(&ab, &log, 2, true),
        Err("b [..]".to_string())
    );
    assert_eq!(
        find_log_lines(&p(&["b [..]", "a [..]"]), &log, 1, false),
        Ok(4)
    );
    // Each line of a block is a line of its own in the log.
    assert_eq!(
        find_log_lines(&p(&["a [..]", "a [..]"]), &log, 0, true),
        Err("a [..]".to_string())
    );
    assert_eq!(
        normalise("Date: Tue, 24 Nov 2026 06:21:57 GMT", PAGE_PORT),
        "Date: [date]"
    );
    assert_eq!(
        normalise("sleep (pid 4242) is", PAGE_PORT),
        "sleep (pid #) is"
    );
    assert_eq!(
        serve_args("cgilab serve --timeout 1").as_deref(),
        Some("--timeout 1")
    );
    assert_eq!(
        serve_args("cargo run --release -- serve").as_deref(),
        Some("")
    );
    assert_eq!(serve_args("cgilab server"), None);
    assert_eq!(
        serve_args("PATH=\"$PWD/.venv/bin:$PATH\" cgilab serve --workers 1").as_deref(),
        Some("--workers 1")
    );
    assert_eq!(
        background_command("nginx -c x.conf &"),
        Some("nginx -c x.conf")
    );
    assert_eq!(background_command("a && b"), None);
    let spares = Spares::new();
    let real = spares.to_real("curl 127.0.0.1:8080/ 127.0.0.1:8000/");
    assert!(real.ends_with(" 127.0.0.1:8000/") && !real.contains(":8080/"));
    assert_eq!(
        normalise(&spares.to_page(&real), PAGE_PORT),
        "curl 127.0.0.1:8080/ 127.0.0.1:8000/"
    );
    let page = "text\n````markdown\n```console\n$ inner\n```\n````\n```console\n$ a\nout\n```\n";
    let b = blocks(page);
    assert_eq!(b.len(), 2);
    assert_eq!(
        commands(&b[1]),
        vec![("a".to_string(), vec!["out".to_string()])]
    );
}
