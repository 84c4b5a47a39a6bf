# hang_wsgi.py: answers with its pid after 10 ms; `?secs=N` takes N seconds instead, and
# `?hang` never answers (an hour). Loaded with many requests, the 50th request each worker
# serves (and the 100th, ...) hangs too: an app with an occasional stuck request (a lock
# never released, a remote service that never answers). Lesson 11 and BENCHMARKS.md load
# it with both ways of handing out requests.
import os
import time

served = 0


def application(environ, start_response):
    global served
    served += 1
    query = environ.get("QUERY_STRING", "")
    if query == "hang" or served % 50 == 0:
        secs = 3600.0
    elif query.startswith("secs="):
        secs = float(query[5:])
    else:
        secs = 0.01
    time.sleep(secs)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"pid %d\n" % os.getpid()]
