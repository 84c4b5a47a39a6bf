#!/usr/bin/env python3
# hello_wsgi.py: one WSGI app (PEP 3333), and two ways to host it:
#   as a CGI script:        cp lessons/05-the-gateway-idea/hello_wsgi.py cgi-bin/hello5_wsgi.py
#   in a process that stays: python3 lessons/05-the-gateway-idea/hello_wsgi.py --serve 8001
import os
import sys

requests = 0  # lives as long as the process does


def application(environ, start_response):
    """The whole WSGI interface: the CGI environment in, a status and headers out
    through start_response, and the body as an iterable of bytes."""
    global requests
    requests += 1
    body = "Hello from pid %d: request %d of this process, for %s\n" % (
        os.getpid(),
        requests,
        environ.get("PATH_INFO") or "/",
    )
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body.encode("utf-8")]


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve"]:
        from wsgiref.simple_server import make_server

        port = int(sys.argv[2]) if len(sys.argv) > 2 else 8001
        print("serving on http://127.0.0.1:%d" % port, flush=True)
        make_server("127.0.0.1", port, application).serve_forever()
    else:
        from wsgiref.handlers import CGIHandler

        CGIHandler().run(application)
