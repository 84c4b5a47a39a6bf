#!/bin/sh
# embedded_ab.sh: the WSGI hello embedded in two cgilab builds (another build's and this
# tree's, each `serve --embed hello=cgi-bin/hello_wsgi.py`), beside uWSGI (2 processes,
# --http11-socket) and Granian (2 workers), loaded by `cgilab bench` in short turns that
# alternate between the servers, round after round (in the reverse order every other
# round), so a machine that gets busier or quieter weighs on every server alike; prints
# each server's median req/s and p50 over its turns, at 1 and 8 connections, and "this"
# against each other server round by round: the median of those ratios and the middle
# half of them. With ONE_CORE=1, every server and the load run on CPU 0 (taskset):
# that measures the work a request costs, without the wake-ups between two cores.
# Needs: a release build of this tree with embedded Python (cargo build --release
# --features python), another such build, and uwsgi and granian (pip install uwsgi
# granian, or UWSGI=... GRANIAN=...); a peer that is missing is left out.
# Usage: [ONE_CORE=1] sh benches/wsgi/embedded_ab.sh OTHER_CGILAB [ROUNDS] [SECS_PER_TURN]
set -eu
other=${1:?usage: sh benches/wsgi/embedded_ab.sh OTHER_CGILAB [ROUNDS] [SECS_PER_TURN]}
rounds=${2:-5}
secs=${3:-1}
case $other in /*) ;; *) other=$PWD/$other ;; esac  # the path given, from here
cd "$(dirname "$0")/../.."
cgilab=target/release/cgilab
[ "${ONE_CORE:-0}" = 1 ] && pin="taskset -c 0"
. benches/wsgi/peers.sh
out=$(mktemp)
temps=$out

# embed PORT BUILD: one cgilab build embedding the hello on PORT
embed() {
  claim "$1"
  $pin "$2" serve --listen "127.0.0.1:$1" --quiet --no-lab --embed hello=cgi-bin/hello_wsgi.py \
    >/dev/null 2>&1 &
  pids="$pids $!"
  ready "http://127.0.0.1:$1/wsgi/hello" $!
}
embed 18730 "$other"
embed 18731 "$cgilab"
servers="other=http://127.0.0.1:18730/wsgi/hello this=http://127.0.0.1:18731/wsgi/hello"
start_uwsgi 18732
[ -z "$peer_url" ] || { ready "$peer_url" "$peer_pid"; servers="$servers uwsgi=$peer_url"; }
start_granian 18733
[ -z "$peer_url" ] || { ready "$peer_url" "$peer_pid"; servers="$servers granian=$peer_url"; }

reversed=$(for server in $servers; do echo "$server"; done | tac)
for round in $(seq "$rounds"); do
  order=$servers
  [ $((round % 2)) = 0 ] && order=$reversed
  for c in 1 8; do
    for server in $order; do
      $pin $cgilab bench --url "$server" --concurrency "$c" --duration "$secs" --format csv \
        2>/dev/null | tail -n +2 | sed "s/^/$round,/" >> "$out"
    done
  done
done

# round,server,target,mode,concurrency,requests,req_per_s,mean_ms,p50_ms,...,errors
python3 - "$out" <<'PY'
import csv, statistics, sys
runs, by_round = {}, {}
for row in csv.reader(open(sys.argv[1])):
    round_, row = int(row[0]), row[1:]
    # A turn with too few requests for a median (a server still starting) is left out.
    if row[7] == "":
        continue
    runs.setdefault((int(row[3]), row[0]), []).append(row)
    by_round.setdefault((int(row[3]), round_), {})[row[0]] = float(row[5])
print("connections,server,turns,median req/s,median p50 ms,errors")
for (conc, server), rows in sorted(runs.items()):
    rps = statistics.median(float(r[5]) for r in rows)
    p50 = statistics.median(float(r[7]) for r in rows)
    errors = sum(int(r[11]) for r in rows)
    print(f"{conc},{server},{len(rows)},{rps:.0f},{p50:.3f},{errors}")
print()
print("connections,this against,rounds,median ratio,middle half")
for conc in sorted({c for c, _ in by_round}):
    rounds = [v for (c, _), v in sorted(by_round.items()) if c == conc and "this" in v]
    for peer in sorted({s for v in rounds for s in v} - {"this"}):
        ratios = sorted(v["this"] / v[peer] for v in rounds if peer in v)
        if not ratios:
            continue
        q = len(ratios) // 4
        print(f"{conc},{peer},{len(ratios)},{statistics.median(ratios):.3f},"
              f"{ratios[q]:.3f}-{ratios[-q - 1]:.3f}")
PY
