#!/usr/bin/env python3
"""notes_db_wsgi.py: notes kept in a real database, as JSON: lesson 12's app. The same
file runs as a CGI script (the last lines) and in a pool (--wsgi notes=FILE).

    GET  /notes       every note's id and title
    POST /notes       a new note, from a form: title (1 to 100 characters, one line) and
                      text (up to 2000, may be left out); 201 Created, with its Location
    GET  /notes/ID    one note
    GET  /slow        waits as a slow query does (below), 50 ms, or ?ms=N (0 to 10000)
    GET  /stats       this process: its pid, the requests it has served, how many times
                      it has connected to the database, and its connections now open:
                      kept for the next request, and in use by a request

Where the notes live, from DATABASE_URL:

    (not set)         SQLite (the standard library's sqlite3), in .run/notes.db under the
                      server's DOCUMENT_ROOT (cgilab's is the folder above cgi-bin: the
                      repository), or under the current folder if there is none
    sqlite:///PATH    SQLite, in the file PATH (an absolute path)
    mysql://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?unix_socket=PATH]
                      MariaDB or MySQL (mariadb:// is the same), through PyMySQL: pure
                      Python, so gevent can make its waits let other requests run

The table is created on first use.

Connections. A request's first use of the database imports the driver and connects;
after the request the connection is kept for the next one. A worker that serves one
request at a time (sync) keeps one connection for its whole life. One connection
carries one conversation at a time, so a worker that serves several requests at once
(gthread, gevent) opens one more for each request it holds at the same moment, and
keeps those too. A kept connection that broke while it waited (the server restarted, or
closed it as idle) is replaced, once, on the spot. A CGI process serves one request
(PEP 3333's wsgi.run_once says so), so there the driver is imported and the
connection made on every request, and closed after it.

Each response says where its time went, in a Server-Timing header of its own:
`db-import` and `connect` when this request paid for them, `query` for its statements,
`sleep` for SQLite's wait on /slow. cgilab adds its own Server-Timing header after it.

The slow query. On MariaDB, /slow runs SELECT SLEEP(0.05): the database itself takes
50 ms to answer. SQLite has no such function: there the app sleeps 50 ms itself
(time.sleep) while it holds its connection, then runs SELECT 1. The wait is then the
app's, not the database's, and it shows as `sleep`, not `query`.

A request it refuses is a 4xx whose JSON says why: an id that is not a whole number, a
note that is not there, a form too long, repeated or with unknown fields, a body that is
not a form, a method the route does not take. A database it cannot reach, or that
fails, is a 503; the driver's own words go to the server's log, not to the client. Every
statement passes its values as parameters, never inside the SQL text.
"""
import atexit
import contextlib
import json
import os
import threading
import time
from urllib.parse import parse_qs, unquote, urlsplit

SLOW_MS = 50
SLOW_MS_MAX = 10000
TITLE_MAX = 100
TEXT_MAX = 2000
# A form with a title and a text of the longest, each character up to 12 bytes once
# percent-encoded (4 UTF-8 bytes, 3 characters each), and the field names.
FORM_MAX = 12 * (TITLE_MAX + TEXT_MAX) + 64
# Ids are SQL integers: a larger one names no note, and SQLite cannot even bind it.
ID_MAX = 2**63 - 1


# --- The database: what DATABASE_URL names ------------------------------------------


class SQLite:
    name = "sqlite"
    mark = "?"  # the driver's placeholder for a parameter
    create = ("CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY AUTOINCREMENT, "
              "title TEXT NOT NULL, text TEXT NOT NULL)")

    def __init__(self, path):
        self.path = path  # None: .run/notes.db under the request's DOCUMENT_ROOT

    def driver(self):
        import sqlite3
        return sqlite3

    def connect(self, driver, environ):
        path = self.path or os.path.join(
            environ.get("DOCUMENT_ROOT") or os.getcwd(), ".run", "notes.db")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        # A kept connection may serve its next request on another thread of a gthread
        # worker; never two at once, which is what sqlite3's same-thread check is for.
        # isolation_level=None: autocommit, as every request here is one statement.
        return driver.connect(path, check_same_thread=False, isolation_level=None)

    def slow(self, cursor, timing, secs):
        with timing.phase("sleep"):
            time.sleep(secs)
        with timing.phase("query"):
            cursor.execute("SELECT 1")
            cursor.fetchall()

    def broken(self, driver, error):
        return False  # a file does not hang up


