#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# The real Claude Code (npm @anthropic-ai/claude-code, pinned in
# tests/real/package.json) talking to the mock's Messages API on loopback:
# it sends exactly the token credrun obtained, and when it wants to refresh
# while credrun does, it waits on its own lock and adopts credrun's tokens.

load test_helper
load real/interop

setup_file() { mock_start; }
teardown_file() { mock_stop; }
setup() {
    skip_unless_enabled REAL "the real Claude Code is not run"
    CLAUDE=$(real_client claude)
    [ -x "$CLAUDE" ] || skip "Claude Code is not installed: run npm install in tests/real ($CLAUDE)"
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
    interop_note claude kept "yes: with --no-env it sent the token credrun had just refreshed into the file, and refreshed nothing itself"
}

# The lock timeline of claude's own refreshes, from strace: its token URL is
# allow-listed, so its refresh request shows as a connection to the proxy (a
# closed loopback port), and cannot reach the mock.
claude_own_refresh_setup() {
    command -v strace >/dev/null 2>&1 || skip "strace is not installed"
    export HTTPS_PROXY=http://127.0.0.1:1 https_proxy=http://127.0.0.1:1 NO_PROXY=127.0.0.1 no_proxy=127.0.0.1
    TRACE="$BATS_TEST_TMPDIR/strace"
}
LOCK_TIMELINE='
import re, sys
lines = open(sys.argv[1]).read().splitlines()
def t(l):
    h, m, s = l.split()[1].split(":")
    return (int(h) * 60 + int(m)) * 60 + float(s)
# strace -f splits a call another thread interrupts into "<unfinished ...>"
# and "<... NAME resumed>" lines: join them, timed at completion.
pending, joined = {}, []
for l in lines:
    f = l.split(None, 2)
    if len(f) < 3:
        continue
    pid, ts, rest = f
    if rest.endswith("<unfinished ...>"):
        pending[pid] = rest[: -len("<unfinished ...>")].rstrip()
        continue
    m = re.match(r"<\.\.\. \w+ resumed>(.*)", rest)
    if m and pid in pending:
        rest = pending.pop(pid) + m.group(1)
    joined.append("%s %s %s" % (pid, ts, rest))
held, takes, waits, bad, out = None, 0, 0, [], []
for l in joined:
    if re.search(r"mkdir\w*\(.*\.oauth_refresh\.lock\"", l):
        if re.search(r"= 0$", l):
            if held is not None:
                bad.append(l)
            held, takes = t(l), takes + 1
        elif "EEXIST" in l:
            waits += 1
    elif re.search(r"(rmdir|unlinkat)\(.*\.oauth_refresh\.lock\"", l) and l.endswith("= 0"):
        out.append((held, t(l)))
        held = None
    elif "connect(" in l and "htons(1)" in l and held is not None and len(out) == 0 and "req" not in globals():
        req = t(l)
assert takes > 0, "claude never took .oauth_refresh.lock"
# Two takes with no release seen between them are a race only among several
# processes; one process that re-takes it released it in a way not traced.
assert not bad or sys.argv[2] == "one", "a .oauth_refresh.lock was taken while held: %s\n%s" % (
    bad[0], "\n".join(l for l in joined if "oauth_refresh" in l))
if sys.argv[2] == "one":
    assert "req" in globals(), "no refresh request while the lock was held"
    print("mkdir .oauth_refresh.lock %.0f ms before its refresh request, rmdir %.0f ms after"
          % ((req - out[0][0]) * 1000, (out[0][1] - req) * 1000))
else:
    print("%d takes of .oauth_refresh.lock, one at a time, %d waits on it" % (takes, waits))
'

@test "the real claude refreshes by itself inside its 5-minute window only under .oauth_refresh.lock: mkdir before its request, rmdir after" {
    claude_own_refresh_setup
    # 200 s left and no token in the environment: claude refreshes by itself
    strace -f -tt -e trace=mkdir,mkdirat,rmdir,unlinkat,connect -o "$TRACE" "$CLAUDE" -p "say hi" > /dev/null 2>&1 || true
    run python3 -c "$LOCK_TIMELINE" "$TRACE" one
    echo "$output"
    assert_success
    interop_note claude locks "$output"
}

@test "three real claudes inside their window take .oauth_refresh.lock one at a time, never two at once" {
    claude_own_refresh_setup
    local -a pids=()
    for i in 1 2 3; do
        (
            while [ ! -e "$BATS_TEST_TMPDIR/go" ]; do sleep 0.01; done
            exec strace -f -tt -e trace=mkdir,mkdirat,rmdir,unlinkat,connect -o "$TRACE.$i" "$CLAUDE" -p "say hi"
        ) > /dev/null 2>&1 3>&- &
        pids+=($!)
    done
    touch "$BATS_TEST_TMPDIR/go"
    for p in "${pids[@]}"; do wait "$p" || true; done
    sort -k2 "$TRACE".[123] > "$TRACE"
    run python3 -c "$LOCK_TIMELINE" "$TRACE" three
    echo "$output"
    assert_success
    interop_note claude races "no (serialized under its lock: $output); reuse itself cannot be seen offline: its token URL is allow-listed"
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
