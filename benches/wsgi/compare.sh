#!/bin/sh
# compare.sh: the same WSGI apps served by cgilab pools, by gunicorn (sync workers) and,
# when nginx and flup are installed, by nginx in front of flup's pre-forking FastCGI
# server: two workers each, all the servers running at once, loaded by `cgilab bench` in short
# alternating turns (so a machine that gets busier weighs on every server alike); prints
# the median req/s and p50 latency of the turns, and cgilab's in-process hello beside.
# Needs: a release build, python3, gunicorn and flask (pip install gunicorn flask); for
# the nginx row, nginx and flup (apt-get install nginx; pip install flup).
# Usage: sh benches/wsgi/compare.sh [ROUNDS] [SECS_PER_TURN]
# CGILAB=path/to/another/cgilab serves the pools from another build (to measure a change:
# run once with each); the load always comes from this tree's release build.
set -eu
rounds=${1:-5}
secs=${2:-1}
cd "$(dirname "$0")/../.."
cgilab=target/release/cgilab
server=${CGILAB:-$cgilab}
# No __pycache__ left in cgi-bin by gunicorn's and flup's imports of hello_wsgi.py.
export PYTHONDONTWRITEBYTECODE=1
out=$(mktemp)
pids=""
cleanup() {
  # flup's forked children first (they are not in $pids; its parents wait on them), then
  # every server started here.
  for f in ${flups:-}; do
    kill -9 $(cat /proc/"$f"/task/*/children 2>/dev/null) "$f" 2>/dev/null || true
  done
  for p in $pids; do kill "$p" 2>/dev/null || true; done
  wait  # gone, and their ports free, before the script returns
  rm -f "$out"
  [ -z "${nginx_dir:-}" ] || rm -rf "$nginx_dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# cgilab: one server, a pool for each app.
$server serve --listen 127.0.0.1:18700 --quiet --workers 2 \
  --wsgi hello=cgi-bin/hello_wsgi.py --wsgi flask=benches/wsgi/flask_hello.py \
  >/dev/null 2>&1 &
pids="$pids $!"
# gunicorn: one server per app, as it is deployed.
gunicorn -w 2 -b 127.0.0.1:18701 --chdir cgi-bin --log-level warning hello_wsgi:application \
  >/dev/null 2>&1 &
pids="$pids $!"
gunicorn -w 2 -b 127.0.0.1:18702 --chdir benches/wsgi --log-level warning flask_hello:application \
  >/dev/null 2>&1 &
pids="$pids $!"
# nginx + flup, when both are there.
nginx_dir=""
if command -v nginx >/dev/null && python3 -c "import flup" 2>/dev/null; then
  nginx_dir=$(mktemp -d)
  flups=""
  for app in cgi-bin/hello_wsgi.py benches/wsgi/flask_hello.py; do
    sock="$nginx_dir/$(basename "$app" .py).sock"
    python3 benches/wsgi/flup_serve.py "$sock" "$app" >/dev/null 2>&1 &
    flups="$flups $!"
  done
  pids="$pids $flups"
  cat > "$nginx_dir/nginx.conf" <<NGINX
daemon off;
user root;
worker_processes 1;
pid $nginx_dir/nginx.pid;
error_log $nginx_dir/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  server {
    listen 127.0.0.1:18703;
    location / {
      include /etc/nginx/fastcgi_params;
      fastcgi_pass unix:$nginx_dir/hello_wsgi.sock;
    }
  }
  server {
    listen 127.0.0.1:18704;
    location / {
      include /etc/nginx/fastcgi_params;
      fastcgi_pass unix:$nginx_dir/flask_hello.sock;
    }
  }
}
NGINX
  nginx -c "$nginx_dir/nginx.conf" -p "$nginx_dir" >/dev/null 2>&1 &
  pids="$pids $!"
fi
for url in 18700/pool/hello 18700/pool/flask/ 18701/ 18702/ ${nginx_dir:+18703/ 18704/}; do
  for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$url" && break; sleep 0.1; done
done

turn() { # LABEL PORT TARGET CONCURRENCY
  $cgilab bench --url "http://127.0.0.1:$2" --targets "$3" --concurrency "$4" \
    --duration "$secs" --format csv 2>/dev/null | tail -n +2 | sed "s|^|$1,|" >> "$out"
}
for round in $(seq "$rounds"); do
  for c in 1 8; do
    turn "cgilab in-process hello" 18700 /app/hello "$c"
    turn "cgilab pool hello_wsgi.py" 18700 /pool/hello "$c"
    turn "gunicorn -w 2 hello_wsgi.py" 18701 / "$c"
    if [ -n "$nginx_dir" ]; then turn "nginx + flup (2 children) hello_wsgi.py" 18703 / "$c"; fi
    turn "cgilab pool flask_hello.py" 18700 /pool/flask/ "$c"
    turn "gunicorn -w 2 flask_hello.py" 18702 / "$c"
    if [ -n "$nginx_dir" ]; then turn "nginx + flup (2 children) flask_hello.py" 18704 / "$c"; fi
  done
done

# label, then the bench's own columns: server,target,mode,concurrency,requests,req_per_s,
# mean_ms,p50_ms,p90_ms,p99_ms,max_ms,errors,...
python3 - "$out" <<'PY'
import csv, statistics, sys
runs = {}
for row in csv.reader(open(sys.argv[1])):
    runs.setdefault((row[0], int(row[4])), []).append(row)
print("server,connections,turns,median req/s,median p50 ms,errors")
for (label, conc), rows in sorted(runs.items(), key=lambda kv: (kv[0][1], kv[0][0])):
    rps = statistics.median(float(r[6]) for r in rows)
    p50 = statistics.median(float(r[8]) for r in rows)
    errors = sum(int(r[12]) for r in rows)
    print(f"{label},{conc},{len(rows)},{rps:.0f},{p50:.3f},{errors}")
PY
