"""Waits 50 ms per request, as if on a database query, then answers."""
import time


def application(environ, start_response):
    time.sleep(0.05)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"waited 50 ms\n"]
