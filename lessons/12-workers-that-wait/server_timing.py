#!/usr/bin/env python3
"""server_timing.py: where a request's time goes, from the Server-Timing headers of its
responses.

    python3 lessons/12-workers-that-wait/server_timing.py URL [URL...] [-n N]

sends N GET requests (20 by default) to each URL, the URLs taking turns, one request at a
time, and prints the median of every phase that the responses' Server-Timing headers
name, in milliseconds. A response from cgilab carries two such headers when its app
sends one of its own: the app's first, cgilab's last. A phase that only some responses
have (a connection made on the first request only) says in how many it was.
"""
import http.client
import statistics
import sys
from urllib.parse import urlsplit


def phases(value):
    """`connect;dur=0.795, query;dur=0.399` -> [("connect", 0.795), ("query", 0.399)]"""
    out = []
    for entry in value.split(","):
        name, _, params = entry.strip().partition(";")
        for param in params.split(";"):
            key, _, dur = param.strip().partition("=")
            if key == "dur":
                out.append((name.strip(), float(dur)))
    return out


def fetch(url):
    """The (whose, phase, place, ms) of one GET of `url`: whose is `app` or `cgilab`,
    place is the phase's place in its header."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=60)
    try:
        conn.request("GET", (parts.path or "/") + ("?" + parts.query if parts.query else ""))
        response = conn.getresponse()
        response.read()
    finally:
        conn.close()
    if response.status >= 400:
        sys.exit("server_timing: GET %s answered %d %s" % (url, response.status,
                                                           response.reason))
    values = response.headers.get_all("Server-Timing") or []
    cgilab = (response.headers.get("Server") or "").startswith("cgilab/")
    out = []
    for i, value in enumerate(values):
        whose = "cgilab" if cgilab and i == len(values) - 1 else "app"
        out.extend((whose, name, place, ms)
                   for place, (name, ms) in enumerate(phases(value)))
    return out


def main():
    args = sys.argv[1:]
    n = 20
    if "-n" in args:
        i = args.index("-n")
        n = int(args[i + 1])
        del args[i:i + 2]
    if not args or n < 1:
        sys.exit(__doc__)
    seen = {url: {} for url in args}  # url -> (whose, phase) -> [ms]
    place = {}  # (whose, phase) -> its latest place in a header: the order to print in
    for _ in range(n):
        for url in args:
            for whose, name, at, ms in fetch(url):
                seen[url].setdefault((whose, name), []).append(ms)
                place[(whose, name)] = max(at, place.get((whose, name), 0))
    for url in args:
        print("GET %s, %d times: median ms" % (urlsplit(url).path, n))
        order = sorted(seen[url], key=lambda key: (key[0] != "app", place[key]))
        for whose, name in order:
            times = seen[url][(whose, name)]
            some = "" if len(times) == n else "  (in %d of %d)" % (len(times), n)
            print("  %-7s %-10s %9.3f%s" % (whose, name, statistics.median(times), some))


if __name__ == "__main__":
    main()
