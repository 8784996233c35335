# SPDX-License-Identifier: MIT
# Loaded by every bats file: assertions, the mock token endpoint, and
# helpers to make a credentials file and run credrun against the mock.

: "${TESTS_DIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}"
: "${CREDRUN:=$TESTS_DIR/../credrun}"
: "${BATS_LIB_PATH:=/usr/lib/bats}"
export TESTS_DIR CREDRUN BATS_LIB_PATH

bats_require_minimum_version 1.5.0
PATH="$TESTS_DIR/mock:$PATH"
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
