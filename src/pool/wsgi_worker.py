"""cgilab's WSGI worker: what a WSGI server does, in one file.

Usage (cgilab starts it; you need not):

    python3 wsgi_worker.py APP [CALLABLE] [--chdir DIR] [--pythonpath DIRS]
                           [--worker-class sync|gthread|gevent] [--threads N]
                           [--worker-connections N] [--preload] [--heartbeat SECS]
                           [--max-requests N] [--max-requests-jitter N]

Read it next to PEP 3333 (https://peps.python.org/pep-3333/) and gunicorn's workers
(workers/sync.py, workers/gthread.py, workers/ggevent.py). The life of this process:

  1. Change to --chdir, put it on sys.path, with --pythonpath's directories before it
     (comma-separated, as gunicorn's), then import APP once and find its WSGI callable.
     APP is a file if it holds a ``/`` or ends in ``.py`` (imported by its path, its
     directory on sys.path), else a module imported by name (``mysite.wsgi``, as
     gunicorn's APP_MODULE: a package's relative imports work). CALLABLE is a name in it
     (default ``application``) or a call of a factory with literal arguments
     (``create_app()``, ``create_app("prod", debug=False)``), read as gunicorn's
     util.import_app reads it: parsed by ``ast``, never evaluated.
  2. Accept a connection on descriptor 0, the listening socket the server gave us
     (FastCGI's FCGI_LISTENSOCK_FILENO).
  3. Read one request from it as FastCGI records: BEGIN_REQUEST, PARAMS (the CGI
     meta-variables), STDIN (the body).
  4. Build ``environ``, call the application, send what it returns as STDOUT records
     (a CGI response: ``Status:``, headers, blank line, body), then END_REQUEST.
  5. Repeat from 3 on the same connection until the server closes it.

The worker class (gunicorn's ``-k``) decides how many connections are served at once:

  sync     one: the main thread does 2-5, then accepts the next (workers/sync.py).
  gthread  up to --threads, each on one of a pool of threads; the main thread only
           accepts (workers/gthread.py).
  gevent   up to --worker-connections, each in a greenlet of its own, gevent having
           made the standard library's blocking calls yield (workers/ggevent.py).

That number is the worker's capacity, and its answer to FCGI_GET_VALUES. The server
opens at most that many connections to it and sends one request at a time on each (no
FastCGI multiplexing; nginx never multiplexes either), so the worker never holds more
requests than its capacity. A connection beyond it waits to be accepted; none is refused.

It stops when told (SIGTERM: it stops accepting, finishes every request in hand, then
exits) and when the server is gone (its parent process changes).

With the server's --accept shared, every worker of the pool accepts on the same socket
and the server cannot see which one holds a request. Two jobs then come here, as in
gunicorn's workers (workers/base.py): --heartbeat SECS says descriptor 3 is a file whose
modification time this worker sets every SECS to the start of the oldest request it
holds, or to now when it holds none (gunicorn's WorkerTmp.notify); the server kills a
worker whose time is older than its --timeout. And --max-requests N (plus up to
--max-requests-jitter more, drawn here) makes it leave by itself, with code 0, after
that many requests.

Its own environment (os.environ) is the one the server built for its pool: PATH, HOME
and the locale, the server's --env, and the pool's own variables (its secrets), nothing
else. A request's variables come in PARAMS and go only into that request's environ, never
into os.environ, so no request sees another's and no pool another's secrets.

With --preload (gunicorn's --preload, uWSGI's default), this process imports APP once
and becomes the pool's preloader instead: descriptor 0 is then a connection to the
server, which asks it to fork each worker (see Preloader below). The workers share the
pages of the imported app with it, copy-on-write, until they write to them.
Standard library only (and gevent, for that class), Python 3.8 or later.
"""

import sys

# --- The command line, read first: gevent must patch before anything else ---------

USAGE = ("usage: wsgi_worker.py APP [CALLABLE] [--chdir DIR] [--pythonpath DIRS]"
         " [--worker-class sync|gthread|gevent] [--threads N] [--worker-connections N]"
         " [--preload] [--heartbeat SECS] [--max-requests N] [--max-requests-jitter N]")
WORKER_CLASSES = ("sync", "gthread", "gevent")


def usage(problem):
    """Exits with the usage, and the problem as the last line (the one the server shows)."""
    sys.exit("%s\nwsgi_worker.py: %s" % (USAGE, problem))


class Options:
    """The command line, with gunicorn's names and defaults (``--threads 4`` or
    ``--threads=4``; 1000 worker connections)."""

    def __init__(self, argv):
        given = {"--worker-class": "sync", "--threads": "1", "--worker-connections": "1000",
                 "--chdir": "", "--heartbeat": "", "--max-requests": "0",
                 "--max-requests-jitter": "0"}
        positional = []
        self.preload = False
        self.pythonpath = []
        args = iter(argv)
        for arg in args:
            if not arg.startswith("--"):
                positional.append(arg)
                continue
            if arg == "--preload":
                self.preload = True
                continue
            name, eq, value = arg.partition("=")
            if name == "--pythonpath":  # repeatable, each a comma-separated list
                value = value if eq else next(args, "")
                self.pythonpath.extend(d for d in value.split(",") if d)
                continue
            if name not in given:
                usage("unknown option %s" % name)
            given[name] = value if eq else next(args, "")
        if len(positional) not in (1, 2):
            usage("APP, and at most a CALLABLE after it")
        self.app = positional[0]
        self.callable = positional[1] if len(positional) == 2 else "application"
        self.chdir = given["--chdir"]
        self.worker_class = given["--worker-class"]
        if self.worker_class not in WORKER_CLASSES:
            usage("--worker-class is one of %s, not %r" % (", ".join(WORKER_CLASSES),
                                                          self.worker_class))
        self.threads = self.count(given, "--threads")
        self.worker_connections = self.count(given, "--worker-connections")
        try:
            self.heartbeat = float(given["--heartbeat"]) if given["--heartbeat"] else None
        except ValueError:
            usage("--heartbeat wants a number of seconds, not %r" % given["--heartbeat"])
        for name in ("--max-requests", "--max-requests-jitter"):
            if not given[name].isdigit():
                usage("%s wants a whole number, not %r" % (name, given[name]))
        self.max_requests = int(given["--max-requests"])
        self.max_requests_jitter = int(given["--max-requests-jitter"])

    @staticmethod
    def count(given, name):
        value = given[name]
        if not (value.isdigit() and int(value) >= 1):
            usage("%s wants a whole number, 1 or more, not %r" % (name, value))
        return int(value)


