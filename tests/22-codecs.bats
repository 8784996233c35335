#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# The codecs and what creds.c guarantees for every format: nothing is spent
# that cannot be stored, times round-trip, pointers and units that cannot be
# right are refused, and hostile files neither crash nor hang credrun. Where
# a refresh must not happen, the mock's counters prove that no request was
# sent.

load test_helper

setup_file() { mock_start; }
teardown_file() { mock_stop; }
setup() {
    mockctl reset
    export HOME="$BATS_TEST_TMPDIR/home" XDG_CONFIG_HOME="$BATS_TEST_TMPDIR/config"
    export XDG_CACHE_HOME="$BATS_TEST_TMPDIR/cache"
    mkdir -p "$HOME" "$XDG_CONFIG_HOME/credrun" "$XDG_CACHE_HOME/eca"
    F="$BATS_TEST_TMPDIR/creds.json"
}
teardown() { kill_background; }

# credrun -p json on $F against the mock, with the given pointers/options.
pj() {
    "$CREDRUN" -p json --credentials "$F" --token-url "$TOKEN_URL" "$@"
}

no_request() {
    [ "$(mockctl stats token_requests)" = 0 ]
}

# A real login from the mock as a flat file: {"at":...,"rt":...,"exp":MS}.
flat_login() {
    mockctl login --format raw --expires-in "${1:-60}" | python3 -c '
import json, sys
r = json.load(sys.stdin)
print(json.dumps({"at": r["access_token"], "rt": r["refresh_token"], "exp": r["expires_at_ms"]}))' > "$F"
}

# Serve every POST on loopback with the JSON body $1, counting requests in
# $BATS_TEST_TMPDIR/answers; sets ANSWER_URL.
answer_with() {
    local pf="$BATS_TEST_TMPDIR/answer.port" py="$BATS_TEST_TMPDIR/answer.py"
    cat > "$py" <<'PY'
import http.server, sys
pf, body, counter = sys.argv[1], sys.argv[2].encode(), sys.argv[3]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with open(counter, "a") as f:
            f.write("1\n")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
open(pf + ".tmp", "w").write(str(s.server_address[1]))
import os; os.rename(pf + ".tmp", pf)
s.serve_forever()
PY
    python3 "$py" "$pf" "$1" "$BATS_TEST_TMPDIR/answers" </dev/null >/dev/null 2>&1 3>&- &
    local i=0
    while [ ! -s "$pf" ] && [ "$i" -lt 3000 ]; do sleep 0.01; i=$((i + 1)); done
    ANSWER_URL="http://127.0.0.1:$(cat "$pf")/token"
}

# --- issue 11.1: prove the successor can be placed before spending ---

@test "tokens kept in a JSON array are refused before any request (65 naming the pointer)" {
    echo '{"tokens":["at","RT"],"e":0}' > "$F"
    cp "$F" "$BATS_TEST_TMPDIR/before"
    run pj --access-field /tokens/0 --refresh-field /tokens/1 --expiry-field /e true
    assert_failure 65
    assert_output --partial "/tokens/0"
    assert_output --partial "the refresh token was not spent"
    no_request
    cmp "$F" "$BATS_TEST_TMPDIR/before"
}

@test "a pointer through a string is refused before any request (65 naming the pointer)" {
    echo '{"auth":"legacy","rt":"RT","e":0}' > "$F"
    run pj --access-field /auth/access --refresh-field /rt --expiry-field /e true
    assert_failure 65
    assert_output --partial "/auth/access"
    no_request
}

@test "a pointer whose parent is a string but that exists elsewhere cannot place the expiry: refused before any request" {
    echo '{"at":"a","rt":"RT","meta":"x"}' > "$F"
    run pj --access-field /at --refresh-field /rt --expiry-field /meta/exp true
    assert_failure 65
    assert_output --partial "/meta/exp"
    no_request
}

