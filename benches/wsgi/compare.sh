#!/bin/sh
# compare.sh: the same WSGI apps served by a cgilab pool and by gunicorn (sync workers),
# two workers each, loaded by `cgilab bench` at 1 and 8 connections, one after the other.
# Needs: a release build, python3, gunicorn and flask (pip install gunicorn flask).
# Usage: sh benches/wsgi/compare.sh [SECS]
set -eu
secs=${1:-4}
cd "$(dirname "$0")/../.."
cgilab=target/release/cgilab
port=18700

gunicorn_run() { # NAME MODULE DIR
  gunicorn -w 2 -b 127.0.0.1:$port --chdir "$3" --log-level warning "$2" &
  pid=$!
  for _ in $(seq 50); do curl -sf -o /dev/null http://127.0.0.1:$port/ && break; sleep 0.1; done
  echo "== gunicorn -w 2 (sync), $1"
  $cgilab bench --url http://127.0.0.1:$port --targets / --concurrency 1,8 --duration "$secs" 2>/dev/null
  kill "$pid"; wait "$pid" 2>/dev/null || true
}

echo "== cgilab pool, --workers 2, hello_wsgi.py (and the in-process hello)"
$cgilab bench --workers 2 --wsgi hello=cgi-bin/hello_wsgi.py --targets /pool/hello,/app/hello \
  --concurrency 1,8 --duration "$secs" 2>/dev/null
gunicorn_run hello_wsgi.py hello_wsgi:application cgi-bin

echo "== cgilab pool, --workers 2, flask_hello.py"
$cgilab bench --workers 2 --wsgi flask=benches/wsgi/flask_hello.py --targets /pool/flask \
  --concurrency 1,8 --duration "$secs" 2>/dev/null
gunicorn_run flask_hello.py flask_hello:application benches/wsgi
