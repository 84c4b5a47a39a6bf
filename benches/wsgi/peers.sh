# peers.sh: what the WSGI bench scripts share: the servers they load beside cgilab, each
# started the same way in every script, the checks that the server answering is the one
# the script started, and the one cleanup that stops them all. Not run on its own: a
# script sources it (`. benches/wsgi/peers.sh`) from the repository's top, after
# `set -eu`, with $pin set first if it pins ("taskset -c 0" goes in front of each peer).
#   claim PORT          stop the script if something already answers on PORT
#   ready URL PID       wait for URL to answer; stop the script if PID has exited
#   start_uwsgi PORT    uWSGI, 2 processes, --http11-socket (UWSGI= or uwsgi on PATH)
#   start_granian PORT  Granian, 2 workers, WSGI (GRANIAN= or granian on PATH)
# start_* set peer_url to the peer's URL and peer_pid to the process whose tree serves it,
# or both to "" (and say so on stderr) when the peer is not installed. Call them as they
# are, not in $(...): a server started in a subshell is not the script's to wait for.
# Every server a script starts goes in $pids and every temporary file in $temps: cleanup
# stops the servers, waits until they are gone and their ports free, and removes the files.
uwsgi=${UWSGI:-uwsgi}
granian=${GRANIAN:-granian}
pin=${pin:-}
pids=""
uwsgi_pid=""
temps=""
peer_pid=""
peer_url=""
export PYTHONDONTWRITEBYTECODE=1

cleanup() {
  for p in $pids; do kill "$p" 2>/dev/null || true; done
  [ -z "$uwsgi_pid" ] || kill -INT "$uwsgi_pid" 2>/dev/null || true
  wait  # gone, and their ports free, before the script returns
  for f in $temps; do rm -f "$f" "$f".*; done  # and the files a script named after it
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# A server started on a port that is taken cannot listen and exits, but whatever answers
# there would be measured in its place: so the port is checked before, and the server
# after.
claim() {
  if curl -s -m 2 -o /dev/null "http://127.0.0.1:$1/"; then
    echo "$0: something already answers on port $1; stop it, or wait until it has exited" >&2
    exit 1
  fi
}

ready() {
  for _ in $(seq 100); do curl -sf -m 1 -o /dev/null "$1" && break; sleep 0.1; done
  if ! kill -0 "$2" 2>/dev/null; then
    port=${1#http://127.0.0.1:}
    echo "$0: a server this script started has exited (is port ${port%%/*} taken?)" >&2
    exit 1
  fi
}

start_uwsgi() {
  peer_pid=""
  peer_url=""
  if ! command -v "$uwsgi" >/dev/null; then
    echo "no uwsgi ($uwsgi): its row is left out (pip install uwsgi, or UWSGI=PATH)" >&2
    return 0
  fi
  claim "$1"
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
  claim "$1"
  # exec: the pid is Granian's own, the parent of its workers.
  (cd cgi-bin && exec $pin "$granian" --interface wsgi --host 127.0.0.1 --port "$1" \
    --workers 2 --log-level warning hello_wsgi:application) >/dev/null 2>&1 &
  peer_pid=$!
  pids="$pids $!"
  peer_url="http://127.0.0.1:$1/"
}
