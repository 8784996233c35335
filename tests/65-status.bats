#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# What a new user trips over: --status (credrun's klist), cooldowns that
# belong to one endpoint, -v telling each decision, and the small fixes to
# usage errors, the man page, the cron interval and the quick start.

load test_helper

setup_file() { mock_start; }
teardown_file() { mock_stop; }
setup() {
    mockctl reset
    new_login --expires-in 3600
    STATE="$CREDS.credrun.state"
    LOCK="$CREDS.credrun.lock"
}
teardown() {
    mockctl release >/dev/null 2>&1 || true
    kill_background KILL
}

SRC="$TESTS_DIR/.."

# --- small fixes --------------------------------------------------------------

@test "--credentials '' and --lock-file '' are usage errors (64), not a file named nothing" {
    run "$CREDRUN" --credentials "" --refresh
    assert_failure 64
    assert_line --index 0 "credrun: --credentials needs a file name, not an empty string"
    run "$CREDRUN" --credentials "$CREDS" --lock-file "" --refresh
    assert_failure 64
    assert_line --index 0 --partial "--lock-file needs a file name"
}

@test "an --env name that is not a variable name is a usage error (64)" {
    for bad in 1TOKEN 'MY-TOKEN' 'A B' 'A.B' '' 'A=B'; do
        run "$CREDRUN" --credentials "$CREDS" --env "$bad" true
        assert_failure 64
        assert_line --index 0 --partial "invalid --env name '$bad': give a variable name"
    done
    run cr --env _My_TOKEN2 sh -c 'test -n "$_My_TOKEN2"'
    assert_success
}

@test "the man page renders json:NAME's body as {\"NAME\": refresh token}" {
    command -v groff >/dev/null || skip "groff is not installed"
    run sh -c 'groff -man -Tutf8 -P-cbou "$1" 2>&1' sh "$SRC/man/credrun.1"
    assert_success
    assert_output --partial '{"NAME": refresh token}'
    refute_output --partial '{"NAME:'
}

# The */N of the first cron line in a file.
cron_minutes() {
    sed -n 's/^\*\/\([0-9]*\) \* \* \* \* .*credrun.*--*q.*/\1/p' "$1" | head -n 1
}

@test "the README, the man page and crontab.example give one cron interval, shorter than the default -m 600" {
    readme=$(cron_minutes "$SRC/README.md")
    man=$(cron_minutes "$SRC/man/credrun.1")
    example=$(cron_minutes "$SRC/contrib/crontab.example")
    [ -n "$readme" ]
    [ "$readme" = "$man" ]
    [ "$man" = "$example" ]
    # a token left alone at 601 s must be refreshed by the next run, with
    # time to spare: the interval is at most half of --min-validity
    (( readme * 60 * 2 <= 600 ))
}

@test "configure.ac asks for the system extensions before any compile test (no autoconf warning)" {
    command -v autoconf >/dev/null || skip "autoconf is not installed"
    [ -f "$SRC/aclocal.m4" ] || skip "no aclocal.m4 (run ./autogen.sh)"
    d="$BATS_TEST_TMPDIR/ac"
    mkdir "$d"
    cp -r "$SRC/configure.ac" "$SRC/aclocal.m4" "$d/"
    [ -d "$SRC/m4" ] && cp -r "$SRC/m4" "$d/"
    run sh -c 'cd "$1" && autoconf -Wall -o /dev/null 2>&1' sh "$d"
    assert_success
    refute_output --partial "AC_USE_SYSTEM_EXTENSIONS"
}

