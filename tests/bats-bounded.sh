#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# make check's runner for one bats file: bats --tap --timing FILE, with a
# bound on the whole file, so that a test that hangs fails and says where
# instead of stalling the suite (and CI) forever.
#
#   CREDRUN_TEST_FILE_TIMEOUT   seconds the whole file may take (default 1500)
#
# Not bats' own BATS_TEST_TIMEOUT: in bats 1.8 its countdown leaves a sleep
# behind that holds the TAP stream open, so every file then waits for it.
#
# When the file's bound passes, it prints, as TAP comments, the processes
# still running under bats with what each is blocked in (wchan), the locks
# held (/proc/locks), then "Bail out!" (the driver counts an ERROR), and
# ends bats' process group: TERM, then KILL 20 s later.
set -u
limit="${CREDRUN_TEST_FILE_TIMEOUT:-1500}"

# What is still running under process group $1, one "# " line each.
diagnose() {
    echo "# processes of bats' group $1 still running (pid ppid state wchan command):"
    ps -e -o pgid=,pid=,ppid=,stat=,wchan:24=,args= | awk -v g="$1" '$1 == g { $1 = "#  "; print }' | cut -c1-240
    echo "# /proc/locks:"
    sed 's/^/#   /' /proc/locks 2>/dev/null
}

set -m # bats in a process group of its own, for the watchdog to end
"${BATS:-bats}" --tap --timing "$@" &
bats_pid=$!
set +m
# make's interrupt reaches this script, not bats' own group: pass it on
trap 'kill -TERM -- "-$bats_pid" 2>/dev/null' INT TERM HUP

(
    sleep "$limit" </dev/null >/dev/null 2>&1 &
    sleeper=$!
    trap 'kill "$sleeper" 2>/dev/null; exit 0' TERM
    wait "$sleeper"
    diagnose "$bats_pid"
    echo "Bail out! $* did not finish within $limit s (CREDRUN_TEST_FILE_TIMEOUT); see the processes above"
    kill -TERM -- "-$bats_pid" 2>/dev/null
    sleep 20 </dev/null >/dev/null 2>&1
    kill -KILL -- "-$bats_pid" 2>/dev/null
) &
watchdog=$!

rc=0
wait "$bats_pid" || rc=$?
# a trapped signal ends wait early: wait again for bats to finish
while kill -0 "$bats_pid" 2>/dev/null; do wait "$bats_pid" || rc=$?; done
kill -TERM "$watchdog" 2>/dev/null
wait "$watchdog" 2>/dev/null
exit "$rc"
