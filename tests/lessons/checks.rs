//! `cgilab lessons check` on right and wrong answers.

use std::process::Command;
use std::time::Duration;

use crate::support::{CGILAB, root, scratch};

/// `cgilab lessons check N` on a cgi-bin holding the repository's scripts plus `files`.
fn check(n: usize, files: &[(&str, &str)]) -> (bool, String) {
    let in_cgi_bin: Vec<(String, &str)> = files
        .iter()
        .map(|(name, text)| (format!("cgi-bin/{name}"), *text))
        .collect();
    check_with(n, &in_cgi_bin)
}

/// `cgilab lessons check N` in a scratch repository plus `files`, by path from its root.
fn check_with(n: usize, files: &[(String, &str)]) -> (bool, String) {
    let dir = scratch();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
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

/// A body used as printf's format has its backslashes rewritten, as dash's `echo` does;
/// the check sends one, and says so.
#[test]
fn an_echo_that_rewrites_backslashes_is_told_why() {
    let script = "printf 'Content-Type: text/plain\\n\\n'\n\
                  printf 'path %s\\nquery %s\\ncolor %s\\n' \"$PATH_INFO\" \"$QUERY_STRING\" \"$HTTP_X_COLOR\"\n\
                  printf \"body $(head -c \"${CONTENT_LENGTH:-0}\")\\n\"\n";
    let (ok, out) = check(2, &[("echo.sh", script)]);
    assert!(!ok, "{out}");
    assert!(out.contains("line 4 is `body a body of "), "{out}");
    assert!(out.contains("rewrites them"), "{out}");
}

/// RFC 3875 §4.2: a script reads CONTENT_LENGTH bytes; stdin need not end after them.
/// cgilab closes it there, so only the check's direct run, with more bytes waiting after
/// the body, tells a script that reads to the end of stdin from one that reads the length.
#[test]
fn an_echo_that_reads_stdin_to_its_end_is_caught() {
    let script = "printf 'Content-Type: text/plain\\n\\n'\n\
                  printf 'path %s\\nquery %s\\ncolor %s\\n' \"$PATH_INFO\" \"$QUERY_STRING\" \"$HTTP_X_COLOR\"\n\
                  printf 'body %s\\n' \"$(cat)\"\n";
    let (ok, out) = check(2, &[("echo.sh", script)]);
    assert!(!ok, "{out}");
    assert!(out.contains("✓ GET /cgi-bin/echo.sh/"), "{out}");
    assert!(
        out.contains("&after=the-body`, expected `body name=Ada&n="),
        "{out}"
    );
    assert!(out.contains("read exactly $CONTENT_LENGTH bytes"), "{out}");

    let right = answer("lessons/02-the-environment/README.md", "cgi-bin/echo.sh");
    let (ok, out) = check(2, &[("echo.sh", &right)]);
    assert!(ok, "{out}");
    assert!(
        out.contains("✓ reads $CONTENT_LENGTH bytes of stdin, not to its end"),
        "{out}"
    );
}

/// The 405 says what is allowed, and only POST is: an Allow that lists GET as well fails,
/// the page's answer passes.
#[test]
fn a_405_that_allows_more_than_post_is_caught() {
    let right = answer(
        "lessons/03-responses-and-failures/README.md",
        "cgi-bin/create.sh",
    );
    let (ok, out) = check(3, &[("create.sh", &right)]);
    assert!(ok, "{out}");
    let lax = right.replace("Allow: POST", "Allow: GET, POST");
    assert_ne!(lax, right);
    let (ok, out) = check(3, &[("create.sh", &lax)]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("GET /cgi-bin/create.sh answered 405 with Allow `GET, POST`"),
        "{out}"
    );
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
        std::fs::read_to_string(root().join("lessons/09-what-a-host-must-refuse/naive-notes.sh"))
            .unwrap();
    let (ok, out) = check(9, &[("notes.sh", &naive)]);
    assert!(!ok, "{out}");
    assert!(out.contains("leaked the file next to $NOTES_DIR"), "{out}");
}

/// The check names each way out it tried.
#[test]
fn a_safe_notes_script_passes_and_every_way_out_is_named() {
    let page = std::fs::read_to_string(root().join("lessons/09-what-a-host-must-refuse/README.md"))
        .unwrap();
    let answer = page
        .split("```sh file=cgi-bin/notes.sh\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("the lesson shows an answer");
    let (ok, out) = check(9, &[("notes.sh", answer)]);
    assert!(ok, "{out}");
    for way in [
        "?name=../secret.txt answered 403",
        "?name=welcome.txt/../../secret.txt answered 403",
        "/secret.txt answered 403",
        "?name=..%2fsecret.txt answered",
        "?name=%2e%2e%2fsecret.txt answered",
        "?name=../opened.txt answered 403 Forbidden before any file was opened",
    ] {
        assert!(out.contains(way), "{way}: {out}");
    }

    // Reads the file first and refuses after: every status is right, but the task says
    // without opening any file.
    let reads_first = answer.replacen(
        "name=${QUERY_STRING#name=}\n",
        "name=${QUERY_STRING#name=}\nnote=$(cat \"$NOTES_DIR/$name\" 2>/dev/null)\n",
        1,
    );
    assert_ne!(reads_first, answer);
    let (ok, out) = check(9, &[("notes.sh", &reads_first)]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("✓ a missing note is 404") || out.contains("✓ a way out is refused"),
        "{out}"
    );
    assert!(
        out.contains("the script opened ../opened.txt (a named pipe the check watches) before it refused the name"),
        "{out}"
    );
}

/// A bench whose rows carry errors measured failures: the check refuses it.
#[test]
fn a_bench_csv_with_errors_is_refused() {
    let header = "server,target,mode,concurrency,requests,req_per_s,mean_ms,p50_ms,p90_ms,p99_ms,max_ms,errors,unexpected,statuses\n";
    let row = |t: &str, c: usize, unexpected: u64| {
        format!(
            "cgilab,{t},x,{c},100,1000.0,1.000,1.000,1.000,1.000,1.000,0,{unexpected},200=100\n"
        )
    };
    let csv = |bad: u64| {
        header.to_string()
            + &row("/cgi-bin/me.sh", 1, bad)
            + &row("/app/hello", 1, 0)
            + &row("/cgi-bin/me.sh", 8, bad)
            + &row("/app/hello", 8, 0)
    };
    let (ok, out) = check_with(8, &[("bench.csv".into(), &csv(100))]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("/cgi-bin/me.sh at concurrency 1 answered 100 requests with errors"),
        "{out}"
    );
    let (ok, out) = check_with(8, &[("bench.csv".into(), &csv(0))]);
    assert!(ok, "{out}");

    // Two runs at one concurrency, put together, are not two concurrencies.
    let twice = header.to_string()
        + &row("/cgi-bin/me.sh", 1, 0)
        + &row("/app/hello", 1, 0)
        + &row("/cgi-bin/me.sh", 1, 0)
        + &row("/app/hello", 1, 0);
    let (ok, out) = check_with(8, &[("bench.csv".into(), &twice)]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("both at the same two or more concurrencies"),
        "{out}"
    );
}

#[test]
fn a_client_ip_that_trusts_every_peer_is_caught() {
    let script = "printf 'Content-Type: text/plain\\n\\n'\n\
                  echo \"${HTTP_X_FORWARDED_FOR##*, }\" | grep . || echo \"$REMOTE_ADDR\"\n";
    let (ok, out) = check(11, &[("client-ip.sh", script)]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("from 127.0.0.1 with X-Forwarded-For `203.0.113.7`: it says `203.0.113.7`, expected `127.0.0.1`"),
        "{out}"
    );
}

/// The proxy connects from 127.0.0.2 (lesson 11's nginx.conf), so an answer that trusts
/// 127.0.0.1, where the learner's own curl comes from, takes a stranger's word.
#[test]
fn a_client_ip_that_trusts_the_learners_own_address_is_caught() {
    let trusts = |addr: &str| {
        format!(
            "printf 'Content-Type: text/plain\\n\\n'\n\
             if [ \"$REMOTE_ADDR\" {addr} ] && [ -n \"$HTTP_X_FORWARDED_FOR\" ]; then\n\
             \x20 last=${{HTTP_X_FORWARDED_FOR##*,}}; printf '%s\\n' \"${{last# }}\"\n\
             else printf '%s\\n' \"$REMOTE_ADDR\"; fi\n"
        )
    };
    let (ok, out) = check(11, &[("client-ip.sh", &trusts("= 127.0.0.1"))]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("from 127.0.0.2 with X-Forwarded-For `203.0.113.7`: it says `127.0.0.2`, expected `203.0.113.7`"),
        "{out}"
    );
    let (ok, out) = check(11, &[("client-ip.sh", &trusts("!= 127.0.0.1"))]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("from 127.0.0.3 with X-Forwarded-For `203.0.113.7`: it says `203.0.113.7`, expected `127.0.0.3`"),
        "{out}"
    );
    let (ok, out) = check(11, &[("client-ip.sh", &trusts("= 127.0.0.2"))]);
    assert!(ok, "{out}");
}

/// Lesson 5's check builds the learner's example with cargo, which cannot run inside
/// `cargo test`; the requests it then makes are checked here on apps served in-process.
#[test]
fn the_counter_check_wants_a_count_that_survives_between_requests() {
    use cgilab::gateway::{AppRequest, AppResponse, Apps};
    use std::sync::atomic::{AtomicU64, Ordering};

    // Each server stops when its handle is dropped, at the end of the test.
    fn serve(apps: Apps) -> cgilab::server::Spawned {
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
    let outcome = cgilab::lessons::checks::check_counter_app(right.addr());
    assert!(outcome.ok(), "{outcome:?}");

    let forgetful = serve(Apps::empty().with("counter", |_: AppRequest<'_>| {
        AppResponse::text(200, "count 1\n")
    }));
    let outcome = cgilab::lessons::checks::check_counter_app(forgetful.addr());
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
    let failure = cgilab::lessons::checks::check_counter_app(off_by_one.addr())
        .failure
        .expect("count 0, then count 1, fails");
    assert_eq!(
        failure.what,
        "two requests in a row answered count 0 then count 1, not count 1 then count 2"
    );
    assert!(failure.hint.contains("fetch_add"), "{}", failure.hint);

    let missing = serve(Apps::builtin());
    let outcome = cgilab::lessons::checks::check_counter_app(missing.addr());
    assert!(!outcome.ok());
}

/// The answer a lesson page shows for `file`, between its ```` ```LANG file=FILE ```` fence
/// and the closing one.
fn answer(page: &str, file: &str) -> String {
    let text = std::fs::read_to_string(root().join(page)).unwrap();
    let start = text
        .find(&format!(" file={file}\n"))
        .unwrap_or_else(|| panic!("{page} shows no {file}"));
    let rest = &text[start..];
    let body = &rest[rest.find('\n').unwrap() + 1..];
    body[..body.find("```").unwrap()].to_string()
}

/// Lesson 6's answer passes; a tally that counts every request as the first is caught in
/// the pool, where a worker answers more than one.
#[test]
fn a_tally_must_count_per_worker() {
    let page = "lessons/06-workers-that-stay/README.md";
    let right = answer(page, "cgi-bin/tally_wsgi.py");
    let (ok, out) = check(6, &[("tally_wsgi.py", &right)]);
    assert!(ok, "{out}");
    assert!(out.contains("each counting its own"), "{out}");
    let forgetful = right.replace("    requests += 1\n", "    requests = 1\n");
    let (ok, out) = check(6, &[("tally_wsgi.py", &forgetful)]);
    assert!(!ok, "{out}");
    assert!(out.contains("and said `requests` 1, 1"), "{out}");

    // One count for the whole pool (a file; as CGI, the process's own): one request at a
    // time, one worker answers them all and the count looks like its own; asked several
    // at a time, both workers answer and each one's counts have gaps.
    let shared = right
        .replace("import os\n", "import fcntl\nimport os\n")
        .replace(
            "    global requests\n    requests += 1\n",
            "    global requests\n\
             \x20   requests += 1\n\
             \x20   if __name__ != \"__main__\":\n\
             \x20     with open(os.path.join(os.path.dirname(__file__), \"tally.count\"), \"a+\") as f:\n\
             \x20       fcntl.flock(f, fcntl.LOCK_EX)\n\
             \x20       f.seek(0)\n\
             \x20       requests = int(f.read() or 0) + 1\n\
             \x20       f.seek(0)\n\
             \x20       f.truncate()\n\
             \x20       f.write(str(requests))\n",
        );
    assert_ne!(shared, right);
    let (ok, out) = check(6, &[("tally_wsgi.py", &shared)]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("✓ as CGI, each request is a new process"),
        "{out}"
    );
    assert!(out.contains(", 4 at a time: worker "), "{out}");
    assert!(out.contains(", not 1 to "), "{out}");
}

/// Lesson 7's answer passes; a count kept in memory is lost when --max-requests replaces
/// the worker, and the check says so.
#[test]
fn hits_must_outlive_the_workers() {
    let page = "lessons/07-the-supervisors-jobs/README.md";
    let right = answer(page, "cgi-bin/hits_wsgi.py");
    let (ok, out) = check(7, &[("hits_wsgi.py", &right)]);
    assert!(ok, "{out}");
    let in_memory = "hits = 0\n\ndef application(environ, start_response):\n    global hits\n    hits += 1\n    start_response(\"200 OK\", [(\"Content-Type\", \"text/plain\")])\n    return [b\"hits %d\\n\" % hits]\n";
    let (ok, out) = check(7, &[("hits_wsgi.py", in_memory)]);
    assert!(!ok, "{out}");
    // Caught in turn when a worker was replaced during those; if one worker answered
    // them all (its successor still booting), caught when two answer at once.
    assert!(out.contains("a worker's memory goes with it"), "{out}");
}

/// A count kept in the file with no lock passes one request at a time, and loses counts
/// when two workers answer at once: the check's burst is large enough to catch it.
#[test]
fn hits_without_a_lock_are_lost() {
    let unlocked = "import os\n\ndef application(environ, start_response):\n    p = os.environ[\"HITS_FILE\"]\n    try:\n        n = int(open(p).read() or 0) + 1\n    except FileNotFoundError:\n        n = 1\n    open(p, \"w\").write(str(n))\n    start_response(\"200 OK\", [(\"Content-Type\", \"text/plain\")])\n    return [b\"hits %d\\n\" % n]\n";
    let (ok, out) = check(7, &[("hits_wsgi.py", unlocked)]);
    assert!(!ok, "{out}");
    assert!(out.contains("9 requests in turn"), "{out}");
    assert!(out.contains("fcntl.flock"), "{out}");
}

/// Lesson 10's answer passes both ways (python3 on PATH has Flask; CI installs it).
#[test]
fn a_flask_app_answers_as_cgi_and_in_a_pool() {
    let page = "lessons/10-your-flask-app/README.md";
    let right = answer(page, "cgi-bin/flask_app.py");
    let (ok, out) = check(10, &[("flask_app.py", &right)]);
    assert!(ok, "{out}");
    assert!(out.contains("is Flask's own 404"), "{out}");

    // The task says plain text: Flask's default for a returned string is text/html.
    let html = right.replace(", {\"Content-Type\": \"text/plain; charset=utf-8\"}", "");
    assert_ne!(html, right);
    let (ok, out) = check(10, &[("flask_app.py", &html)]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("answered with Content-Type `text/html; charset=utf-8`, not text/plain"),
        "{out}"
    );
}

/// Lesson 12's answer passes; an app that connects on every request is caught by its own
/// count, and one that hides it (says `connects 1`, closes after each request) by the
/// descriptors its worker holds between requests.
#[test]
fn visits_keep_one_connection_per_worker() {
    let page = "lessons/12-workers-that-wait/README.md";
    let right = answer(page, "cgi-bin/visits_wsgi.py");
    let (ok, out) = check(12, &[("visits_wsgi.py", &right)]);
    assert!(ok, "{out}");
    assert!(out.contains("keeps its one connection open"), "{out}");

    let every = right.replace("    if connection is None:\n", "    if True:\n");
    assert_ne!(every, right, "the answer keeps its connection in a global");
    let (ok, out) = check(12, &[("visits_wsgi.py", &every)]);
    assert!(!ok, "{out}");
    assert!(out.contains("says `connects 2` at its request 2"), "{out}");

    let hiding = right
        .replace("        connects += 1\n", "        connects = 1\n")
        .replace(
            "    start_response(",
            "    db.close()\n    globals()[\"connection\"] = None\n    start_response(",
        );
    let (ok, out) = check(12, &[("visits_wsgi.py", &hiding)]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("has 0 descriptors open on $VISITS_DB"),
        "{out}"
    );

    // Connected at import: the worker that has served no request holds a connection.
    let at_import = right.replace(
        "\n\n\ndef application(",
        "\n\ndatabase()  # at import\n\n\ndef application(",
    );
    assert_ne!(at_import, right);
    let (ok, out) = check(12, &[("visits_wsgi.py", &at_import)]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("has served no request, yet has $VISITS_DB open: it connected at import"),
        "{out}"
    );
}

/// Lesson 14's answer passes; a key in the top-level `env`, which every pool and script
/// would get, is refused, and so is a file that leaves the lab's routes on.
#[test]
fn a_deployment_keeps_its_key_in_its_pool_and_the_lab_off() {
    let page = "lessons/14-your-app-in-production/README.md";
    let right = answer(page, "deploy.toml");
    let file = |text: &str| vec![("deploy.toml".to_string(), text.to_string())];
    let run = |text: &str| {
        let files = file(text);
        let files: Vec<(String, &str)> =
            files.iter().map(|(n, t)| (n.clone(), t.as_str())).collect();
        check_with(14, &files)
    };
    let (ok, out) = run(&right);
    assert!(ok, "{out}");
    assert!(out.contains("no answer shows the key"), "{out}");

    let shared = right
        .replace(
            "lab = false\n",
            "lab = false\nenv = { SHOP_SECRET_KEY = \"a-key-for-everyone-1234\" }\n",
        )
        .replace(
            "env = { SHOP_SECRET_KEY = \"a-key-for-the-shop-only-9f3e\" }\n",
            "",
        );
    let (ok, out) = run(&shared);
    assert!(!ok, "{out}");
    assert!(out.contains("every pool and every script gets it"), "{out}");

    let lab_on = right.replace("lab = false\n", "");
    let (ok, out) = run(&lab_on);
    assert!(!ok, "{out}");
    assert!(out.contains("not 404: the lab's routes are on"), "{out}");

    let unmounted = right.replace("mount = \"/shop\"\n", "");
    let (ok, out) = run(&unmounted);
    assert!(!ok, "{out}");
    assert!(out.contains("GET /shop/"), "{out}");
}

/// Lesson 13's answer passes: embedded, two requests meet and several pairs at once
/// each find one partner; in a pool they cannot. Without a lock, pairs at once get
/// crossed, and the check says to take the lock.
#[cfg(feature = "python")]
#[test]
fn requests_meet_only_in_one_process() {
    let page = "lessons/13-the-server-calls-the-app/README.md";
    let right = answer(page, "cgi-bin/meet_wsgi.py");
    let (ok, out) = check(13, &[("meet_wsgi.py", &right)]);
    assert!(ok, "{out}");
    assert!(out.contains("each met one other, who met it back"), "{out}");
    assert!(out.contains("wait in two processes"), "{out}");
    // Never waits: whoever comes first leaves at once.
    let impatient = right.replace("mine[\"met\"].wait(2)", "mine[\"met\"].wait(0)");
    assert_ne!(impatient, right, "the answer waits on an event");
    let (ok, out) = check(13, &[("meet_wsgi.py", &impatient)]);
    assert!(!ok, "{out}");
    assert!(out.contains("not `ann"), "{out}");
}

/// A cgilab built without embedded Python fails lesson 13's check with how to build one.
#[cfg(not(feature = "python"))]
#[test]
fn the_meeting_check_says_how_to_build_with_python() {
    let (ok, out) = check(13, &[("meet_wsgi.py", "def application(e, s): pass\n")]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("✗ this cgilab was built without embedded Python"),
        "{out}"
    );
    assert!(out.contains("--features python"), "{out}");
}

/// The tasks of lessons 2, 6, 11 and 12 say plain text; their pages' answers with
/// text/html in its place fail, each saying so.
#[test]
fn answers_that_are_not_plain_text_are_caught() {
    let answers = [
        (2, "lessons/02-the-environment/README.md", "echo.sh"),
        (6, "lessons/06-workers-that-stay/README.md", "tally_wsgi.py"),
        (11, "lessons/11-the-three-layers/README.md", "client-ip.sh"),
        (
            12,
            "lessons/12-workers-that-wait/README.md",
            "visits_wsgi.py",
        ),
    ];
    for (n, page, file) in answers {
        let right = answer(page, &format!("cgi-bin/{file}"));
        let html = right.replacen("text/plain", "text/html", 1);
        assert_ne!(html, right, "{page}");
        let (ok, out) = check(n, &[(file, &html)]);
        assert!(!ok, "{out}");
        assert!(
            out.contains("answered with Content-Type `text/html`, not text/plain"),
            "{out}"
        );
    }
}
