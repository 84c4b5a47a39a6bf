#!/bin/sh
# redirect.sh: a client redirect (RFC 3875 section 6.2.3): an absolute Location, so a 302.
printf 'Location: http://%s/cgi-bin/hello.sh\n\n' "${HTTP_HOST:-$SERVER_NAME:$SERVER_PORT}"