def patch_for_gevent():
    """--worker-class gevent: gevent replaces the standard library's blocking calls
    (sockets, sleep, locks, threads) with ones that yield to other greenlets. Its docs
    (gevent.monkey) say to patch "as early as possible", "ideally before any other
    imports", on the main thread while the program is single-threaded: patched late,
    some modules keep blocking sockets or real locks. So this runs before every other
    import of this file, and long before the application is imported."""
    try:
        from gevent import monkey
    except ImportError as e:
        # One line, the last: the server shows it as the reason the worker failed.
        print("cannot load gevent for --worker-class gevent: %s; install it for this "
              "Python (%s -m pip install gevent)" % (e, sys.executable), file=sys.stderr)
        sys.exit(4)  # as for an app that cannot be loaded
    monkey.patch_all()


if __name__ == "__main__":
    OPTIONS = Options(sys.argv[1:])
    # With --preload, each worker patches after its fork instead (see Preloader).
    if OPTIONS.worker_class == "gevent" and not OPTIONS.preload:
        patch_for_gevent()

# The rest of the imports come after gevent's patching, on purpose.
import ast
import importlib
import importlib.util
import io
import itertools
import os
import queue
import re
import selectors
import signal
import socket
import struct
import tempfile
import threading
import time
import traceback

# --- FastCGI, the parts a responder needs (FastCGI Specification 1.0, 1996) ---------

FCGI_LISTENSOCK_FILENO = 0
HEARTBEAT_FD = 3  # with --heartbeat (not FastCGI's: the server's --accept shared)
FCGI_VERSION_1 = 1
BEGIN_REQUEST, ABORT_REQUEST, END_REQUEST, PARAMS, STDIN, STDOUT, STDERR = 1, 2, 3, 4, 5, 6, 7
GET_VALUES, GET_VALUES_RESULT, UNKNOWN_TYPE = 9, 10, 11
RESPONDER = 1
KEEP_CONN = 1
REQUEST_COMPLETE, UNKNOWN_ROLE = 0, 3
# END_REQUEST's appStatus: 1 when the application raised and we answered 500 ourselves,
# INCOMPLETE when it failed after its response had started (the server cuts it).
INCOMPLETE = 2
HEADER = struct.Struct("!BBHHBx")  # version, type, request id, content length, padding
BEGIN_BODY = struct.Struct("!HB")  # BEGIN_REQUEST's content: role, flags (and 5 reserved)
# The end of every response, packed at once: an empty STDOUT record (the end of the
# stream), then END_REQUEST, whose 8-byte content is appStatus, protocolStatus and 3
# reserved bytes. The same bytes as record(STDOUT, id) + end_request(id, ...).
END = struct.Struct("!BBHHBx" "BBHHBx" "IB3x")
MAX_CONTENT = 65535
# Bodies up to this size stay in memory; larger ones go to a temporary file.
SPOOL_IN_MEMORY = 1024 * 1024
# Control characters (tab is allowed in a value, RFC 9110 §5.5).
CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


class BadHeader(ValueError):
    """A header the application gave that cannot be sent."""


def record(kind, request_id, content=b""):
    """One record, padded to a multiple of 8 bytes as the spec recommends."""
    padding = -len(content) % 8
    header = HEADER.pack(FCGI_VERSION_1, kind, request_id, len(content), padding)
    return header + content + b"\0" * padding


def end_request(request_id, app_status, protocol_status):
    """END_REQUEST: the application's exit status, and whether the request was served."""
    return record(END_REQUEST, request_id, struct.pack("!IB3x", app_status, protocol_status))


def stream(kind, request_id, data):
    """Records of ``kind`` carrying ``data``: a record holds at most 65535 bytes."""
    if len(data) <= MAX_CONTENT:
        return record(kind, request_id, data)  # nearly always: one record
    return b"".join(record(kind, request_id, data[i:i + MAX_CONTENT])
                    for i in range(0, len(data), MAX_CONTENT))


