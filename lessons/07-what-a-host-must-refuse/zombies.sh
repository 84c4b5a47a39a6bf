#!/bin/sh
# zombies.sh: counts the server's children (this script's parent is the server) and how
# many of them are zombies: processes that ended but that no one has waited for.
printf 'Content-Type: text/plain\n\n'
total=0
zombies=0
for pid in $(cat /proc/$PPID/task/*/children); do
  [ "$pid" = $$ ] && continue
  total=$((total + 1))
  [ "$(cut -d' ' -f3 /proc/$pid/stat 2>/dev/null)" = Z ] && zombies=$((zombies + 1))
done
echo "the server has $total other children, $zombies of them zombies"
