#!/usr/bin/env python3
# stuck_wsgi.py: an app that never returns, as one waiting on a lock nobody releases or
# on a service that never answers, without a timeout of its own.
import threading

never = threading.Event()


def application(environ, start_response):
    never.wait()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"this never comes\n"]
