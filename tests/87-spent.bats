#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# Exactly once (issue 18) on a local filesystem: the spent-token marker made
# before every request, kept or removed by what the answer says, the wait
# for a young marker's successor (75 past the bound) and the refusal of an
# old one (77), pruning; and, with the mount table faked by
# tests/faultinject.so (FI_MOUNTINFO), the settle wait on a network
# filesystem, the patient read of a file that vanishes for an instant, and
# the refusal of a filesystem whose flock is local to one client (78).
# tests/85-gluster.bats runs the same across two real GlusterFS clients.

load test_helper
load login_helper  # the mock, a fresh login and $GATE per test

setup_test() {
    SPENT="$CREDS.credrun.spent"
    : "${FAULTINJECT:=$TESTS_DIR/faultinject.so}"
}
TEARDOWN_SIGNAL=KILL
# and a request the mock holds is let go
teardown_test() { mockctl release >/dev/null 2>&1 || true; }

# The marker name of the refresh token now in file $1 (default $CREDS).
marker_of() { printf %s "$(rt_of "${1:-$CREDS}")" | sha256sum | cut -d' ' -f1; }
# Make a marker for the token in $CREDS, as another client's credrun does.
plant_marker() {
    mkdir -p -m 700 "$SPENT"
    echo "otherhost pid 4242" >"$SPENT/$(marker_of)"
    chmod 600 "$SPENT/$(marker_of)"
}
requests() { mockctl stats token_requests; }

# credrun with the mount table of this test: the credentials' directory on a
# filesystem of type $1 (options $2), the rest as the kernel says.
fake_mount() {
    local dir
    dir=$(realpath "$CREDS_DIR")
    MOUNTINFO="$BATS_TEST_TMPDIR/mountinfo"
    { cat /proc/self/mountinfo; printf '9999 1 0:999 / %s rw,relatime - %s remote:/x %s\n' "$dir" "$1" "${2:-rw}"; } >"$MOUNTINFO"
}
fm_cr() {
    [ -f "$FAULTINJECT" ] || fail "$FAULTINJECT is missing: build it with make check"
    env FI_MOUNTINFO="$MOUNTINFO" LD_PRELOAD="$FAULTINJECT" \
        ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
        "$CREDRUN" --credentials "$CREDS" --token-url "$TOKEN_URL" "$@"
}

@test "a refresh first marks its token spent: a file named by its SHA-256, holding no token, in a 0700 directory" {
    local name old
    name=$(marker_of)
    old=$(rt_of "$CREDS")
    run cr --force --refresh
    assert_success
    [ "$(stat -c %a "$SPENT")" = 700 ]
    [ "$(stat -c %a "$SPENT/$name")" = 600 ]
    run cat "$SPENT/$name"
    assert_output --regexp "^$(hostname) pid [0-9]+\$"
    refute_output --partial "$old"
    run grep -rF -- "$old" "$SPENT"
    assert_failure
    [ "$(mockctl stats grants)" = 1 ]
}

@test "the fresh path makes no marker and no marker directory" {
    run cr mockctl check-env CLAUDE_CODE_OAUTH_TOKEN
    assert_success
    assert_output live
    [ ! -e "$SPENT" ]
}

@test "markers are kept after a stored answer, invalid_grant and a request that got no answer" {
    local name
    # stored
    name=$(marker_of)
    run cr --force --refresh
    assert_success
    [ -f "$SPENT/$name" ]
    # invalid_grant
    name=$(marker_of)
    mockctl config mode=invalid_grant mode_count=1
    run cr --force --refresh
    assert_failure 77
    [ -f "$SPENT/$name" ]
    # sent, no answer
    new_login --expires-in 3600
    name=$(marker_of)
    mockctl config mode=hang mode_count=1
    run cr --force --refresh --http-timeout 1
    assert_failure 76
    [ -f "$SPENT/$name" ]
}

