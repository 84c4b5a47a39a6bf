//! Deploying as with gunicorn: a config file with settings per pool (flags override
//! it), pools mounted at a prefix of their own with `SCRIPT_NAME` and `PATH_INFO` split
//! as PEP 3333 says, and a server without the lab's routes that needs no cgi-bin.

use std::process::Command;

use crate::support::*;

/// Answers with its pid, `SCRIPT_NAME` and `PATH_INFO`; `?hang` never answers.
const WHERE_APP: &str = r#"import os, time
def application(environ, start_response):
    if environ.get("QUERY_STRING") == "hang":
        while True:
            time.sleep(0.05)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [("pid=%d script_name=%r path_info=%r" % (
        os.getpid(), environ["SCRIPT_NAME"], environ["PATH_INFO"])).encode()]
"#;

/// A Flask app whose links and redirects are made by `url_for`.
const FLASK_APP: &str = r#"from flask import Flask, redirect, url_for
app = Flask(__name__)

@app.get("/")
def index():
    return url_for("page", name="x")

@app.get("/page/<name>")
def page(name):
    return "page " + name

@app.get("/go")
def go():
    return redirect(url_for("page", name="there"))
"#;

fn site_with(config: &str) -> Site {
    Site::new()
        .file("app.py", WHERE_APP)
        .file("flask_app.py", FLASK_APP)
        .file("cgilab.toml", config)
}

fn serve_config(site: &Site, extra: &[&str]) -> cgilab::client::ServerProcess {
    let config = site.path("cgilab.toml");
    let config = config.to_str().unwrap();
    let mut args = vec!["--config", config];
    args.extend_from_slice(extra);
    site.serve(&args)
}

fn workers_started(server: &cgilab::client::ServerProcess, pool: &str) -> usize {
    log_lines(server, &[&format!("pool {pool}: worker"), "started"]).len()
}

#[test]
fn a_config_file_gives_each_pool_its_own_settings() {
    let site = site_with(
        "workers = 1\ntimeout = 30\n\n[pool.busy]\napp = \"app.py\"\nworkers = 3\ntimeout = 1\n\n\
         [pool.quiet]\napp = \"app.py\"\n",
    );
    let server = serve_config(&site, &[]);
    wait_for_log(&server, 3, &["pool busy: worker", "started"]);
    wait_for_log(&server, 1, &["pool quiet: worker", "started"]);
    // The pool's own timeout: 504 after 1 s, though the server's is 30.
    let res = get(&server, "/pool/busy?hang");
    assert_eq!(res.status, 504, "{}", res.text());
    assert_eq!(get(&server, "/pool/quiet").status, 200);
    supervisor_turns(&server, "quiet", 1);
    assert_eq!(workers_started(&server, "quiet"), 1);
}

#[test]
fn a_flag_on_the_command_line_overrides_the_file() {
    let site = site_with("workers = 3\n\n[pool.t]\napp = \"app.py\"\n");
    let server = serve_config(&site, &["--workers", "1"]);
    wait_for_log(&server, 1, &["pool t: worker", "started"]);
    supervisor_turns(&server, "t", 1);
    assert_eq!(workers_started(&server, "t"), 1);
    assert!(
        log_lines(&server, &["worker pools at /pool/NAME: t (1 workers each)"]).len() == 1,
        "{:?}",
        server.log()
    );
}

/// PEP 3333: an app at the root has an empty SCRIPT_NAME and the whole path as
/// PATH_INFO; at `/blog`, SCRIPT_NAME is `/blog`. `/pool/NAME` keeps working.
#[test]
fn a_mounted_pool_gets_its_prefix_as_script_name() {
    let site = site_with(
        "[pool.site]\napp = \"app.py\"\nmount = \"/\"\n\n[pool.blog]\napp = \"app.py\"\nmount = \"/blog/\"\n",
    );
    let server = serve_config(&site, &[]);
    let text = |target: &str| {
        let res = get(&server, target);
        assert_eq!(res.status, 200, "{target}: {}", res.text());
        let text = res.text();
        text.split_once(' ').unwrap().1.to_string()
    };
    assert_eq!(text("/"), "script_name='' path_info='/'");
    assert_eq!(text("/a/b%20c"), "script_name='' path_info='/a/b c'");
    assert_eq!(text("/blog"), "script_name='/blog' path_info=''");
    assert_eq!(
        text("/blog/post/1"),
        "script_name='/blog' path_info='/post/1'"
    );
    assert_eq!(text("/blogs"), "script_name='' path_info='/blogs'");
    assert_eq!(
        text("/pool/blog/post"),
        "script_name='/pool/blog' path_info='/post'"
    );
    // The lab's routes still come first, but for the index page, which the root mount
    // takes.
    assert_eq!(get(&server, "/app/hello").status, 200);
    assert_eq!(get(&server, "/blog/%2e%2e/x").status, 403);
}

