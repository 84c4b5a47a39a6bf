//! The harness: a site in a temporary directory, the servers in front of and behind
//! nginx (each killed by its PID when dropped), and a client that keeps cookies and
//! records what each response said about URLs and cookies.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use cgilab::client::http::{Req, Response, request, request_unix};

/// Longest wait for a server to answer or a process to go: Python apps boot for seconds
/// on a busy machine. Every wait ends as soon as what it waits for has happened.
pub const WAIT: Duration = Duration::from_secs(60);

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub const LESSON: &str = "lessons/14-your-app-in-production";

/// True if `python3 -c "import MODULE"` works; a test that needs it fails otherwise.
pub fn require_module(module: &str) {
    let found = Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        found,
        "{module} is not installed for python3: python3 -m pip install {module}"
    );
}

pub fn require_program(program: &str) {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(found, "{program} is not installed; these tests need it");
}

/// Runs `cmd` to its end and fails the test, with its output, unless it succeeds.
pub fn run(cmd: &mut Command) {
    let out = cmd
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

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

/// A directory laid out as the repository is for lesson 14: the lesson's nginx files,
/// and `.run/` for the apps, the sockets and what nginx writes. Made under /tmp, so that
/// socket paths stay short.
pub struct Site {
    dir: tempfile::TempDir,
}

impl Site {
    pub fn new() -> Site {
        let dir = tempfile::Builder::new()
            .prefix("cgilab-deploy-")
            .tempdir_in("/tmp")
            .unwrap();
        let lesson = dir.path().join(LESSON);
        std::fs::create_dir_all(&lesson).unwrap();
        for file in ["nginx.conf", "nginx.sh"] {
            std::fs::copy(repo().join(LESSON).join(file), lesson.join(file)).unwrap();
        }
        std::fs::create_dir_all(dir.path().join(".run")).unwrap();
        Site { dir }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// The lesson's nginx, listening on a free port of 127.0.0.1, in front of `upstream`
    /// (a socket's path relative to the site).
    pub fn nginx(&self, upstream: &str) -> Nginx {
        require_program("nginx");
        let port = free_port();
        let listen = format!("127.0.0.1:{port}");
        let mut cmd = Command::new("sh");
        cmd.arg(format!("{LESSON}/nginx.sh"))
            .args([&listen, upstream])
            .current_dir(self.root())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let mut child = cmd.spawn().expect("sh runs nginx.sh");
        let (tx, rx) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                let _ = tx.send(line);
            }
        });
        let stderr = child.stderr.take().unwrap();
        let errors = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let into = errors.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                into.lock().unwrap().push_str(&(line + "\n"));
            }
        });
        let said = rx.recv_timeout(WAIT).unwrap_or_default();
        let nginx = Nginx {
            child,
            addr: listen.parse().unwrap(),
        };
        assert!(
            said.starts_with("nginx: listening on"),
            "nginx did not start: {said}\n{}",
            errors.lock().unwrap()
        );
        nginx
    }
}

/// A port that was free a moment ago, below the ephemeral range the servers' clients
/// take theirs from.
fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU16, Ordering};
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let base = 30_000 - (std::process::id() % 500) as u16 * 10;
    loop {
        let port = base - NEXT.fetch_add(1, Ordering::Relaxed) % 5_000;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// nginx, run by the lesson's nginx.sh in a process group of its own.
pub struct Nginx {
    child: Child,
    pub addr: SocketAddr,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // nginx.sh's trap stops nginx on TERM; its group goes for good after.
        let group = -(self.child.id() as libc::pid_t);
        unsafe { libc::kill(group, libc::SIGTERM) };
        wait_exit(&mut self.child);
        unsafe { libc::kill(group, libc::SIGKILL) };
    }
}

/// An app server on a unix socket (cgilab or gunicorn), stopped by its PID.
pub struct AppServer {
    child: Child,
    pub socket: PathBuf,
}

