#!/usr/bin/env python3
# slow_wsgi.py: sleeps before answering (?secs=5, default 2). In a pool, past --timeout the
# worker's process group is killed and replaced: unlike an in-process app, it can be.
import re
import time


def application(environ, start_response):
    match = re.fullmatch(r"secs=(\d{1,2})", environ.get("QUERY_STRING", ""))
    secs = int(match.group(1)) if match else 2
    time.sleep(secs)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"slept %d\n" % secs]


if __name__ == "__main__":
    from wsgiref.handlers import CGIHandler

    CGIHandler().run(application)