/// Flask's `url_for` and redirects give the public URL of a mounted app.
#[test]
fn a_flask_app_mounted_at_a_prefix_makes_its_public_urls() {
    let site = site_with("");
    let wsgi = site.wsgi("f", "flask_app.py:app");
    let server = site.serve(&["--wsgi", &wsgi, "--mount", "/shop=f"]);
    assert_eq!(get(&server, "/shop/").text(), "/shop/page/x");
    let res = get(&server, "/shop/go");
    assert_eq!(res.status, 302);
    assert_eq!(res.header("location"), Some("/shop/page/there"));
    assert_eq!(get(&server, "/shop/page/there").text(), "page there");
}

/// `--no-lab`: no index page, built-in apps, /raw or cgi-bin, and no cgi-bin needed.
#[test]
fn without_the_lab_only_pools_answer_and_no_cgi_bin_is_needed() {
    let site = site_with("");
    let wsgi = site.wsgi("t", "app.py");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cgilab"));
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--no-lab", "--cgi-bin"])
        .arg(site.path("no-such-dir"))
        .args(["--wsgi", &wsgi])
        .current_dir(site.dir.path());
    let server = cgilab::client::ServerProcess::start(cmd, WAIT).unwrap_or_else(|e| panic!("{e}"));
    for target in ["/", "/app/hello", "/raw", "/cgi-bin/hello.sh"] {
        assert_eq!(get(&server, target).status, 404, "{target}");
    }
    assert_eq!(get(&server, "/pool/t").status, 200);
}

fn cgilab(args: &[&str], dir: &std::path::Path) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_cgilab"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn check_config_reports_every_error_with_its_line() {
    let site = site_with(
        "workers = \"many\"\nlab = \"no\"\ncolour = \"red\"\n\n[pool.x]\nworker_class = \"threads\"\n",
    );
    let (ok, _, err) = cgilab(&["check-config", "cgilab.toml"], site.dir.path());
    assert!(!ok);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 5, "{err}");
    assert!(
        lines
            .iter()
            .all(|l| l.starts_with("cgilab: error: cgilab.toml:")),
        "{err}"
    );
    for want in [
        "cgilab.toml:1: `workers`",
        "cgilab.toml:2: `lab` is true or false",
        "cgilab.toml:3: `colour` is not a setting",
        "cgilab.toml:5: [pool.x] needs `app",
        "cgilab.toml:6: [pool.x] worker_class",
    ] {
        assert!(err.contains(want), "{want} in\n{err}");
    }
    let good = site_with("lab = false\n[pool.t]\napp = \"app.py\"\nmount = \"/\"\n");
    let (ok, out, err) = cgilab(&["check-config", "cgilab.toml"], good.dir.path());
    assert!(ok, "{err}");
    assert!(out.contains("lab routes off, 1 pools: t"), "{out}");
}

#[test]
fn a_bad_mount_is_one_line_that_says_what_to_do() {
    let site = site_with("");
    let wsgi = site.wsgi("t", "app.py");
    let cgi_bin = site.path("cgi-bin");
    let cgi_bin = cgi_bin.to_str().unwrap();
    for (mount, says) in [
        ("/blog=nope", "there is no pool `nope`"),
        ("blog=t", "must start with `/`"),
        ("/a/../b=t", "not a plain path"),
        ("/pool/x=t", "the server's own"),
        ("/cgi-bin=t", "or --no-lab"),
    ] {
        let args = [
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--cgi-bin",
            cgi_bin,
            "--wsgi",
            &wsgi,
            "--mount",
            mount,
        ];
        let (ok, _, err) = cgilab(&args, site.dir.path());
        assert!(!ok, "{mount} was accepted");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(says), "{mount}: {err}");
    }
}

