#!/bin/sh
# chatty.sh: writes 128 KiB of output before it reads its request body, then says how
# much body it read. A pipe holds 64 KiB, so the host must read while it writes.
printf 'Content-Type: text/plain\n\n'
head -c 131072 /dev/zero | tr '\0' '.'
printf '\nread %s bytes of body\n' "$(head -c "${CONTENT_LENGTH:-0}" | wc -c)"