class Records:
    """The records arriving on one connection. What has arrived is taken in one
    recv_into() into a buffer made once, however many records it holds, and each record
    is then cut out of the buffer: a request that arrives in one packet (BEGIN_REQUEST,
    PARAMS, the empty PARAMS and STDIN, a few hundred bytes) costs one system call. A
    file from conn.makefile() would buffer the same way, through two more layers of
    Python objects on every read."""

    # Room for the largest record (8 + 65535 + 255 bytes): fill() moves what is unread to
    # the front before it receives, so one record always fits. A worker holds one buffer
    # per connection the server keeps to it (up to --worker-connections with gevent).
    SIZE = HEADER.size + MAX_CONTENT + 255

    def __init__(self, conn):
        self.conn = conn
        self.buffer = bytearray(self.SIZE)
        self.view = memoryview(self.buffer)  # recv_into() writes through it, no copy
        self.start = self.end = 0  # received and not yet read: buffer[start:end]

    def next(self):
        """The next record as (type, request id, content), or None when the server closed."""
        start = self.start
        if self.end - start >= HEADER.size:
            version, kind, request_id, length, padding = HEADER.unpack_from(self.buffer, start)
            content_at = start + HEADER.size
            stop = content_at + length + padding
            if stop <= self.end and version == FCGI_VERSION_1:  # the usual case
                self.start = stop
                return kind, request_id, self.buffer[content_at:content_at + length]  # a copy
        return self.next_slowly()

    def next_slowly(self):
        """next(), for a record that has not arrived in full (or that is not FastCGI)."""
        if not self.fill(HEADER.size):
            return None
        version, kind, request_id, length, padding = HEADER.unpack_from(self.buffer, 0)
        if version != FCGI_VERSION_1:
            raise ValueError("FastCGI record with version %d" % version)
        stop = HEADER.size + length + padding
        if self.end < stop and not self.fill(stop):
            return None
        self.start = stop
        return kind, request_id, self.buffer[HEADER.size:HEADER.size + length]

    def fill(self, wanted):
        """Receives until ``wanted`` bytes are unread, moving the unread ones to the
        front of the buffer first (so they start at 0); False if the server closes the
        connection before."""
        unread = self.end - self.start
        if self.start:
            self.buffer[:unread] = self.buffer[self.start:self.end]
            self.start, self.end = 0, unread
        while self.end < wanted:
            received = self.conn.recv_into(self.view[self.end:])
            if not received:
                return False
            self.end += received
        return True


def decode_pairs(data):
    """Name-value pairs, as a dict of native strings (bytes read as latin-1, PEP 3333).
    Each length is one byte below 128, else four bytes with the high bit set (spec §3.4)."""
    # Decoded once and sliced, not decoded pair by pair: a third of the time per request.
    text = str(data, "latin-1")
    pairs, i, end = {}, 0, len(data)
    while i < end:
        name_len, value_len = data[i], data[i + 1]
        if (name_len | value_len) & 0x80:  # a long length (rare): four bytes
            if name_len & 0x80:
                name_len = int.from_bytes(data[i:i + 4], "big") & 0x7FFFFFFF
                i += 3
            value_len = data[i + 1]
            if value_len & 0x80:
                value_len = int.from_bytes(data[i + 1:i + 5], "big") & 0x7FFFFFFF
                i += 3
        name_at = i + 2
        value_at = name_at + name_len
        i = value_at + value_len
        pairs[text[name_at:value_at]] = text[value_at:i]
    return pairs


def encode_pairs(pairs):
    out = b""
    for name, value in pairs:
        for n in (len(name), len(value)):
            out += bytes([n]) if n < 128 else struct.pack("!I", n | 0x80000000)
        out += name + value
    return out


# --- wsgi.input: the body, never read past CONTENT_LENGTH (PEP 3333, "Input and Error Streams")


class InputStream:
    """The request body. PEP 3333 lets an application read at most CONTENT_LENGTH bytes;
    this stream makes reading further return b"" instead of blocking or reading junk."""

    def __init__(self, spool, length):
        self._file, self._left = spool, length

    def read(self, size=-1):
        if size is None or size < 0 or size > self._left:
            size = self._left
        data = self._file.read(size)
        self._left -= len(data)
        return data

    def readline(self, size=-1):
        if size is None or size < 0 or size > self._left:
            size = self._left
        line = self._file.readline(size)
        self._left -= len(line)
        return line

    def readlines(self, hint=-1):
        """Every line left, or, with a positive ``hint``, lines until they hold that
        many bytes (as io's readlines(), and as the embedded host's wsgi.input)."""
        lines, size = [], 0
        for line in iter(self.readline, b""):
            lines.append(line)
            size += len(line)
            if hint is not None and 0 < hint <= size:
                break
        return lines

    def __iter__(self):
        return iter(self.readline, b"")


# --- One request -------------------------------------------------------------------


class Request:
    """What the server sent: params and body, read in full before the application runs,
    so the application can answer without reading its input and nothing deadlocks."""

    __slots__ = ("id", "keep_conn", "params", "body")  # no __dict__ to make per request

    def __init__(self, request_id, keep_conn):
        self.id, self.keep_conn = request_id, keep_conn
        self.params = {}
        self.body = None  # made when the first piece arrives: most requests have none


def read_request(records, conn, values):
    """Reads records (from a ``Records``) until a request's STDIN has ended. Answers
    management records on the way (GET_VALUES, from ``values``). Returns None when the
    server closed the connection."""
    request, params = None, bytearray()
    while True:
        rec = records.next()
        if rec is None:
            return None
        kind, request_id, content = rec
        if request_id == 0:  # a management record (spec §4)
            if kind == GET_VALUES:
                wanted = decode_pairs(content)
                answer = [(n.encode(), values[n].encode()) for n in wanted if n in values]
                conn.sendall(record(GET_VALUES_RESULT, 0, encode_pairs(answer)))
            else:
                conn.sendall(record(UNKNOWN_TYPE, 0, bytes([kind]) + b"\0" * 7))
        elif kind == BEGIN_REQUEST:
            role, flags = BEGIN_BODY.unpack_from(content)
            if role != RESPONDER:
                conn.sendall(end_request(request_id, 0, UNKNOWN_ROLE))
                continue
            request = Request(request_id, flags & KEEP_CONN)
        elif request is None or request_id != request.id:
            continue  # a record for a request we are not serving: ignore it
        elif kind == ABORT_REQUEST:
            request = None
        elif kind == PARAMS:
            if content:
                params += content
            else:
                request.params = decode_pairs(params)
        elif kind == STDIN:
            if content:
                if request.body is None:
                    request.body = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)
                request.body.write(content)
            else:
                if request.body is not None:
                    request.body.seek(0)
                return request


# wsgi.input for every request without a body: it reads nothing (at most 0 bytes of
# an empty file) and keeps no state, so one serves them all.
NO_INPUT = InputStream(io.BytesIO(), 0)


