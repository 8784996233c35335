#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# Profiles: each tool's own file, refreshed against the mock answering like
# that tool's provider, with every value credrun does not own unchanged; the
# Transit cache of ECA written and read back with the real transit-js; and
# profiles.conf.

load test_helper

CODEX_CLIENT=app_EMoamEEZ73f0CkXaXp7hrann

setup_file() { mock_start; }
teardown_file() { mock_stop; }
setup() {
    mockctl reset
    export HOME="$BATS_TEST_TMPDIR/home" XDG_CONFIG_HOME="$BATS_TEST_TMPDIR/config"
    export XDG_CACHE_HOME="$BATS_TEST_TMPDIR/cache" CODEX_HOME="$BATS_TEST_TMPDIR/codex"
    mkdir -p "$HOME" "$XDG_CONFIG_HOME" "$XDG_CACHE_HOME/eca" "$CODEX_HOME"
}

# same_except BEFORE AFTER POINTER...: both files parse as JSON, have the
# same keys in the same order and the same values, except at the pointers,
# whose values all differ. Prints what is wrong.
same_except() {
    python3 - "$@" <<'PY'
import json, sys
before, after = (json.load(open(p)) for p in sys.argv[1:3])
def walk(d, ptr):
    for part in ptr[1:].split("/"):
        d = d[part]
    return d
def pop(d, ptr):
    parts = ptr[1:].split("/")
    for part in parts[:-1]:
        d = d[part]
    return d.pop(parts[-1])
def order(d):
    return [(k, order(v)) for k, v in d.items()] if isinstance(d, dict) else None
assert order(before) == order(after), "key order changed"
for ptr in sys.argv[3:]:
    b, a = pop(before, ptr), pop(after, ptr)
    assert a != b, "%s did not change" % ptr
assert before == after, "other values changed:\n%s\n%s" % (before, after)
PY
}

# The access token at a pointer of a JSON file.
token_at() {
    python3 -c 'import json,sys
d=json.load(open(sys.argv[1]))
for p in sys.argv[2][1:].split("/"): d=d[p]
print(d)' "$1" "$2"
}

# Skip unless node and transit-js (npm install in tests/real) are there.
need_transit() {
    skip_unless_enabled REAL "the real transit-js is not run"
    command -v node >/dev/null || skip "node is not installed: the Transit round trip needs transit-js"
    TRANSIT_TOOL="$TESTS_DIR/real/transit-tool.js"
    local rc=0
    node "$TRANSIT_TOOL" 2>/dev/null || rc=$?
    [ "$rc" -ne 3 ] || skip "transit-js is not installed: run npm install in tests/real"
}

# An ECA cache for a fresh mock login of the given provider, expiring in $2 s.
eca_login() {
    local provider=$1 expires=$2
    shift 2
    mockctl login --format raw --expires-in "$expires" > "$BATS_TEST_TMPDIR/login.json"
    ECA_DB="$XDG_CACHE_HOME/eca/db.transit.json"
    node "$TRANSIT_TOOL" eca "$ECA_DB" --provider "$provider" \
        --access "$(token_at "$BATS_TEST_TMPDIR/login.json" /access_token)" \
        --refresh "$(token_at "$BATS_TEST_TMPDIR/login.json" /refresh_token)" \
        --expires-at "$(( $(token_at "$BATS_TEST_TMPDIR/login.json" /expires_at_ms) / 1000 ))" "$@"
    cp "$ECA_DB" "$BATS_TEST_TMPDIR/before.transit.json"
}

@test "codex: auth.json gets new tokens, id_token and last_refresh; every other value stays" {
    mockctl config client_id=$CODEX_CLIENT access_format=jwt
    mockctl login --format codex --expires-in 300 | python3 -c '
import json, sys
d = json.load(sys.stdin)
d["auth_mode"] = "chatgpt"            # keys Codex may add later, and ours
d["tokens"]["zz_unknown"] = [1, {"k": None}]
print(json.dumps(d, indent=2))' > "$CODEX_HOME/auth.json"
    cp "$CODEX_HOME/auth.json" "$BATS_TEST_TMPDIR/before.json"
    run "$CREDRUN" -p codex --token-url "$MOCK_URL/oauth/token" --env OPENAI_TOKEN mockctl check-env OPENAI_TOKEN
    assert_success
    assert_output "live"
    [ "$(mockctl stats grants)" = 1 ]
    [ "$(mockctl stats last_body_keys)" = '["client_id","grant_type","refresh_token"]' ]
    run mockctl check-file "$CODEX_HOME/auth.json" /tokens/access_token
    assert_output "live"
    same_except "$BATS_TEST_TMPDIR/before.json" "$CODEX_HOME/auth.json" \
        /tokens/access_token /tokens/refresh_token /tokens/id_token /last_refresh
    python3 - "$CODEX_HOME/auth.json" <<'PY'
import base64, datetime, json, sys
text = open(sys.argv[1]).read()
assert text.startswith('{\n  "OPENAI_API_KEY": null,'), "pretty printing lost"
d = json.loads(text)
claims = lambda jwt: json.loads(base64.urlsafe_b64decode(jwt.split(".")[1] + "=="))
assert claims(d["tokens"]["id_token"]).get("refreshed") is True, "id_token is not the answer's"
when = datetime.datetime.fromisoformat(d["last_refresh"].replace("Z", "+00:00"))
age = (datetime.datetime.now(datetime.timezone.utc) - when).total_seconds()
assert -5 < age < 60, "last_refresh is not now: %s" % d["last_refresh"]
PY
}

