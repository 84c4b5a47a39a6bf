//! The same file, four ways: the `*_wsgi.py` twins answer the same as CGI, in a pool and
//! embedded, and as the Rust gateway's twin where there is one.

use std::collections::BTreeMap;

use cgilab::client::http::Req;

use crate::support::*;

const TWINS: [&str; 5] = ["hello", "form", "slow", "stream", "printenv"];

/// `--embed NAME=cgi-bin/NAME_wsgi.py` for every twin.
fn embeds() -> Vec<String> {
    TWINS
        .iter()
        .flat_map(|t| {
            let file = repo_cgi_bin().join(format!("{t}_wsgi.py"));
            ["--embed".to_string(), format!("{t}={}", file.display())]
        })
        .collect()
}

/// Status, content headers and body agree in all four modes, for the same cases the
/// pool's parity test asks.
#[test]
fn each_wsgi_twin_answers_the_same_in_all_four_modes() {
    let dir = tempfile::tempdir().unwrap();
    let mut args: Vec<String> = vec!["--workers".into(), "1".into()];
    args.extend(embeds());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let server = serve_with(&repo_cgi_bin(), dir.path(), &args);
    // (twin, rest of the URL, a body and its type)
    type Case<'a> = (&'a str, &'a str, Option<(&'a [u8], &'a str)>);
    let cases: [Case; 6] = [
        ("hello", "/first", None),
        ("form", "?a=1&b=x+y%21", None),
        (
            "form",
            "?q=1",
            Some((
                b"name=J%C3%BCrgen&empty=",
                "application/x-www-form-urlencoded",
            )),
        ),
        ("slow", "?secs=1", None),
        ("stream", "", None),
        ("hello", "", Some((b"ignored body", "text/plain"))),
    ];
    for (name, rest, body) in cases {
        let ask = |target: &str| match body {
            None => get(&server, target),
            Some((bytes, ctype)) => server
                .request(&Req::post(target, bytes).header("Content-Type", ctype))
                .unwrap(),
        };
        let embedded = ask(&format!("/wsgi/{name}{rest}"));
        assert_eq!(
            embedded.status,
            200,
            "/wsgi/{name}{rest}: {}",
            embedded.text()
        );
        for other in [
            format!("/cgi-bin/{name}_wsgi.py{rest}"),
            format!("/pool/{name}{rest}"),
            format!("/app/{name}{rest}"),
        ] {
            let res = ask(&other);
            assert_eq!(res.status, embedded.status, "{other}");
            assert_eq!(
                res.header("Content-Type"),
                embedded.header("Content-Type"),
                "{other}"
            );
            assert_eq!(res.body, embedded.body, "{other}");
        }
    }
}

/// The meta-variables agree with the pool's and CGI's: one environ function for every
/// mode, read the same way (native strings) by the worker and by the embedded host.
#[test]
fn the_environ_agrees_with_the_pool_and_cgi() {
    let dir = tempfile::tempdir().unwrap();
    let mut args: Vec<String> = vec!["--workers".into(), "1".into()];
    args.extend(embeds());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let server = serve_with(&repo_cgi_bin(), dir.path(), &args);
    let map = |target: &str| -> BTreeMap<String, String> {
        let res = server
            .request(
                &Req::get(target)
                    .header("X-Probe", "1")
                    .header("X-Name", "café")
                    .header("Cookie", "a=b"),
            )
            .unwrap();
        assert_eq!(res.status, 200, "{target}: {}", res.text());
        res.text()
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let embedded = map("/wsgi/printenv/x/y?q=1");
    let pool = map("/pool/printenv/x/y?q=1");
    let cgi = map("/cgi-bin/printenv_wsgi.py/x/y?q=1");
    // What names the script or the connection.
    let differ = ["SCRIPT_NAME", "REQUEST_URI", "REMOTE_PORT", "PATH"];
    let mut compared = 0;
    for (key, value) in &embedded {
        if differ.contains(&key.as_str()) {
            continue;
        }
        assert_eq!(pool.get(key), Some(value), "pool {key}");
        if key != "SCRIPT_FILENAME" {
            assert_eq!(cgi.get(key), Some(value), "CGI {key}");
        }
        compared += 1;
    }
    assert!(compared > 15, "only {compared} keys compared: {embedded:?}");
    assert_eq!(embedded.len(), pool.len(), "{embedded:?}\n{pool:?}");
    assert_eq!(embedded["SCRIPT_NAME"], "/wsgi/printenv");
    // The bytes as sent: read as Latin-1 by the app, written back as Latin-1.
    assert_eq!(embedded["HTTP_X_NAME"], "café");
}

/// The index page shows a fourth column where an app has an embedded twin, linking
/// `/wsgi/NAME`, and `cgilab routes` lists the route with its twins.
#[test]
fn the_index_page_and_routes_show_the_fourth_mode() {
    let dir = tempfile::tempdir().unwrap();
    let hello = repo_cgi_bin().join("hello_wsgi.py");
    let embed = format!("hello={}", hello.display());
    let server = serve_with(
        &repo_cgi_bin(),
        dir.path(),
        &["--workers", "1", "--embed", &embed],
    );
    assert_eq!(get(&server, "/wsgi/hello").text(), "Hello, world!\n");
    let page = get(&server, "/").text();
    assert!(page.contains("<th>embedded</th>"), "{page}");
    assert!(page.contains("<a href=\"/wsgi/hello\">hello</a>"), "{page}");
    let routes = std::process::Command::new(env!("CARGO_BIN_EXE_cgilab"))
        .args(["routes", "--cgi-bin"])
        .arg(repo_cgi_bin())
        .args(["--embed", &embed])
        .output()
        .unwrap();
    let routes = String::from_utf8_lossy(&routes.stdout);
    let row = routes
        .lines()
        .find(|l| l.contains("/wsgi/hello"))
        .unwrap_or_else(|| panic!("{routes}"));
    assert!(row.contains("embed"), "{row}");
    assert!(row.contains("/cgi-bin/hello_wsgi.py /pool/hello"), "{row}");
}
