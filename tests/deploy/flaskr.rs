//! Flask's tutorial app (examples/flaskr) at `/`, behind nginx, under cgilab and under
//! gunicorn: the same flow of requests through each, the same URLs and cookies back.

use std::process::Command;

use crate::support::*;

const SECRET: &str = "a-key-for-flaskr-alone-5e1f";

/// A copy of flaskr with its database, at `.run/flaskr` in `site`.
fn flaskr(site: &Site) {
    require_module("flask");
    let app = site.path(".run/flaskr");
    copy_dir(&repo().join("examples/flaskr"), &app);
    run(Command::new("python3")
        .args(["-m", "flask", "--app", "flaskr", "init-db"])
        .current_dir(&app));
    std::fs::write(
        app.join("instance/config.py"),
        "import os\nSECRET_KEY = os.environ[\"FLASKR_SECRET_KEY\"]\n",
    )
    .unwrap();
}

/// The flow: browse, register, log in, write, edit and delete a post, log out, with the
/// redirects, static files and HEAD requests on the way. Checks what a browser would see.
fn flow(c: &mut Client) {
    let index = c.get("/");
    assert_eq!(index.status, 200);
    assert!(
        index.text().contains(r#"href="/auth/register""#),
        "{}",
        index.text()
    );
    // The stylesheet is nginx's: no worker timed it.
    let css = c.get("/static/style.css");
    assert_eq!(css.status, 200);
    assert!(css.header("Content-Type").unwrap().starts_with("text/css"));
    assert!(css.header("Server-Timing").is_none());
    let head = c.head("/static/style.css");
    assert_eq!(head.header("Content-Length"), css.header("Content-Length"));
    assert!(head.body.is_empty());
    let head = c.head("/");
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    assert_eq!(c.get("/auth/register").status, 200);
    assert_eq!(
        c.post("/auth/register", "username=ada&password=lovelace")
            .status,
        302
    );
    let again = c.post("/auth/register", "username=ada&password=lovelace");
    assert!(
        again.text().contains("already registered"),
        "{}",
        again.text()
    );
    assert_eq!(c.get("/auth/login").status, 200);
    let wrong = c.post("/auth/login", "username=ada&password=babbage");
    assert!(
        wrong.text().contains("Incorrect password"),
        "{}",
        wrong.text()
    );
    assert_eq!(
        c.post("/auth/login", "username=ada&password=lovelace")
            .status,
        302
    );
    assert!(c.cookie("session").is_some());
    assert!(c.get("/").text().contains("Log Out"));
    assert_eq!(c.get("/create").status, 200);
    let empty = c.post("/create", "title=&body=nothing");
    assert!(
        empty.text().contains("Title is required"),
        "{}",
        empty.text()
    );
    assert_eq!(
        c.post("/create", "title=Deployed&body=behind+nginx").status,
        302
    );
    assert!(c.get("/").text().contains("<h1>Deployed</h1>"));
    assert_eq!(c.get("/1/update").status, 200);
    assert_eq!(
        c.post("/1/update", "title=Redeployed&body=again").status,
        302
    );
    assert!(c.get("/").text().contains("<h1>Redeployed</h1>"));
    assert_eq!(c.post("/1/delete", "").status, 302);
    assert!(!c.get("/").text().contains("Redeployed"));
    assert_eq!(c.get("/1/update").status, 404);
    assert_eq!(c.get("/auth/logout").status, 302);
    assert!(c.cookie("session").is_none());
    assert_eq!(c.get("/create").status, 302);
    assert_eq!(c.get("/no/such/page").status, 404);
    assert_eq!(c.head("/auth/login").status, 200);
}

#[test]
fn flaskr_behind_nginx_says_the_same_urls_and_cookies_under_cgilab_and_gunicorn() {
    let config = format!(
        "lab = false\nlisten = \"unix:cgilab.sock\"\n\n[pool.flaskr]\napp = \"flaskr:create_app()\"\n\
         chdir = \"flaskr\"\nmount = \"/\"\nworkers = 2\nenv = {{ FLASKR_SECRET_KEY = \"{SECRET}\" }}\n"
    );
    let under_cgilab = {
        let site = Site::new();
        flaskr(&site);
        let _server = cgilab(&site, &config, "/hello");
        let nginx = site.nginx(".run/cgilab.sock");
        let mut c = Client::new(nginx.addr);
        flow(&mut c);
        c.said
    };
    let under_gunicorn = {
        let site = Site::new();
        flaskr(&site);
        let _server = gunicorn(
            &site,
            "flaskr:create_app()",
            ".run/flaskr",
            &[("FLASKR_SECRET_KEY", SECRET)],
            "/hello",
        );
        let nginx = site.nginx(".run/gunicorn.sock");
        let mut c = Client::new(nginx.addr);
        flow(&mut c);
        c.said
    };
    assert!(under_cgilab.len() >= 20, "{}", under_cgilab.len());
    // The redirects are the public URLs, and the session cookie is flaskr's own.
    let locations: Vec<&str> = under_cgilab
        .iter()
        .filter_map(|s| s.location.as_deref())
        .collect();
    assert!(
        locations
            .iter()
            .all(|l| l.starts_with('/') && !l.contains("/pool/")),
        "{locations:?}"
    );
    assert!(locations.contains(&"/auth/login"), "{locations:?}");
    assert!(
        under_cgilab
            .iter()
            .any(|s| s.cookies == ["session; HttpOnly; Path=/"]),
        "{under_cgilab:?}"
    );
    same_flows(&under_cgilab, &under_gunicorn);
}
