#!/bin/sh
# mariadb.sh: a throwaway MariaDB server, in the foreground until Ctrl-C.
#
#   sh lessons/12-workers-that-wait/mariadb.sh
#
# Everything it writes is in .run/mariadb/ (git ignores .run/): the data, the server's
# log, its temporary files, and the socket clients connect through. It listens on no TCP
# port (--skip-networking), only on that socket; its user root has no password, and the
# socket's folder, which only its owner may enter, is the only way in. The first run makes the data (mariadb-install-db);
# every run starts the server on it, creates the database `notes` if it is missing, and
# says once it is ready, with the DATABASE_URL that reaches it. Stop it with Ctrl-C (or
# kill); `rm -r .run/mariadb` throws the data away.
set -eu
run=$PWD/.run/mariadb
sock=$run/sock
url="mysql://root@localhost/notes?unix_socket=$sock"
# Debian puts the server in /usr/sbin, which is not on every user's PATH.
mariadbd=$(command -v mariadbd || echo /usr/sbin/mariadbd)
if [ ! -x "$mariadbd" ]; then
  echo "mariadb.sh: no mariadbd; install MariaDB's server (Debian: apt-get install mariadb-server)" >&2
  exit 1
fi
# --no-defaults, first: the machine's own my.cnf (a socket in /run, a data folder in
# /var/lib) is for its own server, not this one.
ask() {
  program=$1
  shift
  "$program" --no-defaults --socket="$sock" --user=root "$@"
}
if ask mariadb-admin ping >/dev/null 2>&1; then
  echo "mariadb.sh: a server already answers on $sock; stop it first" >&2
  exit 1
fi
# mariadbd refuses to run as root unless told to, as the user it should become.
as=""
[ "$(id -u)" = 0 ] && as=--user=root
mkdir -p "$run/tmp"
# The socket lets in whoever can reach it, as root: only its owner reaches this folder.
chmod 700 "$run"
if [ ! -d "$run/data/mysql" ]; then
  # root@localhost with no password, rather than the login of whoever runs this: the
  # socket's folder is the lock on the door.
  mariadb-install-db --no-defaults $as --datadir="$run/data" --tmpdir="$run/tmp" \
    --auth-root-authentication-method=normal --skip-test-db >"$run/install.log" 2>&1 || {
    echo "mariadb.sh: mariadb-install-db failed; its output is in $run/install.log" >&2
    exit 1
  }
fi
# --max-connections: lesson 12's six servers, with a connection for every request their
# threads and greenlets hold, keep over a hundred open; the default is 151.
"$mariadbd" --no-defaults $as --datadir="$run/data" --socket="$sock" --skip-networking \
  --max-connections=500 --tmpdir="$run/tmp" --pid-file="$run/mariadbd.pid" \
  --log-error="$run/mariadbd.log" >>"$run/mariadbd.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null' INT TERM
tries=0
until ask mariadb-admin ping >/dev/null 2>&1; do
  tries=$((tries + 1))
  if [ $tries -gt 300 ] || ! kill -0 $pid 2>/dev/null; then
    echo "mariadb.sh: mariadbd did not start; the end of its log ($run/mariadbd.log):" >&2
    tail -n 5 "$run/mariadbd.log" >&2
    kill $pid 2>/dev/null
    exit 1
  fi
  sleep 0.1
done
ask mariadb -e 'CREATE DATABASE IF NOT EXISTS notes'
echo "mariadb: ready, on $sock (no TCP port)"
echo "mariadb: DATABASE_URL=$url"
# The first wait ends when Ctrl-C or kill comes; the second, when the server has stopped.
wait $pid || true
wait $pid 2>/dev/null || true
