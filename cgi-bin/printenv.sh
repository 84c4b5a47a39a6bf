#!/bin/sh
# printenv.sh: shows the meta-variables (RFC 3875 section 4.1) the server set for this request.
printf 'Content-Type: text/plain\n\n'
# sh adds PWD by itself; everything else here came from the server.
env | grep -v '^PWD=' | LC_ALL=C sort
