#!/bin/sh
# zombies.sh: counts the server's children (this script's parent is the server) and how
# many of them are zombies: processes that ended but that no one has waited for.
printf 'Content-Type: text/plain\n\n'
# A child the server is about to reap may still show for an instant; a leaked one stays.
# So look up to five times, a fifth of a second apart, until there are none.
for try in 1 2 3 4 5; do
  total=0
  zombies=0
  for pid in $(cat /proc/$PPID/task/*/children); do
    [ "$pid" = $$ ] && continue
    # Pool workers (/pool/NAME) are children that stay on purpose: not counted.
    tr '\0' ' ' < /proc/$pid/cmdline 2>/dev/null | grep -q wsgi_worker && continue
    total=$((total + 1))
    [ "$(cut -d' ' -f3 /proc/$pid/stat 2>/dev/null)" = Z ] && zombies=$((zombies + 1))
  done
  [ "$total" = 0 ] && break
  sleep 0.2
done
echo "the server has $total other children, $zombies of them zombies"
