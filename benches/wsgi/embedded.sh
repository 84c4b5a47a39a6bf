#!/bin/sh
# embedded.sh: the WSGI hello (cgi-bin/hello_wsgi.py) embedded in cgilab (--embed), in a
# cgilab pool, and in the two servers that embed CPython in production: uWSGI (written in
# C; 2 processes, --http11-socket) and Granian (Rust and PyO3; 2 workers), loaded in
# turns by one `cgilab bench` run at 1 and 8 connections, so a machine that gets busier
# weighs on every server alike.
# Needs: a release build with embedded Python (cargo build --release --features python);
# uwsgi and granian on PATH (pip install uwsgi granian), or UWSGI=... GRANIAN=...; a
# server that is missing is left out, and the script says so.
# Usage: sh benches/wsgi/embedded.sh [SECS] [CONCURRENCY]
set -eu
secs=${1:-2}
conc=${2:-1,8}
cd "$(dirname "$0")/../.."
cgilab=target/release/cgilab
. benches/wsgi/peers.sh

urls=""
start_uwsgi 18711
[ -z "$peer_url" ] || { ready "$peer_url" "$peer_pid"; urls="$urls --url uwsgi=$peer_url"; }
start_granian 18712
[ -z "$peer_url" ] || { ready "$peer_url" "$peer_pid"; urls="$urls --url granian=$peer_url"; }
# The bench waits for each target's first answer (up to 8 s) before it measures.
# shellcheck disable=SC2086
$cgilab bench --embed hello=cgi-bin/hello_wsgi.py --targets /pool/hello,/wsgi/hello \
  $urls --concurrency "$conc" --duration "$secs"
