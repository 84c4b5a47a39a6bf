#!/usr/bin/env python3
# worker_wsgi.py: says which worker answered, for lesson 7's supervisor. ?pid answers the
# worker's pid alone, ?server the server's (a worker's parent), ?hang never answers.
import os
import time

VERSION = 1
requests = 0


def application(environ, start_response):
    global requests
    requests += 1
    query = environ.get("QUERY_STRING", "")
    if query == "hang":
        time.sleep(3600)
    if query == "pid":
        body = "%d\n" % os.getpid()
    elif query == "server":
        body = "%d\n" % os.getppid()
    else:
        body = "version %d, pid %d, request %d\n" % (VERSION, os.getpid(), requests)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body.encode()]
