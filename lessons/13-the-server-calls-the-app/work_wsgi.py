#!/usr/bin/env python3
# work_wsgi.py: an app that computes (a few milliseconds of pure Python) before it
# answers, holding the GIL all the while: what a template rendered or a JSON document
# built costs, without the wait a database adds.


def application(environ, start_response):
    total = sum(i * i for i in range(50000))
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"%d\n" % total]
