# hello_length.py: cgi-bin/hello_wsgi.py with a Content-Length added, for uWSGI: its
# --http11-socket keeps a connection open for the next request only after an answer
# that declares its length (cgilab and Granian count a list's length themselves), so
# without it every request of a keep-alive client would wait for a close that never comes.
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "cgi-bin"))
from hello_wsgi import application as hello  # noqa: E402


def application(environ, start_response):
    head = []
    body = b"".join(hello(environ, lambda status, headers, exc_info=None: head.extend((status, headers))))
    status, headers = head
    start_response(status, headers + [("Content-Length", str(len(body)))])
    return [body]
