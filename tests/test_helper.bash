# SPDX-License-Identifier: MIT
# Loaded by every bats file: assertions, the mock token endpoint, and
# helpers to make a credentials file and run credrun against the mock.

: "${TESTS_DIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}"
: "${CREDRUN:=$TESTS_DIR/../credrun}"
: "${BATS_LIB_PATH:=/usr/lib/bats}"
export TESTS_DIR CREDRUN BATS_LIB_PATH

bats_require_minimum_version 1.5.0
PATH="$TESTS_DIR/mock:$PATH"

# The Python configure found, by its real path (sys.executable), first on PATH
# so `python3` in a test and mockctl's `#!/usr/bin/env python3` never run a
# version manager's shim (seconds per call under load). make check provides
# CREDRUN_PYTHON_BIN (tests/python-bin); a bare `bats` run makes its own.
if [ -z "${CREDRUN_PYTHON_BIN:-}" ]; then
    CREDRUN_PYTHON_BIN="${BATS_RUN_TMPDIR:-${TMPDIR:-/tmp}}/python-bin"
    if [ ! -x "$CREDRUN_PYTHON_BIN/python3" ]; then
        _py=$(python3 -c 'import sys; print(sys.executable)') || _py=
        if [ -n "$_py" ]; then mkdir -p "$CREDRUN_PYTHON_BIN" && ln -sf "$_py" "$CREDRUN_PYTHON_BIN/python3"; fi
        unset _py
    fi
fi
[ -x "$CREDRUN_PYTHON_BIN/python3" ] && PATH="$CREDRUN_PYTHON_BIN:$PATH"
: "${MOCK_PYTHON:=$(command -v python3)}"
export PATH MOCK_PYTHON CREDRUN_PYTHON_BIN
bats_load_library bats-support
bats_load_library bats-assert
# shellcheck source=tests/mock/helpers.bash
source "$TESTS_DIR/mock/helpers.bash"

# Make a Claude Code credentials file from a fresh mock login.
# new_login [--expires-in N] [--scopes "..."]: sets CREDS_DIR and CREDS.
new_login() {
    CREDS_DIR="$BATS_TEST_TMPDIR/claude"
    CREDS="$CREDS_DIR/.credentials.json"
    mkdir -p "$CREDS_DIR"
    mockctl login "$@" > "$CREDS"
    chmod 600 "$CREDS"
    export CREDS_DIR CREDS
}

# A JSON value from a file: json_get FILE POINTER-ish python expression.
json_get() {
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval("d"+sys.argv[2]))' "$1" "$2"
}

# The Claude refresh token in credentials file $1.
rt_of() { json_get "$1" "['claudeAiOauth']['refreshToken']"; }

# credrun on $CREDS and the mock with file system calls failing
# (tests/faultinject.c): fi_cr OPS ERRNO GLOB TIMES ARGS...
fi_cr() {
    local ops=$1 err=$2 glob=$3 times=$4 so=${FAULTINJECT:-$TESTS_DIR/faultinject.so}
    shift 4
    [ -f "$so" ] || fail "$so is missing: build it with make check"
    env FI_OPS="$ops" FI_ERRNO="$err" FI_PATH="$glob" FI_TIMES="$times" LD_PRELOAD="$so" \
        ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
        "$CREDRUN" --credentials "$CREDS" --token-url "$TOKEN_URL" "$@"
}

# The flock(2) calls in the trace file $1 of strace -f -e trace=flock.
flock_calls() { grep -E '^[0-9]+ +flock\(' "$1"; }

# Run credrun against the mock with the test's credentials file.
cr() {
    "$CREDRUN" --credentials "$CREDS" --token-url "$TOKEN_URL" "$@"
}

# The refresh and access tokens now in the credentials file, for checks that
# a secret does not appear somewhere.
file_tokens() {
    json_get "$CREDS" "['claudeAiOauth']['accessToken']"
    json_get "$CREDS" "['claudeAiOauth']['refreshToken']"
}

# Set expiresAt (epoch ms) in the credentials file to now + $1 seconds,
# keeping the tokens: makes a live token look close to expiry.
set_expiry_in() {
    python3 - "$CREDS" "$1" <<'PY'
import json, sys, time
p, secs = sys.argv[1], int(sys.argv[2])
d = json.load(open(p))
d["claudeAiOauth"]["expiresAt"] = int((time.time() + secs) * 1000)
open(p, "w").write(json.dumps(d, separators=(",", ":")))
PY
}

# Kill and reap what a test left in the background, so a failed test never
# leaves a holder blocked on a gate or a held request: kill_background [SIG].
kill_background() {
    local p
    for p in $(jobs -p); do kill -"${1:-TERM}" "$p" 2>/dev/null || true; done
    wait || true
}

# A barrier: wait (at most 30 s) until file $1 exists or, with $2, until it
# holds a line equal to $2 (grep -x) or, with $3 = partial, containing it.
wait_file() {
    local i opt=-qxF
    [ "${3:-}" = partial ] && opt=-qF
    for ((i = 0; i < 3000; i++)); do
        if [ -e "$1" ] && { [ -z "${2:-}" ] || grep $opt -- "$2" "$1"; }; then return 0; fi
        sleep 0.01
    done
    fail "timed out waiting for $1${2:+ to hold $2}"
}

# Skip the test when the environment asks to leave out a group of tests:
# skip_unless_enabled NAME WHY skips when CREDRUN_SKIP_NAME=1 (e.g.
# CREDRUN_SKIP_REAL=1 for the real clients, CREDRUN_SKIP_GLUSTER=1 for
# GlusterFS; debian/rules sets both, a package build has neither).
skip_unless_enabled() {
    local var="CREDRUN_SKIP_$1"
    if [ "${!var:-0}" = 1 ]; then skip "$var=1: ${2:-skipped on request}"; fi
}

# strace, with LeakSanitizer off for what it traces: under ptrace LSan
# cannot run and fails the traced credrun (ASan builds in CI).
strace() {
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" command strace "$@"
}
