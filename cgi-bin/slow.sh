#!/bin/sh
# slow.sh: sleeps before answering (/cgi-bin/slow.sh?secs=5), to see --timeout give a 504.
secs=2
case "$QUERY_STRING" in
  secs=[0-9]|secs=[0-9][0-9]) secs=${QUERY_STRING#secs=} ;;
esac
sleep "$secs"
printf 'Content-Type: text/plain\n\nslept %s\n' "$secs"
