#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# The real Claude Code (npm @anthropic-ai/claude-code, pinned in
# tests/real/package.json) talking to the mock's Messages API on loopback:
# it sends exactly the token credrun obtained, and when it wants to refresh
# while credrun does, it waits on its own lock and adopts credrun's tokens.

load test_helper

setup_file() { mock_start; }
teardown_file() { mock_stop; }
setup() {
    skip_unless_enabled REAL "the real Claude Code is not run"
    CLAUDE="$TESTS_DIR/real/node_modules/.bin/claude"
    [ -x "$CLAUDE" ] || skip "Claude Code is not installed: run npm install in tests/real"
    "$CLAUDE" --version >/dev/null 2>&1 || skip "Claude Code does not run here (Node.js too old?)"
    mockctl reset
    export HOME="$BATS_TEST_TMPDIR/home"
    mkdir -p "$HOME"
    export CLAUDE_CONFIG_DIR="$HOME/.claude"
    export ANTHROPIC_BASE_URL="$MOCK_URL" CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 DISABLE_AUTOUPDATER=1
    unset ANTHROPIC_API_KEY CLAUDE_CODE_OAUTH_TOKEN
    CREDS_DIR="$CLAUDE_CONFIG_DIR"
    CREDS="$CREDS_DIR/.credentials.json"
    mkdir -p "$CREDS_DIR"
    mockctl login --expires-in 200 > "$CREDS"
    chmod 600 "$CREDS"
}
teardown() { kill_background; }

file_access_token() { json_get "$CREDS" "['claudeAiOauth']['accessToken']"; }

@test "the real claude sends the access token credrun just obtained through CLAUDE_CODE_OAUTH_TOKEN" {
    old=$(file_access_token)
    run cr -- "$CLAUDE" -p "say hi"
    assert_success
    assert_output --partial "credrun-mock-reply"
    [ "$(mockctl stats grants)" = 1 ]
    new=$(file_access_token)
    [ "$new" != "$old" ]
    [ "$(mockctl stats last_api_token)" = "$new" ]
    [ "$(mockctl stats api_dead)" = 0 ]
}

@test "with --no-env the real claude reads the file credrun refreshed and sends that token" {
    run cr --no-env -- "$CLAUDE" -p "say hi"
    assert_success
    assert_output --partial "credrun-mock-reply"
    [ "$(mockctl stats grants)" = 1 ]
    [ "$(mockctl stats last_api_token)" = "$(file_access_token)" ]
}

@test "a claude that wants to refresh while credrun refreshes waits on its lock and adopts credrun's tokens" {
    # the token expires in 200 s: inside Claude Code's own 5-minute window
    mockctl config hold=true
    cr --refresh 3>&- &
    refresher=$!
    mockctl wait held 1
    "$CLAUDE" -p "say hi" --debug > "$BATS_TEST_TMPDIR/claude.out" 2>&1 3>&- &
    claude=$!
    log="$CLAUDE_CONFIG_DIR/debug/latest"
    for ((i = 0; i < 3000; i++)); do
        grep -q "OAuth token check starting" "$log" 2>/dev/null && break
        sleep 0.01
    done
    grep -q "OAuth token check starting" "$log" || fail "claude never checked its token"
    mockctl release
    wait "$refresher"
    wait "$claude"
    run cat "$BATS_TEST_TMPDIR/claude.out"
    assert_output --partial "credrun-mock-reply"
    [ "$(mockctl stats token_requests)" = 1 ]
    [ "$(mockctl stats invalid_grant)" = 0 ]
    [ "$(mockctl stats last_api_token)" = "$(file_access_token)" ]
    run grep "OAuth refresh failed" "$log"
    assert_failure
}
