#!/bin/sh
# hello.sh: the smallest CGI script: a header block, a blank line, a body.
printf 'Content-Type: text/plain\n\n'
printf 'Hello, world!\n'
