#!/bin/sh
# hop_ratio.sh: what a pool's hop costs, against its floor, measured in the same minutes.
# Each round runs the criterion bench of a bare Unix-socket round trip (`cargo bench
# --bench hop`: 64 bytes to `cat` and back, and to the same echo in Python), then loads
# one server's `/pool/hello` (one sync worker) and `/wsgi/hello` (the same file embedded)
# on one keep-alive connection (`cgilab bench`, turns alternating), and prints the pool's
# p50 minus the embedded p50 as a multiple of each round trip, then the median of those
# multiples of the `cat` round trip over the rounds. A one-connection ping-pong
# on a VM pays a vCPU's wake-up in every round trip, which moves with how busy the
# machine is: the floor and the hop are taken one right after the other, round by round.
# Needs: what a build with embedded Python needs (python3-dev); builds it.
# Usage: sh benches/wsgi/hop_ratio.sh [ROUNDS] [SECS_PER_TARGET]
# (CGILAB=PATH serves from another build with embedded Python instead of this tree's.)
set -eu
rounds=${1:-3}
secs=${2:-3}
cd "$(dirname "$0")/../.."
. benches/wsgi/peers.sh
# The bench and the server built once, with the same features, before the first round,
# so that no round waits for the compiler; the server run from a copy, which no later
# build can replace.
if ! cargo bench --features python --bench hop --no-run >/dev/null 2>&1; then
  echo "hop_ratio.sh: the hop bench does not build; run: cargo bench --features python --bench hop --no-run" >&2
  exit 1
fi
cgilab=$(mktemp)
rows=$(mktemp)
temps="$cgilab $rows"
cp "${CGILAB:-target/release/cgilab}" "$cgilab"
chmod +x "$cgilab"

port=18750
claim $port
$cgilab serve --listen 127.0.0.1:$port --quiet --no-lab --workers 1 \
  --embed hello=cgi-bin/hello_wsgi.py --wsgi hello=cgi-bin/hello_wsgi.py >/dev/null 2>&1 &
pids=$!
ready "http://127.0.0.1:$port/pool/hello" $!

# criterion's "time: [low estimate high]" (after the bench's name, on its line or the one
# before): the estimate, in µs. A floor that cannot be read stops the script.
floor() {
  v=$(cargo bench --features python --bench hop -- --warm-up-time 1 --measurement-time "$secs" "/$1/64" 2>/dev/null |
    awk '{ for (i = 1; i < NF; i++) if ($i == "time:") { v = $(i + 3); u = $(i + 4) } }
      END { if (u == "ns") v /= 1000; if (u == "ms") v *= 1000; if (v != "") print v }')
  if [ -z "$v" ]; then
    echo "hop_ratio.sh: no time from the criterion bench /$1/64" >&2
    exit 1
  fi
  echo "$v"
}

echo "round,cat echo us,python echo us,pool p50 ms,embedded p50 ms,hop us,hop / cat,hop / python"
for round in $(seq "$rounds"); do
  cat_us=$(floor unix_socket_round_trip)
  py_us=$(floor python_echo_round_trip)
  # server,target,mode,concurrency,requests,req_per_s,mean_ms,p50_ms,...
  if ! $cgilab bench --url "http://127.0.0.1:$port" --targets /pool/hello,/wsgi/hello \
    --concurrency 1 --duration "$secs" --format csv >"$rows".csv 2>"$rows".err; then
    echo "hop_ratio.sh: the load failed:" >&2
    cat "$rows".err >&2
    exit 1
  fi
  tail -n +2 "$rows".csv |
    awk -F, -v r="$round" -v c="$cat_us" -v p="$py_us" '
      { p50[$2] = $8 }
      END {
        hop = (p50["/pool/hello"] - p50["/wsgi/hello"]) * 1000
        printf "%d,%.1f,%.1f,%.3f,%.3f,%.1f,%.2f,%.2f\n", r, c, p, p50["/pool/hello"],
          p50["/wsgi/hello"], hop, hop / c, hop / p
      }' | tee -a "$rows"
done
# The median of the rounds: the scheduler keeps the server's thread and the worker on one
# core or on two for seconds at a time, and single rounds fall into two groups by it
# (BENCHMARKS.md, "the pool's hop by where its processes run").
cut -d, -f7 "$rows" | sort -n | awk '{ v[NR] = $1 }
  END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        printf "median hop / cat over %d rounds: %.2f\n", NR, m }'
