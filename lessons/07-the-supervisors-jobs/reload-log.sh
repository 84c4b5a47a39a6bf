#!/bin/sh
# reload-log.sh LOG [N]: waits until gunicorn's log LOG shows its last reload whole (the
# master's "Hang up", then N new workers booting and N old ones exiting; N is 2 unless
# given), and prints those lines without their times. The new workers and the old ones
# write at the same moment, so their lines come in no fixed order: they are printed
# sorted, each worker once. Gives up after 30 seconds, printing what there is.
log=$1
n=${2:-2}
reload() {
    # The lines after the last "Hang up", each message once.
    awk '/\[INFO\] Hang up:/ { n = 0; split("", seen) }
         { sub(/^\[[^]]*\] \[[0-9]+\] \[[A-Z]+\] /, "") }
         /^Hang up:|^Booting worker|^Worker exiting/ && !seen[$0]++ { line[n++] = $0 }
         END { for (i = 0; i < n; i++) print line[i] }' "$log" | sort
}
tries=0
while [ "$(reload | grep -c '^Booting worker')" -lt "$n" ] ||
    [ "$(reload | grep -c '^Worker exiting')" -lt "$n" ]; do
    tries=$((tries + 1))
    if [ "$tries" -gt 300 ]; then
        reload
        echo "reload-log.sh: no whole reload of $n workers in $log after 30 s" >&2
        exit 1
    fi
    sleep 0.1
done
reload
