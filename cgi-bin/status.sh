#!/bin/sh
# status.sh: the Status header chooses the response code: /cgi-bin/status.sh?code=418
code=404
case "$QUERY_STRING" in
  code=[2-5][0-9][0-9]) code=${QUERY_STRING#code=} ;;
esac
printf 'Status: %s\nContent-Type: text/plain\n\n' "$code"
printf 'status %s\n' "$code"
