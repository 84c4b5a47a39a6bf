#!/usr/bin/env python3
# form_wsgi.py: the fields of a GET query and of a POST urlencoded body, as a WSGI app.
# The body comes from wsgi.input, read up to CONTENT_LENGTH and no further.
from urllib.parse import parse_qsl


def application(environ, start_response):
    out = ["method " + environ.get("REQUEST_METHOD", "")]
    for name, value in parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True):
        out.append("query %s=%s" % (name, value))
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        for name, value in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
            out.append("form %s=%s" % (name, value))
    start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
    return [("\n".join(out) + "\n").encode("utf-8")]


if __name__ == "__main__":
    from wsgiref.handlers import CGIHandler

    CGIHandler().run(application)
