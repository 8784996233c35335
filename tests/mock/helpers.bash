# shellcheck shell=bash
# Helpers for bats tests that use the credrun mock token server.
#
#   load ../mock/helpers        (or: source tests/mock/helpers.bash)
#
#   setup_file()    { mock_start; }
#   teardown_file() { mock_stop; }
#
# mock_start [server args...]  start tests/mock/mock_server.py in the background;
#                              exports MOCK_PORT_FILE, MOCK_PID, MOCK_URL,
#                              TOKEN_URL, MOCK_LOG
# mock_stop                    SIGTERM the server and wait for it to exit
# mockctl ARGS...              run tests/mock/mockctl
#
# Also exported: MOCKCTL (absolute path of the mockctl script, for use from
# child processes, e.g. `credrun -- "$MOCKCTL" check-env VAR`).

_MOCK_HELPERS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export MOCKCTL="$_MOCK_HELPERS_DIR/mockctl"
export MOCK_SERVER="$_MOCK_HELPERS_DIR/mock_server.py"

# Use the system interpreter directly when available (avoids slow version
# manager shims); override with MOCK_PYTHON.
if [ -z "${MOCK_PYTHON:-}" ]; then
    if [ -x /usr/bin/python3 ]; then
        MOCK_PYTHON=/usr/bin/python3
    else
        MOCK_PYTHON=python3
    fi
fi

mockctl() {
    "$MOCK_PYTHON" "$_MOCK_HELPERS_DIR/mockctl" "$@"
}

mock_start() {
    local dir
    if [ -n "${BATS_FILE_TMPDIR:-}" ]; then
        dir=$BATS_FILE_TMPDIR
    else
        dir=$(mktemp -d "${TMPDIR:-/tmp}/credrun-mock.XXXXXX") || return 1
    fi
    export MOCK_PORT_FILE="$dir/mock.port"
    export MOCK_LOG="$dir/mock.log"
    rm -f "$MOCK_PORT_FILE"

    # Close bats' fds (3 is the TAP stream bats waits on) so a background
    # server never keeps a test run from finishing.
    "$MOCK_PYTHON" "$MOCK_SERVER" --port-file "$MOCK_PORT_FILE" "$@" \
        </dev/null >>"$MOCK_LOG" 2>&1 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- &
    export MOCK_PID=$!

    if ! "$MOCK_PYTHON" "$_MOCK_HELPERS_DIR/mockctl" wait-port; then
        echo "mock_start: mock server did not start; log follows:" >&2
        cat "$MOCK_LOG" >&2 || true
        mock_stop
        return 1
    fi
    local port
    port=$(cat "$MOCK_PORT_FILE") || return 1
    export MOCK_URL="http://127.0.0.1:$port"
    export TOKEN_URL="$MOCK_URL/v1/oauth/token"
}

mock_stop() {
    local pid=${MOCK_PID:-} rc=0 i=0
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || rc=$?
    if [ "$rc" -eq 127 ]; then
        # Not a child of this shell (started from another bats phase): wait
        # for the process to disappear (up to ~10 s), then force it.
        rc=0
        while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 500 ]; do
            sleep 0.02
            i=$((i + 1))
        done
        if kill -0 "$pid" 2>/dev/null; then
            kill -KILL "$pid" 2>/dev/null || true
            rc=137
        fi
    fi
    unset MOCK_PID
    if [ "$rc" -ne 0 ]; then
        echo "mock_stop: mock server exited with status $rc (log: ${MOCK_LOG:-?})" >&2
    fi
    return 0
}
