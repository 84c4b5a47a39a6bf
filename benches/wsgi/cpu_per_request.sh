#!/bin/sh
# cpu_per_request.sh: what one request of the WSGI hello costs in CPU time, each way
# cgilab serves it and in uWSGI and Granian: the user + system time of the server's whole
# process tree (a pool's worker included, as uWSGI's and Granian's processes are) during a
# turn, divided by the requests answered in it. One keep-alive connection, `cgilab
# bench`, turns alternating between the targets round after round (the order reversed
# every other round); prints the median of each target's turns.
# Why beside req/s: at one connection on two cores, req/s is mostly the wake-ups between
# the cores. The CPU a request takes is the server's own work plus what its wake-ups
# cost; with ONE_CORE=1 (every server and the load on CPU 0, so no wake-up crosses cores)
# it is steady from run to run. `/pool/hello` minus `/wsgi/hello` is what the hop costs
# in CPU, the worker's side included.
# Needs: a release build of this tree with embedded Python (cargo build --release
# --features python); uwsgi and granian (pip install uwsgi granian, or UWSGI=...
# GRANIAN=...), each left out when missing.
# Usage: [ONE_CORE=1] sh benches/wsgi/cpu_per_request.sh [ROUNDS] [SECS_PER_TURN]
set -eu
rounds=${1:-5}
secs=${2:-2}
cd "$(dirname "$0")/../.."
cgilab=target/release/cgilab
[ "${ONE_CORE:-0}" = 1 ] && pin="taskset -c 0"
. benches/wsgi/peers.sh
out=$(mktemp)
temps=$out

claim 18780
$pin $cgilab serve --listen 127.0.0.1:18780 --quiet --workers 1 \
  --wsgi hello=cgi-bin/hello_wsgi.py --embed hello=cgi-bin/hello_wsgi.py >/dev/null 2>&1 &
cgilab_pid=$!
pids=$cgilab_pid
# label pid url: the pid whose process tree is charged
targets="wsgi $cgilab_pid http://127.0.0.1:18780/wsgi/hello
pool $cgilab_pid http://127.0.0.1:18780/pool/hello
app $cgilab_pid http://127.0.0.1:18780/app/hello"
start_uwsgi 18781
[ -z "$peer_url" ] || targets="$targets
uwsgi $peer_pid $peer_url"
start_granian 18782
[ -z "$peer_url" ] || targets="$targets
granian $peer_pid $peer_url"
echo "$targets" | while read -r _ pid url; do ready "$url" "$pid"; done

# A process and all its descendants, and their CPU time in clock ticks (fields 14 and 15
# of /proc/PID/stat: user and system, every thread of the process, those gone included).
tree() { echo "$1"; for child in $(pgrep -P "$1"); do tree "$child"; done; }
ticks() {
  total=0
  for p in $(tree "$1"); do
    t=$(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0)
    total=$((total + t))
  done
  echo "$total"
}

reversed=$(echo "$targets" | tac)
for round in $(seq "$rounds"); do
  order=$targets
  [ $((round % 2)) = 0 ] && order=$reversed
  echo "$order" | while read -r label pid url; do
    before=$(ticks "$pid")
    # A turn that met errors would time the failures: the script stops and says why.
    if ! $pin $cgilab bench --url "$url" --concurrency 1 --duration "$secs" --format csv \
      >"$out".a 2>"$out".b </dev/null; then
      echo "cpu_per_request.sh: the load on $url failed:" >&2
      cat "$out".b >&2
      exit 1
    fi
    after=$(ticks "$pid")
    # server,target,mode,concurrency,requests,req_per_s,...
    echo "$label,$(tail -n 1 "$out".a | cut -d, -f5,6),$((after - before))" >> "$out"
  done
done

# label,requests,req_per_s,ticks
python3 - "$out" "$(getconf CLK_TCK)" <<'PY'
import csv, statistics, sys
per_tick = 1e6 / int(sys.argv[2])
turns = {}
for label, requests, rps, ticks in csv.reader(open(sys.argv[1])):
    if int(requests):
        turns.setdefault(label, []).append((int(ticks) * per_tick / int(requests), float(rps)))
print("target,turns,median CPU us per request,median req/s")
for label, rows in turns.items():
    cpu = statistics.median(c for c, _ in rows)
    rps = statistics.median(r for _, r in rows)
    print(f"{label},{len(rows)},{cpu:.1f},{rps:.0f}")
if "pool" in turns and "wsgi" in turns:
    hop = (statistics.median(c for c, _ in turns["pool"])
           - statistics.median(c for c, _ in turns["wsgi"]))
    print(f"the hop in CPU (pool minus wsgi): {hop:.1f} us per request")
PY
