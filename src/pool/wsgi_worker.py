"""cgilab's WSGI worker: what a WSGI server does, in one file.

Usage (cgilab starts it; you need not):  python3 wsgi_worker.py FILE [CALLABLE]

Read it next to PEP 3333 (https://peps.python.org/pep-3333/) and gunicorn's
workers/sync.py. The life of this process:

  1. Import FILE once and find its WSGI callable (default ``application``).
  2. Accept a connection on descriptor 0, the listening socket the server gave us
     (FastCGI's FCGI_LISTENSOCK_FILENO).
  3. Read one request from it as FastCGI records: BEGIN_REQUEST, PARAMS (the CGI
     meta-variables), STDIN (the body).
  4. Build ``environ``, call the application, send what it returns as STDOUT records
     (a CGI response: ``Status:``, headers, blank line, body), then END_REQUEST.
  5. Repeat from 3 on the same connection; when the server closes it, go back to 2.

It stops when told (SIGTERM: after the request it is on) and when the server is gone
(its parent process changes). One request at a time: the server sends a request only
to a worker that is idle, so this worker never needs a thread per request.
Standard library only, Python 3.8 or later.
"""

import importlib.util
import io
import os
import re
import signal
import socket
import struct
import sys
import tempfile
import threading
import time
import traceback

# --- FastCGI, the parts a responder needs (FastCGI Specification 1.0, 1996) ---------

FCGI_LISTENSOCK_FILENO = 0
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
MAX_CONTENT = 65535
# We answer one request at a time on one connection at a time.
OUR_VALUES = {"FCGI_MAX_CONNS": "1", "FCGI_MAX_REQS": "1", "FCGI_MPXS_CONNS": "0"}
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
    return b"".join(record(kind, request_id, data[i:i + MAX_CONTENT])
                    for i in range(0, len(data), MAX_CONTENT))


def read_record(reader):
    """The next record as (type, request id, content), or None when the server closed."""
    header = reader.read(HEADER.size)
    if len(header) < HEADER.size:
        return None
    version, kind, request_id, length, padding = HEADER.unpack(header)
    if version != FCGI_VERSION_1:
        raise ValueError("FastCGI record with version %d" % version)
    content = reader.read(length + padding)
    if len(content) < length + padding:
        return None
    return kind, request_id, content[:length]


def decode_pairs(data):
    """Name-value pairs, as a dict of native strings (bytes read as latin-1, PEP 3333).
    Each length is one byte below 128, else four bytes with the high bit set (spec §3.4)."""
    # Decoded once and sliced, not decoded pair by pair: a third of the time per request.
    text = data.decode("latin-1")
    pairs, i, end = {}, 0, len(data)
    while i < end:
        name_len = data[i]
        if name_len & 0x80:
            name_len = int.from_bytes(data[i:i + 4], "big") & 0x7FFFFFFF
            i += 3
        value_len = data[i + 1]
        if value_len & 0x80:
            value_len = int.from_bytes(data[i + 1:i + 5], "big") & 0x7FFFFFFF
            i += 3
        i += 2
        value_at = i + name_len
        i = value_at + value_len
        pairs[text[value_at - name_len:value_at]] = text[value_at:i]
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
        return list(iter(self.readline, b""))

    def __iter__(self):
        return iter(self.readline, b"")


# --- One request -------------------------------------------------------------------


class Request:
    """What the server sent: params and body, read in full before the application runs,
    so the application can answer without reading its input and nothing deadlocks."""

    def __init__(self, request_id, keep_conn):
        self.id, self.keep_conn = request_id, keep_conn
        self.params = {}
        self.body = None  # made when the first piece arrives: most requests have none


def read_request(reader, conn):
    """Reads records until a request's STDIN has ended. Answers management records
    (GET_VALUES) on the way. Returns None when the server closed the connection."""
    request, params = None, b""
    while True:
        rec = read_record(reader)
        if rec is None:
            return None
        kind, request_id, content = rec
        if request_id == 0:  # a management record (spec §4)
            if kind == GET_VALUES:
                wanted = decode_pairs(content)
                answer = [(n.encode(), OUR_VALUES[n].encode()) for n in wanted if n in OUR_VALUES]
                conn.sendall(record(GET_VALUES_RESULT, 0, encode_pairs(answer)))
            else:
                conn.sendall(record(UNKNOWN_TYPE, 0, bytes([kind]) + b"\0" * 7))
        elif kind == BEGIN_REQUEST:
            role, flags = struct.unpack("!HB", content[:3])
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
                if request.body is None:
                    request.body = io.BytesIO()
                request.body.seek(0)
                return request


def build_environ(request):
    """PEP 3333 "environ Variables": the CGI meta-variables as native strings (bytes
    read as latin-1), plus the wsgi.* keys."""
    environ = request.params  # a fresh dict for every request: it becomes the environ
    environ.setdefault("SCRIPT_NAME", "")
    environ.setdefault("PATH_INFO", "")
    environ.setdefault("QUERY_STRING", "")
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    https = environ.get("HTTPS", "off").lower() in ("on", "1", "yes")
    environ.update({
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "https" if https else "http",
        "wsgi.input": InputStream(request.body, max(length, 0)),
        "wsgi.errors": sys.stderr,         # the worker's stderr is the server's log
        "wsgi.multithread": False,         # one request at a time in this process
        "wsgi.multiprocess": True,         # other workers serve the same app
        "wsgi.run_once": False,            # we stay for the next request
    })
    return environ


