//! The notes app on MariaDB: a server that the lesson's `mariadb.sh` starts in a
//! temporary directory (everything in its `.run/mariadb/`, a socket and no TCP port),
//! stopped with its script's whole process group when the test ends. The server's own
//! status counters and process list say what the app did.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use cgilab::client::http::{Req, request};

use crate::notes::*;
use crate::support::{Site, alive, wait_for, wait_for_log};

/// How long `mariadb.sh` may take to make its data folder and answer: seconds on a quiet
/// machine, more on a busy one.
const START: Duration = Duration::from_secs(90);

/// A MariaDB server run by `mariadb.sh`, in the foreground of a process group of its own.
struct MariaDb {
    script: Child,
    dir: PathBuf,
    /// `mysql://root@localhost/notes?unix_socket=...`, as the script says.
    url: String,
}

impl MariaDb {
    /// Runs `mariadb.sh` in `dir` and waits for the line that says it is ready.
    fn start(dir: &Path) -> MariaDb {
        assert!(
            Path::new("/usr/sbin/mariadbd").exists()
                || Command::new("sh")
                    .args(["-c", "command -v mariadbd"])
                    .stdout(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success()),
            "MariaDB's server is not installed (.ci/run installs mariadb-server)"
        );
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("lessons/12-workers-that-wait/mariadb.sh");
        let mut child = Command::new("sh")
            .arg(script)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .expect("sh starts");
        let (tx, rx) = mpsc::channel();
        for out in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let tx = tx.clone();
            thread::spawn(move || {
                for line in BufReader::new(out).lines() {
                    let Ok(line) = line else { break };
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        let mut db = MariaDb {
            script: child,
            dir: dir.to_path_buf(),
            url: String::new(),
        };
        let deadline = Instant::now() + START;
        let mut said = Vec::new();
        while db.url.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(url) = line.strip_prefix("mariadb: DATABASE_URL=") {
                        db.url = url.to_string();
                    }
                    said.push(line);
                }
                Err(_) => panic!("mariadb.sh did not say it was ready; it said:\n{said:?}"),
            }
        }
        db
    }

    fn socket(&self) -> PathBuf {
        self.dir.join(".run/mariadb/sock")
    }

