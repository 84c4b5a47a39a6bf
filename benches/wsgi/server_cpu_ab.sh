#!/bin/sh
# server_cpu_ab.sh: what a request costs the server's own process, two builds side by
# side. Each build serves the same arguments; `cgilab bench` loads one PATH on one
# keep-alive connection for N requests, on each build in turn, round after round, and the
# server's CPU time (user + system, from /proc/PID/stat, before and after) is divided by
# the requests answered. A pool worker's CPU is not the server's and is not counted.
# CPU time moves less than req/s with how busy the machine is, but still compare within
# one run only. The N requests are cut in 120 short turns, each on a new connection; here
# such turns had a p50 near the figure of a run on one core, and their CPU per request is
# lower than in cpu_per_request.sh's long turns across both cores: compare builds here,
# not these figures with that script's.
# Usage: sh benches/wsgi/server_cpu_ab.sh OTHER_CGILAB PATH [N] [ROUNDS] -- SERVE_ARGS...
# e.g.:  sh benches/wsgi/server_cpu_ab.sh /tmp/old-cgilab /wsgi/hello 20000 3 -- \
#          --embed hello=cgi-bin/hello_wsgi.py
set -eu
other=$1
path=$2
n=${3:-20000}
rounds=${4:-3}
shift 4
[ "${1:-}" = "--" ] && shift
cd "$(dirname "$0")/../.."
this=target/release/cgilab
ticks=$(getconf CLK_TCK)
pids=""
cleanup() {
  for p in $pids; do kill "$p" 2>/dev/null || true; done
  wait  # gone, and their ports free, before the script returns
}
trap cleanup EXIT
trap 'exit 1' INT TERM

port=18770
for build in "$other" "$this"; do
  "$build" serve --listen 127.0.0.1:$port --quiet "$@" >/dev/null 2>&1 &
  pids="$pids $!"
  port=$((port + 1))
done
for port in 18770 18771; do
  for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$port$path" && break; sleep 0.1; done
done

# Fields 14 and 15 of /proc/PID/stat: user and system time, in clock ticks.
cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

echo "build,round,requests,req/s,server CPU us per request"
for round in $(seq "$rounds"); do
  set -- $pids
  for side in "other 18770 $1" "this 18771 $2"; do
    set -- $side
    before=$(cpu "$3")
    # server,target,mode,concurrency,requests,req_per_s,...
    line=$("$this" bench --url "http://127.0.0.1:$2$path" --concurrency 1 \
      --max-requests "$n" --duration 60 --format csv 2>/dev/null | tail -1)
    after=$(cpu "$3")
    echo "$line" | awk -F, -v b="$1" -v r="$round" -v t=$((after - before)) -v hz="$ticks" \
      '{ printf "%s,%d,%d,%.0f,%.1f\n", b, r, $5, $6, t / hz * 1e6 / $5 }'
  done
done
