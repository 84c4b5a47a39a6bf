#!/usr/bin/env python3
"""slow-clients.py: a few slow clients, then one normal request, which says whether it
had to wait for them.

    python3 lessons/11-the-three-layers/slow-clients.py URL [CLIENTS] [SECS]

CLIENTS connections (2 by default) each send a GET for URL one byte at a time, spread
over SECS seconds (3 by default), like a phone on a bad network. Once they are all
connected, one normal client asks for the same URL and times its answer. It waited for
them if its answer came after one of them had sent its whole request: a server answers
it only once it has all of it.
"""
import socket
import sys
import threading
import time
from urllib.parse import urlsplit


def slow_client(host, port, request, secs, connected, finishing):
    with socket.create_connection((host, port), timeout=secs + 30) as s:
        connected.release()
        pause = secs / len(request)
        for byte in request[:-1]:
            s.sendall(bytes([byte]))
            time.sleep(pause)
        # Said before the last byte goes: no server can answer this request before.
        finishing.set()
        s.sendall(request[-1:])
        s.recv(65536)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    url = urlsplit(sys.argv[1])
    clients = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    secs = float(sys.argv[3]) if len(sys.argv) > 3 else 3.0
    path = url.path or "/"
    request = ("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % (path, url.netloc)).encode()
    connected = threading.Semaphore(0)
    finishing = threading.Event()
    slow = [threading.Thread(target=slow_client,
                             args=(url.hostname, url.port, request, secs, connected, finishing))
            for _ in range(clients)]
    for t in slow:
        t.start()
    # The slow connections are ahead of the normal one in the server's queue.
    for _ in slow:
        connected.acquire(timeout=secs + 30)
    with socket.create_connection((url.hostname, url.port), timeout=secs + 30) as s:
        t0 = time.perf_counter()
        s.sendall(request)
        first = s.recv(65536)
        took = time.perf_counter() - t0
        waited = finishing.is_set()
    for t in slow:
        t.join()
    status = first.split(b"\r\n", 1)[0].decode(errors="replace")
    print("%d slow clients, each %.0f s to send its request; then a normal one:" % (clients, secs))
    print("  %s, in %.1f ms" % (status, took * 1000))
    if waited:
        print("  it waited for the slow clients: they held every worker")
    else:
        print("  it did not wait: nothing held a worker")


if __name__ == "__main__":
    main()
