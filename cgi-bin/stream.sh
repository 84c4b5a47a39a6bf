#!/bin/sh
# stream.sh: writes its body a line at a time; the client sees each line as it is written.
printf 'Content-Type: text/plain\n\n'
for i in 1 2 3 4 5; do
  printf 'line %s\n' "$i"
  [ "$i" = 5 ] || sleep 0.5
done