class MySQL:
    name = "mysql"
    mark = "%s"
    create = ("CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY AUTO_INCREMENT, "
              "title VARCHAR(%d) NOT NULL, text TEXT NOT NULL) CHARACTER SET utf8mb4"
              % TITLE_MAX)
    # Lost the server: gone away (2006), lost during a query (2013), no connection (2055).
    BROKEN = (2006, 2013, 2055)

    def __init__(self, url, parts):
        query = parse_qs(parts.query, strict_parsing=False)
        unknown = sorted(set(query) - {"unix_socket"})
        if unknown or not parts.path.strip("/") or "/" in parts.path.strip("/"):
            raise ValueError(
                "DATABASE_URL=%s: expected mysql://USER[:PASSWORD]@HOST[:PORT]/DATABASE"
                "[?unix_socket=PATH]" % url)
        self.args = {
            "host": parts.hostname or "localhost",
            "port": parts.port or 3306,
            "user": unquote(parts.username or "root"),
            "password": unquote(parts.password or ""),
            "database": unquote(parts.path.strip("/")),
            "charset": "utf8mb4",
            "autocommit": True,
        }
        if "unix_socket" in query:
            self.args["unix_socket"] = query["unix_socket"][-1]
            # PyMySQL prepares TLS for every connection unless told not to, loading the
            # system's certificates (tens of ms); a local socket has nothing to encrypt.
            self.args["ssl_disabled"] = True

    def driver(self):
        import pymysql
        return pymysql

    def connect(self, driver, environ):
        return driver.connect(**self.args)

    def slow(self, cursor, timing, secs):
        with timing.phase("query"):
            cursor.execute("SELECT SLEEP(%s)", (secs,))
            cursor.fetchall()

    def broken(self, driver, error):
        if isinstance(error, driver.err.InterfaceError):
            return True
        return (isinstance(error, driver.err.OperationalError) and bool(error.args)
                and error.args[0] in self.BROKEN)


def database_from(url):
    if not url:
        return SQLite(None)
    parts = urlsplit(url)
    if parts.scheme == "sqlite" and parts.path.startswith("/") and not parts.netloc:
        return SQLite(parts.path)
    if parts.scheme in ("mysql", "mariadb"):
        return MySQL(url, parts)
    raise ValueError("DATABASE_URL=%s: expected sqlite:///PATH or mysql://USER@HOST/DATABASE"
                     % url)


# Read once, at import: a bad URL stops the app from starting, with this message.
DATABASE = database_from(os.environ.get("DATABASE_URL", ""))


# --- What this process keeps --------------------------------------------------------

# Held only while a list or a count changes, never across a wait: then even a lock that
# gevent did not patch (an app imported before the patching) cannot block a greenlet.
lock = threading.Lock()
kept = []                # open connections that no request is using
driver = None            # the driver's module, once imported
counts = {"requests": 0, "connects": 0, "open": 0}


class Unavailable(Exception):
    """The database cannot be reached, or failed: 503 to the client, which is told what
    failed, and the driver's own words in the log, which are not the client's business."""

    def __init__(self, what, error):
        super().__init__(what)
        self.what, self.error = what, error


class Timing:
    """The phases of one request, for its Server-Timing header."""

    def __init__(self):
        self.phases = []

    @contextlib.contextmanager
    def phase(self, name):
        start = time.perf_counter()
        try:
            yield
        finally:
            self.phases.append((name, time.perf_counter() - start))

    def header(self):
        return ", ".join("%s;dur=%.3f" % (name, secs * 1000) for name, secs in self.phases)


def load_driver(timing):
    global driver
    if driver is None:
        with timing.phase("db-import"):
            driver = DATABASE.driver()
    return driver


def open_connection(environ, timing):
    d = load_driver(timing)
    conn = None
    try:
        with timing.phase("connect"):
            conn = DATABASE.connect(d, environ)
            conn.cursor().execute(DATABASE.create)
    except (d.Error, OSError) as e:
        if conn is not None:
            conn.close()  # not counted yet
        raise Unavailable("cannot connect to the database", e) from None
    with lock:
        counts["connects"] += 1
        counts["open"] += 1
    return conn