@test "markers are removed when the token was not rotated: 429, 5xx, another 4xx, no connection, a 2xx without a new token" {
    local name mode port
    name=$(marker_of)
    for mode in 429 500 invalid_client invalid_scope garbage; do
        mockctl reset
        rm -f "$CREDS.credrun.state"
        mockctl config mode="$mode" mode_count=5
        run cr --force --refresh
        assert_failure
        [ ! -e "$SPENT/$name" ] || fail "$mode left the marker"
    done
    # a port nothing listens on: the connection is never made
    rm -f "$CREDS.credrun.state"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    run "$CREDRUN" --credentials "$CREDS" --token-url "http://127.0.0.1:$port/token" --force --refresh
    assert_failure 69
    [ ! -e "$SPENT/$name" ]
    # an endpoint that does not rotate: the same token stays the live one
    mockctl reset
    rm -f "$CREDS.credrun.state"
    mockctl config omit_refresh_token=true
    run cr --force --refresh
    assert_success
    [ ! -e "$SPENT/$name" ]
    run cr --force --refresh
    assert_success
    [ "$(mockctl stats grants)" = 2 ]
}

@test "a typo in --token-url costs no login: the next run refreshes" {
    run cr --token-url "$MOCK_URL/v1/oauth/tokn" --force --refresh
    assert_failure
    rm -f "$CREDS.credrun.state"
    run cr --force mockctl check-env CLAUDE_CODE_OAUTH_TOKEN
    assert_success
    assert_output live
}

@test "a young marker: credrun says what it waits for, sends nothing, and exits 75 past the bound" {
    plant_marker
    run cr -w 1 --http-timeout 1 --force --refresh
    assert_failure 75
    assert_output --partial "waiting for another client's refresh of $CREDS"
    assert_output --partial "otherhost pid 4242"
    assert_output --partial "did not arrive within 2 s; nothing was sent"
    [ "$(requests)" = 0 ]
    # -E replaces only the lock conflict's status
    touch "$SPENT/$(marker_of)"
    run cr -w 1 --http-timeout 1 -E 9 --force --refresh
    assert_failure 75
}

@test "a young marker whose successor arrives while credrun waits: the successor is used, nothing is sent" {
    mockctl login >"$BATS_TEST_TMPDIR/successor.json"
    set_expiry_in -10
    plant_marker
    cr -v -- mockctl check-env CLAUDE_CODE_OAUTH_TOKEN >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" 3>&- &
    pid=$!
    wait_file "$BATS_TEST_TMPDIR/err" "waiting for another client's refresh" partial
    mv "$BATS_TEST_TMPDIR/successor.json" "$CREDS"
    wait "$pid"
    run cat "$BATS_TEST_TMPDIR/out"
    assert_output live
    run cat "$BATS_TEST_TMPDIR/err"
    assert_output --partial "the successor arrived"
    [ "$(requests)" = 0 ]
}

@test "a young marker removed while credrun waits (that refresh did not rotate): credrun refreshes" {
    set_expiry_in -10
    plant_marker
    cr -v -- mockctl check-env CLAUDE_CODE_OAUTH_TOKEN >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" 3>&- &
    pid=$!
    wait_file "$BATS_TEST_TMPDIR/err" "waiting for another client's refresh" partial
    rm "$SPENT/$(marker_of)"
    wait "$pid"
    run cat "$BATS_TEST_TMPDIR/out"
    assert_output live
    [ "$(mockctl stats grants)" = 1 ]
}

@test "an old marker: the token was sent before, so credrun sends nothing and exits 77 at once" {
    plant_marker
    touch -d '-1 hour' "$SPENT/$(marker_of)"
    run cr --force --refresh
    assert_failure 77
    assert_output --partial "was already sent"
    assert_output --partial "restored from a backup; nothing was sent: log in again"
    refute_output --partial "waiting"
    [ "$(requests)" = 0 ]
}

@test "a restored backup: its token's marker makes credrun send nothing and exit 77" {
    cp "$CREDS" "$BATS_TEST_TMPDIR/backup.json"
    run cr --force --refresh
    assert_success
    cp "$BATS_TEST_TMPDIR/backup.json" "$CREDS"
    touch -d '-1 hour' "$SPENT/$(marker_of)"
    run cr --force --refresh
    assert_failure 77
    assert_output --partial "already sent"
    [ "$(requests)" = 1 ]
    [ "$(mockctl stats invalid_grant)" = 0 ]
}

