#!/bin/sh
# nginx.sh: nginx in front of an app server, in the foreground until Ctrl-C.
#
#   sh lessons/14-your-app-in-production/nginx.sh LISTEN SERVER [TLS_LISTEN]
#   sh lessons/14-your-app-in-production/nginx.sh 127.0.0.1:8080 .run/cgilab.sock 127.0.0.1:8081
#
# SERVER is a unix socket's path or HOST:PORT. With TLS_LISTEN, nginx also answers HTTPS
# there, with the certificate and key in .run/tls/ (cert.pem, key.pem). Writes nginx.conf, with LISTEN and SERVER,
# to .run/nginx-PORT/ and runs nginx with the repository's root as its prefix, so that it
# writes nothing outside the repository. Says so once it answers.
set -eu
if [ $# -lt 2 ] || [ $# -gt 3 ]; then
  echo "usage: sh lessons/14-your-app-in-production/nginx.sh LISTEN SERVER [TLS_LISTEN]" >&2
  exit 2
fi
listen=$1
tls=${3:-}
case $2 in
  *:[0-9]*) server=$2 ;;
  /*) server=unix:$2 ;;
  *) server=unix:$PWD/$2 ;;
esac
# The socket is mode 0660: only its owner and group may connect. nginx started by root
# runs its workers as `nobody`, who may not; here they run as the server's user. (In
# production, put nginx's user in the socket's group instead.)
user=""
[ "$(id -u)" = 0 ] && user="user $(id -un) $(id -gn);"
here=lessons/14-your-app-in-production
run=.run/nginx-${listen##*:}
mkdir -p "$run"
awk -v listen="$listen" -v server="$server" -v run="$run/" -v user="$user" -v tls="$tls" -v here="$PWD/" '
  /^daemon off;/ && user != "" { print user }
  / ssl;|ssl_certificate/ && tls == "" { next }
  / ssl;/ { sub(/127\.0\.0\.1:8081/, tls) }
  { gsub(/\.run\/tls\//, here ".run/tls/") }
  { gsub(/\.run\/nginx\//, run) }
  /listen 127\.0\.0\.1:8080;/ { sub(/127\.0\.0\.1:8080/, listen) }
  /server unix:\/run\/cgilab\/cgilab\.sock;/ { sub(/unix:\/run\/cgilab\/cgilab\.sock/, server) }
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
if [ -n "$tls" ]; then
  echo "nginx: listening on http://$listen and https://$tls, in front of ${server#unix:$PWD/}"
else
  echo "nginx: listening on http://$listen, in front of ${server#unix:$PWD/}"
fi
wait $pid
