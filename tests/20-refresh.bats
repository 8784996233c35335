#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# Refreshing against the strict mock endpoint: when it happens, what is
# written, what the command gets, and what each failure does.

load test_helper

setup_file() { mock_start; }
teardown_file() { mock_stop; }
setup() { mockctl reset; new_login --expires-in 3600; }

@test "a token that is still fresh causes no request and reaches the command" {
    before=$(cat "$CREDS")
    run cr mockctl check-env CLAUDE_CODE_OAUTH_TOKEN
    assert_success
    assert_output "live"
    [ "$(mockctl stats token_requests)" = 0 ]
    [ "$(cat "$CREDS")" = "$before" ]
}

@test "a token expiring within --min-validity is refreshed, stored and exported" {
    set_expiry_in 300
    old_rt=$(json_get "$CREDS" "['claudeAiOauth']['refreshToken']")
    run cr -m 600 mockctl check-env CLAUDE_CODE_OAUTH_TOKEN
    assert_success
    assert_output "live"
    [ "$(mockctl stats grants)" = 1 ]
    new_rt=$(json_get "$CREDS" "['claudeAiOauth']['refreshToken']")
    [ "$new_rt" != "$old_rt" ]
    run mockctl check-file "$CREDS"
    assert_output "live"
    exp=$(json_get "$CREDS" "['claudeAiOauth']['expiresAt']")
    now_ms=$(( $(date +%s) * 1000 ))
    (( exp > now_ms + 3500000 && exp < now_ms + 3700000 ))
}

@test "-m 0 leaves a token that expires in 300 s alone" {
    set_expiry_in 300
    run cr -m 0 true
    assert_success
    [ "$(mockctl stats token_requests)" = 0 ]
}

@test "the request is a JSON refresh grant with the file's own scopes" {
    new_login --scopes "user:inference user:profile user:sessions:claude_code"
    run cr --force --refresh
    assert_success
    [ "$(mockctl stats last_content_type)" = "application/json" ]
    [ "$(mockctl stats last_scope)" = "user:inference user:profile user:sessions:claude_code" ]
    run mockctl stats last_body_keys
    assert_output --partial "client_id"
    assert_output --partial "grant_type"
}

@test "unknown keys, their values and the key order survive a refresh" {
    python3 - "$CREDS" <<'PY'
import json, sys
p = sys.argv[1]
d = json.load(open(p))
o = d["claudeAiOauth"]
out = {"zz_first": {"deep": [1, 2.5, "x", None, True, {"k": "v"}]},
       "claudeAiOauth": {"accessToken": o["accessToken"], "zeta": "keep me",
                         "refreshToken": o["refreshToken"], "expiresAt": 0,
                         "scopes": o["scopes"], "subscriptionType": "max",
                         "rateLimitTier": "default_claude_max_20x"},
       "mcpOAuth": {"srv|abc": {"accessToken": "mcp-secret", "expiresAt": 5}},
       "unicode": "h\u00e9llo \u2603"}
open(p, "w").write(json.dumps(out, separators=(",", ":"), ensure_ascii=False))
PY
    cp "$CREDS" "$BATS_TEST_TMPDIR/before.json"
    run cr true
    assert_success
    [ "$(mockctl stats grants)" = 1 ]
    python3 - "$BATS_TEST_TMPDIR/before.json" "$CREDS" <<'PY'
import json, sys
a = json.load(open(sys.argv[1])); b = json.load(open(sys.argv[2]))
assert list(a) == list(b), (list(a), list(b))
assert list(a["claudeAiOauth"]) == list(b["claudeAiOauth"])
for k in ("accessToken", "refreshToken", "expiresAt"):
    assert a["claudeAiOauth"][k] != b["claudeAiOauth"][k], k
    a["claudeAiOauth"].pop(k); b["claudeAiOauth"].pop(k)
assert a == b, (a, b)
PY
}

@test "--force refreshes a token that is still valid" {
    run cr --force true
    assert_success
    [ "$(mockctl stats grants)" = 1 ]
}

@test "--refresh refreshes, runs nothing and exits 0" {
    set_expiry_in 10
    run cr --refresh
    assert_success
    assert_output ""
    [ "$(mockctl stats grants)" = 1 ]
}

@test "--env names the variable and --no-env exports nothing" {
    run cr --env MY_TOKEN mockctl check-env MY_TOKEN
    assert_success
    run cr --env MY_TOKEN sh -c 'echo "${CLAUDE_CODE_OAUTH_TOKEN:-unset}"'
    assert_output "unset"
    run cr --no-env sh -c 'echo "${CLAUDE_CODE_OAUTH_TOKEN:-unset}"'
    assert_output "unset"
}

@test "an answer without refresh_token keeps the old one" {
    old_rt=$(json_get "$CREDS" "['claudeAiOauth']['refreshToken']")
    mockctl config omit_refresh_token=true
    run cr --force --refresh
    assert_success
    [ "$(json_get "$CREDS" "['claudeAiOauth']['refreshToken']")" = "$old_rt" ]
    run mockctl check-file "$CREDS"
    assert_output "live"
}