@test "the README's first command works for root on a fresh Debian container, which has no sudo" {
    line=$(awk '/^```sh/ { inblock = 1; next } inblock && /^[^#]/ { print; exit }' "$SRC/README.md")
    [ -n "$line" ]
    stub="$BATS_TEST_TMPDIR/stub"
    work="$BATS_TEST_TMPDIR/work"
    mkdir -p "$stub" "$work"
    # root, no sudo: id says 0, the build steps only record that they ran
    printf '#!/bin/sh\necho 0\n' > "$stub/id"
    for t in apt-get env make; do
        printf '#!/bin/sh\necho "%s $*" >> "%s/ran"\n' "$t" "$work" > "$stub/$t"
    done
    for t in autogen.sh configure; do
        printf '#!/bin/sh\necho "./%s $*" >> "%s/ran"\n' "$t" "$work" > "$work/$t"
    done
    chmod +x "$stub"/* "$work"/*
    run env -i PATH="$stub" "$(command -v sh)" -c "cd '$work' && $line"
    assert_success
    run cat "$work/ran"
    assert_line --index 0 "apt-get update"
    assert_line --index 1 --partial "env DEBIAN_FRONTEND=noninteractive apt-get install -y build-essential"
    assert_line "make demo"
}

# --- cooldowns per endpoint ---------------------------------------------------

@test "a cooldown at a mistyped --token-url does not hold back the fixed one; the message names the state file" {
    set_expiry_in -10
    bad="http://127.0.0.1:1/v1/oauth/token"
    run "$CREDRUN" --credentials "$CREDS" --token-url "$bad" --refresh
    assert_failure 69
    assert_output --partial "shared cooldown"
    assert_output --partial "the cooldown holds back requests to $bad and is recorded in $STATE: removing that file clears it"
    [ "$(json_get "$STATE" "['cooldown']['endpoint']")" = "$bad" ]
    # the mistyped URL stays cooled down, without a request
    run "$CREDRUN" --credentials "$CREDS" --token-url "$bad" --refresh
    assert_failure 69
    assert_output --partial "failed moments ago"
    assert_output --partial "recorded in $STATE: removing that file clears it"
    # the fixed URL refreshes at once
    run cr --refresh
    assert_success
    [ "$(mockctl stats grants)" = 1 ]
    [ ! -e "$STATE" ]
}

@test "a cooldown recorded without an endpoint (an older credrun's file) holds back every endpoint" {
    set_expiry_in -10
    until=$(date -u -d '+60 sec' '+%Y-%m-%dT%H:%M:%S.000Z')
    printf '{"cooldown": {"kind": "rate_limited", "reason": "429", "until": "%s", "backoff_step": 0}}\n' "$until" > "$STATE"
    run cr --refresh
    assert_failure 75
    assert_output --partial "rate limiting (429); shared cooldown"
    assert_output --partial "holds back requests to every token endpoint and is recorded in $STATE: removing that file clears it"
    [ "$(mockctl stats token_requests)" = 0 ]
    rm "$STATE"
    run cr --refresh
    assert_success
}

# --- -v tells the whole story ---------------------------------------------------

# The SHA-256 of the refresh token in $CREDS: its name in a quarantine.
rt_sha() {
    python3 -c 'import hashlib,json,sys; print(hashlib.sha256(json.load(open(sys.argv[1]))["claudeAiOauth"]["refreshToken"].encode()).hexdigest())' "$CREDS"
}

@test "-v on the fresh path names the file, the profile and the endpoint, and says fresh in one line" {
    run --separate-stderr cr -v true
    assert_success
    [ "${#stderr_lines[@]}" = 2 ]
    [ "${stderr_lines[0]}" = "credrun: credentials $CREDS, profile claude, token endpoint $TOKEN_URL" ]
    [[ "${stderr_lines[1]}" =~ ^credrun:\ fresh:\ the\ access\ token\ is\ valid\ for\ 3[0-9]{3}\ s\ more\ \(over\ -m\ 600\ s\)\;\ no\ refresh\ needed$ ]]
    [ "$(mockctl stats token_requests)" = 0 ]
    # without -v, nothing
    run --separate-stderr cr true
    assert_success
    [ -z "$stderr" ]
}

@test "-v says refreshed, cooldown and quarantined, one line each" {
    set_expiry_in -10
    run --separate-stderr cr -v --refresh
    assert_success
    [[ "$stderr" == *"credrun: refreshed: the new access token is valid for "* ]]
    set_expiry_in -10
    until=$(date -u -d '+60 sec' '+%Y-%m-%dT%H:%M:%S.000Z')
    printf '{"cooldown": {"kind": "rate_limited", "reason": "429", "until": "%s", "endpoint": "%s"}}\n' "$until" "$TOKEN_URL" > "$STATE"
    run --separate-stderr cr -v --refresh
    assert_failure 75
    [[ "$stderr" == *"credrun: cooldown: no request to $TOKEN_URL before ${until%.000Z}"*" (429)"* ]]
    printf '{"quarantine": {"refresh_token_sha256": "%s", "error": "invalid_grant", "since": "%s"}}\n' "$(rt_sha)" "$until" > "$STATE"
    run --separate-stderr cr -v --refresh
    assert_failure 77
    [[ "$stderr" == *"credrun: quarantined: the refresh token was rejected (invalid_grant) at ${until%.000Z}"*"; it is not sent again"* ]]
    [ "$(mockctl stats token_requests)" = 1 ]
}

@test "-v says it adopted a peer's refresh made while it waited for the application's lock" {
    set_expiry_in -5
    lockdir="$CREDS_DIR/.oauth_refresh.lock"
    mkdir "$lockdir"
    cr -v --refresh 2> "$BATS_TEST_TMPDIR/err" 3>&- &
    pid=$!
    wait_file "$BATS_TEST_TMPDIR/err" "waiting for the application's lock $lockdir" partial
    mockctl login --expires-in 3600 > "$CREDS.new"
    mv "$CREDS.new" "$CREDS"
    rmdir "$lockdir"
    wait "$pid"
    run grep -c "^credrun: adopted a peer's refresh (made while credrun waited for the app's lock): the access token is valid for" "$BATS_TEST_TMPDIR/err"
    assert_output 1
    [ "$(mockctl stats token_requests)" = 0 ]
}

# --- --status -----------------------------------------------------------------

# A member of --status --json's document: sj EXPR (python, on d).
sj() {
    python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); v=eval(sys.argv[1]); print(json.dumps(v) if not isinstance(v, str) else v)' "$1" <<<"$output"
}

@test "--status on a fresh login: exit 0, the file, profile, lock, expiry and verdict; no secret, no request, no file created" {
    run cr --status
    assert_success
    assert_line "file:          $CREDS"
    assert_line "profile:       claude"
    assert_line "lock:          $LOCK: not there yet (the first run creates it)"
    assert_line --regexp "^access token:  expires 20[0-9-]{8}T[0-9:.]{12}Z \(in (5[0-9]|60) min\)$"
    assert_line "refresh token: present"
    assert_line "refresh:       not due (-m 600 s)"
    assert_line "cooldown:      none"
    assert_line "quarantine:    none"
    assert_line "status:        fresh"
    for t in $(file_tokens); do refute_output --partial "$t"; done
    [ ! -e "$LOCK" ]
    [ ! -e "$STATE" ]
    [ "$(mockctl stats token_requests)" = 0 ]
}

@test "--status --json prints exactly the documented keys, and no secret" {
    touch "$LOCK"
    run --separate-stderr cr --status --json
    assert_success
    [ "$(sj 'list(d)')" = '["file", "profile", "lock", "app_locks", "access", "refresh_token_present", "refresh_due", "cooldown", "quarantine"]' ]
    [ "$(sj 'list(d["lock"])')" = '["path", "held", "holder_pid", "holder_command"]' ]
    [ "$(sj 'list(d["access"])')" = '["expires_at", "expires_in_s"]' ]
    [ "$(sj 'd["file"]')" = "$CREDS" ]
    [ "$(sj 'd["profile"]')" = claude ]
    [ "$(sj 'd["lock"]')" = "{\"path\": \"$LOCK\", \"held\": false, \"holder_pid\": null, \"holder_command\": null}" ]
    [ "$(sj 'd["app_locks"]')" = '[]' ]
    [ "$(sj '3500 < d["access"]["expires_in_s"] <= 3600')" = true ]
    [ "$(sj 'd["refresh_token_present"], d["refresh_due"], d["cooldown"], d["quarantine"]')" = '[true, false, null, null]' ]
    for t in $(file_tokens); do refute_output --partial "$t"; done
    [ -z "$stderr" ]
}

@test "--status answers while another credrun holds the lock, naming its PID and command" {
    mkfifo "$BATS_TEST_TMPDIR/gate"
    # credrun execs sh in place, holding the lock: sh's $$ is the holder
    cr -- sh -c 'echo $$ > "$1.tmp" && mv "$1.tmp" "$1"; read x < "$2"' sh "$BATS_TEST_TMPDIR/ready" "$BATS_TEST_TMPDIR/gate" 3>&- &
    wait_file "$BATS_TEST_TMPDIR/ready"
    holder=$(cat "$BATS_TEST_TMPDIR/ready")
    run timeout 20 "$CREDRUN" --credentials "$CREDS" --token-url "$TOKEN_URL" --status
    assert_success
    assert_line "lock:          $LOCK: held by PID $holder (sh -c echo \$\$ > \"\$1.tmp\" && mv \"\$1.tmp\" \"\$1\"; read x < \"\$2\" sh $BATS_TEST_TMPDIR/ready $BATS_TEST_TMPDIR/gate)"
    run timeout 20 "$CREDRUN" --credentials "$CREDS" --token-url "$TOKEN_URL" --status --json -n
    assert_success
    [ "$(sj 'd["lock"]["held"], d["lock"]["holder_pid"]')" = "[true, $holder]" ]
    [[ "$(sj 'd["lock"]["holder_command"]')" == "sh -c echo"* ]]
    echo go > "$BATS_TEST_TMPDIR/gate"
    wait
    run cr --status --json
    [ "$(sj 'd["lock"]["held"]')" = false ]
}

@test "--status: a refresh due is 1, under -m too; an expired token's expiry is in the past" {
    run cr --status -m 7200
    assert_failure 1
    assert_line "refresh:       due (-m 7200 s)"
    assert_line "status:        refresh due: the next run refreshes"
    set_expiry_in -130
    run cr --status --json
    assert_failure 1
    [ "$(sj '-140 < d["access"]["expires_in_s"] <= -129')" = true ]
    [ "$(sj 'd["refresh_due"]')" = true ]
    run cr --status
    assert_line --regexp "^access token:  expired .* \(2 min ago\)$"
    [ "$(mockctl stats token_requests)" = 0 ]
}

@test "--status: a cooldown of this endpoint blocks a due refresh (75); one of another endpoint does not (1)" {
    set_expiry_in -10
    until=$(date -u -d '+60 sec' '+%Y-%m-%dT%H:%M:%S.000Z')
    printf '{"cooldown": {"kind": "rate_limited", "reason": "429", "until": "%s", "endpoint": "%s"}}\n' "$until" "$TOKEN_URL" > "$STATE"
    run cr --status --json
    assert_failure 75
    [ "$(sj 'd["cooldown"]')" = "{\"reason\": \"429\", \"endpoint\": \"$TOKEN_URL\", \"until\": \"$until\"}" ]
    run cr --status
    assert_failure 75
    assert_line --regexp "^cooldown:      429, for $TOKEN_URL, until ${until} \(in [0-9]+ s\)$"
    assert_line --partial "status:        refresh due, but the cooldown holds it back until $until"
    # another endpoint's cooldown is shown, but does not hold this run back
    run "$CREDRUN" --credentials "$CREDS" --token-url "http://127.0.0.1:1/token" --status
    assert_failure 1
    assert_line --partial "(not this run's endpoint)"
    # one recorded without an endpoint holds back every endpoint
    printf '{"cooldown": {"kind": "failing", "reason": "503", "until": "%s"}}\n' "$until" > "$STATE"
    run cr --status --json
    assert_failure 75
    [ "$(sj 'd["cooldown"]["endpoint"]')" = null ]
    # a fresh token is fresh, cooldown or not
    set_expiry_in 3600
    run cr --status
    assert_success
    [ "$(mockctl stats token_requests)" = 0 ]
}

@test "--status: log in again (77) when quarantined, or with no refresh token and an expired access token" {
    since=$(date -u -d '-60 sec' '+%Y-%m-%dT%H:%M:%S.000Z')
    printf '{"quarantine": {"refresh_token_sha256": "%s", "error": "invalid_grant", "since": "%s"}}\n' "$(rt_sha)" "$since" > "$STATE"
    run cr --status --json
    assert_failure 77
    [ "$(sj 'd["quarantine"]')" = "{\"since\": \"$since\"}" ]
    run cr --status
    assert_failure 77
    assert_line "status:        log in again (claude /login)"
    # a new login is not quarantined
    new_login --expires-in 3600
    run cr --status --json
    assert_success
    [ "$(sj 'd["quarantine"]')" = null ]
    # no refresh token: fine while the access token lasts, 77 once it has expired
    python3 - "$CREDS" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); del d["claudeAiOauth"]["refreshToken"]; open(sys.argv[1], "w").write(json.dumps(d))
PY
    run cr --status --json
    assert_success
    [ "$(sj 'd["refresh_token_present"]')" = false ]
    set_expiry_in -5
    run cr --status
    assert_failure 77
    assert_line "refresh token: none in the file"
}

@test "--status lists the application's lock directories that are present, with their age" {
    mkdir "$CREDS_DIR/.oauth_refresh.lock"
    touch -d '30 seconds ago' "$CREDS_DIR/.oauth_refresh.lock"
    run cr --status --json
    assert_success
    [ "$(sj 'd["app_locks"][0]["path"]')" = "$CREDS_DIR/.oauth_refresh.lock" ]
    [ "$(sj '29 <= d["app_locks"][0]["age_s"] <= 40')" = true ]
    [ "$(sj 'len(d["app_locks"])')" = 1 ]
    run cr --status
    assert_line --regexp "^app lock:      $CREDS_DIR/.oauth_refresh.lock: present, (29|3[0-9]) s old$"
    [ -d "$CREDS_DIR/.oauth_refresh.lock" ]
}

@test "--status exits as a run does when the file is missing (66) or malformed (65), or profiles.conf is (78)" {
    run "$CREDRUN" --credentials "$BATS_TEST_TMPDIR/nope.json" --status
    assert_failure 66
    assert_output --partial "$BATS_TEST_TMPDIR/nope.json"
    echo '{"claudeAiOauth": ' > "$CREDS"
    run cr --status --json
    assert_failure 65
    assert_output --partial "fix it or log in again"
    mkdir -p "$BATS_TEST_TMPDIR/cfg/credrun"
    echo '[broken' > "$BATS_TEST_TMPDIR/cfg/credrun/profiles.conf"
    run env XDG_CONFIG_HOME="$BATS_TEST_TMPDIR/cfg" "$CREDRUN" -p claude --credentials "$CREDS" --status
    assert_failure 78
}

@test "--status excludes --refresh, --supervise and a COMMAND; --json needs --status" {
    run cr --status --refresh
    assert_failure 64
    assert_line --index 0 "credrun: --status runs nothing and refreshes nothing: drop --refresh"
    run cr --status --supervise
    assert_failure 64
    run cr --status true
    assert_failure 64
    assert_line --index 0 --partial "drop true"
    run cr --json --refresh
    assert_failure 64
    assert_line --index 0 "credrun: --json needs --status"
}

@test "--status on a state file anyone may write: 78 when a refresh is due (as a run), a warning while fresh" {
    echo '{}' > "$STATE"
    chmod 666 "$STATE"
    run --separate-stderr cr --status
    assert_success
    [[ "$stderr" == *"$STATE"* ]]
    set_expiry_in -10
    run cr --status
    assert_failure 78
    run cr --refresh
    assert_failure 78
    [ "$(mockctl stats token_requests)" = 0 ]
}