@test "a killed refresher's marker: the next run waits and exits 75; aged past the bound, 77 at once" {
    mockctl config hold=true
    "$CREDRUN" --credentials "$CREDS" --token-url "$TOKEN_URL" -q --force --refresh 3>&- &
    pid=$!
    mockctl wait held 1
    kill -KILL "$pid"
    wait "$pid" || true
    mockctl release
    # the killed run's Claude Code lock directories would hold the next one off for 60 s
    rmdir "$CREDS_DIR/.oauth_refresh.lock" "$(realpath "$CREDS_DIR").lock"
    run cr -w 1 --http-timeout 1 --force --refresh
    assert_failure 75
    assert_output --partial "waiting for another client's refresh"
    [ "$(requests)" = 1 ]
    touch -d '-1 hour' "$SPENT/$(marker_of)"
    run cr -w 1 --http-timeout 1 --force --refresh
    assert_failure 77
    refute_output --partial "waiting"
    [ "$(requests)" = 1 ]
}

@test "after invalid_grant the next run says quarantined at once instead of waiting on the marker" {
    mockctl config mode=invalid_grant mode_count=1
    run cr --force --refresh
    assert_failure 77
    run cr --force --refresh
    assert_failure 77
    assert_output --partial "quarantined"
    refute_output --partial "waiting"
    [ "$(requests)" = 1 ]
}

@test "a marker that cannot be made stops the refresh with 73 before the token is spent" {
    : >"$SPENT"
    run cr --force --refresh
    assert_failure 73
    assert_output --partial "the refresh token was not spent"
    [ "$(requests)" = 0 ]
    rm "$SPENT"
    mkdir -m 777 "$SPENT"
    run cr --force --refresh
    assert_failure 73
    assert_output --partial "chmod go-w"
    [ "$(requests)" = 0 ]
}

@test "markers older than 30 days are pruned under the lock, at most once a day" {
    local old young later
    mkdir -m 700 "$SPENT"
    old=$(printf a%.0s {1..64})
    young=$(printf b%.0s {1..64})
    later=$(printf c%.0s {1..64})
    : >"$SPENT/$old"
    : >"$SPENT/$young"
    touch -d '-31 days' "$SPENT/$old"
    touch -d '-29 days' "$SPENT/$young"
    run cr -v --force --refresh
    assert_success
    assert_output --partial "pruned 1 spent-token markers older than 30 days"
    [ ! -e "$SPENT/$old" ]
    [ -e "$SPENT/$young" ]
    [ -f "$SPENT/.pruned" ]
    : >"$SPENT/$later"
    touch -d '-31 days' "$SPENT/$later"
    run cr -v --force --refresh
    assert_success
    refute_output --partial "pruned"
    [ -e "$SPENT/$later" ]
    touch -d '-2 days' "$SPENT/.pruned"
    run cr -v --force --refresh
    assert_success
    [ ! -e "$SPENT/$later" ]
}

@test "--settle takes 0 to 60 seconds" {
    run cr --settle abc --refresh
    assert_failure 64
    assert_output --partial "invalid --settle 'abc'"
    run cr --settle 61 --refresh
    assert_failure 64
    run cr --settle 0.5 --refresh
    assert_success
}

@test "on a local filesystem credrun does not settle" {
    run cr -v --force --refresh
    assert_success
    refute_output --partial "settle"
}

@test "on a network filesystem credrun re-reads after the settle interval and refreshes only if nothing changed" {
    fake_mount fuse.glusterfs rw,user_id=0,group_id=0
    run fm_cr -v --settle 0.2 --force --refresh
    assert_success
    assert_output --partial "is on fuse.glusterfs"
    assert_output --partial "waiting 0.2 s for $CREDS on fuse.glusterfs to settle"
    assert_output --partial "did not change in 0.2 s: settled"
    [ "$(mockctl stats grants)" = 1 ]
    # the default interval is said without -v
    run fm_cr --force --refresh
    assert_success
    assert_output --partial "waiting 1.5 s for $CREDS on fuse.glusterfs to settle (another host's write may not be visible here yet)"
}

@test "on a network filesystem a file that changes while settling is decided again: a peer's fresh login is used" {
    fake_mount nfs4 rw,vers=4.2,local_lock=none
    mockctl login >"$BATS_TEST_TMPDIR/peer.json"
    set_expiry_in -10
    fm_cr -v --settle 3 -- mockctl check-env CLAUDE_CODE_OAUTH_TOKEN >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" 3>&- &
    pid=$!
    wait_file "$BATS_TEST_TMPDIR/err" "to settle" partial
    mv "$BATS_TEST_TMPDIR/peer.json" "$CREDS"
    wait "$pid"
    run cat "$BATS_TEST_TMPDIR/out"
    assert_output live
    run cat "$BATS_TEST_TMPDIR/err"
    assert_output --partial "changed while settling"
    [ "$(requests)" = 0 ]
}

