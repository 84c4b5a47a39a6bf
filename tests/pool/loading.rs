//! Loading an app as gunicorn does: `MODULE[:CALLABLE]` beside `FILE[:CALLABLE]`, a
//! factory called with literal arguments, `--chdir` and `--pythonpath`, the worker's
//! environment (PATH, HOME, the locale, `--env` and the pool's own `--pool-env`, nothing
//! else), an app that cannot be loaded failing its pool with its own last line, and two
//! real apps loaded that way: Flask's tutorial app by its factory, and a Django project by
//! its `mysite.wsgi` module.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use cgilab::client::ServerProcess;
use cgilab::client::http::Req;

use crate::support::*;

/// Says which module answered, and where its worker works.
const VIEWS: &str = r#"import os
def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [("module=%s cwd=%s" % (__name__, os.getcwd())).encode()]
"#;

/// Factories, good and bad, and a name that is not callable.
const FACTORY: &str = r#"
def make(greeting="hello", times=1, **options):
    body = "%s %s" % (" ".join([greeting] * times), sorted(options.items()))
    def application(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [body.encode()]
    return application

def raises():
    raise RuntimeError("the factory cannot start: no database")

def returns_none():
    pass

def fails_inside():
    return len(5)

NOT_CALLABLE = "a string"
"#;

/// A package: `pkg.wsgi` imports its app relatively, which works only when it is imported
/// as part of `pkg`.
fn package_site() -> Site {
    Site::new()
        .file("pkg/__init__.py", "")
        .file("pkg/views.py", VIEWS)
        .file("pkg/wsgi.py", "from .views import application\n")
        .file("pkg/factory.py", FACTORY)
}

/// The site's directory as the worker sees it (its real path).
fn real(site: &Site, name: &str) -> PathBuf {
    site.path(name).canonicalize().unwrap()
}

fn body(server: &ServerProcess, target: &str) -> String {
    let res = get(server, target);
    assert_eq!(res.status, 200, "{target}: {}", res.text());
    res.text()
}

/// `--wsgi t=pkg.wsgi` imports the module by name, as gunicorn's APP_MODULE, from the
/// server's working directory (gunicorn's default `--chdir`), so a relative import in it
/// works; with `--preload` the preloader loads it the same way.
#[test]
fn a_package_module_is_imported_by_name_and_its_relative_imports_work() {
    for preload in [false, true] {
        let site = package_site();
        let mut args = vec!["--wsgi", "t=pkg.wsgi", "--workers", "1"];
        if preload {
            args.push("--preload");
        }
        let server = site.serve(&args);
        let cwd = real(&site, ".");
        assert_eq!(
            body(&server, "/pool/t"),
            format!("module=pkg.views cwd={}", cwd.display()),
            "preload: {preload}"
        );
    }
}

/// `module:factory(...)` calls the factory with literal arguments, positional and named,
/// and serves what it returns; a file's factory too.
#[test]
fn a_factory_is_called_with_its_literal_arguments() {
    let site = package_site().file("standalone.py", FACTORY);
    let file = format!(
        "{}:make('from a file')",
        site.path("standalone.py").display()
    );
    let server = site.serve(&[
        "--wsgi",
        "plain=pkg.factory:make()",
        "--wsgi",
        "args=pkg.factory:make('hi', 2, debug=True, ports=[80, 443])",
        "--wsgi",
        &format!("file={file}"),
        "--workers",
        "1",
    ]);
    assert_eq!(body(&server, "/pool/plain"), "hello []");
    assert_eq!(
        body(&server, "/pool/args"),
        "hi hi [('debug', True), ('ports', [80, 443])]"
    );
    assert_eq!(body(&server, "/pool/file"), "from a file []");
}

/// A file's workers work in its directory and a module's in the server's, as before and
/// as gunicorn's; `--chdir` moves both, and a module is then found there.
#[test]
fn chdir_sets_where_workers_work_and_where_a_module_is_found() {
    let site = Site::new()
        .file("sub/where.py", VIEWS)
        .file("where.py", VIEWS)
        .file("other/where.py", VIEWS);
    let file = format!("f={}", site.path("sub/where.py").display());
    let server = site.serve(&["--wsgi", &file, "--wsgi", "m=where", "--workers", "1"]);
    let sub = real(&site, "sub");
    assert_eq!(
        body(&server, "/pool/f"),
        format!("module=where cwd={}", sub.display())
    );
    assert_eq!(
        body(&server, "/pool/m"),
        format!("module=where cwd={}", real(&site, ".").display())
    );
    drop(server);

    let other = real(&site, "other");
    let server = site.serve(&[
        "--chdir",
        "other",
        "--wsgi",
        &file,
        "--wsgi",
        "m=where:application",
        "--workers",
        "1",
    ]);
    assert_eq!(
        body(&server, "/pool/f"),
        format!("module=where cwd={}", other.display())
    );
    // Found in --chdir, which is first on sys.path.
    assert_eq!(
        body(&server, "/pool/m"),
        format!("module=where cwd={}", other.display())
    );
}

/// `--pythonpath a,b` puts its directories first on sys.path, in that order and before
/// `--chdir`; relative ones are taken from `--chdir`, as gunicorn does.
#[test]
fn pythonpath_comes_first_on_sys_path_in_the_order_given() {
    let site = Site::new()
        .file(
            "lib/app.py",
            r#"import order, shadow
def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [("order=%s shadow=%s" % (order.WHERE, shadow.WHERE)).encode()]
"#,
        )
        .file("lib/order.py", "WHERE = 'lib'\n")
        .file("vendor/order.py", "WHERE = 'vendor'\n")
        .file("vendor/shadow.py", "WHERE = 'vendor'\n")
        .file("proj/shadow.py", "WHERE = 'proj'\n");
    let server = site.serve(&[
        "--chdir",
        "proj",
        "--pythonpath",
        "../lib,../vendor",
        "--wsgi",
        "t=app",
        "--workers",
        "1",
    ]);
    assert_eq!(body(&server, "/pool/t"), "order=lib shadow=vendor");
}

/// Every way an app cannot be loaded is its pool's reason, in the worker's own last line:
/// a module that is not there (and where it was looked for), a missing callable, a
/// factory that raises, is given arguments that are not literals or the wrong ones,
/// returns None, or a name that is not callable.
#[test]
fn an_app_that_cannot_be_loaded_fails_its_pool_with_its_own_last_line() {
    let site = package_site();
    let cases: [(&str, &str, &str); 8] = [
        ("nomod", "no_such_module", "no module `no_such_module` in "),
        (
            "nocall",
            "pkg.factory:missing",
            "pkg.factory has no `missing`",
        ),
        (
            "raises",
            "pkg.factory:raises()",
            "RuntimeError: the factory cannot start: no database",
        ),
        (
            "nonliteral",
            "pkg.factory:make(greeting)",
            "the arguments of make(greeting) must be literals",
        ),
        (
            "wrongargs",
            "pkg.factory:make(1, 2, 3)",
            "wrong arguments for the factory: make() takes",
        ),
        ("none", "pkg.factory:returns_none()", "returned None"),
        (
            "notcallable",
            "pkg.factory:NOT_CALLABLE",
            "`NOT_CALLABLE` in pkg.factory is a str, not a WSGI callable",
        ),
        (
            "inside",
            "pkg.factory:fails_inside()",
            "TypeError: object of type 'int' has no len()",
        ),
    ];
    let specs: Vec<String> = cases
        .iter()
        .map(|(name, spec, _)| format!("{name}={spec}"))
        .collect();
    let mut args = vec!["--workers", "1"];
    for spec in &specs {
        args.extend(["--wsgi", spec.as_str()]);
    }
    let server = site.serve(&args);
    for (name, spec, reason) in cases {
        let prefix = format!("pool {name}: worker ");
        let line = wait_for_log(&server, 1, &[&prefix, "(boot failure 1 of"])
            .into_iter()
            .next()
            .unwrap();
        let last = line.split_once("): ").map(|(_, l)| l).unwrap_or_default();
        assert!(
            last.starts_with(&format!("cannot load {spec}: ")) && last.contains(reason),
            "pool {name}: {line}"
        );
    }
    let nomod = log_lines(&server, &["pool nomod: worker ", "(boot failure 1 of"]);
    assert!(nomod[0].contains("--chdir"), "{}", nomod[0]);
}

/// A `--chdir` gone after the start: the new workers of a reload cannot enter it, which
/// is their reason, and the old ones go on serving (HELD).
#[test]
fn a_chdir_that_cannot_be_entered_holds_a_reload_with_that_reason() {
    let site = Site::new().file("proj/where.py", VIEWS);
    let proj = real(&site, "proj");
    let server = site.serve(&["--chdir", "proj", "--wsgi", "t=where", "--workers", "1"]);
    body(&server, "/pool/t");
    std::fs::rename(site.path("proj"), site.path("proj-moved")).unwrap();
    signal(server.pid(), libc::SIGHUP);
    let line = wait_for_log(&server, 1, &["pool t: worker ", "(boot failure 1 of"]).remove(0);
    assert!(
        line.contains(&format!(
            "cannot load where: cannot change directory to {} (--chdir): No such file or directory",
            proj.display()
        )),
        "{line}"
    );
    wait_for_log(&server, 1, &["pool t: HELD"]);
    assert!(body(&server, "/pool/t").starts_with("module=where cwd="));
}

/// Prints its process's own environment, sorted.
const ENV_APP: &str = r#"import os
def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return ["".join("%s=%s\n" % kv for kv in sorted(os.environ.items())).encode()]
"#;

/// A secret given to one pool (`--pool-env NAME:KEY=VALUE`, or `NAME:KEY` copied from the
/// server's environment) reaches that pool's workers, with PATH, HOME, the locale and
/// `--env`, and nothing else of the server's; no other pool, no CGI script, no gateway
/// app, no page of the server and no line of `cgilab routes` shows it.
#[test]
fn a_pools_env_reaches_its_own_workers_and_no_route_shows_it() {
    const SECRET: &str = "s3cret-given-on-the-command-line";
    const COPIED: &str = "s3cret-copied-from-the-server";
    let site = Site::new().file("env_app.py", ENV_APP);
    let cgi_bin = repo_cgi_bin();
    let env_app = site.path("env_app.py");
    let printenv = cgi_bin.join("printenv_wsgi.py");
    let specs = [
        format!("secret={}", env_app.display()),
        format!("other={}", env_app.display()),
        format!("printenv={}", printenv.display()),
    ];
    let pool_env = format!("secret:SECRET_TOKEN={SECRET}");
    let mut pool_args: Vec<&str> = vec!["--workers", "1"];
    for spec in &specs {
        pool_args.extend(["--wsgi", spec.as_str()]);
    }
    pool_args.extend(["--pool-env", &pool_env, "--pool-env", "secret:COPIED_TOKEN"]);
    let server_env = [
        ("COPIED_TOKEN", COPIED),
        ("SERVER_ONLY", "from-the-servers-environment"),
        ("PYTHONPATH", "/from/the/servers/environment"),
        ("HOME", "/home/of-the-server"),
        ("LANG", "C.UTF-8"),
        ("LC_ALL", "C.UTF-8"),
    ];
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cgilab"));
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--cgi-bin"])
        .arg(&cgi_bin)
        .args(["--env", "VISIBLE=to-everyone"])
        .args(&pool_args)
        .envs(server_env)
        .current_dir(site.dir.path());
    let server = ServerProcess::start(cmd, WAIT).unwrap_or_else(|e| panic!("{e}"));

    let own = body(&server, "/pool/secret");
    let lines: Vec<&str> = own.lines().collect();
    for want in [
        format!("SECRET_TOKEN={SECRET}"),
        format!("COPIED_TOKEN={COPIED}"),
        "VISIBLE=to-everyone".to_string(),
        "HOME=/home/of-the-server".to_string(),
        "LANG=C.UTF-8".to_string(),
        "LC_ALL=C.UTF-8".to_string(),
    ] {
        assert!(
            lines.contains(&want.as_str()),
            "{want} missing from:\n{own}"
        );
    }
    assert!(lines.iter().any(|l| l.starts_with("PATH=")), "{own}");
    for unwanted in ["SERVER_ONLY=", "PYTHONPATH="] {
        assert!(
            !lines.iter().any(|l| l.starts_with(unwanted)),
            "{unwanted} reached the worker:\n{own}"
        );
    }

    let pages = [
        "/",
        "/pool/other",
        "/pool/printenv",
        "/pool/printenv/x?y=z",
        "/app/printenv",
        "/cgi-bin/printenv.sh",
        "/cgi-bin/printenv_wsgi.py",
        "/pool/no-such-pool",
        "/cgi-bin/no-such-script",
        "/no-such-page",
    ];
    for page in pages {
        let res = get(&server, page);
        let text = String::from_utf8_lossy(&res.body).into_owned();
        let head = format!("{:?}", res.headers);
        for secret in [SECRET, COPIED] {
            assert!(
                !text.contains(secret) && !head.contains(secret),
                "{page} shows a pool's secret:\n{text}"
            );
        }
    }
    let other = body(&server, "/pool/other");
    assert!(!other.contains("SECRET_TOKEN") && !other.contains("COPIED_TOKEN"));

    let routes = Command::new(env!("CARGO_BIN_EXE_cgilab"))
        .args(["routes", "--cgi-bin"])
        .arg(&cgi_bin)
        .args(&pool_args)
        .envs(server_env)
        .current_dir(site.dir.path())
        .output()
        .unwrap();
    assert!(routes.status.success());
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&routes.stdout),
        String::from_utf8_lossy(&routes.stderr)
    );
    assert!(said.contains("/pool/secret"), "{said}");
    assert!(!said.contains(SECRET) && !said.contains(COPIED), "{said}");
}

