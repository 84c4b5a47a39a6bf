#!/bin/sh
# embedded_processes.sh: what a second interpreter would buy at 8 connections. One
# `cgilab serve --embed` loaded over 8 connections, against two such servers (two
# processes, two GILs) loaded over 4 connections each at the same time, the sum of the
# two; uWSGI (2 processes) over 8 connections beside them. Each round loads them in that
# order; prints the median of each over the rounds.
# Needs: a release build with embedded Python (cargo build --release --features python);
# uwsgi (pip install uwsgi, or UWSGI=...), left out if missing.
# Usage: sh benches/wsgi/embedded_processes.sh [ROUNDS] [SECS_PER_TURN]
set -eu
rounds=${1:-5}
secs=${2:-2}
cd "$(dirname "$0")/../.."
cgilab=target/release/cgilab
. benches/wsgi/peers.sh
out=$(mktemp)
temps=$out

for port in 18740 18741; do
  claim $port
  $cgilab serve --listen 127.0.0.1:$port --quiet --no-lab --embed hello=cgi-bin/hello_wsgi.py \
    >/dev/null 2>&1 &
  pids="$pids $!"
  ready "http://127.0.0.1:$port/wsgi/hello" $!
done
start_uwsgi 18742
[ -z "$peer_url" ] || ready "$peer_url" "$peer_pid"

# load LABEL=URL CONNECTIONS FILE: one turn, its CSV in FILE; a turn that met errors
# would time the failures, so the script stops and says why.
load() {
  if ! $cgilab bench --url "$1" --concurrency "$2" --duration "$secs" --format csv \
    >"$3" 2>"$3".err; then
    echo "embedded_processes.sh: the load on ${1#*=} failed:" >&2
    cat "$3".err >&2
    exit 1
  fi
}
rate() { tail -n +2 "$1" | cut -d, -f6; }
for round in $(seq "$rounds"); do
  load one=http://127.0.0.1:18740/wsgi/hello 8 "$out".a
  echo "one process,$(rate "$out".a)" >> "$out"
  load a=http://127.0.0.1:18740/wsgi/hello 4 "$out".a &
  first=$!
  load b=http://127.0.0.1:18741/wsgi/hello 4 "$out".b
  wait $first
  echo "two processes,$(python3 -c "print($(rate "$out".a) + $(rate "$out".b))")" >> "$out"
  if [ -n "$peer_url" ]; then
    load "uwsgi=$peer_url" 8 "$out".a
    echo "uWSGI 2 processes,$(rate "$out".a)" >> "$out"
  fi
done

python3 - "$out" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    name, rps = line.strip().rsplit(",", 1)
    runs.setdefault(name, []).append(float(rps))
print("8 connections,turns,median req/s")
for name, rates in runs.items():
    print(f"{name},{len(rates)},{statistics.median(rates):.0f}")
PY