class Response:
    """start_response and what it leads to: STDOUT records on the connection. Headers
    are held back until the first non-empty piece of the body (PEP 3333: "the server
    must not transmit the headers until ... the first non-empty bytestring")."""

    def __init__(self, conn, request_id):
        self.conn, self.id = conn, request_id
        self.status = self.headers = None
        self.headers_sent = False
        self.length = None  # the Content-Length the application declared, if any
        self.sent = 0       # body bytes so far

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
        for name, value in headers:
            if not isinstance(name, str) or not isinstance(value, str):
                raise TypeError("WSGI header %r: name and value must be str" % ((name, value),))
            if CONTROL.search(name) or CONTROL.search(value):
                # PEP 3333: no control characters in a header. Sent on, CR LF would split
                # the response; the server answers 502, as for a script that wrote it.
                raise BadHeader("WSGI header %r holds a control character" % name)
        self.status, self.headers = status, list(headers)
        for name, value in self.headers:
            if name.lower() == "content-length" and value.strip().isdigit():
                self.length = int(value)
        return self.write

    def head(self):
        """The CGI header block (RFC 3875 §6): Status, the headers, a blank line."""
        if self.status is None:
            raise AssertionError("the application returned before calling start_response")
        lines = ["Status: " + self.status] + ["%s: %s" % h for h in self.headers]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

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


def finish(conn, request_id, app_status, out=b""):
    """End the request: an empty STDOUT ends the stream, END_REQUEST ends the request."""
    conn.sendall(out + record(STDOUT, request_id) +
                 end_request(request_id, app_status, REQUEST_COMPLETE))


def handle(conn, request, application):
    """Calls the application and sends its response (PEP 3333 "Specification Details")."""
    environ = build_environ(request)
    response = Response(conn, request.id)
    result = None
    try:
        result = application(environ, response.start_response)
        if isinstance(result, (list, tuple)):
            # Every piece already exists: send them, and the end, in one write.
            out = b"".join(response.pieces(data) for data in result if data)
            if not response.headers_sent:
                out += stream(STDOUT, request.id, response.head())
            finish(conn, request.id, 0, out)
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
            body = b"Internal Server Error\n"
            head = b"Status: 500 Internal Server Error\r\nContent-Type: text/plain\r\n\r\n"
            finish(conn, request.id, 1, stream(STDOUT, request.id, head + body))
    finally:
        if hasattr(result, "close"):
            result.close()  # PEP 3333: always, even after an error
        request.body.close()


# --- The worker's life -------------------------------------------------------------


class Worker:
    def __init__(self, application):
        self.application = application
        self.busy = False
        self.stopping = False

    def handle_term(self, signum, frame):
        """SIGTERM: finish the request in hand, then exit; exit now if there is none."""
        if self.busy:
            self.stopping = True
        else:
            raise SystemExit(0)

    def watch_parent(self, parent):
        """A worker must not outlive its server: when our parent changes, it is gone."""
        while True:
            time.sleep(1)
            if os.getppid() != parent:
                os._exit(0)

    def serve_connection(self, conn):
        reader = conn.makefile("rb", buffering=65536)
        with conn, reader:
            while not self.stopping:
                request = read_request(reader, conn)
                if request is None:
                    return  # the server closed this connection
                self.busy = True
                try:
                    handle(conn, request, self.application)
                finally:
                    self.busy = False
                if not request.keep_conn:
                    return

    def run(self):
        signal.signal(signal.SIGTERM, self.handle_term)
        threading.Thread(target=self.watch_parent, args=(os.getppid(),), daemon=True).start()
        listener = socket.socket(fileno=FCGI_LISTENSOCK_FILENO)
        while not self.stopping:
            conn, _ = listener.accept()
            try:
                self.serve_connection(conn)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server dropped the connection; wait for the next one


def load_application(path, name):
    """Imports FILE as a module (not as __main__, so its CGI entry point stays quiet)
    and returns its WSGI callable."""
    # No bytecode cache: its key is the file's size and mtime in whole seconds, so an
    # edit within the same second could be shadowed by the old code after a reload.
    sys.dont_write_bytecode = True
    module_name = os.path.splitext(os.path.basename(path))[0]
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    application = getattr(module, name, None)
    if not callable(application):
        raise LookupError("%s has no callable `%s`" % (path, name))
    return application


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: wsgi_worker.py FILE [CALLABLE]")
    path = sys.argv[1]
    name = sys.argv[2] if len(sys.argv) == 3 else "application"
    try:
        application = load_application(path, name)
    except BaseException as e:
        traceback.print_exc(file=sys.stderr)
        # The last line is what the server shows when the app cannot boot.
        print("cannot load %s: %s: %s" % (path, type(e).__name__, e), file=sys.stderr)
        sys.exit(4)  # gunicorn's exit code for "the app could not be loaded"
    Worker(application).run()


if __name__ == "__main__":
    main()