/// True if `python3 -c "import MODULE"` works; a test that needs it fails otherwise,
/// saying what to install (`.ci/run` installs it).
pub fn has_module(module: &str) -> bool {
    let found = Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        found,
        "{module} is not installed for python3: python3 -m pip install {module} (.ci/run does)"
    );
    found
}

/// Copies directory `from` into `to`, recursively.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// The cookie a response sets, as `name=value`.
fn cookie(res: &cgilab::client::http::Response) -> String {
    let set = res
        .header("Set-Cookie")
        .unwrap_or_else(|| panic!("no Set-Cookie in {:?}", res.headers));
    set.split(';').next().unwrap().to_string()
}

/// Flask's tutorial app (examples/flaskr) served by its app factory,
/// `flaskr:create_app()`, from `--chdir`: register, log in, write a post and read it,
/// with its links and redirects under the pool's SCRIPT_NAME.
#[test]
fn flaskr_is_served_by_its_app_factory() {
    if !python3() || !has_module("flask") {
        return;
    }
    let site = Site::new();
    let vendored = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/flaskr/flaskr");
    copy_dir(&vendored, &site.path("flaskr"));
    let init = Command::new("python3")
        .args(["-m", "flask", "--app", "flaskr", "init-db"])
        .current_dir(site.dir.path())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .unwrap();
    assert!(init.status.success(), "{init:?}");
    let root = site.dir.path().to_string_lossy().into_owned();
    let server = site.serve(&[
        "--chdir",
        &root,
        "--wsgi",
        "flaskr=flaskr:create_app()",
        "--workers",
        "1",
    ]);
    assert_eq!(body(&server, "/pool/flaskr/hello"), "Hello, World!");
    let index = body(&server, "/pool/flaskr/");
    assert!(
        index.contains(r#"href="/pool/flaskr/auth/register""#),
        "{index}"
    );
    let css = get(&server, "/pool/flaskr/static/style.css");
    assert_eq!(css.status, 200);
    assert!(css.header("Content-Type").unwrap().starts_with("text/css"));

    let form = ("Content-Type", "application/x-www-form-urlencoded");
    let send = |target: &str, body: &[u8], cookie: Option<&str>| {
        let mut req = Req::post(target, body).header(form.0, form.1);
        if let Some(c) = cookie {
            req = req.header("Cookie", c);
        }
        server.request(&req).unwrap_or_else(|e| panic!("{e}"))
    };
    let res = send(
        "/pool/flaskr/auth/register",
        b"username=ada&password=pw",
        None,
    );
    assert_eq!(res.status, 302, "{}", res.text());
    assert!(
        res.header("Location")
            .unwrap()
            .ends_with("/pool/flaskr/auth/login")
    );
    let res = send("/pool/flaskr/auth/login", b"username=ada&password=pw", None);
    assert_eq!(res.status, 302, "{}", res.text());
    assert!(res.header("Location").unwrap().ends_with("/pool/flaskr/"));
    let session = cookie(&res);
    let res = send(
        "/pool/flaskr/create",
        b"title=Loaded+by+its+factory&body=as+gunicorn+does",
        Some(&session),
    );
    assert_eq!(res.status, 302, "{}", res.text());
    let res = server
        .request(&Req::get("/pool/flaskr/").header("Cookie", &session))
        .unwrap();
    let text = res.text();
    assert!(
        text.contains("Loaded by its factory") && text.contains("by ada"),
        "{text}"
    );
}

/// A Django project made by `django-admin startproject`, served as gunicorn serves it,
/// `mysite.wsgi` from `--chdir`, its SECRET_KEY read from the environment and given to
/// the pool alone (`--pool-env mysite:DJANGO_SECRET_KEY`): the admin's login page answers.
#[test]
fn a_django_project_is_served_by_its_wsgi_module() {
    if !python3() || !has_module("django") {
        return;
    }
    let site = Site::new();
    let made = Command::new("python3")
        .args(["-m", "django", "startproject", "mysite"])
        .current_dir(site.dir.path())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    let settings = site.path("mysite/mysite/settings.py");
    let text = std::fs::read_to_string(&settings).unwrap();
    let text: String = text
        .lines()
        .map(|l| match l.starts_with("SECRET_KEY") {
            true => "SECRET_KEY = __import__('os').environ['DJANGO_SECRET_KEY']\n".to_string(),
            false => format!("{l}\n"),
        })
        .collect();
    std::fs::write(&settings, text).unwrap();

    let project = site.path("mysite").to_string_lossy().into_owned();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cgilab"));
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--cgi-bin"])
        .arg(site.path("cgi-bin"))
        .args(["--chdir", &project, "--wsgi", "mysite=mysite.wsgi"])
        .args(["--pool-env", "mysite:DJANGO_SECRET_KEY", "--workers", "1"])
        .env("DJANGO_SECRET_KEY", "a-key-only-the-pool-gets")
        .current_dir(site.dir.path());
    let server = ServerProcess::start(cmd, WAIT).unwrap_or_else(|e| panic!("{e}"));
    let login = get(&server, "/pool/mysite/admin/login/");
    assert_eq!(login.status, 200, "{}", login.text());
    assert!(
        login.text().contains("Django site admin"),
        "{}",
        login.text()
    );
    assert!(cookie(&login).starts_with("csrftoken="));
    let admin = get(&server, "/pool/mysite/admin/");
    assert_eq!(admin.status, 302);
    assert!(
        admin
            .header("Location")
            .unwrap()
            .ends_with("/pool/mysite/admin/login/?next=/pool/mysite/admin/"),
        "{:?}",
        admin.headers
    );
}