@test "codex: the access token's JWT exp decides; a fresh one causes no request" {
    mockctl config client_id=$CODEX_CLIENT
    mockctl login --format codex --expires-in 3600 > "$CODEX_HOME/auth.json"
    run "$CREDRUN" -p codex --token-url "$MOCK_URL/oauth/token" -v true
    assert_success
    assert_output --partial "valid for"
    [ "$(mockctl stats token_requests)" = 0 ]
}

@test "codex and eca export no token unless --env names a variable" {
    mockctl config client_id=$CODEX_CLIENT
    mockctl login --format codex --expires-in 3600 > "$CODEX_HOME/auth.json"
    at=$(token_at "$CODEX_HOME/auth.json" /tokens/access_token)
    run "$CREDRUN" -p codex --token-url "$MOCK_URL/oauth/token" env
    assert_success
    refute_output --partial "$at"
    echo '["^ ","~:auth",["^ ","anthropic",["^ ","~:api-key","at-x","~:refresh-token","rt-x","~:expires-at",4102444800]]]' \
        > "$XDG_CACHE_HOME/eca/db.transit.json"
    run "$CREDRUN" -p eca env
    assert_success
    refute_output --partial "at-x"
    run "$CREDRUN" -p eca --env ECA_TOKEN sh -c 'echo "$ECA_TOKEN"'
    assert_output "at-x"
}