@test "a spent refresh token (invalid_grant) exits 77 and says to log in again" {
    set_expiry_in -10
    mockctl config mode=invalid_grant
    run cr true
    assert_failure 77
    assert_output --partial "rejected the refresh token (invalid_grant): log in again"
}

@test "invalid_grant with a still-valid access token runs the command with a warning" {
    set_expiry_in 120
    mockctl config mode=invalid_grant
    run cr -m 600 sh -c 'echo ran'
    assert_success
    assert_line "ran"
    assert_line --partial "running sh with the current access token"
}

@test "--refresh reports the failure even when the access token is still valid" {
    set_expiry_in 120
    mockctl config mode=invalid_grant
    run cr -m 600 --refresh
    assert_failure 77
}

@test "invalid_client exits 78 and keeps the refresh token" {
    set_expiry_in -10
    before=$(cat "$CREDS")
    run cr --client-id wrong-client true
    assert_failure 78
    assert_output --partial "invalid_client"
    [ "$(cat "$CREDS")" = "$before" ]
}

@test "an unreachable endpoint exits 69 when the token has expired" {
    set_expiry_in -10
    run "$CREDRUN" --credentials "$CREDS" --token-url http://127.0.0.1:9/t true
    assert_failure 69
    assert_output --partial "cannot reach the token endpoint"
}

@test "5xx exits 69, a redirect 69, 429 75, and the file is untouched" {
    set_expiry_in -10
    before=$(cat "$CREDS")
    mockctl config mode=500
    run cr true
    assert_failure 69
    rm "$CREDS.credrun.state" # the shared cooldown a 5xx starts (60-failures.bats)
    mockctl config mode=redirect
    run cr true
    assert_failure 69
    assert_output --partial "redirect"
    mockctl config mode=429
    run cr true
    assert_failure 75
    [ "$(cat "$CREDS")" = "$before" ]
}

@test "a garbage or oversized answer exits 76 and leaves the file byte for byte" {
    set_expiry_in -10
    before=$(cat "$CREDS")
    mockctl config mode=garbage
    run cr true
    assert_failure 76
    mockctl config mode=oversized
    run cr true
    assert_failure 76
    mockctl config mode=no_access_token
    run cr true
    assert_failure 76
    [ "$(cat "$CREDS")" = "$before" ]
}

@test "an answer that never ends is cut off by --http-timeout" {
    set_expiry_in -10
    mockctl config mode=hang
    run cr --http-timeout 1 true
    assert_failure 76
    assert_output --partial "did not finish answering within 1 s"
}

@test "a symlinked credentials file stays a link and its target is updated" {
    mkdir -p "$BATS_TEST_TMPDIR/dotfiles"
    mv "$CREDS" "$BATS_TEST_TMPDIR/dotfiles/claude.json"
    ln -s ../dotfiles/claude.json "$CREDS"
    run cr --force true
    assert_success
    [ -L "$CREDS" ]
    run mockctl check-file "$BATS_TEST_TMPDIR/dotfiles/claude.json"
    assert_output "live"
    [ -f "$BATS_TEST_TMPDIR/dotfiles/claude.json.credrun.lock" ]
}

@test "the rewritten file keeps its mode and leaves no temp file" {
    chmod 640 "$CREDS"
    run cr --force true
    assert_success
    [ "$(stat -c %a "$CREDS")" = 640 ]
    run ls -A "$CREDS_DIR"
    assert_output "$(printf '.credentials.json\n.credentials.json.credrun.lock\n.credentials.json.credrun.spent')"
}

@test "a single-file bind mount is refused before the token is spent" {
    command -v unshare >/dev/null && unshare --mount true 2>/dev/null || skip "no mount namespaces here"
    set_expiry_in -10
    mkdir -p "$BATS_TEST_TMPDIR/ctr"
    touch "$BATS_TEST_TMPDIR/ctr/.credentials.json"
    run unshare --mount sh -c 'mount --bind "$1" "$2/ctr/.credentials.json" && "$3" --credentials "$2/ctr/.credentials.json" --token-url "$4" true' \
        sh "$CREDS" "$BATS_TEST_TMPDIR" "$CREDRUN" "$TOKEN_URL"
    assert_failure 73
    assert_output --partial "mount the directory that holds it instead"
    [ "$(mockctl stats token_requests)" = 0 ]
}

@test "a read-only credentials directory is refused before the token is spent" {
    command -v unshare >/dev/null && unshare --mount true 2>/dev/null || skip "no mount namespaces here"
    set_expiry_in -10
    touch "$CREDS.credrun.lock"
    run unshare --mount sh -c 'mount --bind -o ro "$1" "$1" && "$2" --credentials "$3" --token-url "$4" true' \
        sh "$CREDS_DIR" "$CREDRUN" "$CREDS" "$TOKEN_URL"
    assert_failure 73
    assert_output --partial "the refresh token was not spent"
    [ "$(mockctl stats token_requests)" = 0 ]
}
