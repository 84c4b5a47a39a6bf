#!/usr/bin/env python3
# printenv_wsgi.py: the CGI meta-variables a WSGI app finds in environ, one NAME=value line
# each, sorted (the wsgi.* keys are left out: they say how the app is run, not the request).


def application(environ, start_response):
    lines = sorted(
        "%s=%s\n" % (name, value)
        for name, value in environ.items()
        if not name.startswith("wsgi.") and isinstance(value, str)
    )
    start_response("200 OK", [("Content-Type", "text/plain")])
    return ["".join(lines).encode("latin-1")]


if __name__ == "__main__":
    from wsgiref.handlers import CGIHandler

    CGIHandler().run(application)