@test "eca: a provider entry written as ~#cmap is refused before any request (65 naming the pointer)" {
    echo '["^ ","~:auth",["^ ","anthropic",["~#cmap",["~:api-key","at","~:refresh-token","rt","~:expires-at",0]]]]' \
        > "$XDG_CACHE_HOME/eca/db.transit.json"
    run "$CREDRUN" -p eca --token-url "$TOKEN_URL" true
    assert_failure 65
    assert_output --partial "/~:auth/anthropic/~:api-key"
    no_request
}

# --- issue 11.2: a Transit map with a dangling key ---

@test "eca: a Transit map with a key and no value is refused on reading (65), with no request" {
    echo '["^ ","~:auth",["^ ","anthropic",["^ ","~:api-key","at","~:refresh-token","rt","~:expires-at",0,"~:note"]]]' \
        > "$XDG_CACHE_HOME/eca/db.transit.json"
    cp "$XDG_CACHE_HOME/eca/db.transit.json" "$BATS_TEST_TMPDIR/before"
    run "$CREDRUN" -p eca --token-url "$TOKEN_URL" true
    assert_failure 65
    assert_output --partial "a key without a value"
    no_request
    cmp "$XDG_CACHE_HOME/eca/db.transit.json" "$BATS_TEST_TMPDIR/before"
}

# --- issue 11.3: times round-trip ---

@test "an absolute expiry of 9999-12-31T23:59:59-01:00 in the answer is clamped to a year, and the file reads back" {
    answer_with '{"accessToken":"at-new","refreshToken":"rt-new","expiresAt":"9999-12-31T23:59:59-01:00"}'
    echo '{"accessToken":"a","refreshToken":"r","expiresAt":"2001-01-01T00:00:00Z"}' > "$F"
    args=(-p json --credentials "$F" --access-field /accessToken --refresh-field /refreshToken
          --expiry-field /expiresAt --expiry-unit iso8601 --request json:refreshToken --token-url "$ANSWER_URL")
    run "$CREDRUN" "${args[@]}" --refresh
    assert_success
    [ "$(wc -l < "$BATS_TEST_TMPDIR/answers")" = 1 ]
    python3 - "$F" <<'PY'
import datetime, json, sys
d = json.load(open(sys.argv[1]))
exp = datetime.datetime.fromisoformat(d["expiresAt"].replace("Z", "+00:00"))
left = (exp - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
assert 365 * 86400 - 120 < left <= 365 * 86400, (d["expiresAt"], left)
PY
    run "$CREDRUN" "${args[@]}" true
    assert_success
    [ "$(wc -l < "$BATS_TEST_TMPDIR/answers")" = 1 ] # fresh now: no second request
}

@test "a state file time past 9999-12-31 UTC is refused as malformed, not obeyed, and replaced by one credrun reads" {
    new_login --expires-in 60
    cat > "$CREDS.credrun.state" <<'EOF'
{"cooldown":{"kind":"failing","reason":"x","until":"9999-12-31T23:59:59-01:00","backoff_step":1}}
EOF
    run cr true
    assert_success
    assert_output --partial "is malformed"
    [ "$(mockctl stats grants)" = 1 ]
}

# --- issue 11.4: -p json and profiles.conf footguns ---

@test "no --expiry-field and an access token that is no JWT: refused with 78 naming --expiry-field, no request" {
    flat_login
    run pj --access-field /at --refresh-field /rt true
    assert_failure 78
    assert_output --partial "--expiry-field"
    no_request
}

@test "a mistyped --access-field is refused with 65 naming it, no request, no key added" {
    flat_login
    cp "$F" "$BATS_TEST_TMPDIR/before"
    run pj --access-field /acess --refresh-field /rt --expiry-field /exp --expiry-unit ms --refresh
    assert_failure 65
    assert_output --partial "/acess names nothing"
    assert_output --partial "--access-field"
    no_request
    cmp "$F" "$BATS_TEST_TMPDIR/before"
}

@test "a mistyped --refresh-field is refused with 65 naming it, not 77 'log in again', and no request" {
    flat_login
    run pj --access-field /at --refresh-field /refresh --expiry-field /exp --expiry-unit ms --refresh
    assert_failure 65
    assert_output --partial "/refresh names nothing"
    assert_output --partial "--refresh-field"
    no_request
}

@test "a profiles.conf with a mistyped pointer is refused the same way before any request" {
    flat_login
    cat > "$XDG_CONFIG_HOME/credrun/profiles.conf" <<EOF
[mine]
inherit = json
file = $F
token-url = $TOKEN_URL
access = /at
refresh = /rt_typo
expiry = /exp
expiry-unit = ms
EOF
    run "$CREDRUN" -p mine --refresh
    assert_failure 65
    assert_output --partial "/rt_typo names nothing"
    no_request
}

@test "an expiry in ms read as seconds (after the year 2100) is a unit mistake: 65 naming --expiry-unit, no request" {
    flat_login 3600
    run pj --access-field /at --refresh-field /rt --expiry-field /exp --expiry-unit s true
    assert_failure 65
    assert_output --partial "--expiry-unit"
    no_request
}

@test "an expiry in seconds read as ms (a positive time before 2000) is a unit mistake: 65 naming --expiry-unit, no request" {
    flat_login 3600
    python3 - "$F" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); d["exp"] //= 1000
open(sys.argv[1], "w").write(json.dumps(d))
PY
    run pj --access-field /at --refresh-field /rt --expiry-field /exp --expiry-unit ms true
    assert_failure 65
    assert_output --partial "--expiry-unit"
    no_request
}

