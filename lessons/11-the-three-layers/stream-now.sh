#!/bin/sh
# stream-now.sh: stream.sh with `X-Accel-Buffering: no`, which tells nginx to pass each
# piece of the body on as it comes (nginx keeps the header to itself).
printf 'Content-Type: text/plain\nX-Accel-Buffering: no\n\n'
for i in 1 2 3 4 5; do
  printf 'line %s\n' "$i"
  [ "$i" = 5 ] || sleep 0.5
done