def build_environ(request, multithread):
    """PEP 3333 "environ Variables": the CGI meta-variables as native strings (bytes
    read as latin-1), plus the wsgi.* keys."""
    environ = request.params  # a fresh dict for every request: it becomes the environ
    environ.setdefault("SCRIPT_NAME", "")
    environ.setdefault("PATH_INFO", "")
    environ.setdefault("QUERY_STRING", "")
    if request.body is None:
        body = NO_INPUT
    else:
        try:
            length = max(int(environ.get("CONTENT_LENGTH") or 0), 0)
        except ValueError:
            length = 0
        body = InputStream(request.body, length)
    https = environ.get("HTTPS", "off").lower() in ("on", "1", "yes")
    environ["wsgi.version"] = (1, 0)
    environ["wsgi.url_scheme"] = "https" if https else "http"
    environ["wsgi.input"] = body
    environ["wsgi.errors"] = sys.stderr          # the worker's stderr is the server's log
    environ["wsgi.multithread"] = multithread    # may the app be called again meanwhile?
    environ["wsgi.multiprocess"] = True          # other workers serve the same app
    environ["wsgi.run_once"] = False             # we stay for the next request
    return environ


class Response:
    """start_response and what it leads to: STDOUT records on the connection. Headers
    are held back until the first non-empty piece of the body (PEP 3333: "the server
    must not transmit the headers until ... the first non-empty bytestring")."""

    # Until start_response and the body change them (class attributes: a new Response
    # sets only its connection and request id).
    status = fields = None
    headers_sent = False
    length = None  # the Content-Length the application declared, if any
    sent = 0       # body bytes so far

    def __init__(self, conn, request_id):
        self.conn, self.id = conn, request_id

    def start_response(self, status, headers, exc_info=None):
        if exc_info:
            try:
                if self.headers_sent:
                    # Too late to change the status: re-raise, the response is cut short.
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None  # avoid a reference cycle through the traceback
        elif self.status is not None:
            raise AssertionError("start_response called a second time without exc_info")
        if not isinstance(status, str) or len(status) < 4 or not status[:3].isdigit():
            raise ValueError("WSGI status must be a str like '200 OK', not %r" % (status,))
        # Every header at once: "Name: value" fails unless both are str, and one search
        # over the status and all of them finds a control character in any of them.
        try:
            fields = [name + ": " + value for name, value in headers]
        except TypeError:
            fields = None
        if fields is None or CONTROL.search(status + "".join(fields)):
            if fields is not None and CONTROL.search(status):
                # PEP 3333: none in the status either. A line end would end the Status
                # line and start a header of the app's own making.
                raise BadHeader("WSGI status %r holds a control character" % status)
            check_headers(headers)  # raises, saying which header and why
        self.status, self.fields = status, fields
        for name, value in headers:
            if name.lower() == "content-length" and value.strip().isdigit():
                self.length = int(value)
        return self.write

    def head(self):
        """The CGI header block (RFC 3875 §6): Status, the headers, a blank line."""
        if self.status is None:
            raise AssertionError("the application returned before calling start_response")
        return "\r\n".join(["Status: " + self.status, *self.fields, "", ""]).encode("latin-1")

    def pieces(self, data):
        """STDOUT records for a piece of the body, the head in front of the first."""
        if not isinstance(data, bytes):
            raise TypeError("WSGI body pieces must be bytes, not %s" % type(data).__name__)
        self.sent += len(data)
        if not self.headers_sent:
            data, self.headers_sent = self.head() + data, True
        return stream(STDOUT, self.id, data)

    def complete(self):
        """True once the body has the length the application declared."""
        return self.length is not None and self.sent >= self.length

    def write(self, data):
        """The legacy write() callable start_response returns (PEP 3333 "The write() Callable")."""
        if data:
            self.conn.sendall(self.pieces(data))


def check_headers(headers):
    """Raises for the first header that cannot be sent: one that is not a pair of str, or
    that holds a control character."""
    for name, value in headers:
        if not isinstance(name, str) or not isinstance(value, str):
            raise TypeError("WSGI header %r: name and value must be str" % ((name, value),))
        if CONTROL.search(name) or CONTROL.search(value):
            # PEP 3333: no control characters in a header. Sent on, CR LF would split
            # the response; the server answers 502, as for a script that wrote it.
            raise BadHeader("WSGI header %r holds a control character" % name)


def finish(conn, request_id, app_status, out=b""):
    """End the request: an empty STDOUT ends the stream, END_REQUEST ends the request.
    Sent with ``out``, what is left of the response, in one write."""
    conn.sendall(out + END.pack(FCGI_VERSION_1, STDOUT, request_id, 0, 0,
                                FCGI_VERSION_1, END_REQUEST, request_id, 8, 0,
                                app_status, REQUEST_COMPLETE))


