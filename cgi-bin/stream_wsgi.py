#!/usr/bin/env python3
# stream_wsgi.py: five lines, half a second apart. The app returns a generator; the server
# sends each piece as it is produced (PEP 3333), so the client sees line 1 at once.
import time


def lines():
    for i in range(1, 6):
        if i > 1:
            time.sleep(0.5)
        yield b"line %d\n" % i


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return lines()


if __name__ == "__main__":
    from wsgiref.handlers import CGIHandler

    CGIHandler().run(application)
