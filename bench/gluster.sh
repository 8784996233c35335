#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# One refresh on a GlusterFS volume (two FUSE client mounts, as two hosts
# mount one network filesystem; tests/gluster.bash makes it), with the
# settle wait credrun adds there (--settle, default 1.5 s) shown apart.
# Prints one line for bench/run.sh's table:
#   "gluster: median N ms per refresh, S ms of it the settle wait (...); M ms with --settle 0; ..."
# or "gluster: skipped: WHY" where GlusterFS cannot run (not root, no FUSE,
# no glusterd, CREDRUN_SKIP_GLUSTER=1). Never fails the benchmark for that.
#
#   bench/gluster.sh CREDRUN TOP_SRCDIR      (TOKEN_URL and MOCK_PORT_FILE set)
#
# BENCH_GLUSTER_RUNS (default 5) refreshes each way.
set -uo pipefail
credrun=$1
top=$2
runs=${BENCH_GLUSTER_RUNS:-5}
mockctl() { python3 "$top/tests/mock/mockctl" "$@"; }

BATS_FILE_TMPDIR=$(mktemp -d "${BENCH_WORK:-${TMPDIR:-/tmp}}/gluster-bench.XXXXXX")
export BATS_FILE_TMPDIR
# shellcheck source=tests/gluster.bash
source "$top/tests/gluster.bash"
trap 'gluster_teardown >/dev/null 2>&1; rm -rf "$BATS_FILE_TMPDIR"' EXIT
if ! gluster_setup 2>"$BATS_FILE_TMPDIR/setup.err"; then
    echo "gluster: skipped: the volume could not be set up: $(tail -1 "$BATS_FILE_TMPDIR/setup.err")"
    exit 0
fi
if [ -n "${GLUSTER_SKIP:-}" ]; then
    echo "gluster: skipped: ${GLUSTER_SKIP#GlusterFS tests skipped: }"
    exit 0
fi

dir=$GLUSTER_M1/claude
mkdir -p "$dir"
creds=$dir/.credentials.json
mockctl login >"$creds.tmp" && chmod 600 "$creds.tmp" && mv "$creds.tmp" "$creds"

# the median wall time in ms of $runs forced refreshes with extra options "$@"
median_ms() {
    local i t0 t1 times=()
    for ((i = 0; i < runs; i++)); do
        t0=${EPOCHREALTIME/./}
        "$credrun" -q --credentials "$creds" --token-url "$TOKEN_URL" --force --refresh "$@" || return 1
        t1=${EPOCHREALTIME/./}
        times+=($(((t1 - t0) / 1000)))
    done
    printf '%s\n' "${times[@]}" | sort -n | sed -n "$(((runs + 1) / 2))p"
}
g0=$(mockctl stats grants)
with=$(median_ms) || { echo "gluster: FAILED: a refresh on the volume failed"; exit 0; }
without=$(median_ms --settle 0) || { echo "gluster: FAILED: a refresh with --settle 0 failed"; exit 0; }
g1=$(mockctl stats grants)
echo "gluster: median $with ms per refresh, $((with - without)) ms of it the settle wait (--settle, default 1.5 s);" \
    "$without ms with --settle 0; $((g1 - g0)) refreshes (mock grants) for $((2 * runs)) runs"
