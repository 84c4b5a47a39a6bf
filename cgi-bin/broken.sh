#!/bin/sh
# broken.sh: deliberately bad output: no colon in the first header line, so the client gets a 502.
echo "broken.sh: about to print a header line without a colon" >&2
printf 'this is not a header\n\nbody\n'
