#!/bin/sh
# naive-notes.sh: serves the note named by ?name=NAME from $NOTES_DIR, and trusts NAME.
name=${QUERY_STRING#name=}
printf 'Content-Type: text/plain\n\n'
cat "$NOTES_DIR/$name"