@test "an expiry of 0 or below still means expired and refreshes" {
    flat_login
    python3 - "$F" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); d["exp"] = -5
open(sys.argv[1], "w").write(json.dumps(d))
PY
    run pj --access-field /at --refresh-field /rt --expiry-field /exp --expiry-unit ms \
        --client-id 9d1c250a-e61b-44d9-88ed-5944d1962f5e true
    assert_success
    [ "$(mockctl stats grants)" = 1 ]
}

@test "the man page no longer says a non-JWT token is refreshed on every run" {
    man="$TESTS_DIR/../man/credrun.1"
    run grep -c "refreshed on every run" "$man"
    assert_output 0
    grep -q "78" "$man"
}

# --- issue 13.1: invalid UTF-8 in pointers ---

@test "a --access-field that is not valid UTF-8 is a usage error (64) before anything, for JSON and Transit" {
    flat_login
    run pj --access-field $'/x\xff/a' --refresh-field /rt --expiry-field /exp --expiry-unit ms --refresh
    assert_failure 64
    assert_output --partial "not valid UTF-8"
    echo '["^ ","~:auth",["^ ","anthropic",["^ ","~:api-key","at","~:refresh-token","rt","~:expires-at",0]]]' \
        > "$XDG_CACHE_HOME/eca/db.transit.json"
    run "$CREDRUN" -p eca --token-url "$TOKEN_URL" --access-field $'/~:auth/\xc0\xaf/x' --refresh
    assert_failure 64
    no_request
}

@test "a profiles.conf pointer that is not valid UTF-8 is a configuration error (78)" {
    flat_login
    printf '[mine]\ninherit = json\nfile = %s\ntoken-url = %s\naccess = /x\xff/a\nrefresh = /rt\n' \
        "$F" "$TOKEN_URL" > "$XDG_CONFIG_HOME/credrun/profiles.conf"
    run "$CREDRUN" -p mine --refresh
    assert_failure 78
    assert_output --partial "not valid UTF-8"
    no_request
}

# --- issue 13.3: FIFOs, devices and directories ---

@test "a FIFO as the credentials file is refused at once with 66, even with -n" {
    mkfifo "$F"
    run timeout 20 "$CREDRUN" -n -p json --credentials "$F" --token-url "$TOKEN_URL" --access-field /at \
        --refresh-field /rt true
    assert_failure 66
    assert_output --partial "is a FIFO, not a regular file"
}

