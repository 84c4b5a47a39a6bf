#!/usr/bin/env python3
"""arrivals.py: asks for a URL and says whether its body came as it was written, or all
at once at the end.

    python3 lessons/11-the-three-layers/arrivals.py URL [--gzip]

Meant for a body written over a few seconds, such as cgi-bin's stream.sh (a line every
half second, for two seconds). It reads the response as it comes and notes when each
piece of the body arrived: if the first piece came well before the last (a second or
more), the body streamed; if it all came together, something on the way held it until
the end. --gzip asks for a compressed body (`Accept-Encoding: gzip`), as browsers do.
"""
import socket
import sys
import time
from urllib.parse import urlsplit

# Half the time stream.sh takes from its first line to its last.
STREAMED = 1.0


def main():
    args = [a for a in sys.argv[1:] if a != "--gzip"]
    if len(args) != 1:
        sys.exit(__doc__)
    url = urlsplit(args[0])
    target = url.path + ("?" + url.query if url.query else "")
    accept = "Accept-Encoding: gzip\r\n" if "--gzip" in sys.argv else ""
    request = "GET %s HTTP/1.1\r\nHost: %s\r\n%sConnection: close\r\n\r\n" % (
        target or "/", url.netloc, accept)
    with socket.create_connection((url.hostname, url.port), timeout=30) as s:
        s.sendall(request.encode())
        data = b""
        first_body = last_body = None
        while True:
            piece = s.recv(65536)
            if not piece:
                break
            had_head = b"\r\n\r\n" in data
            data += piece
            now = time.monotonic()
            head_end = data.find(b"\r\n\r\n")
            # Body bytes in this piece: all of it once the head is in, or what follows it.
            if head_end >= 0 and (had_head or len(data) > head_end + 4):
                first_body = first_body or now
                last_body = now
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    encoding = [h.split(":", 1)[1].strip() for h in head[1:]
                if h.lower().startswith("content-encoding:")]
    print(head[0] + (" (Content-Encoding: %s)" % encoding[0] if encoding else ""))
    if first_body is None:
        print("  no body")
    elif last_body - first_body >= STREAMED:
        print("  the body came as it was written: its first piece long before its last")
    else:
        print("  the body came all at once: nothing of it arrived until the end")


if __name__ == "__main__":
    main()
