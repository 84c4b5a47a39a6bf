#!/usr/bin/env python3
"""gil.py: how requests share a server's time at a few numbers of connections, from the
Server-Timing headers of the answers.

    python3 lessons/13-the-server-calls-the-app/gil.py URL [URL...] [-c 1,2,8] [-n 400]

For each URL and each number of connections C, sends N GET requests (400 by default)
over C keep-alive connections at once, and prints the requests per second and, over all
the answers, the median and 90th percentile of two phases of cgilab's Server-Timing:
`app` (the app's time, from the request handed over to its head) and the wait before it
(`gil` for an embedded app, the wait to take the GIL; `queue` for a pool, the wait for
an idle worker).
"""
import http.client
import statistics
import sys
import threading
import time
from urllib.parse import urlsplit


def phases(value):
    """`gil;dur=0.004, app;dur=0.046, total;dur=0.081` -> {"gil": 0.004, ...}"""
    out = {}
    for entry in value.split(","):
        name, _, dur = entry.strip().partition(";dur=")
        if dur:
            out[name] = float(dur)
    return out


def client(url, count, results):
    """One connection: `count` requests in turn; each answer's phases go in results."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=60)
    target = parts.path + ("?" + parts.query if parts.query else "")
    try:
        for _ in range(count):
            conn.request("GET", target)
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                results.append(None)
                return
            results.append(phases(response.headers.get("Server-Timing", "")))
    finally:
        conn.close()


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))]


def level(url, connections, n):
    results = []
    each = [n // connections + (i < n % connections) for i in range(connections)]
    threads = [threading.Thread(target=client, args=(url, k, results)) for k in each]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.perf_counter() - start
    if None in results or len(results) != n:
        sys.exit("gil.py: GET %s did not answer 200 every time" % url)
    wait = "gil" if "gil" in results[0] else "queue"
    waits = [r.get(wait, 0.0) for r in results]
    apps = [r["app"] for r in results]
    return wait, (connections, n / took, statistics.median(waits), percentile(waits, 0.9),
                  statistics.median(apps), percentile(apps, 0.9))


def main():
    args = sys.argv[1:]
    conns, n = [1, 2, 8], 400
    for flag in ("-c", "-n"):
        if flag in args:
            i = args.index(flag)
            value = args[i + 1]
            del args[i:i + 2]
            if flag == "-c":
                conns = [int(c) for c in value.split(",")]
            else:
                n = int(value)
    if not args:
        sys.exit(__doc__)
    for url in args:
        client(url, 1, [])  # the first request pays for what starts on demand
        rows = [level(url, c, n) for c in conns]
        wait = rows[0][0]
        print("GET %s, %d requests at each level (ms)" % (urlsplit(url).path, n))
        print("  conns    req/s  %5s p50  %5s p90  app p50  app p90" % (wait, wait))
        for _, (c, rate, w50, w90, a50, a90) in rows:
            print("  %5d  %7.0f  %9.3f  %9.3f  %7.3f  %7.3f" % (c, rate, w50, w90, a50, a90))


if __name__ == "__main__":
    main()