/// `[static]` in the file mounts a directory, relative to the file; beside a pool at `/`,
/// the longer prefix wins.
#[test]
fn a_config_file_mounts_static_files_beside_a_pool_at_the_root() {
    let site = site_with(
        "lab = false\n\n[static]\n\"/assets\" = \"assets\"\n\n[pool.site]\napp = \"app.py\"\nmount = \"/\"\n",
    );
    std::fs::create_dir(site.path("assets")).unwrap();
    std::fs::write(site.path("assets/app.js"), "let x = 1;\n").unwrap();
    let server = serve_config(&site, &[]);
    let res = get(&server, "/assets/app.js");
    assert_eq!(res.status, 200);
    assert_eq!(res.text(), "let x = 1;\n");
    assert_eq!(
        res.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
    assert!(
        get(&server, "/assetsx")
            .text()
            .contains("path_info='/assetsx'")
    );
}

/// Flask's tutorial app from a config file as it would be deployed: its factory, its
/// directory, a secret of its own, mounted at `/` with no lab routes, and its static
/// files served by the server. Its links and redirects are the public ones.
#[test]
fn flaskr_deployed_from_a_config_file_at_the_root() {
    assert!(crate::loading::has_module("flask"));
    let site = Site::new();
    let vendored = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/flaskr/flaskr");
    crate::loading::copy_dir(&vendored, &site.path("app/flaskr"));
    let init = Command::new("python3")
        .args(["-m", "flask", "--app", "flaskr", "init-db"])
        .current_dir(site.path("app"))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .unwrap();
    assert!(init.status.success(), "{init:?}");
    std::fs::write(
        site.path("cgilab.toml"),
        "lab = false\n\n[static]\n\"/static\" = \"app/flaskr/static\"\n\n\
         [pool.flaskr]\napp = \"flaskr:create_app()\"\nchdir = \"app\"\nmount = \"/\"\n\
         workers = 1\nenv = { FLASKR_NOTE = \"kept from every route\" }\n",
    )
    .unwrap();
    let server = serve_config(&site, &[]);
    let index = get(&server, "/");
    assert_eq!(index.status, 200, "{}", index.text());
    assert!(
        index.text().contains(r#"href="/auth/register""#),
        "{}",
        index.text()
    );
    let css = get(&server, "/static/style.css");
    assert_eq!(css.status, 200);
    assert!(
        css.header("etag").is_some(),
        "served by the server, not the app"
    );
    let form = cgilab::client::http::Req::post("/auth/register", b"username=ada&password=pw")
        .header("Content-Type", "application/x-www-form-urlencoded");
    let res = server.request(&form).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(res.status, 302, "{}", res.text());
    assert_eq!(res.header("location"), Some("/auth/login"));
    assert_eq!(get(&server, "/pool/flaskr/hello").text(), "Hello, World!");
}

/// The log and proxy settings are keys of the file too: an access log relative to the
/// file, in the format asked for; a bad list of proxies is an error on its line.
#[test]
fn log_and_proxy_settings_come_from_the_file() {
    let site = site_with(
        "access_log = \"logs/access.log\"\naccess_log_format = \"common\"\n\
         forwarded_allow_ips = \"10.0.0.1\"\n\n[pool.t]\napp = \"app.py\"\n\n\
         [pool.scheme]\napp = \"scheme.py\"\n",
    )
    .file(
        "scheme.py",
        "def application(environ, start_response):\n\
         \x20   start_response('200 OK', [('Content-Type', 'text/plain')])\n\
         \x20   return [environ['wsgi.url_scheme'].encode()]\n",
    );
    std::fs::create_dir(site.path("logs")).unwrap();
    let server = serve_config(&site, &[]);
    assert_eq!(get(&server, "/pool/t/x").status, 200);
    wait_for("the access log's line", || {
        std::fs::read_to_string(site.path("logs/access.log"))
            .is_ok_and(|log| log.contains("\"GET /pool/t/x HTTP/1.1\" 200"))
    });
    // 127.0.0.1 is not among the proxies the file trusts: its header changes nothing.
    let res = server
        .request(
            &cgilab::client::http::Req::get("/pool/scheme").header("X-Forwarded-Proto", "https"),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((res.status, res.text().as_str()), (200, "http"));
    let bad = site_with("forwarded_allow_ips = \"not-an-address\"\n");
    let (ok, _, err) = cgilab(&["check-config", "cgilab.toml"], bad.dir.path());
    assert!(!ok);
    assert!(err.contains("cgilab.toml:1:"), "{err}");
}
