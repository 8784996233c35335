#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# The shared lock: many processes, lock scopes, flock(1) interop, -n/-w/-E,
# and two "containers" (mount namespaces) sharing one credentials directory.

load test_helper
load login_helper  # the mock, a fresh login and $GATE per test; hold_cmd, open_gate

@test "16 concurrent runs, each forcing one refresh and adopting the rest: zero invalid_grant, every command sees a live token" {
    # The command judges the token it was handed whenever it gets to run, so
    # no lifetime here is one a slow start (MOCKCTL_DELAY, a shim, ASan)
    # could outlive: tokens last an hour, a run refreshes one older than 10 s
    # (-m 3590), and each worker's first run forces a refresh, so the family
    # rotates at least 16 times while the others adopt what they find.
    mockctl config expires_in=3600 revoke_family_on_reuse=true
    set_expiry_in -1
    : > "$BATS_TEST_TMPDIR/results"
    pids=()
    for i in $(seq 16); do
        (
            until [ -e "$BATS_TEST_TMPDIR/go" ]; do sleep 0.01; done
            for j in 1 2 3 4 5 6; do
                force=
                [ "$j" = 1 ] && force=--force
                cr -m 3590 $force --lock-scope refresh -q mockctl check-env CLAUDE_CODE_OAUTH_TOKEN >> "$BATS_TEST_TMPDIR/results" 2>&1
            done
        ) 3>&- &
        pids+=($!)
    done
    touch "$BATS_TEST_TMPDIR/go"
    for p in "${pids[@]}"; do wait "$p"; done
    run mockctl stats invalid_grant
    assert_output 0
    (( $(mockctl stats grants) >= 16 ))
    grep -v "^live$" "$BATS_TEST_TMPDIR/results" >&3 || true
    run grep -c '^live$' "$BATS_TEST_TMPDIR/results"
    assert_output 96
    run grep -v '^live$' "$BATS_TEST_TMPDIR/results"
    assert_output ""
    run mockctl check-rt "$CREDS"
    assert_output live
}

@test "command scope holds the lock until COMMAND exits" {
    cr sh -c "$(hold_cmd "$BATS_TEST_TMPDIR/in")" 3>&- &
    wait_file "$BATS_TEST_TMPDIR/in"
    run cr -n true
    assert_failure 75
    assert_output --partial "is held by another process"
    run cr -n --lock-scope refresh true
    assert_failure 75
    open_gate
    wait
    run cr -n true
    assert_success
}

@test "refresh scope releases the lock before COMMAND runs" {
    cr --lock-scope refresh sh -c "$(hold_cmd "$BATS_TEST_TMPDIR/in")" 3>&- &
    wait_file "$BATS_TEST_TMPDIR/in"
    run cr -n true
    assert_success
    run cr -n --lock-scope refresh true
    assert_success
    open_gate
    wait
}

@test "flock(1) on the lock file and credrun exclude each other" {
    flock "$CREDS.credrun.lock" sh -c "$(hold_cmd "$BATS_TEST_TMPDIR/in")" 3>&- &
    wait_file "$BATS_TEST_TMPDIR/in"
    run cr -n true
    assert_failure 75
    open_gate
    wait
    rm "$BATS_TEST_TMPDIR/in"
    cr sh -c "$(hold_cmd "$BATS_TEST_TMPDIR/in")" 3>&- &
    wait_file "$BATS_TEST_TMPDIR/in"
    run flock -n "$CREDS.credrun.lock" true
    assert_failure 1
    open_gate
    wait
}

@test "-w gives up with 75 after the timeout, -E changes the conflict status" {
    cr sh -c "$(hold_cmd "$BATS_TEST_TMPDIR/in")" 3>&- &
    wait_file "$BATS_TEST_TMPDIR/in"
    run cr -w 0.2 true
    assert_failure 75
    run cr -n -E 9 true
    assert_failure 9
    run cr -w 0 true
    assert_failure 75
    open_gate
    wait
}

@test "-w waits for a lock that is released in time" {
    cr sh -c "$(hold_cmd "$BATS_TEST_TMPDIR/in")" 3>&- &
    wait_file "$BATS_TEST_TMPDIR/in"
    cr -w 60 sh -c 'echo second' > "$BATS_TEST_TMPDIR/second" 3>&- &
    second=$!
    open_gate
    wait "$second"
    [ "$(cat "$BATS_TEST_TMPDIR/second")" = second ]
    wait
}

@test "a waiting credrun adopts the token its predecessor refreshed instead of spending it again" {
    set_expiry_in -1
    mockctl config hold=true
    cr --refresh 3>&- &
    first=$!
    mockctl wait held 1
    cr --refresh 3>&- &
    second=$!
    mockctl release
    wait "$first"
    wait "$second"
    [ "$(mockctl stats token_requests)" = 1 ]
    [ "$(mockctl stats invalid_grant)" = 0 ]
}

@test "two containers mounting the credentials directory at different paths share the lock" {
    unshare --mount true 2>/dev/null || skip "no mount namespaces here"
    mkdir -p "$BATS_TEST_TMPDIR/c1" "$BATS_TEST_TMPDIR/c2"
    # container 1 holds the lock for its whole command
    unshare --mount sh -c 'mount --bind "$1" "$2/c1" && exec "$3" --credentials "$2/c1/.credentials.json" --token-url "$4" sh -c "$5"' \
        sh "$CREDS_DIR" "$BATS_TEST_TMPDIR" "$CREDRUN" "$TOKEN_URL" "$(hold_cmd "$BATS_TEST_TMPDIR/in")" 3>&- &
    wait_file "$BATS_TEST_TMPDIR/in"
    c2() {
        unshare --mount sh -c 'd=$1 t=$2 bin=$3 url=$4; shift 4; mount --bind "$d" "$t/c2" && exec "$bin" --credentials "$t/c2/.credentials.json" --token-url "$url" "$@"' \
            sh "$CREDS_DIR" "$BATS_TEST_TMPDIR" "$CREDRUN" "$TOKEN_URL" "$@"
    }
    run c2 -n true
    assert_failure 75
    open_gate
    wait
    # container 2 refreshes; container 1's view sees the same new file
    run c2 --force --refresh
    assert_success
    run mockctl check-file "$CREDS"
    assert_output live
    [ ! -e "$BATS_TEST_TMPDIR/c2/.credentials.json" ]
}

@test "a lock file owned by another user is opened read-only and still locks" {
    [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null || skip "needs root and setpriv"
    d=$(mktemp -d /tmp/credrun-ro.XXXXXX)
    chmod 755 "$d"
    cp "$CREDS" "$d/.credentials.json"
    chown nobody "$d" "$d/.credentials.json"
    touch "$d/.credentials.json.credrun.lock"
    chmod 644 "$d/.credentials.json.credrun.lock"
    as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$CREDRUN" --credentials "$d/.credentials.json" --token-url "$TOKEN_URL" "$@"; }
    run as_nobody -n true
    assert_success
    flock "$d/.credentials.json.credrun.lock" sh -c "$(hold_cmd "$BATS_TEST_TMPDIR/in")" 3>&- &
    wait_file "$BATS_TEST_TMPDIR/in"
    run as_nobody -n true
    assert_failure 75
    open_gate
    wait
    rm -rf "$d"
}
