#!/bin/sh
# nginx.sh: nginx in front of one or more app servers, in the foreground until Ctrl-C.
#
#   sh lessons/11-the-three-layers/nginx.sh LISTEN SERVER [SERVER...]
#   sh lessons/11-the-three-layers/nginx.sh 127.0.0.1:8080 127.0.0.1:8000
#
# Writes nginx.conf, with LISTEN and the SERVERs, to .run/nginx-PORT/ (one folder for
# each nginx, so several can run) and runs nginx with the repository's root as its
# prefix, so that it writes nothing outside the repository. Says so once it answers.
set -eu
if [ $# -lt 2 ]; then
  echo "usage: sh lessons/11-the-three-layers/nginx.sh LISTEN SERVER [SERVER...]" >&2
  exit 2
fi
listen=$1
shift
here=lessons/11-the-three-layers
run=.run/nginx-${listen##*:}
mkdir -p "$run"
awk -v listen="$listen" -v servers="$*" -v run="$run/" '
  { gsub(/\.run\/nginx\//, run) }
  /listen 127\.0\.0\.1:8080;/ { sub(/127\.0\.0\.1:8080/, listen) }
  /server 127\.0\.0\.1:8000;/ {
    n = split(servers, s, " ")
    for (i = 1; i <= n; i++) print "        server " s[i] ";"
    next
  }
  { print }
' "$here/nginx.conf" > "$run/nginx.conf"
nginx -p "$PWD" -c "$run/nginx.conf" -e stderr &
pid=$!
trap 'kill $pid 2>/dev/null' INT TERM
tries=0
until curl -q -s -o /dev/null "http://$listen/.ready"; do
  tries=$((tries + 1))
  if [ $tries -gt 100 ] || ! kill -0 $pid 2>/dev/null; then
    echo "nginx.sh: nginx did not start" >&2
    exit 1
  fi
  sleep 0.1
done
echo "nginx: listening on http://$listen, in front of $*"
wait $pid