def handle(conn, request, application, multithread=False):
    """Calls the application and sends its response (PEP 3333 "Specification Details")."""
    environ = build_environ(request, multithread)
    response = Response(conn, request.id)
    result = None
    try:
        result = application(environ, response.start_response)
        if isinstance(result, (list, tuple)):
            # Every piece already exists: send them, and the end, in one write.
            out = [response.pieces(data) for data in result if data]
            if not response.headers_sent:
                out.append(stream(STDOUT, request.id, response.head()))
            finish(conn, request.id, 0, b"".join(out))
            return
        last = b""
        for data in result:  # stream each piece as the application produces it
            if last:
                conn.sendall(last)  # more came after the declared length: send on
                last = b""
            if data:
                out = response.pieces(data)
                if response.complete():
                    # The piece that completes the declared Content-Length is the last:
                    # it goes with the end of the request, in one write.
                    last = out
                else:
                    conn.sendall(out)
        if not response.headers_sent:
            last += stream(STDOUT, request.id, response.head())
        finish(conn, request.id, 0, last)
    except (BrokenPipeError, ConnectionResetError):
        raise  # the server is gone; nothing to answer
    except BadHeader as e:
        # Not the application's crash but a response that cannot be sent: no output, so
        # the server answers 502 Bad Gateway, and this line says why.
        print("cgilab worker: %s" % e, file=sys.stderr)
        sys.stderr.flush()
        finish(conn, request.id, 1)
    except Exception:
        traceback.print_exc(file=sys.stderr)
        sys.stderr.flush()
        if response.headers_sent:
            # appStatus 2: the response is incomplete, and the server cuts it short.
            finish(conn, request.id, INCOMPLETE)
        else:
            # The server's own error page: what the same app gets embedded, and a Rust
            # app that panics.
            body = b"500 Internal Server Error\n"
            head = (b"Status: 500 Internal Server Error\r\n"
                    b"Content-Type: text/plain; charset=utf-8\r\n\r\n")
            finish(conn, request.id, 1, stream(STDOUT, request.id, head + body))
    finally:
        if hasattr(result, "close"):
            result.close()  # PEP 3333: always, even after an error
        if request.body is not None:
            request.body.close()


# --- The worker's life: what every class shares -----------------------------------


class Worker:
    """The application, how one connection is served, and the requests in hand, which
    SIGTERM waits for and the heartbeat reports. The classes below differ only in how connections are
    accepted and scheduled (``run``) and in how SIGTERM reaches them."""

    # PEP 3333's wsgi.multithread: "true if the application object may be
    # simultaneously invoked by another thread in the same process".
    multithread = False

    def __init__(self, application, capacity):
        self.application = application
        self.capacity = capacity  # connections served at once
        # FCGI_GET_VALUES's answer: as many requests as connections, one per connection.
        self.values = {"FCGI_MAX_CONNS": str(capacity), "FCGI_MAX_REQS": str(capacity),
                       "FCGI_MPXS_CONNS": "0"}
        # Re-entrant: in the sync worker, SIGTERM's handler runs on the one thread,
        # which may be holding it when the signal comes. Taken when a connection comes
        # and goes and when SIGTERM or the heartbeat looks at what is in hand; never for
        # a request on its own.
        self.lock = threading.RLock()
        self.stopping = False
        self.drained = threading.Event()  # stopping, and nothing left in hand
        # Each connection being served -> when the request in hand on it was read, or 0
        # while it waits for one (a connection carries one request at a time). Per
        # request, a connection only sets its own entry: one store, which needs no lock.
        # SIGTERM stops the worker once every entry is 0; the heartbeat reports the
        # smallest one that is not.
        self.since = {}
        self.served = itertools.count(1)  # next(): how many requests, this one included
        self.max_requests = 0  # leave after this many (0: never); see leave_after()

    def in_hand(self):
        """True while some connection holds a request (call it holding the lock)."""
        return any(self.since.values())

    def ended(self):
        """A request has been answered while the worker stops: the last one, perhaps."""
        with self.lock:
            if not self.in_hand():
                self.drained.set()

    def leave(self, served):
        """--max-requests reached."""
        if self.stopping:
            return
        print("wsgi_worker.py: served %d requests (--max-requests): leaving" % served,
              file=sys.stderr)
        sys.stderr.flush()
        # The way the server would tell it: every class already stops gracefully on
        # SIGTERM, on the thread (or greenlet) it expects it on.
        os.kill(os.getpid(), signal.SIGTERM)

    def oldest(self):
        """When the oldest request in hand was read; now when none is."""
        with self.lock:
            return min([t for t in self.since.values() if t], default=time.time())

    def leave_after(self, max_requests, jitter):
        """--max-requests: leave after that many, plus up to `jitter` more drawn here, so
        that workers started together do not all leave together."""
        if max_requests:
            self.max_requests = max_requests + int.from_bytes(os.urandom(4), "big") % (
                jitter + 1)

    def keep_heartbeat(self, every):
        """--heartbeat: descriptor 3's modification time is the start of the oldest
        request in hand, or now; set once at once (the server takes the first beat as
        "ready"), then every `every` seconds, from a thread of its own (a greenlet with
        gevent: one that blocks the others stops the beat too)."""
        def beat():
            when = self.oldest()
            os.utime(HEARTBEAT_FD, (when, when))

        def keep():
            while True:
                time.sleep(every)
                beat()

        beat()
        start_thread(keep)

    def stop(self):
        """SIGTERM: no more connections, nor requests after those in hand. True the
        first time (a second SIGTERM changes nothing)."""
        with self.lock:
            if self.stopping:
                return False
            # Set before looking at what is in hand. A connection does the opposite: it
            # marks its request in hand, then looks at `stopping`. The interpreter runs
            # one of these steps at a time, so whichever of the two comes second sees
            # what the other did: this finds the request in hand and waits for it, or
            # the connection finds the worker drained and leaves the request unserved.
            self.stopping = True
            if not self.in_hand():
                self.drained.set()
            return True

    def serve_connection(self, conn):
        """Serves the requests of one connection, one after another, until the server
        closes it (or sends one without KEEP_CONN), or the worker stops."""
        records = Records(conn)
        since, served = self.since, self.served
        application, multithread, values = self.application, self.multithread, self.values
        with self.lock:
            since[conn] = 0
        try:
            with conn:
                while not self.stopping:
                    request = read_request(records, conn, values)
                    if request is None:
                        return  # the server closed this connection
                    since[conn] = time.time()  # in hand from now on
                    if self.stopping and self.drained.is_set():
                        # Stopped with nothing in hand before this request was: the
                        # worker is about to exit, and does not serve it.
                        if request.body is not None:
                            request.body.close()
                        return
                    try:
                        handle(conn, request, application, multithread)
                    finally:
                        since[conn] = 0
                        if self.stopping:
                            self.ended()
                        count = next(served)
                        if count == self.max_requests:
                            self.leave(count)
                    if not request.keep_conn:
                        return
        finally:
            with self.lock:
                del since[conn]

    def serve(self, conn):
        """serve_connection(), with what goes wrong on a connection kept to it: the
        accept loop and the other connections go on."""
        try:
            self.serve_connection(conn)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server dropped the connection
        except Exception:
            traceback.print_exc(file=sys.stderr)  # a record we cannot read, say
            sys.stderr.flush()

    def serve_alongside(self, conn):
        """serve() on a pool thread or in a greenlet, beside other connections: even the
        application's sys.exit() ends only its own connection (in the sync worker, where
        nothing else is in flight, it ends the process, as it always has)."""
        try:
            self.serve(conn)
        except BaseException:
            traceback.print_exc(file=sys.stderr)
            sys.stderr.flush()

    def watch_parent(self):
        """A worker must not outlive its server: when our parent changes, it is gone.
        Looked at every second by a thread (a greenlet, once gevent has patched)."""
        parent = os.getppid()

        def watch():
            while True:
                time.sleep(1)
                if os.getppid() != parent:
                    os._exit(0)

        start_thread(watch)


