# SPDX-License-Identifier: MIT
# The setup 30-lock, 60-failures and 80-applocks share, loaded after
# test_helper: one mock token endpoint per file; per test a reset mock, a
# login valid for an hour ($CREDS in $CREDS_DIR) and $GATE, a FIFO a held
# command waits on (hold_cmd, open_gate); after each test nothing left in
# the background. A file adds its own per-test steps by defining
# setup_test (run last in setup) and teardown_test (run after the
# background is killed), and sets TEARDOWN_SIGNAL to kill with another
# signal than TERM.

setup_file() { mock_start; }
teardown_file() { mock_stop; }

setup() {
    mockctl reset
    new_login --expires-in 3600
    GATE="$BATS_TEST_TMPDIR/gate"
    mkfifo "$GATE"
    if declare -F setup_test >/dev/null; then setup_test; fi
}

# A failed test must not leave a holder blocked on the gate, credrun or a
# held request behind.
teardown() {
    kill_background "${TEARDOWN_SIGNAL:-TERM}"
    if declare -F teardown_test >/dev/null; then teardown_test; fi
}

# A command that says it is in (a line in file $1), then blocks until the
# test opens the gate.
hold_cmd() { printf 'echo in > "%s"; read x < "%s"' "$1" "$GATE"; }
open_gate() { echo go > "$GATE"; }
