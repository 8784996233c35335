#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# The applications' own locks: Claude Code's proper-lockfile directories
# (.oauth_refresh.lock, the legacy <realpath(dir)>.lock, .storage-write.lock)
# and ECA's fcntl lock on db.transit.json.lock.

load test_helper
load login_helper  # the mock, a fresh login and $GATE per test

setup_test() {
    set_expiry_in -5
    LOCKDIR="$CREDS_DIR/.oauth_refresh.lock"
    LEGACY="$(realpath "$CREDS_DIR").lock"
}
teardown_test() { rmdir "$LEGACY" 2>/dev/null || true; }


@test "credrun waits for Claude Code's live refresh lock, sends nothing, and adopts what the app wrote" {
    mkdir "$LOCKDIR"
    cr -v --refresh 2> "$BATS_TEST_TMPDIR/err" 3>&- &
    pid=$!
    wait_file "$BATS_TEST_TMPDIR/err" "waiting for the application's lock $LOCKDIR" partial
    [ "$(mockctl stats token_requests)" = 0 ]
    # the "app" refreshes meanwhile, then releases its lock
    mockctl login --expires-in 3600 > "$CREDS.new"
    mv "$CREDS.new" "$CREDS"
    rmdir "$LOCKDIR"
    wait "$pid"
    [ "$(mockctl stats token_requests)" = 0 ]
    run mockctl check-file "$CREDS"
    assert_output live
}

@test "a Claude lock directory 5 s old is live (Claude Code's own 10 s rule) and never broken" {
    mkdir "$LOCKDIR"
    touch -d '5 seconds ago' "$LOCKDIR"
    run cr -w 0.3 --refresh
    assert_failure 75
    assert_output --partial "the application's lock $LOCKDIR is held"
    [ -d "$LOCKDIR" ]
    [ "$(mockctl stats token_requests)" = 0 ]
}

@test "a Claude lock directory untouched for over 60 s is broken and the refresh goes on" {
    mkdir "$LOCKDIR"
    touch -d '2 minutes ago' "$LOCKDIR"
    run cr --refresh
    assert_success
    assert_output --partial "removed stale lock $LOCKDIR"
    [ "$(mockctl stats grants)" = 1 ]
    [ ! -e "$LOCKDIR" ]
}

@test "a busy app lock with a still-valid access token runs the command with a warning" {
    set_expiry_in 100
    mkdir "$LOCKDIR"
    run cr -w 0.3 sh -c 'echo ran'
    assert_success
    assert_line ran
    assert_line --partial "running sh with the current access token"
    rmdir "$LOCKDIR"
}

@test "while refreshing credrun holds Claude's lock directories, keeps their mtime fresh, then removes them" {
    mockctl config hold=true
    cr --refresh 3>&- &
    pid=$!
    mockctl wait held 1
    [ -d "$LOCKDIR" ]
    [ -d "$LEGACY" ]
    [ ! -e "$CREDS_DIR/.storage-write.lock" ]
    touch -d '1 minute ago' "$LOCKDIR"
    for ((i = 0; i < 500; i++)); do
        (( $(date +%s) - $(stat -c %Y "$LOCKDIR") < 30 )) && break
        sleep 0.02
    done
    (( $(date +%s) - $(stat -c %Y "$LOCKDIR") < 30 )) || fail "the lock's mtime was not refreshed"
    mockctl release
    wait "$pid"
    [ ! -e "$LOCKDIR" ]
    [ ! -e "$LEGACY" ]
    [ ! -e "$CREDS_DIR/.storage-write.lock" ]
    run mockctl check-file "$CREDS"
    assert_output live
}

@test "credrun waits for Claude's .storage-write.lock before writing" {
    mockctl config hold=true
    cr -v --refresh 2> "$BATS_TEST_TMPDIR/err" 3>&- &
    pid=$!
    mockctl wait held 1
    mkdir "$CREDS_DIR/.storage-write.lock"
    before=$(cat "$CREDS")
    mockctl release
    wait_file "$BATS_TEST_TMPDIR/err" "waiting for the application's lock $CREDS_DIR/.storage-write.lock" partial
    [ "$(cat "$CREDS")" = "$before" ]
    rmdir "$CREDS_DIR/.storage-write.lock"
    wait "$pid"
    run mockctl check-file "$CREDS"
    assert_output live
}

@test "the legacy lock is skipped when the config dir's parent is read-only (a bind-mounted directory)" {
    unshare --mount true 2>/dev/null || skip "no mount namespaces here"
    mkdir -p "$BATS_TEST_TMPDIR/ro/claude"
    run unshare --mount sh -c '
        mount --bind "$1" "$2/ro" && mount -o remount,bind,ro "$2/ro" &&
        mount --bind "$3" "$2/ro/claude" &&
        "$4" -v --credentials "$2/ro/claude/.credentials.json" --token-url "$5" --refresh' \
        sh "$BATS_TEST_TMPDIR/ro" "$BATS_TEST_TMPDIR" "$CREDS_DIR" "$CREDRUN" "$TOKEN_URL"
    assert_success
    assert_output --partial "skipping lock $BATS_TEST_TMPDIR/ro/claude.lock"
    [ "$(mockctl stats grants)" = 1 ]
}

@test "the eca profile waits for ECA's fcntl lock on db.transit.json.lock" {
    export XDG_CACHE_HOME="$BATS_TEST_TMPDIR/cache"
    mkdir -p "$XDG_CACHE_HOME/eca"
    db="$XDG_CACHE_HOME/eca/db.transit.json"
    mockctl login --format raw --expires-in 3600 > "$BATS_TEST_TMPDIR/login.json"
    python3 - "$BATS_TEST_TMPDIR/login.json" "$db" <<'PY'
import json, sys
l = json.load(open(sys.argv[1]))
entry = ["^ ", "~:api-key", l["access_token"], "~:refresh-token", l["refresh_token"], "~:expires-at", 0]
open(sys.argv[2], "w").write(json.dumps(["^ ", "~:auth", ["^ ", "anthropic", entry], "~:version", 6], separators=(",", ":")))
PY
    # a classic POSIX record lock, as Java's FileChannel.lock() takes
    python3 -c '
import fcntl, sys
f = open(sys.argv[1], "a")
fcntl.lockf(f, fcntl.LOCK_EX)
open(sys.argv[2], "w").close()
open(sys.argv[3]).read()' "$db.lock" "$BATS_TEST_TMPDIR/in" "$GATE" 3>&- &
    until [ -e "$BATS_TEST_TMPDIR/in" ]; do sleep 0.01; done
    run "$CREDRUN" -p eca --token-url "$TOKEN_URL" -w 0.3 --refresh
    assert_failure 75
    assert_output --partial "$db.lock is held"
    [ "$(mockctl stats token_requests)" = 0 ]
    echo go > "$GATE"
    wait
    run "$CREDRUN" -p eca --token-url "$TOKEN_URL" --refresh
    assert_success
    [ "$(mockctl stats grants)" = 1 ]
}
