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
teardown() { [ -z "${feed:-}" ] || exec {feed}>&-; kill_background; }

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

# --- long supervised sessions: one claude process, many requests ----------
# `claude -p --input-format stream-json` stays up and answers each user message
# it reads from a fifo: a long session driven by barriers (the mock's counters,
# the file's token, claude's result lines), never by sleeps.

# Start the long claude ($@: credrun's options before --supervise) under
# strace when $TRACE is set; its output goes to $BATS_TEST_TMPDIR/claude.out.
start_long_claude() {
    IN="$BATS_TEST_TMPDIR/in.fifo" OUT="$BATS_TEST_TMPDIR/claude.out"
    mkfifo "$IN"
    local -a tr=()
    [ -n "${TRACE:-}" ] && tr=(strace -f -o "$TRACE" -e trace=mkdir,mkdirat,open,openat,rename,renameat,renameat2)
    cr "$@" --supervise -- "${tr[@]}" "$CLAUDE" -p --input-format stream-json --output-format stream-json \
        --verbose < "$IN" > "$OUT" 2> "$BATS_TEST_TMPDIR/claude.err" 3>&- &
    LONG=$!
    exec {feed}> "$IN"
    ANSWERS=0
}

# Send one user message and wait (at most 60 s) for claude's result line.
ask() {
    printf '{"type":"user","message":{"role":"user","content":"say hi %s"}}\n' "$ANSWERS" >&"$feed"
    ANSWERS=$((ANSWERS + 1))
    local i
    for ((i = 0; i < 6000; i++)); do
        [ "$(grep -c '"type":"result"' "$OUT" 2>/dev/null)" -ge "$ANSWERS" ] && return 0
        kill -0 "$LONG" 2>/dev/null || break
        sleep 0.01
    done
    cat "$OUT" "$BATS_TEST_TMPDIR/claude.err" >&2
    fail "claude gave no answer $ANSWERS"
}

# Wait until credrun's supervisor has made rotation $1 and written it.
await_rotation() {
    local before=$(file_access_token) i
    mockctl wait grants "$1" 60 || fail "credrun --supervise made no rotation $1 within 60 s"
    for ((i = 0; i < 3000; i++)); do
        [ "$(file_access_token)" != "$before" ] && return 0
        sleep 0.01
    done
    fail "rotation $1 never reached the file"
}

stop_long_claude() {
    exec {feed}>&-
    unset feed
    wait "$LONG"
}

long_session_setup() {
    command -v strace >/dev/null 2>&1 || skip "strace is not installed"
    # Nothing but loopback: claude's own (allow-listed) token URL would go out.
    export HTTPS_PROXY=http://127.0.0.1:1 https_proxy=http://127.0.0.1:1 NO_PROXY=127.0.0.1 no_proxy=127.0.0.1
    # 325 s tokens and -m 320: a rotation every ~5 s, each one before claude's
    # own 5-minute window.
    mockctl config expires_in=325
    mockctl login --expires-in 325 > "$CREDS"
}

@test "supervise --no-env: over 3 rotations every request of one long claude carries the file's current token; claude never locks or writes the file" {
    long_session_setup
    mockctl config revoke_previous_access=true
    TRACE="$BATS_TEST_TMPDIR/strace"
    start_long_claude --no-env -m 320
    ask
    [ "$(mockctl stats last_api_token)" = "$(file_access_token)" ]
    for r in 1 2 3; do
        await_rotation "$r"
        ask
        [ "$(mockctl stats last_api_token)" = "$(file_access_token)" ] || fail "request after rotation $r sent an old token"
    done
    stop_long_claude
    [ "$(grep -c '"is_error":false' "$OUT")" = 4 ]
    [ "$(mockctl stats api_superseded)" = 0 ]
    [ "$(mockctl stats api_dead)" = 0 ]
    [ "$(mockctl stats invalid_grant)" = 0 ]
    [ "$(mockctl ua-count --other-than credrun/)" = 0 ]
    # credrun's claude profile takes .oauth_refresh.lock itself while it
    # refreshes, and claude looks at it then: it must never make it.
    run grep -E 'mkdir(at)?\(.*oauth_refresh\.lock' "$TRACE"
    assert_failure
    run grep -E '(rename[a-z0-9]*\(.*\.credentials\.json"[,)]|open(at)?\(.*\.credentials\.json".*O_(WRONLY|RDWR|CREAT))' "$TRACE"
    assert_failure
}

@test "supervise --env CLAUDE_CODE_OAUTH_TOKEN: when each rotation revokes the old token, claude gets one 401 per rotation and adopts the file's token" {
    long_session_setup
    mockctl config revoke_previous_access=true
    start_long_claude --env CLAUDE_CODE_OAUTH_TOKEN -m 320
    ask
    [ "$(mockctl stats api_superseded)" = 0 ]
    for r in 1 2 3; do
        await_rotation "$r"
        ask
        [ "$(mockctl stats api_superseded)" = "$r" ] || fail "rotation $r: $(mockctl stats api_superseded) 401s for revoked tokens, expected $r"
        [ "$(mockctl stats last_api_token)" = "$(file_access_token)" ] || fail "claude did not adopt the file's token after rotation $r"
    done
    stop_long_claude
    [ "$(grep -c '"is_error":false' "$OUT")" = 4 ]
    # each revoked token refused exactly once: claude never sends it again
    [ "$(mockctl stats api_superseded_tokens)" = 3 ]
    [ "$(mockctl stats api_superseded_max)" = 1 ]
    [ "$(mockctl stats invalid_grant)" = 0 ]
}
