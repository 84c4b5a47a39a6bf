#!/usr/bin/env python3
# fork_wsgi.py: says whether the process that answers imported the app itself, or was
# forked from the process that did (cgilab's and gunicorn's --preload).
import os

# Module level runs once, at import, in whichever process imports the module.
IMPORTED_IN = os.getpid()


def application(environ, start_response):
    pid = os.getpid()
    if pid == IMPORTED_IN:
        body = "pid %d imported the app itself\n" % pid
    else:
        body = "pid %d was forked from pid %d, which had imported the app\n" % (pid, IMPORTED_IN)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body.encode()]
