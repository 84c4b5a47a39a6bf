#!/usr/bin/env python3
# broken_wsgi.py: an app that cannot even be imported (a module that is not installed).
import flask_that_is_not_installed  # noqa: F401


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"never\n"]
