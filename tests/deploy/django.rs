//! A Django site's admin at `/site`, behind nginx, under cgilab and under gunicorn: log
//! in with a CSRF token, a change list, add, change and delete a group, log out; the same
//! URLs and cookies through each.

use std::process::Command;

use crate::support::*;

const SECRET: &str = "a-key-for-the-django-site-alone-0b7d";
const PASSWORD: &str = "grace-1906";

/// A Django project at `.run/mysite` in `site`, as lesson 14 makes it: production
/// settings beside startproject's, its database, its static files gathered, an admin.
fn mysite(site: &Site) {
    require_module("django");
    let project = site.path(".run/mysite");
    std::fs::create_dir_all(&project).unwrap();
    run(Command::new("python3")
        .args(["-m", "django", "startproject", "mysite"])
        .arg(&project));
    std::fs::write(
        project.join("mysite/production.py"),
        "import os\nfrom .settings import *\nSECRET_KEY = os.environ['DJANGO_SECRET_KEY']\n\
         DEBUG = False\nALLOWED_HOSTS = ['127.0.0.1', 'localhost']\nSTATIC_ROOT = BASE_DIR / 'static'\n",
    )
    .unwrap();
    let manage = |args: &[&str]| {
        run(Command::new("python3")
            .arg("manage.py")
            .args(args)
            .current_dir(&project)
            .env("DJANGO_SETTINGS_MODULE", "mysite.production")
            .env("DJANGO_SECRET_KEY", "for-manage-py")
            .env("DJANGO_SUPERUSER_PASSWORD", PASSWORD));
    };
    manage(&["migrate", "-v", "0"]);
    manage(&["collectstatic", "--noinput", "-v", "0"]);
    manage(&[
        "createsuperuser",
        "--noinput",
        "--username",
        "grace",
        "--email",
        "grace@example.com",
    ]);
}

/// The CSRF token of the form on `page`.
fn token(page: &cgilab::client::http::Response) -> String {
    field(&page.text(), "csrfmiddlewaretoken")
}

fn flow(c: &mut Client) {
    let admin = c.get("/site/admin/");
    assert_eq!(admin.status, 302);
    let login = c.get("/site/admin/login/?next=/site/admin/");
    assert_eq!(login.status, 200, "{}", login.text());
    assert!(c.cookie("csrftoken").is_some());
    let css = c.get("/site/static/admin/css/base.css");
    assert_eq!(css.status, 200);
    assert!(css.header("Server-Timing").is_none(), "nginx serves it");
    assert_eq!(c.head("/site/static/admin/css/base.css").status, 200);
    // A form without its token is refused.
    assert_eq!(
        c.post("/site/admin/login/", "username=grace&password=x")
            .status,
        403
    );
    let t = token(&login);
    let wrong = c.post(
        "/site/admin/login/",
        &format!("csrfmiddlewaretoken={t}&username=grace&password=wrong&next=/site/admin/"),
    );
    assert_eq!(wrong.status, 200);
    assert!(wrong.text().contains("correct username and password"));
    let t = token(&wrong);
    let ok = c.post(
        "/site/admin/login/",
        &format!("csrfmiddlewaretoken={t}&username=grace&password={PASSWORD}&next=/site/admin/"),
    );
    assert_eq!(ok.status, 302, "{}", ok.text());
    assert!(c.cookie("sessionid").is_some());
    assert!(c.get("/site/admin/").text().contains("Site administration"));
    let users = c.get("/site/admin/auth/user/");
    assert!(users.text().contains("grace"), "the change list");
    assert_eq!(c.get("/site/admin/auth/group/").status, 200);
    let add = c.get("/site/admin/auth/group/add/");
    let t = token(&add);
    let added = c.post(
        "/site/admin/auth/group/add/",
        &format!("csrfmiddlewaretoken={t}&name=editors&_save=Save"),
    );
    assert_eq!(added.status, 302, "{}", added.text());
    assert!(c.get("/site/admin/auth/group/").text().contains("editors"));
    let change = c.get("/site/admin/auth/group/1/change/");
    assert_eq!(change.status, 200);
    let t = token(&change);
    let changed = c.post(
        "/site/admin/auth/group/1/change/",
        &format!("csrfmiddlewaretoken={t}&name=writers&_save=Save"),
    );
    assert_eq!(changed.status, 302, "{}", changed.text());
    assert!(
        c.get("/site/admin/auth/group/?q=writers")
            .text()
            .contains("writers")
    );
    let delete = c.get("/site/admin/auth/group/1/delete/");
    let t = token(&delete);
    let deleted = c.post(
        "/site/admin/auth/group/1/delete/",
        &format!("csrfmiddlewaretoken={t}&post=yes"),
    );
    assert_eq!(deleted.status, 302, "{}", deleted.text());
    // The page says what was deleted; the list itself is empty.
    assert!(c.get("/site/admin/auth/group/").text().contains("0 groups"));
    assert_eq!(c.get("/site/admin/auth/group/1/change/").status, 302);
    assert_eq!(c.head("/site/admin/").status, 200);
    let page = c.get("/site/admin/");
    let t = token(&page);
    let out = c.post("/site/admin/logout/", &format!("csrfmiddlewaretoken={t}"));
    assert_eq!(out.status, 200, "{}", out.text());
    assert!(c.cookie("sessionid").is_none());
    assert_eq!(c.get("/site/admin/").status, 302);
}

#[test]
fn the_django_admin_behind_nginx_says_the_same_urls_and_cookies_under_cgilab_and_gunicorn() {
    let config = format!(
        "lab = false\nlisten = \"unix:cgilab.sock\"\n\n[pool.mysite]\napp = \"mysite.wsgi\"\n\
         chdir = \"mysite\"\nmount = \"/site\"\nworkers = 2\n\
         env = {{ DJANGO_SETTINGS_MODULE = \"mysite.production\", DJANGO_SECRET_KEY = \"{SECRET}\" }}\n"
    );
    let under_cgilab = {
        let site = Site::new();
        mysite(&site);
        let _server = cgilab(&site, &config, "/site/admin/login/");
        let nginx = site.nginx(".run/cgilab.sock");
        let mut c = Client::new(nginx.addr);
        flow(&mut c);
        c.said
    };
    let under_gunicorn = {
        let site = Site::new();
        mysite(&site);
        // gunicorn has no mount: SCRIPT_NAME in its environment is its prefix.
        let _server = gunicorn(
            &site,
            "mysite.wsgi",
            ".run/mysite",
            &[
                ("DJANGO_SETTINGS_MODULE", "mysite.production"),
                ("DJANGO_SECRET_KEY", SECRET),
                ("SCRIPT_NAME", "/site"),
            ],
            "/site/admin/login/",
        );
        let nginx = site.nginx(".run/gunicorn.sock");
        let mut c = Client::new(nginx.addr);
        flow(&mut c);
        c.said
    };
    assert!(under_cgilab.len() >= 20, "{}", under_cgilab.len());
    let locations: Vec<&str> = under_cgilab
        .iter()
        .filter_map(|s| s.location.as_deref())
        .collect();
    assert!(
        locations.iter().all(|l| l.starts_with("/site/admin/")),
        "{locations:?}"
    );
    assert!(
        under_cgilab
            .iter()
            .any(|s| s.cookies.iter().any(
                |c| c == "sessionid; expires; HttpOnly; Max-Age=1209600; Path=/; SameSite=Lax"
            )),
        "{under_cgilab:#?}"
    );
    same_flows(&under_cgilab, &under_gunicorn);
}
