# flup_serve.py: a WSGI file's `application` served by flup's pre-forking FastCGI server
# with two children, for nginx to pass requests to (pip install flup).
# Usage: python3 flup_serve.py SOCKET_PATH FILE
import importlib.util
import os
import sys

from flup.server.fcgi_fork import WSGIServer

socket_path, path = sys.argv[1], sys.argv[2]
sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
spec = importlib.util.spec_from_file_location(os.path.splitext(os.path.basename(path))[0], path)
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)

# A Unix socket: over TCP, flup's small writes wait on Nagle's algorithm (40 ms each).
WSGIServer(module.application, bindAddress=socket_path, minSpare=2, maxSpare=2,
           maxChildren=2).run()