    /// Runs `sql` with the `mariadb` client as root; its output, tab-separated.
    fn query(&self, sql: &str) -> String {
        let out = Command::new("mariadb")
            .arg("--no-defaults")
            .arg(format!("--socket={}", self.socket().display()))
            .args(["--user=root", "--batch", "--skip-column-names", "-e", sql])
            .output()
            .expect("the mariadb client runs");
        assert!(
            out.status.success(),
            "{sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A status counter of the server, e.g. `Connections`.
    fn status(&self, name: &str) -> i64 {
        let out = self.query(&format!("SHOW GLOBAL STATUS LIKE '{name}'"));
        out.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    /// The ids of the connections now running `SELECT SLEEP`.
    fn sleeping(&self) -> Vec<String> {
        self.query("SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE 'SELECT SLEEP%'")
            .lines()
            .map(String::from)
            .collect()
    }

    /// The server's pid, from the file it wrote.
    fn server_pid(&self) -> Option<u32> {
        std::fs::read_to_string(self.dir.join(".run/mariadb/mariadbd.pid"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }
}

impl Drop for MariaDb {
    fn drop(&mut self) {
        let server = self.server_pid();
        let group = -(self.script.id() as libc::pid_t);
        // As Ctrl-C in its terminal would: the script stops the server and waits for it.
        unsafe { libc::kill(group, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.script.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(20));
        }
        unsafe { libc::kill(group, libc::SIGKILL) };
        let _ = self.script.wait();
        if let Some(pid) = server {
            // The server is the script's child, in its group; were it still there (the
            // script killed before it could wait), it goes now.
            if alive(pid) {
                unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
            }
        }
    }
}

/// A site, and a MariaDB server in it.
fn site_with_mariadb() -> (Site, MariaDb) {
    let site = site();
    let db = MariaDb::start(site.dir.path());
    (site, db)
}

/// The same routes as on SQLite, both ways, on MariaDB through PyMySQL, with the
/// database server's own ids.
#[test]
fn notes_live_in_mariadb_both_ways() {
    assert!(
        python_has("pymysql"),
        "PyMySQL is not installed for python3 (.ci/run installs it)"
    );
    let (site, db) = site_with_mariadb();
    let env = format!("DATABASE_URL={}", db.url);
    let server = serve(&site, &["--env", &env]);

    let res = post_form(&server, MODES[0], "title=CGI&text=a+process+per+request");
    assert_eq!(res.status, 201, "{}", res.text());
    assert_eq!(res.header("Location"), Some("/cgi-bin/notes.py/notes/1"));
    let res = post_form(&server, MODES[1], "title=pool");
    assert_eq!(res.header("Location"), Some("/pool/notes/notes/2"));
    for prefix in MODES {
        let one = send(&server, &Req::get(&format!("{prefix}/notes/1")));
        assert_eq!(
            one.text(),
            "{\"id\":1,\"title\":\"CGI\",\"text\":\"a process per request\"}\n",
            "{prefix}"
        );
        let all = send(&server, &Req::get(&format!("{prefix}/notes")));
        assert_eq!(
            all.text(),
            "[{\"id\":1,\"title\":\"CGI\"},{\"id\":2,\"title\":\"pool\"}]\n"
        );
        let none = send(&server, &Req::get(&format!("{prefix}/notes/3")));
        assert_eq!(none.status, 404, "{}", none.text());
        let bad = post_form(&server, prefix, &format!("title={}", "y".repeat(101)));
        assert_eq!(bad.status, 400, "{}", bad.text());
        let slow = send(&server, &Req::get(&format!("{prefix}/slow?ms=0")));
        assert_eq!(slow.status, 200, "{}", slow.text());
    }
    assert_eq!(
        db.query("SELECT id, title FROM notes.notes ORDER BY id"),
        "1\tCGI\n2\tpool\n"
    );
    let stats = send(&server, &Req::get("/pool/notes/stats"));
    assert!(
        stats.text().contains("\"database\":\"mysql\""),
        "{}",
        stats.text()
    );
    // No SQLite file was made.
    assert!(!default_db(&site).exists());
    no_traceback(&server);
}

/// No server behind the socket: 503 with what failed, the driver's words in the log.
#[test]
fn a_database_server_that_is_not_there_is_a_503() {
    assert!(
        python_has("pymysql"),
        "PyMySQL is not installed for python3 (.ci/run installs it)"
    );
    let site = site();
    let env = format!(
        "DATABASE_URL=mysql://root@localhost/notes?unix_socket={}",
        site.path("no-such.sock").display()
    );
    let server = serve(&site, &["--env", &env]);
    for prefix in MODES {
        let res = send(&server, &Req::get(&format!("{prefix}/notes/1")));
        assert_eq!(res.status, 503, "{prefix}: {}", res.text());
        assert_eq!(
            error(&res),
            "cannot connect to the database; the server's log says why"
        );
    }
    wait_for_log(
        &server,
        2,
        &["notes: cannot connect to the database: (2003, "],
    );
    no_traceback(&server);
}

/// The database server counts every connection opened to it: ten CGI requests open ten,
/// ten more requests to a worker that has connected open none.
#[test]
fn the_database_sees_a_connection_per_cgi_request_and_one_per_worker() {
    let (site, db) = site_with_mariadb();
    let env = format!("DATABASE_URL={}", db.url);
    let server = serve(&site, &["--env", &env, "--workers", "1"]);
    assert_eq!(post_form(&server, MODES[1], "title=counted").status, 201);

    // Each count asks the server with a connection of its own: one more to take off.
    let opened = |target: &str| {
        let before = db.status("Connections");
        for _ in 0..10 {
            let res = send(&server, &Req::get(target));
            assert_eq!(res.status, 200, "{target}: {}", res.text());
        }
        db.status("Connections") - before - 1
    };
    assert_eq!(opened("/cgi-bin/notes.py/notes/1"), 10);
    assert_eq!(opened("/pool/notes/notes/1"), 0);
    let stats = send(&server, &Req::get("/pool/notes/stats"));
    assert_eq!(number(&stats, "connects"), 1, "{}", stats.text());
    // CGI closed each of its connections on its way out; none was left for the server
    // to find broken.
    assert_eq!(db.status("Aborted_clients"), 0);
}

/// A kept connection that the database closed while the worker waited (here killed by
/// an administrator; a restart or `wait_timeout` does the same) is replaced on the
/// next request, which is answered as if nothing happened.
#[test]
fn a_kept_connection_that_broke_is_replaced() {
    let (site, db) = site_with_mariadb();
    let env = format!("DATABASE_URL={}", db.url);
    let server = serve(&site, &["--env", &env, "--workers", "1"]);
    assert_eq!(post_form(&server, MODES[1], "title=again").status, 201);
    let ids = db.query(
        "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = 'notes' AND ID <> CONNECTION_ID()",
    );
    let ids: Vec<&str> = ids.lines().collect();
    assert_eq!(ids.len(), 1, "the worker's one connection: {ids:?}");
    db.query(&format!("KILL CONNECTION {}", ids[0]));

    let res = send(&server, &Req::get("/pool/notes/notes/1"));
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(app_phases(&res), ["query", "connect", "query"]);
    let stats = send(&server, &Req::get("/pool/notes/stats"));
    assert_eq!(number(&stats, "connects"), 2, "{}", stats.text());
    assert_eq!(number(&stats, "kept"), 1, "{}", stats.text());
}

/// `SELECT SLEEP` queries from one gevent worker, in flight at the same time, as the
/// database's process list shows them. Then the database ends them (KILL QUERY), so
/// nothing waits out a duration: each request is answered 503, the database's reason
/// goes to the log, and each connection, still good, is kept.
#[test]
fn a_gevent_worker_holds_many_slow_queries_at_once() {
    assert!(
        python_has("gevent"),
        "gevent is not installed for python3 (.ci/run installs it)"
    );
    const N: usize = 8;
    let (site, db) = site_with_mariadb();
    let env = format!("DATABASE_URL={}", db.url);
    let server = serve(
        &site,
        &["--env", &env, "--workers", "1", "--worker-class", "gevent"],
    );
    let addr = server.addr;
    let slow: Vec<_> = (0..N)
        .map(|_| thread::spawn(move || request(addr, &Req::get("/pool/notes/slow?ms=10000"))))
        .collect();
    wait_for("every slow query to be running in the database", || {
        db.sleeping().len() == N
    });
    let stats = send(&server, &Req::get("/pool/notes/stats"));
    assert_eq!(number(&stats, "in_use"), N as i64, "{}", stats.text());
    for id in db.sleeping() {
        db.query(&format!("KILL QUERY {id}"));
    }
    for s in slow {
        let res = s.join().unwrap().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(res.status, 503, "{}", res.text());
        assert_eq!(
            error(&res),
            "the database could not answer; the server's log says why"
        );
    }
    // The driver's words are in the log, once per request.
    wait_for_log(
        &server,
        N,
        &["notes: the database could not answer: (1317, "],
    );
    let stats = send(&server, &Req::get("/pool/notes/stats"));
    assert_eq!(number(&stats, "connects"), N as i64, "{}", stats.text());
    assert_eq!(number(&stats, "kept"), N as i64, "{}", stats.text());
    let res = send(&server, &Req::get("/pool/notes/slow?ms=0"));
    assert_eq!(res.status, 200, "{}", res.text());
    assert_eq!(app_phases(&res), ["query"]);
    no_traceback(&server);
}
