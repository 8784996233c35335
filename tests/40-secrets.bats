#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# Secrets stay secret: not in argv, not on stderr, not in the lock file; the
# temp file is private while the refresh is in flight.

load test_helper

setup_file() { mock_start; }
teardown_file() { mock_stop; }
setup() { mockctl reset; new_login --expires-in 3600; }

@test "no token in argv or stderr, a 0600 temp file while refreshing, none after" {
    mapfile -t old < <(file_tokens)
    mockctl config hold=true
    cr -v --force --refresh 2> "$BATS_TEST_TMPDIR/stderr" 3>&- &
    pid=$!
    mockctl wait held 1
    run cat "/proc/$pid/cmdline"
    for t in "${old[@]}"; do refute_output --partial "$t"; done
    tmp=$(ls -A "$CREDS_DIR" | grep credrun-tmp)
    [ "$(stat -c %a "$CREDS_DIR/$tmp")" = 600 ]
    mockctl release
    wait "$pid"
    mapfile -t new < <(file_tokens)
    [ "${new[1]}" != "${old[1]}" ]
    run cat "$BATS_TEST_TMPDIR/stderr"
    assert_output --partial "refreshed"
    for t in "${old[@]}" "${new[@]}"; do refute_output --partial "$t"; done
    [ ! -s "$CREDS.credrun.lock" ]
    [ $((0$(stat -c %a "$CREDS.credrun.lock") & 0133)) = 0 ] # empty: 0644 at most, writable by its owner only
    run ls -A "$CREDS_DIR"
    refute_output --partial credrun-tmp
}

@test "error messages carry no token" {
    mapfile -t old < <(file_tokens)
    for mode in invalid_grant invalid_client garbage 500; do
        mockctl config mode=$mode
        run cr -v --force --refresh
        assert_failure
        for t in "${old[@]}"; do refute_output --partial "$t"; done
    done
}

@test "the exported token is in COMMAND's environment, not its arguments" {
    run cr sh -c 'tr "\0" " " < /proc/$$/cmdline'
    mapfile -t toks < <(file_tokens)
    for t in "${toks[@]}"; do refute_output --partial "$t"; done
}
