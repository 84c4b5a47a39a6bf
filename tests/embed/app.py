"""A WSGI app for the embedded host's tests: one route per rule of PEP 3333 it checks,
and per way an app can misbehave. Its state (events, counters) lives in the server's
own process, which is what the tests look at."""

import gc
import sys
import threading

released = threading.Event()  # set by /release: frees /forever and /spin
go = threading.Event()  # set by /go: lets /stream send its second piece
lock = threading.Lock()
closes = [0]  # close() calls so far
meeting = {"waiting": None}


def text(start_response, body, status="200 OK", headers=()):
    start_response(status, [("Content-Type", "text/plain")] + list(headers))
    return [body if isinstance(body, bytes) else body.encode("utf-8")]


class Counted:
    """An iterable with close(), which counts its calls (PEP 3333: always called)."""

    def __init__(self, pieces):
        self.pieces = pieces

    def __iter__(self):
        return iter(self.pieces)

    def close(self):
        with lock:
            closes[0] += 1


def environ_lines(environ):
    lines = []
    for key in sorted(environ):
        value = environ[key]
        shown = repr(value)
        methods = {"wsgi.input": ("read", "readline", "readlines", "__iter__"),
                   "wsgi.errors": ("write", "writelines", "flush")}.get(key)
        if methods:
            shown = "has " + " ".join(m for m in methods if hasattr(value, m))
        lines.append("%s=%s:%s" % (key, type(value).__name__, shown))
    return "\n".join(lines) + "\n"


def application(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/hello":
        return text(start_response, b"Hello, world!\n")
    if path == "/environ":
        return text(start_response, environ_lines(environ))
    if path == "/input":
        body = environ["wsgi.input"]
        first = body.read(3)
        line = body.readline()
        rest = b"".join(body)
        after = body.read(1)  # past the end: nothing
        return text(start_response, b"%r %r %d %r\n" % (first, line, len(rest), after))
    if path == "/input-calls":
        # Each way PEP 3333 lets an app read its input, one after another.
        body = environ["wsgi.input"]
        calls = [body.read(2), body.readline(2), body.readline(), body.readlines(2),
                 body.read(None), list(body), body.readlines(), body.read(1)]
        return text(start_response, repr(calls).encode() + b"\n")
    if path == "/length":
        length = int(environ.get("CONTENT_LENGTH") or 0)
        return text(start_response, b"%d\n" % len(environ["wsgi.input"].read(length)))
    if path == "/errors":
        environ["wsgi.errors"].write("to wsgi.errors\nforged\rline \x1b[31mred\n")
        environ["wsgi.errors"].writelines(["two ", "pieces\n"])
        print("from print")
        sys.stderr.write("from sys.stderr\n")
        return text(start_response, b"logged\n")
    if path == "/raise":
        raise ZeroDivisionError("no body yet")
    if path == "/raise-late":
        start_response("200 OK", [("Content-Type", "text/plain")])

        def late():
            yield b"one\n"
            raise ValueError("after the head")
        return late()
    if path == "/bad-header":
        return text(start_response, b"no\n", headers=[("X-Evil", "a\r\nSet-Cookie: x=1")])
    if path == "/huge-head":
        # 1,000 fields of some 73 bytes each: more than the 64 KiB a script's header block may hold.
        headers = [("X-Filler-%d" % i, "x" * 60) for i in range(1000)]
        return text(start_response, b"no\n", headers=headers)
    if path == "/bad-status":
        return text(start_response, b"no\n", status="200 OK\r\nX-Evil: 1")
    if path == "/bad-name":
        return text(start_response, b"no\n", headers=[("X Evil", "a")])
    if path == "/not-bytes":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return ["text, not bytes\n"]
    if path == "/short":
        return text(start_response, b"only this\n", headers=[("Content-Length", "100")])
    if path == "/long":
        return text(start_response, b"far more than three\n", headers=[("Content-Length", "3")])
    if path == "/no-start":
        return [b"a body before start_response\n"]
    if path == "/twice":
        start_response("200 OK", [("Content-Type", "text/plain")])
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"twice\n"]
    if path == "/exc-info-before":
        start_response("200 OK", [("Content-Type", "text/plain")])
        try:
            raise KeyError("before the head")
        except KeyError:
            start_response("500 Oops", [("Content-Type", "text/plain")], sys.exc_info())
        return [b"the error page\n"]
    if path == "/exc-info-after":
        start_response("200 OK", [("Content-Type", "text/plain")])

        def after():
            yield b"one\n"
            try:
                raise KeyError("after the head")
            except KeyError:
                # The head is out: this re-raises, and the response is cut.
                start_response("500 Oops", [("Content-Type", "text/plain")], sys.exc_info())
            yield b"never\n"
        return after()
    if path == "/write":
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"written, ")
        return [b"then returned\n"]
    if path == "/counted":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return Counted([b"counted\n"])
    if path == "/counted-raise":
        start_response("200 OK", [("Content-Type", "text/plain")])

        def pieces():
            yield b"one\n"
            raise RuntimeError("mid-stream")
        return Counted(pieces())
    if path == "/endless":
        start_response("200 OK", [("Content-Type", "application/octet-stream")])

        def endless():
            for _ in range(100000):
                released.wait(0.002)
                yield b"x" * 4096
        return Counted(endless())
    if path == "/closes":
        with lock:
            return text(start_response, "%d\n" % closes[0])
    if path == "/stream":
        start_response("200 OK", [("Content-Type", "text/plain")])

        def stream():
            yield b"first\n"
            go.wait(30)  # until the test asks for the second piece
            yield b"second\n"
        return stream()
    if path == "/thread":
        # The name of the thread calling the app, as the kernel knows it.
        with open("/proc/self/task/%d/comm" % threading.get_native_id(), "rb") as f:
            return text(start_response, f.read())
    if path == "/go":
        go.set()
        return text(start_response, b"go\n")
    if path == "/forever":
        released.wait()
        return text(start_response, b"released\n")
    if path == "/spin":
        while not released.is_set():  # computes, holding the GIL but for forced switches
            pass
        return text(start_response, b"released\n")
    if path == "/release":
        released.set()
        return text(start_response, b"released\n")
    if path == "/counts":
        gc.collect()
        return text(start_response, "objects=%d threads=%d\n"
                    % (len(gc.get_objects()), threading.active_count()))
    if path == "/meet":
        # Two requests meet in the server's memory: the first waits for the second.
        me = environ["QUERY_STRING"]
        with lock:
            other = meeting["waiting"]
            if other is None:
                mine = meeting["waiting"] = {"name": me, "met": threading.Event()}
        if other is None:
            if not mine["met"].wait(20):
                return text(start_response, b"nobody came\n")
            return text(start_response, "%s met %s\n" % (me, mine["other"]))
        with lock:
            meeting["waiting"] = None
        other["other"] = me
        other["met"].set()
        return text(start_response, "%s met %s\n" % (me, other["name"]))
    return text(start_response, b"no such route\n", status="404 Not Found")
