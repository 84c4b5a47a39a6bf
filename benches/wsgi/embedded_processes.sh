#!/bin/sh
# embedded_processes.sh: what a second interpreter would buy at 8 connections. One
# `cgilab serve --embed` loaded over 8 connections, against two such servers (two
# processes, two GILs) loaded over 4 connections each at the same time, the sum of the
# two; uWSGI (2 processes) over 8 connections beside them. Turns alternate, round after
# round; prints the median of each over the rounds.
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

for port in 18740 18741; do
  $cgilab serve --listen 127.0.0.1:$port --quiet --no-lab --embed hello=cgi-bin/hello_wsgi.py \
    >/dev/null 2>&1 &
  pids="$pids $!"
  ready "http://127.0.0.1:$port/wsgi/hello" $!
done
start_uwsgi 18742
[ -z "$peer_url" ] || ready "$peer_url" "$peer_pid"

rate() { tail -n +2 "$1" | cut -d, -f6; }
for round in $(seq "$rounds"); do
  $cgilab bench --url one=http://127.0.0.1:18740/wsgi/hello --concurrency 8 --duration "$secs" \
    --format csv 2>/dev/null > "$out".a
  echo "one process,$(rate "$out".a)" >> "$out"
  $cgilab bench --url a=http://127.0.0.1:18740/wsgi/hello --concurrency 4 --duration "$secs" \
    --format csv 2>/dev/null > "$out".a &
  first=$!
  $cgilab bench --url b=http://127.0.0.1:18741/wsgi/hello --concurrency 4 --duration "$secs" \
    --format csv 2>/dev/null > "$out".b
  wait $first
  echo "two processes,$(python3 -c "print($(rate "$out".a) + $(rate "$out".b))")" >> "$out"
  if [ -n "$peer_url" ]; then
    $cgilab bench --url "uwsgi=$peer_url" --concurrency 8 --duration "$secs" \
      --format csv 2>/dev/null > "$out".a
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