def start_thread(target, *args):
    """Starts a daemon thread that never takes SIGTERM. Python runs signal handlers on
    the main thread, but the kernel may deliver the signal to any thread that does not
    block it; delivered elsewhere, it would not wake the main thread from accept(). A
    thread starts with the signal mask of the thread that starts it."""
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    try:
        thread = threading.Thread(target=target, args=args, daemon=True)
        thread.start()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
    return thread


# --- The worker classes ------------------------------------------------------------


class SyncWorker(Worker):
    """--worker-class sync, the default (gunicorn's workers/sync.py): one connection at
    a time, served on the main thread. Capacity 1."""

    def __init__(self, application):
        super().__init__(application, 1)

    def handle_term(self, signum, frame):
        """SIGTERM, which interrupts whatever the main thread is doing: with nothing in
        hand (in accept(), or waiting on an idle connection) exit now; else the request
        in hand finishes, and run() returns."""
        if self.stop() and self.drained.is_set():
            raise SystemExit(0)

    def run(self, listener):
        signal.signal(signal.SIGTERM, self.handle_term)
        self.watch_parent()
        while not self.stopping:
            conn, _ = listener.accept()
            self.serve(conn)


class Stop(BaseException):
    """SIGTERM, raised into the accept loop. Not an Exception, so that no ``except
    Exception`` on the way catches it."""


class ThreadWorker(Worker):
    """--worker-class gthread (gunicorn's workers/gthread.py): the main thread accepts,
    and each connection is served, all its requests, on one of --threads threads.
    Capacity: the number of threads."""

    def __init__(self, application, threads):
        super().__init__(application, threads)
        # With one thread, the application is never called twice at once. (gunicorn's
        # gthread says True whatever --threads is.)
        self.multithread = threads > 1

    def handle_term(self, signum, frame):
        """SIGTERM, on the main thread, which is in accept() or waiting for a free
        thread: stop accepting; run() then waits for the requests in hand."""
        if self.stop():
            raise Stop

    def run(self, listener):
        # Daemon threads taking connections from a queue, not a ThreadPoolExecutor: the
        # executor's threads are joined when the interpreter exits, and one waiting on an
        # idle connection for a request that will never come would hold the exit for ever.
        connections = queue.Queue()
        free = threading.Semaphore(self.capacity)  # threads not serving a connection
        for _ in range(self.capacity):
            start_thread(self.pool_thread, connections, free)
        self.watch_parent()
        try:
            signal.signal(signal.SIGTERM, self.handle_term)
            while True:
                free.acquire()  # when all are busy, the next connection waits, unaccepted
                conn, _ = listener.accept()
                connections.put(conn)
        except Stop:
            pass
        listener.close()
        self.drained.wait()

    def pool_thread(self, connections, free):
        while True:
            conn = connections.get()
            try:
                self.serve_alongside(conn)
            finally:
                free.release()


class GeventWorker(Worker):
    """--worker-class gevent (gunicorn's workers/ggevent.py): the standard library is
    patched (see patch_for_gevent), and each connection is served in a greenlet of its
    own, at most --worker-connections at once (a gevent Pool). Capacity: that number."""

    # True, though no second thread is involved: while a request waits on I/O (a
    # database, another service), another greenlet may call the application, so it may
    # be invoked again before a call returns, and has to be written for that, which is
    # what an application reads this flag for. gunicorn says True for this worker too
    # (workers/base_async.py sets it for every request).
    multithread = True

    def __init__(self, application, worker_connections):
        super().__init__(application, worker_connections)
        self.acceptor = None
        self.on_term = None

    def handle_term(self):
        """SIGTERM, in a greenlet of its own: stop the accept loop; run() then waits for
        the requests in hand."""
        if self.stop():
            self.acceptor.kill(block=False)

    def run(self, listener):
        import gevent
        import gevent.pool

        pool = gevent.pool.Pool(self.capacity)
        self.acceptor = gevent.spawn(self.accept_loop, listener, pool)
        # Not signal.signal(): a Python handler runs in whatever greenlet is current when
        # the signal comes (often gevent's hub), where raising or waiting goes wrong.
        # gevent runs this one in a new greenlet. Kept, as gevent's docs ask, for as long
        # as it is wanted.
        self.on_term = gevent.signal_handler(signal.SIGTERM, self.handle_term)
        self.watch_parent()
        self.acceptor.get()  # returns once SIGTERM has killed it; raises if accept failed
        listener.close()
        self.drained.wait()

    def accept_loop(self, listener, pool):
        while True:
            pool.wait_available()  # when the pool is full, the next connection waits
            conn, _ = listener.accept()
            pool.spawn(self.serve_alongside, conn)


