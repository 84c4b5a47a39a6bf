#!/bin/sh
# embedded.sh: the WSGI hello (cgi-bin/hello_wsgi.py) embedded in cgilab (--embed), in a
# cgilab pool, and in the two servers that embed CPython in production: uWSGI (written in
# C; 2 processes, --http11-socket) and Granian (Rust and PyO3; 2 workers), loaded in
# turns by one `cgilab bench` run at 1 and 8 connections, so a machine that gets busier
# weighs on every server alike.
# Needs: a release build with embedded Python (cargo build --release --features python);
# uwsgi and granian on PATH (pip install uwsgi granian), or UWSGI=... GRANIAN=...; a
# server that is missing is left out, and the script says so.
# Usage: sh benches/wsgi/embedded.sh [SECS] [CONCURRENCY]
set -eu
secs=${1:-2}
conc=${2:-1,8}
cd "$(dirname "$0")/../.."
cgilab=target/release/cgilab
uwsgi=${UWSGI:-uwsgi}
granian=${GRANIAN:-granian}
export PYTHONDONTWRITEBYTECODE=1
pids=""
uwsgi_pid=""
cleanup() {
  for p in $pids; do kill "$p" 2>/dev/null || true; done
  [ -z "$uwsgi_pid" ] || kill -INT "$uwsgi_pid" 2>/dev/null || true
  wait  # gone, and their ports free, before the script returns
}
trap cleanup EXIT
trap 'exit 1' INT TERM

urls=""
if command -v "$uwsgi" >/dev/null; then
  # uWSGI keeps a connection for the next request only after an answer with a length:
  # hello_length.py is hello_wsgi.py with one. INT stops it (its master takes TERM as
  # "reload").
  "$uwsgi" --http11-socket 127.0.0.1:18711 --wsgi-file benches/wsgi/hello_length.py \
    --master --processes 2 --disable-logging >/dev/null 2>&1 &
  uwsgi_pid=$!
  urls="$urls --url uwsgi=http://127.0.0.1:18711/"
else
  echo "embedded.sh: no uwsgi ($uwsgi); its row is left out (pip install uwsgi)" >&2
fi
if command -v "$granian" >/dev/null; then
  (cd cgi-bin && exec "$granian" --interface wsgi --host 127.0.0.1 --port 18712 \
    --workers 2 --log-level warning hello_wsgi:application) >/dev/null 2>&1 &
  pids="$pids $!"
  urls="$urls --url granian=http://127.0.0.1:18712/"
else
  echo "embedded.sh: no granian ($granian); its row is left out (pip install granian)" >&2
fi
# The bench waits for each target's first answer (up to 8 s) before it measures.
# shellcheck disable=SC2086
$cgilab bench --embed hello=cgi-bin/hello_wsgi.py --targets /pool/hello,/wsgi/hello \
  $urls --concurrency "$conc" --duration "$secs"