def take(environ, timing):
    """A connection for this request: a kept one if any is free, else a new one.
    Returns it, and whether it was kept from before."""
    with lock:
        if kept:
            return kept.pop(), True
    return open_connection(environ, timing), False


def give_back(conn, environ):
    if environ.get("wsgi.run_once"):
        discard(conn)  # a CGI process: no next request to keep it for
        return
    with lock:
        kept.append(conn)


def discard(conn):
    with lock:
        counts["open"] -= 1
    try:
        conn.close()
    except Exception:
        pass  # it is broken already; closing is a courtesy


@atexit.register
def close_kept():
    # A worker that stops says goodbye to the server, rather than leaving it to find a
    # dead socket.
    with lock:
        leaving = kept[:]
        kept.clear()
    for conn in leaving:
        discard(conn)


def with_database(environ, timing, work):
    """Runs work(cursor) on a connection, and keeps the connection. Each request here
    is one statement, so every connection is in autocommit mode: no COMMIT to send."""
    conn, was_kept = take(environ, timing)
    for attempt in (1, 2):
        try:
            result = work(conn.cursor())
            give_back(conn, environ)
            return result
        except Exception as e:
            d = load_driver(timing)
            if isinstance(e, d.Error) and not DATABASE.broken(d, e):
                # The statement failed (a lock waited too long, a query was killed);
                # the connection is as good as before, and kept.
                give_back(conn, environ)
                raise Unavailable("the database could not answer", e) from None
            discard(conn)
            if not isinstance(e, d.Error):
                raise
            if attempt == 2 or not was_kept:
                raise Unavailable("lost the connection to the database", e) from None
            # A kept connection broke: the server closed it while it waited (a restart,
            # its idle timeout), before this statement reached it. The statement runs
            # again, once, on a new connection.
            conn, was_kept = open_connection(environ, timing), False


# --- The requests -------------------------------------------------------------------


class ClientError(Exception):
    """A request this app refuses: its status, the reason, and more headers."""

    def __init__(self, status, reason, headers=()):
        super().__init__(reason)
        self.status, self.reason, self.headers = status, reason, list(headers)


def method_not_allowed(method, allowed):
    use = "%s or %s" % (", ".join(allowed[:-1]), allowed[-1])
    return ClientError("405 Method Not Allowed", "%s is not allowed here; use %s" % (method, use),
                       [("Allow", ", ".join(allowed))])


def note_id(text):
    if not text.isascii() or not text.isdigit():
        raise ClientError("400 Bad Request",
                          "a note's id is a whole number, as in /notes/1, not `%s`" % text[:40])
    n = int(text)
    if n > ID_MAX:
        raise ClientError("404 Not Found", "no note %s" % text)
    return n


def read_form(environ):
    """The note a POST sends, checked: (title, text)."""
    ctype = environ.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
    if ctype != "application/x-www-form-urlencoded":
        raise ClientError("415 Unsupported Media Type",
                          "send a form (application/x-www-form-urlencoded), as curl -d does")
    try:
        length = int(environ.get("CONTENT_LENGTH") or "")
    except ValueError:
        raise ClientError("411 Length Required", "send the form with a Content-Length") from None
    if length < 0 or length > FORM_MAX:
        raise ClientError("413 Content Too Large",
                          "a note's form is at most %d bytes" % FORM_MAX)
    raw = environ["wsgi.input"].read(length)
    try:
        # Browsers percent-encode a form; curl -d sends UTF-8 as it is: both are fine.
        fields = parse_qs(raw.decode("utf-8"), keep_blank_values=True,
                          strict_parsing=True, encoding="utf-8", errors="strict")
    except (UnicodeError, ValueError):
        raise ClientError("400 Bad Request",
                          "the form is not name=value pairs of percent-encoded UTF-8") from None
    for name, values in fields.items():
        if name not in ("title", "text"):
            raise ClientError("400 Bad Request", "unknown field `%s`; a note has a title "
                              "and a text" % name[:40])
        if len(values) > 1:
            raise ClientError("400 Bad Request", "`%s` is given more than once" % name)
    title = fields.get("title", [""])[0]
    text = fields.get("text", [""])[0]
    if not title.strip():
        raise ClientError("400 Bad Request", "a note needs a title")
    if len(title) > TITLE_MAX:
        raise ClientError("400 Bad Request", "the title is %d characters long; at most %d"
                          % (len(title), TITLE_MAX))
    if any(ord(c) < 32 or ord(c) == 127 for c in title):
        raise ClientError("400 Bad Request", "a title is one line, with no control characters")
    if len(text) > TEXT_MAX:
        raise ClientError("400 Bad Request", "the text is %d characters long; at most %d"
                          % (len(text), TEXT_MAX))
    return title, text


