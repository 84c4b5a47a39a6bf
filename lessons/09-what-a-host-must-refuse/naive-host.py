#!/usr/bin/env python3
# naive-host.py: a deliberately naive CGI host, to watch three of its mistakes happen.
#
#   python3 naive-host.py zombies    starts scripts and never waits for them
#   python3 naive-host.py deadlock   writes the whole request body, then reads the output
#   python3 naive-host.py runaway    on timeout, kills the script but not what it started
#
# Run it from the repository's root; it runs scripts from cgi-bin/ and cleans up after
# itself.
import os
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def state(pid):
    """The process's state letter from /proc (R, S, Z, ...), or None if it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def zombies():
    pids = []
    for _ in range(5):
        # posix_spawn, like fork and exec: the host is now the script's parent, and only
        # the parent can collect its exit status with waitpid().
        devnull = os.open(os.devnull, os.O_WRONLY)
        pid = os.posix_spawn(
            "/bin/sh",
            ["sh", "cgi-bin/hello.sh"],
            {"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
            file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 1)],
        )
        os.close(devnull)
        pids.append(pid)
    deadline = time.time() + 5
    while time.time() < deadline and any(state(p) != "Z" for p in pids):
        time.sleep(0.05)  # until every hello.sh has finished
    print("naive host: ran cgi-bin/hello.sh 5 times and never waited for it")
    dead = [p for p in pids if state(p) == "Z"]
    print("its children now: %d of 5 are zombies (state Z), each holding a process id" % len(dead))
    for p in pids:
        os.waitpid(p, 0)  # what the host forgot: reap them
    left = [p for p in pids if state(p) is not None]
    print("after waitpid() on each: %d left" % len(left))


def deadlock():
    body = b"x" * 200000
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "REQUEST_METHOD": "POST",
        "CONTENT_LENGTH": str(len(body)),
    }
    script = os.path.join(HERE, "chatty.sh")
    proc = subprocess.Popen(
        ["sh", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env
    )
    print("naive host: writing the %d-byte body, then reading the output" % len(body))

    def write_body():
        try:
            proc.stdin.write(body)
            proc.stdin.close()
        except OSError:
            pass

    writer = threading.Thread(target=write_body, daemon=True)
    writer.start()
    writer.join(timeout=2)
    if writer.is_alive():
        print("after 2 s: still writing the body, while chatty.sh waits to write more output,")
        print("which no one reads: each waits for the other, forever (a deadlock); killing it")
        proc.kill()
    else:
        print("the body went through")
    proc.wait()


def runaway():
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "DOCUMENT_ROOT": os.getcwd()}
    script = os.path.join(HERE, "runaway.sh")
    proc = subprocess.Popen(
        ["sh", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    line = proc.stderr.readline().decode()
    helper = int(line.rsplit(" ", 1)[1])
    try:
        proc.wait(timeout=1)
    except subprocess.TimeoutExpired:
        print("naive host: runaway.sh still running after 1 s; killing it")
        proc.kill()  # the script's pid only
        proc.wait()
    time.sleep(0.2)
    if state(helper) not in (None, "Z"):
        print("runaway.sh is gone, but the sleep it started (pid %d) is still running," % helper)
        print("and still holds the output pipe: reading it to the end would wait 300 s;")
        print("a naive host would leave it there, so this demo kills it now, as it exits")
        os.kill(helper, signal.SIGKILL)  # clean up what the naive host left behind
    else:
        print("the helper is gone")
    os.remove(os.path.join(os.getcwd(), "runaway.pid"))


if __name__ == "__main__":
    demos = {"zombies": zombies, "deadlock": deadlock, "runaway": runaway}
    if len(sys.argv) != 2 or sys.argv[1] not in demos:
        sys.exit("usage: naive-host.py zombies|deadlock|runaway")
    demos[sys.argv[1]]()
