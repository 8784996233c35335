#!/bin/sh
# SPDX-License-Identifier: MIT
# CPU time used by a supervising credrun parent while its command runs and
# the token is far from expiry, extrapolated to one hour of command run time.
# Prints one line: "supervise-idle: <ms CPU per hour> ms CPU per hour (...)".
#
#   bench/supervise-idle.sh [CREDRUN] [SECONDS]     (defaults: ./credrun, 20)
#
# Uses the mock endpoint named by TOKEN_URL and MOCK_PORT_FILE when both are
# set (bench/run.sh does so), else starts its own; BENCH_WORK, when set, is
# the scratch directory.
#
# CPU time is utime+stime from /proc/PID/stat, measured from the moment the
# command runs (start-up excluded) until just before it exits. An idle parent
# uses far less than one clock tick (10 ms) in that window, so when the kernel
# keeps /proc/PID/schedstat the same CPU time is read from there, in ns.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
credrun=${1:-${CREDRUN:-$here/../credrun}}
secs=${2:-20}
mockdir=$here/../tests/mock
work=$(mktemp -d "${BENCH_WORK:-${TMPDIR:-/tmp}}/supervise-idle.XXXXXX")
mock_pid=
trap '[ -n "$mock_pid" ] && kill "$mock_pid" 2>/dev/null; rm -rf "$work"' EXIT INT TERM

if [ -n "${TOKEN_URL:-}" ] && [ -n "${MOCK_PORT_FILE:-}" ]; then
    url=$TOKEN_URL
else
    python3 "$mockdir/mock_server.py" --port-file "$work/port" --expires-in 3600 >"$work/mock.log" 2>&1 &
    mock_pid=$!
    MOCK_PORT_FILE=$work/port
    export MOCK_PORT_FILE
    python3 "$mockdir/mockctl" wait-port
    url="http://127.0.0.1:$(cat "$work/port")/v1/oauth/token"
fi
python3 "$mockdir/mockctl" login --expires-in 3600 >"$work/credentials.json"
chmod 600 "$work/credentials.json"
mkfifo "$work/gate"

# CPU time of process $1 in ns.
cpu_ns() {
    if [ -r "/proc/$1/schedstat" ]; then
        cut -d' ' -f1 "/proc/$1/schedstat"
    else
        awk -v tck="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); printf "%.0f\n", ($12 + $13) * 1e9 / tck }' "/proc/$1/stat"
    fi
}
now_ns() { date +%s%N; }

"$credrun" -q --credentials "$work/credentials.json" --token-url "$url" --supervise -- \
    sh -c 'echo in > "$1"; read x < "$2"' sh "$work/in" "$work/gate" &
pid=$!
while [ ! -e "$work/in" ]; do sleep 0.01; done
c0=$(cpu_ns "$pid")
t0=$(now_ns)
sleep "$secs"
c1=$(cpu_ns "$pid")
t1=$(now_ns)
echo go >"$work/gate"
wait "$pid"
awk -v c="$((c1 - c0))" -v t="$((t1 - t0))" 'BEGIN {
    printf "supervise-idle: %.3f ms CPU per hour (%.0f us in %.1f s of command run time)\n", c / 1e6 * 3600e9 / t, c / 1e3, t / 1e9
}'
