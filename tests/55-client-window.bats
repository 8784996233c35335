#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# The applications' own refresh windows (a profile's client-window): Claude
# Code and Codex refresh by themselves when less than 300 s remain. Supervise
# mode never lets the file's remaining life fall below -m, and a -m that lets
# it reach the application's window is said once.

load test_helper

setup_file() { mock_start; }
teardown_file() { mock_stop; }
setup() {
    mockctl reset
    new_login --expires-in 3600
}
teardown() { kill_background; }

@test "supervise with 322 s tokens at -m 320 rotates every ~2 s: the file never falls below -m (not after half a life, 161 s)" {
    mockctl config expires_in=322
    new_login --expires-in 322
    # 3 grants: the first at 2 s; a half-life schedule would wait 161 s.
    run --separate-stderr cr --supervise -m 320 -- "$MOCKCTL" wait grants 3 20
    assert_success
    [ -z "$stderr" ] || fail "-m 320 warned: $stderr"
    run mockctl check-file "$CREDS"
    assert_output live
}

@test "supervise with the claude profile and -m below claude's 300 s window says so once, however many refreshes follow" {
    mockctl config expires_in=3
    new_login --expires-in 3
    run --separate-stderr cr --supervise -m 2 -- "$MOCKCTL" wait grants 3
    assert_success
    echo "$stderr"
    [ "$(grep -c 'credrun: ' <<<"$stderr")" = 1 ] || fail "expected exactly one line"
    [[ "$stderr" == *"claude's own refresh window"*"300 s"*"-m above 300"* ]]
    run --separate-stderr cr -q --supervise -m 2 -- true
    [ -z "$stderr" ] || fail "-q still warned: $stderr"
}

@test "claude given its token in CLAUDE_CODE_OAUTH_TOKEN never refreshes by itself: -m 200 without --supervise says nothing" {
    run --separate-stderr cr -m 200 -- true
    assert_success
    [ -z "$stderr" ] || fail "warned: $stderr"
    run --separate-stderr cr --supervise -m 301 -- true
    assert_success
    [ -z "$stderr" ] || fail "--supervise -m 301 warned: $stderr"
    # without the variable, claude reads the file and refreshes inside its window
    run --separate-stderr cr --no-env -m 200 -- true
    [[ "$stderr" == *"claude's own refresh window"* ]]
}

@test "a profiles.conf client-window drives the warning, and none turns it off" {
    mkdir -p "$BATS_TEST_TMPDIR/xdg/credrun"
    cat > "$BATS_TEST_TMPDIR/xdg/credrun/profiles.conf" <<'INI'
[mine]
inherit = claude
client-window = 900
client-unlocked = yes
[quiet]
inherit = claude
client-window = none
INI
    export XDG_CONFIG_HOME="$BATS_TEST_TMPDIR/xdg"
    run --separate-stderr cr -p mine --no-env -- true
    assert_success
    [[ "$stderr" == *"mine's own refresh window"*"less than 900 s"*"race each other"* ]]
    run --separate-stderr cr -p quiet --supervise -m 1 -- true
    assert_success
    [ -z "$stderr" ] || fail "client-window = none warned: $stderr"
}
