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
other=$1
rounds=${2:-5}
secs=${3:-1}
cd "$(dirname "$0")/../.."
cgilab=target/release/cgilab
uwsgi=${UWSGI:-uwsgi}
granian=${GRANIAN:-granian}
export PYTHONDONTWRITEBYTECODE=1
pin=""
[ "${ONE_CORE:-0}" = 1 ] && pin="taskset -c 0"
out=$(mktemp)
pids=""
uwsgi_pid=""
cleanup() {
  for p in $pids; do kill "$p" 2>/dev/null || true; done
  [ -z "$uwsgi_pid" ] || kill -INT "$uwsgi_pid" 2>/dev/null || true
  wait  # gone, and their ports free, before the script returns
  rm -f "$out"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

servers="other=http://127.0.0.1:18730/wsgi/hello this=http://127.0.0.1:18731/wsgi/hello"
port=18730
for build in "$other" "$cgilab"; do
  $pin $build serve --listen 127.0.0.1:$port --quiet --no-lab --embed hello=cgi-bin/hello_wsgi.py \
    >/dev/null 2>&1 &
  pids="$pids $!"
  port=$((port + 1))
done
if command -v "$uwsgi" >/dev/null; then
  # hello_length.py is hello_wsgi.py with a Content-Length: uWSGI keeps a connection
  # open only after an answer with a length. INT stops it (TERM is its reload).
  $pin "$uwsgi" --http11-socket 127.0.0.1:18732 --wsgi-file benches/wsgi/hello_length.py \
    --master --processes 2 --disable-logging >/dev/null 2>&1 &
  uwsgi_pid=$!
  servers="$servers uwsgi=http://127.0.0.1:18732/"
else
  echo "embedded_ab.sh: no uwsgi ($uwsgi); its row is left out" >&2
fi
if command -v "$granian" >/dev/null; then
  (cd cgi-bin && exec $pin "$granian" --interface wsgi --host 127.0.0.1 --port 18733 \
    --workers 2 --log-level warning hello_wsgi:application) >/dev/null 2>&1 &
  pids="$pids $!"
  servers="$servers granian=http://127.0.0.1:18733/"
else
  echo "embedded_ab.sh: no granian ($granian); its row is left out" >&2
fi
for server in $servers; do
  url=${server#*=}
  for _ in $(seq 100); do curl -sf -o /dev/null "$url" && break; sleep 0.1; done
done
# A server that could not listen (its port taken) has exited by now; whatever answers
# on its port is not the server this script started, and would be measured in its place.
for pid in $pids $uwsgi_pid; do
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "embedded_ab.sh: a server this script started has exited (is one of ports 18730 to 18733 taken?)" >&2
    exit 1
  fi
done

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
