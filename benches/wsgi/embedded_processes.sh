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
uwsgi=${UWSGI:-uwsgi}
export PYTHONDONTWRITEBYTECODE=1
out=$(mktemp)
pids=""
uwsgi_pid=""
cleanup() {
  for p in $pids; do kill "$p" 2>/dev/null || true; done
  [ -z "$uwsgi_pid" ] || kill -INT "$uwsgi_pid" 2>/dev/null || true
  wait  # gone, and their ports free, before the script returns
  rm -f "$out" "$out".a "$out".b
}
trap cleanup EXIT
trap 'exit 1' INT TERM

for port in 18740 18741; do
  $cgilab serve --listen 127.0.0.1:$port --quiet --no-lab --embed hello=cgi-bin/hello_wsgi.py \
    >/dev/null 2>&1 &
  pids="$pids $!"
done
if command -v "$uwsgi" >/dev/null; then
  "$uwsgi" --http11-socket 127.0.0.1:18742 --wsgi-file benches/wsgi/hello_length.py \
    --master --processes 2 --disable-logging >/dev/null 2>&1 &
  uwsgi_pid=$!
fi
for port in 18740 18741 18742; do
  for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$port/wsgi/hello" && break; curl -sf -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
done

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
  if [ -n "$uwsgi_pid" ]; then
    $cgilab bench --url uwsgi=http://127.0.0.1:18742/ --concurrency 8 --duration "$secs" \
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