@test "a filesystem whose flock is local to one client is refused with 78 before anything is sent" {
    fake_mount fuse.sshfs rw,user_id=0,group_id=0
    set_expiry_in -10
    run fm_cr --refresh
    assert_failure 78
    assert_output --partial "$CREDS is on fuse.sshfs"
    assert_output --partial "keep the credentials on a local disk or on a network filesystem with shared locks"
    [ "$(requests)" = 0 ]
    # the fresh path reads no mount table and needs no refusal
    new_login --expires-in 3600
    run fm_cr mockctl check-env CLAUDE_CODE_OAUTH_TOKEN
    assert_success
    assert_output live
}

@test "on a network filesystem a file that vanishes for an instant is looked for again before 66" {
    fake_mount fuse.glusterfs rw
    run cr --refresh # the lock file exists
    mv "$CREDS" "$BATS_TEST_TMPDIR/away.json"
    fm_cr -v --settle 0 -- mockctl check-env CLAUDE_CODE_OAUTH_TOKEN >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" 3>&- &
    pid=$!
    wait_file "$BATS_TEST_TMPDIR/err" "looking again" partial
    mv "$BATS_TEST_TMPDIR/away.json" "$CREDS"
    wait "$pid"
    run cat "$BATS_TEST_TMPDIR/out"
    assert_output live
    # gone for good: 66 after the retries
    mv "$CREDS" "$BATS_TEST_TMPDIR/away.json"
    run fm_cr --refresh
    assert_failure 66
    assert_output --partial "waiting for $CREDS to reappear"
}

@test "on a local filesystem a missing file is 66 at once, never looked for again" {
    run cr --refresh
    rm "$CREDS"
    run cr -v --refresh
    assert_failure 66
    refute_output --partial "looking again"
}

# With $CREDS's lock held (flock(1)), run credrun under strace -e flock, with
# NAME=VALUE... in its environment, until it says it waits; then release the
# lock and expect it to succeed. The trace is left in $BATS_TEST_TMPDIR/trace,
# its stderr in $BATS_TEST_TMPDIR/err. traced_wait_for_lock [NAME=VALUE...]
traced_wait_for_lock() {
    flock "$CREDS.credrun.lock" -c "$(hold_cmd "$BATS_TEST_TMPDIR/in")" 3>&- &
    wait_file "$BATS_TEST_TMPDIR/in" in
    strace -f -e trace=flock -o "$BATS_TEST_TMPDIR/trace" env "$@" \
        "$CREDRUN" --credentials "$CREDS" --token-url "$TOKEN_URL" -v -w 60 -- true 2>"$BATS_TEST_TMPDIR/err" 3>&- &
    local pid=$!
    wait_file "$BATS_TEST_TMPDIR/err" "waiting for lock $CREDS.credrun.lock" partial
    open_gate
    wait "$pid" || fail "credrun failed: $(cat "$BATS_TEST_TMPDIR/err")"
}

@test "on a network filesystem a busy lock is polled: no blocking flock that a signal would interrupt" {
    fake_mount fuse.glusterfs
    traced_wait_for_lock FI_MOUNTINFO="$MOUNTINFO" LD_PRELOAD="$FAULTINJECT" \
        ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
    run cat "$BATS_TEST_TMPDIR/err"
    assert_output --partial "is on fuse.glusterfs ($(realpath "$CREDS_DIR")): polling it, never blocking in it"
    run flock_calls "$BATS_TEST_TMPDIR/trace"
    (("${#lines[@]}" >= 2)) || fail "credrun tried the lock ${#lines[@]} times: $output"
    refute_output --regexp 'flock\([0-9]+, LOCK_EX\)'
    refute_output --partial ERESTART
    refute_output --partial EINTR
}

@test "on a local filesystem a busy lock is waited for in a blocking flock" {
    traced_wait_for_lock
    run cat "$BATS_TEST_TMPDIR/err"
    refute_output --partial "polling it"
    run flock_calls "$BATS_TEST_TMPDIR/trace"
    assert_output --regexp 'flock\([0-9]+, LOCK_EX( <unfinished \.\.\.>|\))'
}
