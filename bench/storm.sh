#!/bin/sh
# SPDX-License-Identifier: MIT
# storm.sh LOOPS RUNS FAILFILE COMMAND [ARG...]: LOOPS concurrent loops each
# run COMMAND RUNS times in a row; one line per failed run is appended to
# FAILFILE. bench/run.sh uses it for the refresh-path throughput run.
loops=$1
runs=$2
failfile=$3
shift 3
pids=
l=0
while [ "$l" -lt "$loops" ]; do
    (
        r=0
        while [ "$r" -lt "$runs" ]; do
            "$@" || echo "loop $l run $r: exit $?" >>"$failfile"
            r=$((r + 1))
        done
    ) &
    pids="$pids $!"
    l=$((l + 1))
done
for p in $pids; do
    wait "$p"
done