def list_notes(environ, timing):
    def work(cursor):
        with timing.phase("query"):
            cursor.execute("SELECT id, title FROM notes ORDER BY id")
            return [{"id": i, "title": t} for i, t in cursor.fetchall()]
    return "200 OK", with_database(environ, timing, work), []


def create_note(environ, timing):
    title, text = read_form(environ)
    m = DATABASE.mark

    def work(cursor):
        with timing.phase("query"):
            cursor.execute("INSERT INTO notes (title, text) VALUES (%s, %s)" % (m, m),
                           (title, text))
            return cursor.lastrowid
    new = with_database(environ, timing, work)
    location = "%s/notes/%d" % (environ.get("SCRIPT_NAME", ""), new)
    return "201 Created", {"id": new, "title": title, "text": text}, [("Location", location)]


def one_note(environ, timing, n):
    def work(cursor):
        with timing.phase("query"):
            cursor.execute("SELECT id, title, text FROM notes WHERE id = %s" % DATABASE.mark,
                           (n,))
            return cursor.fetchone()
    row = with_database(environ, timing, work)
    if row is None:
        raise ClientError("404 Not Found", "no note %d" % n)
    return "200 OK", {"id": row[0], "title": row[1], "text": row[2]}, []


def slow(environ, timing):
    query = environ.get("QUERY_STRING", "")
    ms = SLOW_MS
    if query:
        value = query[len("ms="):] if query.startswith("ms=") else ""
        if not (value.isascii() and value.isdigit() and int(value) <= SLOW_MS_MAX):
            raise ClientError("400 Bad Request", "/slow takes ?ms=N, a whole number of "
                              "milliseconds from 0 to %d" % SLOW_MS_MAX)
        ms = int(value)
    with_database(environ, timing, lambda cursor: DATABASE.slow(cursor, timing, ms / 1000))
    return "200 OK", {"waited_ms": ms}, []


def stats():
    with lock:
        body = {"pid": os.getpid(), "database": DATABASE.name, "requests": counts["requests"],
                "connects": counts["connects"], "kept": len(kept),
                "in_use": counts["open"] - len(kept)}
    return "200 OK", body, []


def route(environ, timing):
    method = environ.get("REQUEST_METHOD", "GET")
    path = environ.get("PATH_INFO", "")
    reading = method in ("GET", "HEAD")
    if path == "/notes":
        if method == "POST":
            return create_note(environ, timing)
        if not reading:
            raise method_not_allowed(method, ["GET", "HEAD", "POST"])
        return list_notes(environ, timing)
    rest = path[len("/notes/"):] if path.startswith("/notes/") else ""
    if rest and "/" not in rest:
        n = note_id(rest)
        if not reading:
            raise method_not_allowed(method, ["GET", "HEAD"])
        return one_note(environ, timing, n)
    if path in ("/slow", "/stats"):
        if not reading:
            raise method_not_allowed(method, ["GET", "HEAD"])
        return slow(environ, timing) if path == "/slow" else stats()
    raise ClientError("404 Not Found", "no page %s here; try /notes" % path[:80])


def application(environ, start_response):
    with lock:
        counts["requests"] += 1
    timing = Timing()
    try:
        status, body, headers = route(environ, timing)
    except ClientError as e:
        status, body, headers = e.status, {"error": e.reason}, e.headers
    except Unavailable as e:
        print("notes: %s: %s" % (e.what, e.error), file=environ["wsgi.errors"])
        status, headers = "503 Service Unavailable", [("Retry-After", "1")]
        body = {"error": "%s; the server's log says why" % e.what}
    data = (json.dumps(body, separators=(",", ":"), ensure_ascii=False) + "\n").encode()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(data)))] + headers
    if timing.phases:
        headers.append(("Server-Timing", timing.header()))
    start_response(status, headers)
    # HEAD: the length GET would send, and no body.
    return [] if environ.get("REQUEST_METHOD") == "HEAD" else [data]


if __name__ == "__main__":
    from wsgiref.handlers import CGIHandler

    CGIHandler().run(application)
