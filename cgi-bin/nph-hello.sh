#!/bin/sh
# nph-hello.sh: a non-parsed-header script (RFC 3875 section 5) writes the whole HTTP response itself.
printf 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 14\r\n\r\nHello, world!\n'
