#!/bin/sh
# local-redirect.sh: a local redirect (RFC 3875 section 6.2.2): the server itself serves
# /cgi-bin/hello.sh instead, and the client never sees a 302.
printf 'Location: /cgi-bin/hello.sh\n\n'