impl AppServer {
    /// Starts `cmd` and waits until `probe` on `socket` gets a response.
    pub fn start(mut cmd: Command, socket: PathBuf, probe: &str) -> AppServer {
        let child = cmd
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
        let mut server = AppServer { child, socket };
        let deadline = Instant::now() + WAIT;
        loop {
            if request_unix(&server.socket, &Req::get(probe)).is_ok_and(|r| r.status < 500) {
                return server;
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("{cmd:?} exited ({status}) before it answered");
            }
            assert!(Instant::now() < deadline, "{cmd:?} did not answer {probe}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for AppServer {
    fn drop(&mut self) {
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        if !wait_exit(&mut self.child) {
            unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGKILL) };
            let _ = self.child.wait();
        }
    }
}

/// Waits up to WAIT for `child` to exit; true if it did.
fn wait_exit(child: &mut Child) -> bool {
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// cgilab serving the pools of `config` (a config file's text, written to the site),
/// listening on `.run/cgilab.sock`.
pub fn cgilab(site: &Site, config: &str, probe: &str) -> AppServer {
    let file = site.path(".run/cgilab.toml");
    std::fs::write(&file, config).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cgilab"));
    cmd.arg("serve")
        .arg("--config")
        .arg(&file)
        .current_dir(site.root());
    AppServer::start(cmd, site.path(".run/cgilab.sock"), probe)
}

/// gunicorn serving `app` from `chdir` on `.run/gunicorn.sock`, with `env`.
pub fn gunicorn(
    site: &Site,
    app: &str,
    chdir: &str,
    env: &[(&str, &str)],
    probe: &str,
) -> AppServer {
    require_module("gunicorn");
    let socket = site.path(".run/gunicorn.sock");
    let mut cmd = Command::new("python3");
    cmd.args(["-m", "gunicorn", "-w", "2", "--no-control-socket"])
        .arg("--bind")
        .arg(format!("unix:{}", socket.display()))
        .arg("--worker-tmp-dir")
        .arg(site.path(".run"))
        .arg("--chdir")
        .arg(site.path(chdir))
        .arg(app)
        .envs(env.iter().copied())
        .current_dir(site.root());
    AppServer::start(cmd, socket, probe)
}

/// What one response said that must not depend on the server: its status, where it
/// sends the client, and the cookies it sets (names and attributes; values and dates
/// differ from run to run).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Said {
    pub request: String,
    pub status: u16,
    pub location: Option<String>,
    pub cookies: Vec<String>,
}

/// A client of one nginx: it keeps cookies as a browser does, and records each exchange.
pub struct Client {
    addr: SocketAddr,
    host: String,
    jar: BTreeMap<String, String>,
    pub said: Vec<Said>,
}

impl Client {
    pub fn new(addr: SocketAddr) -> Client {
        Client {
            addr,
            host: addr.to_string(),
            jar: BTreeMap::new(),
            said: Vec::new(),
        }
    }

    pub fn origin(&self) -> String {
        format!("http://{}", self.host)
    }

    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.jar.get(name).map(String::as_str)
    }

    pub fn get(&mut self, target: &str) -> Response {
        self.send("GET", target, b"", &[])
    }

    pub fn head(&mut self, target: &str) -> Response {
        self.send("HEAD", target, b"", &[])
    }

    /// A form, as a browser posts it (with its `Origin`).
    pub fn post(&mut self, target: &str, form: &str) -> Response {
        let origin = self.origin();
        self.send(
            "POST",
            target,
            form.as_bytes(),
            &[
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("Origin", &origin),
            ],
        )
    }

    pub fn send(
        &mut self,
        method: &str,
        target: &str,
        body: &[u8],
        headers: &[(&str, &str)],
    ) -> Response {
        let cookies: Vec<String> = self.jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let cookies = cookies.join("; ");
        let mut req = Req::get(target);
        req.method = method;
        req.body = body;
        req = req.header("Host", &self.host);
        for (name, value) in headers {
            req = req.header(name, value);
        }
        if !cookies.is_empty() {
            req = req.header("Cookie", &cookies);
        }
        let res = request(self.addr, &req).unwrap_or_else(|e| panic!("{e}"));
        let mut set = Vec::new();
        for (name, value) in &res.headers {
            if name.eq_ignore_ascii_case("set-cookie") {
                set.push(self.keep(value));
            }
        }
        self.said.push(Said {
            request: format!("{method} {target}"),
            status: res.status,
            location: res.header("Location").map(String::from),
            cookies: set,
        });
        res
    }

    /// Keeps (or drops) the cookie `header` sets; returns it with its value and dates
    /// left out: `sessionid; expires; HttpOnly; Max-Age=1209600; Path=/; SameSite=Lax`.
    fn keep(&mut self, header: &str) -> String {
        let mut parts = header.split(';').map(str::trim);
        let (name, value) = parts.next().unwrap().split_once('=').unwrap();
        let attrs: Vec<String> = parts
            .map(|a| match a.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("expires") => k.to_string(),
                _ => a.to_string(),
            })
            .collect();
        let gone = value.is_empty() || value == "\"\"" || attrs.iter().any(|a| a == "Max-Age=0");
        if gone {
            self.jar.remove(name);
        } else {
            self.jar.insert(name.to_string(), value.to_string());
        }
        let mut shown = vec![if gone {
            format!("{name} (removed)")
        } else {
            name.to_string()
        }];
        shown.extend(attrs);
        shown.join("; ")
    }
}

/// `name="NAME" value="VALUE"` in a page: a hidden field's value.
pub fn field(page: &str, name: &str) -> String {
    let key = format!("name=\"{name}\" value=\"");
    let at = page
        .find(&key)
        .unwrap_or_else(|| panic!("no field {name} in:\n{page}"));
    let rest = &page[at + key.len()..];
    rest[..rest.find('"').unwrap()].to_string()
}

/// Fails unless both flows said the same, exchange by exchange.
pub fn same_flows(under_cgilab: &[Said], under_gunicorn: &[Said]) {
    assert_eq!(under_cgilab.len(), under_gunicorn.len());
    for (a, b) in under_cgilab.iter().zip(under_gunicorn) {
        assert_eq!(a, b, "cgilab (left) and gunicorn (right) differ");
    }
}
