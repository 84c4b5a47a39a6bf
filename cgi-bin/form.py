#!/usr/bin/env python3
# form.py: echoes the fields of a GET query and of a POST urlencoded body read from stdin.
import os
import sys
from urllib.parse import parse_qsl

out = ["method " + os.environ.get("REQUEST_METHOD", "")]
for name, value in parse_qsl(os.environ.get("QUERY_STRING", ""), keep_blank_values=True):
    out.append("query %s=%s" % (name, value))
length = int(os.environ.get("CONTENT_LENGTH") or 0)
body = sys.stdin.buffer.read(length) if length else b""
if os.environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
    for name, value in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
        out.append("form %s=%s" % (name, value))
sys.stdout.buffer.write(b"Content-Type: text/plain; charset=utf-8\n\n")
sys.stdout.buffer.write(("\n".join(out) + "\n").encode("utf-8"))
