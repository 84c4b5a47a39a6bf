#!/bin/sh
# classes.sh: worker classes on an app that waits 50 ms per request (wait_app.py), two
# workers each: cgilab's sync, gthread (8 threads) and gevent pools beside gunicorn's sync,
# gthread (--threads 8) and gevent workers, all running at once, loaded in turn by one
# `cgilab bench` run at 32 connections.
# Needs: a release build, python3 with gunicorn and gevent.
# Usage: sh benches/wsgi/classes.sh [SECS] [CONNECTIONS]
set -eu
secs=${1:-4}
conc=${2:-32}
cd "$(dirname "$0")/../.."
cgilab=target/release/cgilab
export PYTHONDONTWRITEBYTECODE=1
pids=""
cleanup() {
  for p in $pids; do kill "$p" 2>/dev/null || true; done
  wait  # gone, and their ports free, before the script returns
}
trap cleanup EXIT
trap 'exit 1' INT TERM

port=18720
urls=""
for class in "sync" "gthread --worker-threads 8" "gevent"; do
  # shellcheck disable=SC2086
  $cgilab serve --listen 127.0.0.1:$port --quiet --workers 2 --worker-class $class \
    --wsgi wait=benches/wsgi/wait_app.py >/dev/null 2>&1 &
  pids="$pids $!"
  urls="$urls --url cgilab-${class%% *}=http://127.0.0.1:$port/pool/wait"
  port=$((port + 1))
done
for class in sync gthread gevent; do
  threads=1
  [ "$class" = gthread ] && threads=8
  gunicorn -w 2 -k "$class" --threads "$threads" -b 127.0.0.1:$port --chdir benches/wsgi \
    --log-level warning wait_app:application >/dev/null 2>&1 &
  pids="$pids $!"
  urls="$urls --url gunicorn-$class=http://127.0.0.1:$port/pool/wait"
  port=$((port + 1))
done
# Each server answers before the load starts.
for p in $(seq 18720 $((port - 1))); do
  for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$p/pool/wait" && break; sleep 0.1; done
done
# shellcheck disable=SC2086
$cgilab bench $urls --targets /raw --concurrency "$conc" --duration "$secs" ${CHART:+--chart "$CHART"}
