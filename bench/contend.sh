#!/bin/sh
# SPDX-License-Identifier: MIT
# contend.sh N COMMAND [ARG...]: start N copies of COMMAND at once and wait
# for all of them; exit 1 if any failed. bench/run.sh times this with
# hyperfine to show what whole-run serialization costs.
n=$1
shift
pids=
i=0
while [ "$i" -lt "$n" ]; do
    "$@" &
    pids="$pids $!"
    i=$((i + 1))
done
rc=0
for p in $pids; do
    wait "$p" || rc=1
done
exit "$rc"