@test "a directory or a device as the credentials file is refused with 66" {
    mkdir "$F"
    run pj --access-field /at --refresh-field /rt true
    assert_failure 66
    assert_output --partial "is a directory, not a regular file"
    run "$CREDRUN" -p json --credentials /dev/null --token-url "$TOKEN_URL" --access-field /at --refresh-field /rt true
    assert_failure 66
    assert_output --partial "is a device, not a regular file"
}

@test "a FIFO or a directory as profiles.conf is refused at once with 66" {
    mkfifo "$XDG_CONFIG_HOME/credrun/profiles.conf"
    run timeout 20 "$CREDRUN" -p mine true
    assert_failure 66
    assert_output --partial "is a FIFO, not a regular file"
    rm "$XDG_CONFIG_HOME/credrun/profiles.conf"
    mkdir "$XDG_CONFIG_HOME/credrun/profiles.conf"
    run "$CREDRUN" -p mine true
    assert_failure 66
    assert_output --partial "is a directory, not a regular file"
}

@test "a FIFO or a directory as the state file is refused with 66 at once, even with -n, and nothing is spent" {
    new_login --expires-in -60
    cp "$CREDS" "$BATS_TEST_TMPDIR/before"
    mkfifo "$CREDS.credrun.state"
    run timeout 20 "$CREDRUN" -n --credentials "$CREDS" --token-url "$TOKEN_URL" true
    assert_failure 66
    assert_output --partial "state file $CREDS.credrun.state is a FIFO, not a regular file: remove it"
    assert_output --partial "the refresh token was not spent"
    no_request
    cmp "$CREDS" "$BATS_TEST_TMPDIR/before"
    [ -p "$CREDS.credrun.state" ]
    rm "$CREDS.credrun.state"
    mkdir "$CREDS.credrun.state"
    run "$CREDRUN" --credentials "$CREDS" --token-url "$TOKEN_URL" true
    assert_failure 66
    assert_output --partial "is a directory, not a regular file"
    no_request
    cmp "$CREDS" "$BATS_TEST_TMPDIR/before"
}

@test "a FIFO as the state file with a token still valid: the command runs with the warning, nothing is spent" {
    new_login --expires-in 60
    mkfifo "$CREDS.credrun.state"
    run timeout 20 "$CREDRUN" --credentials "$CREDS" --token-url "$TOKEN_URL" true
    assert_success
    assert_output --partial "is a FIFO, not a regular file"
    no_request
}

# --- issue 13.4: the two crashes ---

@test "-p json --request json:NAME without --access-field says what to give instead of crashing" {
    run "$CREDRUN" -p json --request json:refreshToken --credentials x --token-url https://example.com/t --refresh
    assert_failure 64
    assert_output --partial "give --access-field and --refresh-field"
    printf '[mine]\ninherit = json\nrequest = json:refreshToken\ntoken-url = https://example.com/t\n' \
        > "$XDG_CONFIG_HOME/credrun/profiles.conf"
    run "$CREDRUN" -p mine --credentials x --refresh
    assert_failure 64
    assert_output --partial "give --access-field and --refresh-field"
}

@test "a token URL the file's base URL makes refused: 78, nothing sent, no cooldown recorded" {
    mkdir -p "$HOME/.agentworkforce/relay"
    f="$HOME/.agentworkforce/relay/cloud-auth.json"
    echo '{"accessToken":"a","refreshToken":"r","accessTokenExpiresAt":"2001-01-01T00:00:00Z","apiUrl":"http://example.com"}' > "$f"
    run "$CREDRUN" -p relay --refresh
    assert_failure 78
    assert_output --partial "gives a token URL credrun refuses"
    refute_output --partial "attempt"
    refute_output --partial "not send"
    refute_output --partial "again in"
    [ ! -e "$f.credrun.state" ]
}
