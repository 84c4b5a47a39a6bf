# flup_hello.py: cgi-bin/hello_wsgi.py served by flup's pre-forking FastCGI server with two
# children, for nginx to pass requests to (pip install flup).
# Usage: python3 flup_hello.py SOCKET_PATH
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../cgi-bin"))
from flup.server.fcgi_fork import WSGIServer  # noqa: E402
from hello_wsgi import application  # noqa: E402

# A Unix socket: over TCP, flup's small writes wait on Nagle's algorithm (40 ms each).
WSGIServer(application, bindAddress=sys.argv[1], minSpare=2, maxSpare=2, maxChildren=2).run()
