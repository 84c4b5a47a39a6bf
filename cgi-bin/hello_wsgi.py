#!/usr/bin/env python3
# hello_wsgi.py: hello as a WSGI app, the same file three ways: as CGI (/cgi-bin/hello_wsgi.py,
# a new python3 per request), in a worker pool (/pool/hello, a python3 that stays), and
# beside the in-process Rust twin (/app/hello).


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"Hello, world!\n"]


if __name__ == "__main__":
    # Run as a CGI script: wsgiref turns the process environment into environ.
    from wsgiref.handlers import CGIHandler

    CGIHandler().run(application)