@test "relay: refreshes at the file's apiUrl with {refreshToken}, answered in camelCase; other values stay" {
    mkdir -p "$HOME/.agentworkforce/relay"
    file="$HOME/.agentworkforce/relay/cloud-auth.json"
    mockctl login --format relay --expires-in 60 | python3 -c '
import json, sys
d = json.load(sys.stdin)
d["refreshTokenExpiresAt"] = "2026-01-01T00:00:00.000Z"
d["workspace"] = {"id": "ws-1", "name": "kept"}
sys.stdout.write(json.dumps(d, indent=2) + "\n")' > "$file"
    cp "$file" "$BATS_TEST_TMPDIR/before.json"
    run "$CREDRUN" -p relay --env RELAY_TOKEN mockctl check-env RELAY_TOKEN
    assert_success
    assert_output "live"
    [ "$(mockctl stats grants)" = 1 ]
    [ "$(mockctl stats last_body_keys)" = '["refreshToken"]' ]
    run mockctl check-file "$file" /accessToken
    assert_output "live"
    same_except "$BATS_TEST_TMPDIR/before.json" "$file" \
        /accessToken /refreshToken /accessTokenExpiresAt /refreshTokenExpiresAt
    [ "$(tail -c 1 "$file" | od -An -c | tr -d ' ')" = '\n' ]
    python3 - "$file" <<'PY'
import datetime, json, sys
d = json.load(open(sys.argv[1]))
exp = datetime.datetime.fromisoformat(d["accessTokenExpiresAt"].replace("Z", "+00:00"))
left = (exp - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
assert 3500 < left < 3700, left
PY
}

@test "json: a relayfile file described by options alone refreshes the same way" {
    mkdir -p "$HOME/.relayfile"
    file="$HOME/.relayfile/cloud-credentials.json"
    mockctl login --format relay --expires-in 60 > "$file"
    cp "$file" "$BATS_TEST_TMPDIR/before.json"
    run "$CREDRUN" -p json --credentials "$file" --access-field /accessToken --refresh-field /refreshToken \
        --expiry-field /accessTokenExpiresAt --expiry-unit iso8601 --request json:refreshToken \
        --token-url "$MOCK_URL/api/v1/auth/token/refresh" --refresh
    assert_success
    [ "$(mockctl stats grants)" = 1 ]
    run mockctl check-file "$file" /accessToken
    assert_output "live"
    same_except "$BATS_TEST_TMPDIR/before.json" "$file" /accessToken /refreshToken /accessTokenExpiresAt
}

@test "json: an OAuth form request with expiry in ms, for a file like Gemini CLI's" {
    mockctl login --format raw --expires-in 60 | python3 -c '
import json, sys
r = json.load(sys.stdin)
print(json.dumps({"access_token": r["access_token"], "scope": "openid", "token_type": "Bearer",
                  "id_token": "kept", "expiry_date": r["expires_at_ms"], "refresh_token": r["refresh_token"]}))' \
        > "$HOME/oauth_creds.json"
    cp "$HOME/oauth_creds.json" "$BATS_TEST_TMPDIR/before.json"
    run "$CREDRUN" -p json --credentials "$HOME/oauth_creds.json" --access-field /access_token \
        --refresh-field /refresh_token --expiry-field /expiry_date --expiry-unit ms --request form \
        --client-id 9d1c250a-e61b-44d9-88ed-5944d1962f5e --token-url "$MOCK_URL/oauth/token" \
        --env TOKEN mockctl check-env TOKEN
    assert_success
    assert_output "live"
    [ "$(mockctl stats last_content_type)" = "application/x-www-form-urlencoded" ]
    same_except "$BATS_TEST_TMPDIR/before.json" "$HOME/oauth_creds.json" /access_token /refresh_token /expiry_date
}

@test "eca: a Transit cache written by transit-js is refreshed and reads back with only the three values changed" {
    need_transit
    eca_login anthropic 60
    grep -q '"\^[0-9:;<=>?@A-Z\[]' "$ECA_DB" # transit-js used cache codes
    run "$CREDRUN" -p eca --token-url "$TOKEN_URL" --env ECA_TOKEN mockctl check-env ECA_TOKEN
    assert_success
    assert_output "live"
    [ "$(mockctl stats grants)" = 1 ]
    [ "$(mockctl stats last_body_keys)" = '["client_id","grant_type","refresh_token"]' ]
    run node "$TRANSIT_TOOL" check "$BATS_TEST_TMPDIR/before.transit.json" "$ECA_DB" anthropic
    assert_success
    assert_output "same but the three values"
    ECA_TOKEN=$(node "$TRANSIT_TOOL" get "$ECA_DB" anthropic api-key) run mockctl check-env ECA_TOKEN
    assert_output "live"
    exp=$(node "$TRANSIT_TOOL" get "$ECA_DB" anthropic expires-at)
    (( exp > $(date +%s) + 3500 && exp < $(date +%s) + 3700 ))
    grep -q '"\^[0-9:;<=>?@A-Z\[]' "$ECA_DB" # and credrun wrote them again
}

@test "eca --provider openai: OpenAI's entry in a cache past 44*44 cached strings, the others untouched" {
    need_transit
    mockctl config client_id=$CODEX_CLIENT
    eca_login openai 60 --many 2100
    run "$CREDRUN" -p eca --provider openai --token-url "$MOCK_URL/oauth/token" --refresh
    assert_success
    [ "$(mockctl stats grants)" = 1 ]
    run node "$TRANSIT_TOOL" check "$BATS_TEST_TMPDIR/before.transit.json" "$ECA_DB" openai
    assert_success
    assert_output "same but the three values"
    ECA_TOKEN=$(node "$TRANSIT_TOOL" get "$ECA_DB" openai api-key) run mockctl check-env ECA_TOKEN
    assert_output "live"
}

@test "profiles.conf defines profiles, is read only with -p, and its errors name FILE:LINE (78)" {
    mkdir -p "$XDG_CONFIG_HOME/credrun"
    conf="$XDG_CONFIG_HOME/credrun/profiles.conf"
    cat > "$conf" <<EOF
# a tool credrun does not know
[mytool]
inherit = json
file = ~/.mytool/creds.json
access = /auth/at
refresh = /auth/rt
expiry = /auth/exp
expiry-unit = s
token-url = $MOCK_URL/oauth/token
client-id = 9d1c250a-e61b-44d9-88ed-5944d1962f5e
env = MYTOOL_TOKEN
EOF
    mkdir -p "$HOME/.mytool"
    mockctl login --format raw --expires-in 60 | python3 -c '
import json, sys
r = json.load(sys.stdin)
print(json.dumps({"auth": {"at": r["access_token"], "rt": r["refresh_token"], "exp": r["expires_at_ms"] // 1000}}))' \
        > "$HOME/.mytool/creds.json"
    run "$CREDRUN" -p mytool mockctl check-env MYTOOL_TOKEN
    assert_success
    assert_output "live"
    [ "$(mockctl stats grants)" = 1 ]

    printf '[mytool]\nacess = /typo\n' > "$conf"
    run "$CREDRUN" -p mytool true
    assert_failure 78
    assert_output "credrun: $conf:2: unknown key 'acess'"
    run "$CREDRUN" -p claude --credentials "$HOME/.mytool/creds.json" true
    assert_failure 78
    # without -p the file is never looked at
    new_login --expires-in 3600
    run "$CREDRUN" --credentials "$CREDS" true
    assert_success
    run "$CREDRUN" -p nosuch true
    assert_failure 78
    rm "$conf"
    run "$CREDRUN" -p nosuch true
    assert_failure 64
    assert_output --partial "unknown profile 'nosuch'"
}
