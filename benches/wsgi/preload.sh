#!/bin/sh
# preload.sh: memory per worker with and without --preload, on the Flask hello
# (flask_hello.py), four workers each: cgilab's sync and gevent pools beside gunicorn's
# sync workers, each with and without --preload. Every server is loaded first (so the
# workers have run Python and touched their pages), then each worker's RSS, PSS and USS
# are read from /proc/PID/smaps_rollup. USS is what a worker alone holds; PSS shares each
# shared page among the processes that map it, so PSS summed over a server (its
# preloader or master included) is what the whole server costs.
# Needs: a release build, python3 with flask, gunicorn and gevent.
# Usage: sh benches/wsgi/preload.sh [SECS]   (CGILAB=PATH for another build of cgilab)
set -eu
secs=${1:-2}
cd "$(dirname "$0")/../.."
cgilab=${CGILAB:-target/release/cgilab}
export PYTHONDONTWRITEBYTECODE=1
pids=""
cleanup() {
  for p in $pids; do kill "$p" 2>/dev/null || true; done
  wait  # gone, and their ports free, before the script returns
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# Every descendant of $1, one pid per line.
descendants() {
  for c in $(ps -o pid= --ppid "$1"); do
    echo "$c"
    descendants "$c"
  done
}

# "RSS PSS USS" in KiB of process $1.
memory() {
  awk '/^Rss:/ {r=$2} /^Pss:/ {p=$2} /^Private_(Clean|Dirty):/ {u+=$2}
       END {print r, p, u}' "/proc/$1/smaps_rollup"
}

# One row: label, server pid. Workers are the processes with no children.
row() {
  label=$1
  root=$2
  n=0 rss=0 uss=0 pss=0 total=0
  for p in $root $(descendants "$root"); do
    set -- $(memory "$p")
    total=$((total + $2))
    if [ -z "$(ps -o pid= --ppid "$p")" ]; then
      n=$((n + 1)) rss=$((rss + $1)) pss=$((pss + $2)) uss=$((uss + $3))
    fi
  done
  awk -v l="$label" -v n="$n" -v r="$rss" -v p="$pss" -v u="$uss" -v t="$total" 'BEGIN {
    printf "| %-26s | %d | %6.1f | %6.1f | %6.1f | %7.1f |\n",
      l, n, r / n / 1024, p / n / 1024, u / n / 1024, t / 1024 }'
}

port=18740
servers=""
start() {
  label=$1
  shift
  "$@" >/dev/null 2>&1 &
  pids="$pids $!"
  servers="$servers $label=$!=$port"
  port=$((port + 1))
}
for class in sync gevent; do
  for preload in "" --preload; do
    start "cgilab-$class${preload:+-preload}" $cgilab serve --listen 127.0.0.1:$port --quiet \
      --workers 4 --worker-class $class $preload --wsgi hello=benches/wsgi/flask_hello.py
  done
done
for preload in "" --preload; do
  start "gunicorn-sync${preload:+-preload}" python3 -m gunicorn -w 4 $preload -b 127.0.0.1:$port \
    --chdir benches/wsgi --log-level warning flask_hello:application
done

urls=""
for s in $servers; do
  label=${s%%=*}
  p=${s##*=}
  path=/pool/hello/
  case $label in gunicorn*) path=/ ;; esac
  # -q: no ~/.curlrc, whose --show-error would print each try made before it listens.
  for _ in $(seq 150); do curl -q -sf -o /dev/null "http://127.0.0.1:$p$path" && break; sleep 0.1; done
  urls="$urls --url $label=http://127.0.0.1:$p$path"
done
# Load every server, so each worker has served requests before it is measured.
# shellcheck disable=SC2086
$cgilab bench $urls --targets /raw --concurrency 8 --duration "$secs" >/dev/null

echo "| server | workers | RSS MiB/worker | PSS MiB/worker | USS MiB/worker | PSS MiB, whole server |"
echo "|---|---|---|---|---|---|"
for s in $servers; do
  rest=${s#*=}
  row "${s%%=*}" "${rest%%=*}"
done
