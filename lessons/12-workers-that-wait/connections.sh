#!/bin/sh
# connections.sh: how many connections the throwaway MariaDB (mariadb.sh's) saw opened
# while N requests went to URL, one after another.
#
#   sh lessons/12-workers-that-wait/connections.sh URL [N]
#
# The count is the server's own: its status variable Connections counts every connection
# ever opened to it, this script's own two questions included, which are taken off.
set -eu
if [ $# -lt 1 ]; then
  echo "usage: sh lessons/12-workers-that-wait/connections.sh URL [N]" >&2
  exit 2
fi
url=$1
n=${2:-10}
connections() {
  mariadb --no-defaults --socket="$PWD/.run/mariadb/sock" --user=root --batch \
    --skip-column-names -e "SHOW GLOBAL STATUS LIKE 'Connections'" | cut -f2
}
before=$(connections)
i=0
while [ $i -lt "$n" ]; do
  curl -q -s -f -o /dev/null "$url" || {
    echo "connections.sh: GET $url failed" >&2
    exit 1
  }
  i=$((i + 1))
done
after=$(connections)
echo "$n requests; connections the database saw opened: $((after - before - 1))"
