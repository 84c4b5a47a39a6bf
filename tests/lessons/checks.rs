//! `cgilab lessons check` on right and wrong answers.

use std::process::Command;
use std::time::Duration;

use crate::support::{CGILAB, root, scratch};

/// `cgilab lessons check N` on a cgi-bin holding the repository's scripts plus `files`.
fn check(n: usize, files: &[(&str, &str)]) -> (bool, String) {
    let dir = scratch();
    for (name, text) in files {
        std::fs::write(dir.path().join("cgi-bin").join(name), text).unwrap();
    }
    let out = Command::new(CGILAB)
        .args(["lessons", "check", &n.to_string()])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

#[test]
fn a_script_without_a_header_block_fails_with_the_servers_reason() {
    let (ok, out) = check(1, &[("me.sh", "echo 'Hello from Ada!'\n")]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("✗ GET /cgi-bin/me.sh answered 502 Bad Gateway, not 200"),
        "{out}"
    );
    assert!(
        out.contains("error=\"cgi: `me.sh`: output ended inside the header block"),
        "{out}"
    );
    assert!(out.contains("hint: "), "{out}");
}

#[test]
fn an_echo_that_forgets_the_body_is_told_to_read_stdin() {
    let script = "printf 'Content-Type: text/plain\\n\\n'\n\
                  printf 'path %s\\nquery %s\\ncolor %s\\nbody\\n' \"$PATH_INFO\" \"$QUERY_STRING\" \"$HTTP_X_COLOR\"\n";
    let (ok, out) = check(2, &[("echo.sh", script)]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("line 4 is `body`, expected `body a body of "),
        "{out}"
    );
    assert!(out.contains("CONTENT_LENGTH"), "{out}");
}

#[test]
fn a_created_resource_without_status_is_a_redirect() {
    let script = "printf 'Location: http://example.test/1\\n\\n'\n";
    let (ok, out) = check(3, &[("create.sh", script)]);
    assert!(!ok, "{out}");
    assert!(out.contains("answered 302 Found, not 201"), "{out}");
    assert!(out.contains("Status: 201 Created"), "{out}");
}

#[test]
fn a_created_resource_with_a_local_location_and_no_status_is_a_local_redirect() {
    // The POST's Location is only a path, so the server serves it itself, as a GET:
    // the 405 that comes back is the GET's, not the POST's.
    let script = "if [ \"$REQUEST_METHOD\" != POST ]; then\n\
                  \x20 printf 'Status: 405 Method Not Allowed\\nAllow: POST\\n\\n'; exit\n\
                  fi\n\
                  printf 'Location: /cgi-bin/create.sh/1\\n\\n'\n";
    let (ok, out) = check(3, &[("create.sh", script)]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("✗ POST /cgi-bin/create.sh answered 405 Method Not Allowed, not 201: the server followed its Location, /cgi-bin/create.sh/1, as a GET"),
        "{out}"
    );
    assert!(
        out.contains("POST /cgi-bin/create.sh 405 ")
            && out.contains("local-redirect=/cgi-bin/create.sh/1"),
        "{out}"
    );
    assert!(out.contains("local redirect"), "{out}");
    assert!(out.contains("Status: 201 Created"), "{out}");
    assert!(!out.contains("compare $REQUEST_METHOD"), "{out}");
}

#[test]
fn a_script_is_not_a_compiled_hello() {
    let (ok, out) = check(4, &[("hello-cgi", "#!/bin/sh\necho hi\n")]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("✗ cgi-bin/hello-cgi is not a compiled program"),
        "{out}"
    );
}

#[test]
fn a_notes_script_that_trusts_its_query_leaks_the_secret() {
    let naive =
        std::fs::read_to_string(root().join("lessons/07-what-a-host-must-refuse/naive-notes.sh"))
            .unwrap();
    let (ok, out) = check(7, &[("notes.sh", &naive)]);
    assert!(!ok, "{out}");
    assert!(out.contains("leaked the file next to $NOTES_DIR"), "{out}");
}

#[test]
fn a_client_ip_that_trusts_every_peer_is_caught() {
    let script = "printf 'Content-Type: text/plain\\n\\n'\n\
                  echo \"${HTTP_X_FORWARDED_FOR##*, }\" | grep . || echo \"$REMOTE_ADDR\"\n";
    let (ok, out) = check(8, &[("client-ip.sh", script)]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("from 127.0.0.2 with X-Forwarded-For `203.0.113.7`: it says `203.0.113.7`, expected `127.0.0.2`"),
        "{out}"
    );
}

/// Lesson 5's check builds the learner's example with cargo, which cannot run inside
/// `cargo test`; the requests it then makes are checked here on apps served in-process.
#[test]
fn the_counter_check_wants_a_count_that_survives_between_requests() {
    use cgilab::gateway::{AppRequest, AppResponse, Apps};
    use std::sync::atomic::{AtomicU64, Ordering};

    fn serve(apps: Apps) -> std::net::SocketAddr {
        let mut config =
            cgilab::config::Config::new("127.0.0.1:0", root().join("cgi-bin")).unwrap();
        config.timeout = Duration::from_secs(5);
        config.max_body = 1 << 20;
        config.max_procs = 4;
        config.threads = 4;
        config.read_timeout = Duration::from_secs(5);
        config.quiet = true;
        cgilab::server::Server::bind_with_apps(config, apps)
            .unwrap()
            .spawn()
    }

    let count = AtomicU64::new(0);
    let right = serve(Apps::empty().with("counter", move |_: AppRequest<'_>| {
        let n = count.fetch_add(1, Ordering::SeqCst) + 1;
        AppResponse::text(200, format!("count {n}\n"))
    }));
    let outcome = cgilab::lessons::checks::check_counter_app(right);
    assert!(outcome.ok(), "{outcome:?}");

    let forgetful = serve(Apps::empty().with("counter", |_: AppRequest<'_>| {
        AppResponse::text(200, "count 1\n")
    }));
    let outcome = cgilab::lessons::checks::check_counter_app(forgetful);
    assert_eq!(
        outcome.failure.map(|f| f.what),
        Some(
            "two requests in a row answered count 1 then count 1, not count 1 then count 2"
                .to_string()
        )
    );

    // Counting, but from 0: a fresh example's first answer must be `count 1`.
    let from_zero = AtomicU64::new(0);
    let off_by_one = serve(Apps::empty().with("counter", move |_: AppRequest<'_>| {
        let n = from_zero.fetch_add(1, Ordering::SeqCst);
        AppResponse::text(200, format!("count {n}\n"))
    }));
    let failure = cgilab::lessons::checks::check_counter_app(off_by_one)
        .failure
        .expect("count 0, then count 1, fails");
    assert_eq!(
        failure.what,
        "two requests in a row answered count 0 then count 1, not count 1 then count 2"
    );
    assert!(failure.hint.contains("fetch_add"), "{}", failure.hint);

    let missing = serve(Apps::builtin());
    let outcome = cgilab::lessons::checks::check_counter_app(missing);
    assert!(!outcome.ok());
}
