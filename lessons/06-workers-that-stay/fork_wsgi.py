#!/usr/bin/env python3
# fork_wsgi.py: says whether the process that answers imported the app itself, or was
# forked from the process that did (cgilab's and gunicorn's --preload), and whether the
# socket the import made is that process's own.
import os
import socket

# Module level runs once, at import, in whichever process imports the module.
IMPORTED_IN = os.getpid()
# A connection made at import, as an app might open one to its database.
CONNECTION = socket.socket()


def same_socket_in(pid):
    """Whether process `pid` holds, at the same descriptor, the very socket made at import."""
    fd = CONNECTION.fileno()
    try:
        theirs = os.readlink("/proc/%d/fd/%d" % (pid, fd))
    except OSError:
        return False
    return theirs == os.readlink("/proc/self/fd/%d" % fd)


def application(environ, start_response):
    pid = os.getpid()
    if pid == IMPORTED_IN:
        body = "pid %d imported the app itself, and made its socket\n" % pid
    else:
        both = "both hold it" if same_socket_in(IMPORTED_IN) else "only this one holds it"
        body = "pid %d was forked from pid %d, which imported the app and made the socket: %s\n" % (
            pid,
            IMPORTED_IN,
            both,
        )
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body.encode()]