# --- Loading the application, as gunicorn's util.import_app --------------------------


class AppImportError(Exception):
    """The app cannot be found as APP and CALLABLE say; the message says what to do."""


SEARCHED = []  # the directories enter() put first on sys.path, for a module not found


def enter(directory, pythonpath):
    """--chdir and --pythonpath: gunicorn changes to its --chdir and puts it first on
    sys.path, then puts each --pythonpath directory before it."""
    if directory:
        try:
            os.chdir(directory)
        except OSError as e:
            raise AppImportError("cannot change directory to %s (--chdir): %s"
                                 % (directory, e.strerror))
    SEARCHED[:] = [os.path.abspath(p) for p in pythonpath] + [os.getcwd()]
    sys.path[:0] = SEARCHED  # in the order given, then the directory


def is_file(app):
    return "/" in app or app.endswith(".py")


def load_application(app, expression):
    """Imports APP (a file or a module) and returns its WSGI callable: the name that
    ``expression`` is, or what the factory it calls returns."""
    # No bytecode cache: its key is the file's size and mtime in whole seconds, so an
    # edit within the same second could be shadowed by the old code after a reload.
    sys.dont_write_bytecode = True
    name, args, kwargs = parse_callable(expression)  # before any of the app's code runs
    module = import_file(app) if is_file(app) else import_module(app)
    try:
        application = getattr(module, name)
    except AttributeError:
        raise AppImportError("%s has no `%s`; name its WSGI callable after a `:`, e.g. %s:app"
                             % (app, name, app))
    if args is not None:
        factory = application
        try:
            application = factory(*args, **kwargs)
        except TypeError as e:
            if not called_with_wrong_args(factory):
                raise  # raised inside the factory: its own traceback says where
            raise AppImportError("wrong arguments for the factory: %s" % e)
        if application is None:
            raise AppImportError("%s returned None, not a WSGI application; does it end "
                                 "with `return app`?" % expression)
    if not callable(application):
        raise AppImportError("`%s` in %s is a %s, not a WSGI callable"
                             % (expression, app, type(application).__name__))
    return application


def parse_callable(expression):
    """CALLABLE as (name, args, kwargs): args is None for a plain name. Only a name or a
    call of a name, with literal arguments (strings, numbers, tuples, lists, dicts, sets,
    booleans, None): a command line must not run code, so nothing is evaluated."""
    try:
        node = ast.parse(expression.strip(), mode="eval").body
    except SyntaxError:
        node = None
    if isinstance(node, ast.Name):
        return node.id, None, None
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
        raise AppImportError("`%s` is neither a name nor a call of one; write `application` "
                             "or `create_app()`" % expression)
    try:
        args = [ast.literal_eval(arg) for arg in node.args]
        kwargs = {kw.arg: ast.literal_eval(kw.value) for kw in node.keywords if kw.arg}
        if any(kw.arg is None for kw in node.keywords):
            raise ValueError("**")
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        raise AppImportError("the arguments of %s must be literals (strings, numbers, "
                             "tuples, lists, dicts, True, False, None), as in gunicorn"
                             % expression)
    return node.func.id, args, kwargs


def called_with_wrong_args(factory):
    """True when the TypeError being handled came from the call itself (wrong arguments),
    not from inside the factory: its traceback never reached the factory's code."""
    code = getattr(factory, "__code__", None)
    tb = sys.exc_info()[2]
    try:
        while tb is not None:
            if tb.tb_frame.f_code is code:
                return False
            tb = tb.tb_next
        return True
    finally:
        del tb  # a traceback holds frames: do not keep a cycle


def import_file(path):
    """Imports FILE as a module (not as __main__, so its CGI entry point stays quiet),
    with its directory first on sys.path for what it imports."""
    module_name = os.path.splitext(os.path.basename(path))[0]
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


