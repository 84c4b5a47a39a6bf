#!/usr/bin/env python3
"""phases.py: where a Python CGI request's time goes, phase by phase.

    python3 lessons/10-your-flask-app/phases.py FILE PATH [RUNS]

runs FILE (a WSGI app that runs itself as CGI, like notes_app.py) RUNS times (10 by
default) as a CGI script asking for PATH, with the same python3, and times each phase
by difference: the bare interpreter (python3 -S -c pass), then `site`, then
`import flask`, then the app's own import and the request, up to the response's end,
then the interpreter's teardown after its last byte. Last, the same request with no
process at all: the app called in this process, as a pool's worker calls it.
"""
import importlib.util
import io
import os
import statistics
import subprocess
import sys
import time


def median_ms(times):
    return statistics.median(times) * 1000


def once(args, env=None, cwd=None):
    """(the last byte of output, the exit) of one `python3 ARGS`, in seconds from the
    start: what comes after the last byte is the interpreter's teardown."""
    t = time.perf_counter()
    p = subprocess.Popen([sys.executable, *args], env=env, cwd=cwd, stdout=subprocess.PIPE)
    last_byte = t
    while os.read(p.stdout.fileno(), 65536):
        last_byte = time.perf_counter()
    p.stdout.close()
    if p.wait() != 0:
        sys.exit("phases: python3 %s exited with %d" % (" ".join(args), p.returncode))
    return last_byte - t, time.perf_counter() - t


def cgi_env(path):
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    env.update(GATEWAY_INTERFACE="CGI/1.1", REQUEST_METHOD="GET", SCRIPT_NAME="/cgi-bin/app",
               PATH_INFO=path, QUERY_STRING="", SERVER_NAME="127.0.0.1",
               SERVER_PORT="8000", SERVER_PROTOCOL="HTTP/1.1", REMOTE_ADDR="127.0.0.1")
    return env


def in_process(file, path, calls=2000):
    """Median seconds of one call of the app, already imported, in this process."""
    spec = importlib.util.spec_from_file_location("measured_app", file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    app = getattr(module, "app", None) or getattr(module, "application")
    times = []
    for _ in range(calls):
        environ = dict(cgi_env(path), **{"wsgi.input": io.BytesIO(), "wsgi.errors": sys.stderr,
                                         "wsgi.version": (1, 0), "wsgi.url_scheme": "http",
                                         "wsgi.multithread": False, "wsgi.multiprocess": True,
                                         "wsgi.run_once": False})
        t = time.perf_counter()
        body = app(environ, lambda status, headers, exc_info=None: None)
        b"".join(body)
        if hasattr(body, "close"):
            body.close()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    file, path = os.path.abspath(sys.argv[1]), sys.argv[2]
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 10
    # Each phase is timed to its last byte of output, so teardown is counted once, last;
    # the phases take turns, run after run, so a busy moment weighs on all of them.
    phases = [
        (["-S", "-c", "print()"], None, None),
        (["-c", "print()"], None, None),
        (["-c", "import flask; print()"], None, None),
        ([file], cgi_env(path), os.path.dirname(file)),
    ]
    times = [[] for _ in phases]
    for _ in range(runs):
        for i, (args, env, cwd) in enumerate(phases):
            times[i].append(once(args, env, cwd))
    bare, site, flask = (statistics.median(t[0] for t in ts) for ts in times[:3])
    last = statistics.median(t[0] for t in times[3])
    end = statistics.median(t[1] for t in times[3])
    call = in_process(file, path)
    rows = [
        ("the interpreter, bare (python3 -S -c pass)", bare),
        ("site (python3 -c pass, minus the above)", site - bare),
        ("import flask", flask - site),
        ("the app's import and the request", last - flask),
        ("teardown, after the last byte", end - last),
        ("one CGI request, start to exit", end),
        ("one request in a process that stays", call),
    ]
    print("median of %d runs (in a process that stays: of 2000 calls)" % runs)
    for name, secs in rows:
        # A difference of two medians can dip below zero on a busy machine: it is noise.
        print("  %-44s %9.3f ms" % (name, max(secs, 0.0) * 1000))


if __name__ == "__main__":
    main()
