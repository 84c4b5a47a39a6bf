#!/bin/sh
# ab.sh: a change to the request path measured against another build: two `cgilab serve`, the
# other build's and this tree's, each with the hello_wsgi.py and Flask pools (two workers),
# loaded by `cgilab bench` in short alternating turns with the in-process and CGI hello beside;
# prints the median req/s and p50 latency of the turns for each build.
# Needs: a release build of this tree, another cgilab binary, python3 and flask.
# Usage: sh benches/wsgi/ab.sh OTHER_CGILAB [ROUNDS] [SECS_PER_TURN]
set -eu
other=$1
rounds=${2:-5}
secs=${3:-1}
cd "$(dirname "$0")/../.."
cgilab=target/release/cgilab
export PYTHONDONTWRITEBYTECODE=1
out=$(mktemp)
pids=""
cleanup() {
  for p in $pids; do kill "$p" 2>/dev/null || true; done
  wait  # gone, and their ports free, before the script returns
  rm -f "$out"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

port=18710
for build in "$other" "$cgilab"; do
  $build serve --listen 127.0.0.1:$port --quiet --workers 2 \
    --wsgi hello=cgi-bin/hello_wsgi.py --wsgi flask=benches/wsgi/flask_hello.py \
    >/dev/null 2>&1 &
  pids="$pids $!"
  for path in /pool/hello /pool/flask/; do
    for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$port$path" && break; sleep 0.1; done
  done
  port=$((port + 1))
done

for round in $(seq "$rounds"); do
  for c in 1 8; do
    for target in /cgi-bin/hello.sh /app/hello /pool/hello /pool/flask/; do
      for port in 18710 18711; do
        label=$([ $port = 18710 ] && echo "other" || echo "this tree")
        $cgilab bench --url "http://127.0.0.1:$port" --targets "$target" --concurrency "$c" \
          --duration "$secs" --format csv 2>/dev/null | tail -n +2 | sed "s|^|$label,|" >> "$out"
      done
    done
  done
done

# build,server,target,mode,concurrency,requests,req_per_s,mean_ms,p50_ms,...,errors
python3 - "$out" <<'PY'
import csv, statistics, sys
runs = {}
for row in csv.reader(open(sys.argv[1])):
    runs.setdefault((row[2], int(row[4]), row[0]), []).append(row)
print("target,connections,build,turns,median req/s,median p50 ms,errors")
for (target, conc, build), rows in sorted(runs.items(), key=lambda kv: (kv[0][1], kv[0][0], kv[0][2])):
    rps = statistics.median(float(r[6]) for r in rows)
    p50 = statistics.median(float(r[8]) for r in rows)
    errors = sum(int(r[12]) for r in rows)
    print(f"{target},{conc},{build},{len(rows)},{rps:.0f},{p50:.3f},{errors}")
PY