def import_module(name):
    """Imports a module by name from sys.path; when it is the module itself (not
    something it imports) that is missing, says where it was looked for."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as e:
        if e.name is None or not (name == e.name or name.startswith(e.name + ".")):
            raise
        raise AppImportError("no module `%s` in %s; pass --chdir with the directory that "
                             "holds it, or add that directory with --pythonpath (for a "
                             "file, write ./FILE)" % (e.name, " or ".join(SEARCHED)))


def serve(options, application, listener):
    """Runs the worker class asked for on ``listener`` until it stops."""
    if options.worker_class == "gthread":
        worker = ThreadWorker(application, options.threads)
    elif options.worker_class == "gevent":
        worker = GeventWorker(application, options.worker_connections)
    else:
        worker = SyncWorker(application)
    worker.leave_after(options.max_requests, options.max_requests_jitter)
    if options.heartbeat:
        worker.keep_heartbeat(options.heartbeat)
    worker.run(listener)


# --- --preload: import once, then fork ---------------------------------------------


class Preloader:
    """The pool's preloader: it holds the imported app and forks a worker each time the
    server asks. Every worker is the same process image, imported once; the kernel shares
    its pages between them until one of them writes to a page (copy-on-write). Python
    writes more than it seems: every reference count it changes is a write, so shared
    pages become private ones as the workers run (gc.freeze() below keeps the collector
    from touching them all at once).

    The server stays the workers' supervisor, as gunicorn's arbiter is: it makes each
    worker's listening socket and log, and sends them here with the request to fork
    (SCM_RIGHTS). This process only forks, and reports what a parent alone can know: the
    worker's pid, then its exit status. It keeps an exited worker unreaped (a zombie)
    until the server has read the status and says ``release``, so the worker's pid
    cannot be reused while the server may still signal it.

    Messages on descriptor 0, one per packet (SOCK_SEQPACKET):
      from the server: ``fork ID [procs] [beat]`` + [listening socket, log, then
                       cgroup.procs and the heartbeat file when named]
                       ``release PID``
      to the server:   ``ready``, once; ``forked ID PID`` or ``cannot ID ERRNO``;
                       ``exit PID code|signal N``
    """

    def __init__(self, options, application, control):
        self.options, self.application, self.control = options, application, control
        self.selector = selectors.DefaultSelector()
        self.selector.register(control, selectors.EVENT_READ, None)
        self.pidfds = {}  # worker pid -> its pidfd, until it has exited
        self.pid = os.getpid()

    def run(self):
        if self.options.worker_class == "gevent":
            # gevent's modules, imported here but not applied, are then shared by every
            # worker, which patches after its fork.
            try:
                import gevent.monkey  # noqa: F401
                import gevent.pool  # noqa: F401
            except ImportError:
                pass  # each worker says so, as the reason it cannot start
        # Objects made so far (the whole imported app) leave the collector's care: a
        # collection would otherwise write to every one of them in every worker.
        import gc
        gc.freeze()
        self.control.send(b"ready")
        while True:
            for key, _ in self.selector.select():
                if key.data is None:
                    self.command()
                else:
                    self.exited(key.data)

    def command(self):
        try:
            message, fds, _, _ = socket.recv_fds(self.control, 256, 4)
        except ConnectionResetError:
            message, fds = b"", []
        if not message:
            sys.exit(0)  # the server is gone; our workers die with us (PDEATHSIG)
        word, _, arg = message.decode("ascii").partition(" ")
        if word == "fork":
            worker_id, *extras = arg.split()
            self.fork(worker_id, fds, extras)
        elif word == "release":
            os.waitpid(int(arg), 0)  # reaps the zombie kept for the server
        else:
            print("preloader: unknown message %r" % message, file=sys.stderr)
        for fd in fds:
            os.close(fd)

    def fork(self, worker_id, fds, extras):
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            pid = os.fork()
        except OSError as e:  # out of processes or memory: the server backs off
            self.control.send(b"cannot %s %d" % (worker_id.encode("ascii"), e.errno))
            return
        if pid == 0:
            code = 1
            try:
                code = self.become_worker(fds, extras)
            except SystemExit as e:
                code = e.code if isinstance(e.code, int) else 1
            except BaseException:
                traceback.print_exc(file=sys.stderr)
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)  # never back into this loop
        try:
            os.setpgid(pid, pid)  # also here, so the group exists once the server knows
        except OSError:
            pass  # the worker did it first
        pidfd = os.pidfd_open(pid)
        self.pidfds[pid] = pidfd
        self.selector.register(pidfd, selectors.EVENT_READ, pid)
        self.control.send(b"forked %s %d" % (worker_id.encode("ascii"), pid))

    def exited(self, pid):
        """A worker's pidfd is readable: it exited. Report how, and keep it unreaped."""
        info = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        if info is None:
            return
        how = "code" if info.si_code == os.CLD_EXITED else "signal"
        pidfd = self.pidfds.pop(pid)
        self.selector.unregister(pidfd)
        os.close(pidfd)
        self.control.send(b"exit %d %s %d" % (pid, how.encode(), info.si_status))

    def become_worker(self, fds, extras):
        """In the child: take the descriptors the server sent, and serve. After the
        listening socket and the log come the ones `extras` names, in its order."""
        listener, log = fds[:2]
        named = dict(zip(extras, fds[2:]))
        procs, beat = named.get("procs"), named.get("beat")
        if procs is not None:
            os.write(procs, b"0")  # into its own cgroup first, as a spawned worker does
            os.close(procs)
        os.setpgid(0, 0)
        # Die with the preloader, which dies with the server.
        import ctypes
        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != self.pid:
            return 1  # the preloader died before prctl took effect
        for fd in list(self.pidfds.values()):
            os.close(fd)  # the other workers' pidfds
        self.selector.close()
        self.control.close()
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.dup2(listener, FCGI_LISTENSOCK_FILENO)
        os.close(log)
        os.close(listener)
        if beat is not None and beat != HEARTBEAT_FD:
            os.dup2(beat, HEARTBEAT_FD)
            os.close(beat)
        if self.options.worker_class == "gevent":
            # After the import, as gunicorn's gevent worker does with --preload: modules
            # the app imported keep what they took from the standard library before it.
            patch_for_gevent()
        serve(self.options, self.application, socket.socket(fileno=FCGI_LISTENSOCK_FILENO))
        return 0


def main(options):
    shown = options.app if options.callable == "application" else "%s:%s" % (
        options.app, options.callable)
    try:
        enter(options.chdir, options.pythonpath)
        application = load_application(options.app, options.callable)
    except AppImportError as e:
        # The last line is what the server shows when the app cannot boot.
        print("cannot load %s: %s" % (shown, e), file=sys.stderr)
        sys.exit(4)  # gunicorn's exit code for "the app could not be loaded"
    except BaseException as e:
        traceback.print_exc(file=sys.stderr)
        print("cannot load %s: %s: %s" % (shown, type(e).__name__, e), file=sys.stderr)
        sys.exit(4)
    if options.threads > 1 and options.worker_class != "gthread":
        # gunicorn would quietly switch a sync worker to gthread; here the class asked
        # for is the class run, and says so.
        print("wsgi_worker.py: --threads %d is for --worker-class gthread; %s ignores it"
              % (options.threads, options.worker_class), file=sys.stderr)
        sys.stderr.flush()
    listener = socket.socket(fileno=FCGI_LISTENSOCK_FILENO)
    if options.preload:
        Preloader(options, application, listener).run()
    else:
        serve(options, application, listener)


if __name__ == "__main__":
    main(OPTIONS)
