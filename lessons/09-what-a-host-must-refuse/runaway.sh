#!/bin/sh
# runaway.sh: never answers, and starts a helper that would outlive it. It writes the
# helper's pid to runaway.pid in the document root (the repository's root), so that
# `sh runaway.sh --check` can tell whether the helper is still running.
if [ "$1" = --check ]; then
  pid=$(cat runaway.pid) || exit 1
  # A process just sent SIGKILL may take a moment to die: look for up to a second.
  for try in 1 2 3 4 5; do
    case $(cut -d' ' -f3 "/proc/$pid/stat" 2>/dev/null) in
      '' | Z) echo "the helper is gone"; exit ;;
    esac
    sleep 0.2
  done
  echo "the helper (pid $pid) is still running"
  exit
fi
sleep 300 &
echo "runaway.sh: started a helper, sleep 300, as pid $!" >&2
echo $! > "$DOCUMENT_ROOT/runaway.pid"
while :; do :; done
