# peers.sh: the servers the WSGI benches load beside cgilab, each started the same way in
# every script, and the one cleanup that stops them all. Not run on its own: a script
# sources it (`. benches/wsgi/peers.sh`) from the repository's top, after `set -eu`.
#   start_uwsgi PORT    uWSGI, 2 processes, --http11-socket (UWSGI= or uwsgi on PATH)
#   start_granian PORT  Granian, 2 workers, WSGI (GRANIAN= or granian on PATH)
# Each sets peer_url to the peer's URL and peer_pid to the process whose tree serves it,
# or both to "" (and says so on stderr) when the peer is not installed. Call them as they
# are, not in $(...): a server started in a subshell is not the script's to wait for.
# $pin ("taskset -c 0" or empty) goes in front of each. Every server a script starts
# goes in $pids: cleanup stops them and waits until they are gone and their ports free.
uwsgi=${UWSGI:-uwsgi}
granian=${GRANIAN:-granian}
pin=${pin:-}
pids=""
uwsgi_pid=""
peer_pid=""
peer_url=""
export PYTHONDONTWRITEBYTECODE=1

start_uwsgi() {
  peer_pid=""
  peer_url=""
  if ! command -v "$uwsgi" >/dev/null; then
    echo "no uwsgi ($uwsgi): its row is left out (pip install uwsgi, or UWSGI=PATH)" >&2
    return 0
  fi
  # uWSGI keeps a connection for the next request only after an answer with a length:
  # hello_length.py is hello_wsgi.py with one.
  $pin "$uwsgi" --http11-socket "127.0.0.1:$1" --wsgi-file benches/wsgi/hello_length.py \
    --master --processes 2 --disable-logging >/dev/null 2>&1 &
  peer_pid=$!
  uwsgi_pid=$!  # INT stops it: its master takes TERM as "reload"
  peer_url="http://127.0.0.1:$1/"
}

start_granian() {
  peer_pid=""
  peer_url=""
  if ! command -v "$granian" >/dev/null; then
    echo "no granian ($granian): its row is left out (pip install granian, or GRANIAN=PATH)" >&2
    return 0
  fi
  # exec: the pid is Granian's own, the parent of its workers.
  (cd cgi-bin && exec $pin "$granian" --interface wsgi --host 127.0.0.1 --port "$1" \
    --workers 2 --log-level warning hello_wsgi:application) >/dev/null 2>&1 &
  peer_pid=$!
  pids="$pids $!"
  peer_url="http://127.0.0.1:$1/"
}

# ready URL PID: waits (up to 10 s) for URL to answer, then stops the script if PID has
# exited: a server that could not listen (its port taken) has, and whatever answers on
# its port is not the server the script started.
ready() {
  for _ in $(seq 100); do curl -sf -m 2 -o /dev/null "$1" && break; sleep 0.1; done
  if ! kill -0 "$2" 2>/dev/null; then
    port=${1#http://127.0.0.1:}
    echo "$0: a server this script started has exited (is port ${port%%/*} taken?)" >&2
    exit 1
  fi
}

cleanup() {
  for p in $pids; do kill "$p" 2>/dev/null || true; done
  [ -z "$uwsgi_pid" ] || kill -INT "$uwsgi_pid" 2>/dev/null || true
  wait  # gone, and their ports free, before the script returns
  [ -z "${out:-}" ] || rm -f "$out" "$out".a "$out".b
}
trap cleanup EXIT
trap 'exit 1' INT TERM
