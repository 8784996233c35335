#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# Permissions and messages: what root creates beside a user's credentials is
# the user's; files anyone could have written are refused or ignored; no
# message quotes a token, or any piece of one.

load test_helper

setup_file() {
    mock_start
    # A directory the user nobody can reach (the bats temp dirs are root's, 0700).
    PERM_ROOT=$(mktemp -d /tmp/credrun-45.XXXXXX)
    chmod 755 "$PERM_ROOT"
    export PERM_ROOT
}
teardown_file() {
    mock_stop
    rm -rf "$PERM_ROOT"
}
setup() {
    mockctl reset
    : "${FAULTINJECT:=$TESTS_DIR/faultinject.so}"
}
teardown() {
    mockctl release >/dev/null 2>&1 || true
    kill_background KILL
}

as_nobody() {
    setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"
}

# A login in a directory of PERM_ROOT: user_login OWNER:GROUP DIRMODE FILEMODE.
user_login() {
    CREDS_DIR="$PERM_ROOT/$BATS_TEST_NUMBER"
    CREDS="$CREDS_DIR/.credentials.json"
    rm -rf "$CREDS_DIR"
    mkdir -p "$CREDS_DIR"
    mockctl login --expires-in 3600 > "$CREDS"
    chown "$1" "$CREDS_DIR" "$CREDS"
    chmod "$2" "$CREDS_DIR"
    chmod "$3" "$CREDS"
    export CREDS_DIR CREDS
}


owner_of() { stat -c %U:%G "$1"; }

# A state file whose 23-hour cooldown is running: planted_state FILE.
planted_state() {
    python3 - "$1" <<'PY'
import json, sys, time
until = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() + 23 * 3600))
json.dump({"cooldown": {"kind": "rate_limited", "reason": "429", "until": until, "backoff_step": 0}}, open(sys.argv[1], "w"))
PY
}

# --- item 1: no lock-outs ---------------------------------------------------

@test "root's lock, temp, state and rescue files beside a user's credentials are the user's, who is not locked out" {
    user_login nobody:nogroup 755 600
    set_expiry_in -10
    mockctl config hold=true
    cr --refresh 3>&- &
    mockctl wait held 1
    tmp=$(ls -A "$CREDS_DIR" | grep credrun-tmp)
    [ "$(owner_of "$CREDS_DIR/$tmp")" = nobody:nogroup ]
    [ "$(stat -c %a "$CREDS_DIR/$tmp")" = 600 ]
    mockctl release
    wait $!
    [ "$(owner_of "$CREDS")" = nobody:nogroup ]
    [ "$(stat -c %a "$CREDS")" = 600 ]
    [ "$(owner_of "$CREDS.credrun.lock")" = nobody:nogroup ]
    [ "$(stat -c %a "$CREDS.credrun.lock")" = 644 ]

    # a failure leaves the state file: the user's too
    set_expiry_in -10
    mockctl config mode=500
    run cr --refresh
    assert_failure 69
    mockctl config mode=normal
    [ "$(owner_of "$CREDS.credrun.state")" = nobody:nogroup ]
    [ "$(stat -c %a "$CREDS.credrun.state")" = 600 ]
    rm "$CREDS.credrun.state"

    # a write that fails after the refresh: the rescue file is the user's
    run fi_cr pwrite ENOSPC "..credentials.json.credrun-tmp-*" 1 --force --refresh
    assert_failure 73
    [ "$(owner_of "$CREDS.credrun-rescue")" = nobody:nogroup ]
    mv "$CREDS.credrun-rescue" "$CREDS"

    # and the user runs credrun next, on the lock file root made
    run as_nobody "$CREDRUN" --credentials "$CREDS" --token-url "$TOKEN_URL" --force --refresh
    assert_success
    run mockctl check-rt "$CREDS"
    assert_output live
}

@test "the lock file is 0644 less what its directory withholds, and a read-only descriptor still locks it" {
    user_login nobody:nogroup 750 600
    run cr true
    assert_success
    [ "$(stat -c %a "$CREDS.credrun.lock")" = 640 ]
    # another user who may only read the lock file still takes the lock
    user_login root:root 755 644
    run cr true
    [ "$(stat -c %a "$CREDS.credrun.lock")" = 644 ]
    flock "$CREDS.credrun.lock" -c "touch '$BATS_TEST_TMPDIR/held'; exec sleep 60" 3>&- &
    wait_file "$BATS_TEST_TMPDIR/held"
    run as_nobody "$CREDRUN" --credentials "$CREDS" --token-url "$TOKEN_URL" -n true
    assert_failure 75
    assert_output --partial "is held by another process"
}

# --- item 2: hostile files are not trusted -----------------------------------

@test "a credentials file anyone may write, or one in an open directory without the sticky bit, is refused (78)" {
    user_login root:root 755 666
    run cr true
    assert_failure 78
    assert_output --partial "credentials file $CREDS is writable by anyone"
    assert_output --partial "run chmod o-w $CREDS"
    chmod 660 "$CREDS"
    chmod 775 "$CREDS_DIR"
    run cr true
    assert_success # group-writable is how teams share
    chmod 777 "$CREDS_DIR"
    run cr true
    assert_failure 78
    assert_output --partial "the credentials' directory $CREDS_DIR is writable by anyone and has no sticky bit"
    assert_output --partial "run chmod o-w $CREDS_DIR"
    chmod 1777 "$CREDS_DIR"
    run cr true
    assert_success
    # the state file, read when a refresh is needed
    chmod 755 "$CREDS_DIR"
    set_expiry_in -10
    echo '{}' > "$CREDS.credrun.state"
    chmod 666 "$CREDS.credrun.state"
    run cr --refresh
    assert_failure 78
    assert_output --partial "state file $CREDS.credrun.state is writable by anyone"
    assert_output --partial "run chmod o-w $CREDS.credrun.state"
    [ "$(mockctl stats token_requests)" = 0 ]
}

@test "a state file another user planted is ignored with a warning, and replaced" {
    user_login root:root 1777 600
    set_expiry_in -10
    planted_state "$CREDS.credrun.state"
    chown nobody:nogroup "$CREDS.credrun.state"
    run cr --refresh
    assert_success
    assert_output --partial "state file $CREDS.credrun.state belongs to user 65534, neither this user nor the credentials' owner; ignoring it"
    [ "$(mockctl stats grants)" = 1 ]
    # its owner's own planted cooldown is honoured
    set_expiry_in -10
    planted_state "$CREDS.credrun.state"
    run cr --refresh
    assert_failure 75
}

@test "a chown that fails on a rewritten file is a warning that says what to run" {
    user_login root:nogroup 770 660
    set_expiry_in -10
    run as_nobody "$CREDRUN" --credentials "$CREDS" --token-url "$TOKEN_URL" --refresh
    assert_success
    assert_output --partial "cannot give $CREDS to user 0, group 65534 (Operation not permitted); it belongs to this user now: run chown 0:65534 $CREDS as root"
    [ "$(owner_of "$CREDS")" = nobody:nogroup ]
    [ "$(stat -c %a "$CREDS")" = 660 ]
}

# --- item 3: no secret quoted --------------------------------------------------

@test "a parse error gives the line and column, never the file's bytes" {
    user_login root:root 700 600
    printf '{"claudeAiOauth": {\n  "accessToken" "rt-SHORTSECRET12"}}\n' > "$CREDS"
    run cr true
    assert_failure 65
    assert_output --partial "not valid JSON (line 2, column"
    refute_output --partial "SHORTSEC"
    # Transit (ECA): a JSON error, and a string that looks like a cache code
    printf '["^ ","~:auth" "sk-ant-ort01-AbCdE"]' > "$CREDS"
    run cr -p eca true
    assert_failure 65
    assert_output --partial "not valid JSON (line 1, column"
    refute_output --partial "ort01"
    printf '["^ ","~:auth",["^ ","~:anthropic",["^ ","~:api-key","^sk-ant-SECRET99"]]]' > "$CREDS"
    run cr -p eca true
    assert_failure 65
    assert_output --partial "a cache code names no earlier string"
    refute_output --partial "SECRET99"
    # profiles.conf: a pasted token is never quoted back
    export XDG_CONFIG_HOME="$BATS_TEST_TMPDIR/config"
    mkdir -p "$XDG_CONFIG_HOME/credrun"
    printf '[x]\nsk-ant-oat01-AbCdEfGh = 1\n' > "$XDG_CONFIG_HOME/credrun/profiles.conf"
    run cr -p x true
    assert_failure 78
    assert_output --partial "profiles.conf:2: unknown key"
    refute_output --partial "AbCdEf"
}

# --- item 4: every message ----------------------------------------------------

# Every error path a test can reach, with known tokens in the file and in the
# answers: no token, nor any 8-character piece of one, in what credrun says
# or leaves behind (but the credentials and rescue files).
@test "no token or piece of one in any message or left-behind file, on every error path" {
    user_login root:root 700 600
    OUT="$BATS_TEST_TMPDIR/out" LEFT="$BATS_TEST_TMPDIR/left" TOKS="$BATS_TEST_TMPDIR/tokens"
    : > "$OUT"
    : > "$LEFT"
    P1=rt-SHORTSECRET12 P2=sk-ant-ort01-AbCdEfGhIjKlMnOp P3=at-PLANTEDaccess0123456789
    printf '%s\n' "$P1" "$P2" "$P3" > "$TOKS"
    say() { "$@" >> "$OUT" 2>&1 || true; }
    remember() { file_tokens >> "$TOKS" 2>/dev/null || true; }
    # what credrun left beside the credentials, then a clean slate
    collect() {
        local f
        for f in "$CREDS_DIR"/* "$CREDS_DIR"/.[!.]*; do
            [ -f "$f" ] || continue
            case "$f" in "$CREDS" | "$CREDS.credrun-rescue") continue ;; esac
            cat "$f" >> "$LEFT"
        done
        rm -f "$CREDS.credrun.state" "$CREDS.credrun-rescue"
    }
    relogin() { mockctl login --expires-in 3600 > "$CREDS"; remember; }

    # usage errors
    say "$CREDRUN"
    say "$CREDRUN" --bogus
    say cr --min-validity x true
    say cr --refresh true
    say cr --lock-scope x true
    say "$CREDRUN" -p nosuch true

    # every failure mode of the token endpoint
    for mode in 429 500 garbage oversized no_access_token redirect hang invalid_grant invalid_client \
        invalid_scope codex_reused rotated_no_access_token; do
        relogin
        set_expiry_in -10
        mockctl config mode=$mode
        say cr -v --http-timeout 1 --refresh
        say cr -v --http-timeout 1 true # the cooldown or quarantine it left
        mockctl config mode=normal
        remember
        collect
    done

    # malformed files holding the planted tokens
    for text in \
        "{\"claudeAiOauth\": {\"accessToken\" \"$P1\", \"refreshToken\": \"$P2\"}}" \
        "{\"claudeAiOauth\": {\"accessToken\": 5, \"refreshToken\": \"$P2\"}}" \
        "{\"claudeAiOauth\": {\"accessToken\": \"$P3\", \"refreshToken\": \"$P2\", \"expiresAt\": \"$P1\"}}" \
        "{\"claudeAiOauth\": {\"accessToken\": \"$P3\", \"refreshToken\": [\"$P2\"], \"expiresAt\": 1}}" \
        "[\"$P1\", \"$P2\"]" \
        "{\"claudeAiOauth\": {\"accessToken\": \"$P3" \
        "$P1"; do
        printf '%s' "$text" > "$CREDS"
        say cr -v true
        say cr -v --refresh
        say cr -v -p eca true
        say cr -v --supervise --refresh
        collect
    done
    printf '["^ ","~:auth",["^ ","~:anthropic",["^ ","~:api-key","^%s","~:refresh-token","%s"]]]' "$P3" "$P2" > "$CREDS"
    say cr -v -p eca true
    say "$CREDRUN" --credentials "$BATS_TEST_TMPDIR/missing.json" --token-url "$TOKEN_URL" true

    # files anyone may write
    relogin
    chmod 666 "$CREDS"
    say cr -v true
    chmod 600 "$CREDS"
    set_expiry_in -10
    echo "{\"cooldown\": \"$P1\"}" > "$CREDS.credrun.state"
    say cr -v --refresh # malformed state
    set_expiry_in -10
    echo "{\"cooldown\": \"$P1\"}" > "$CREDS.credrun.state"
    chmod 666 "$CREDS.credrun.state"
    say cr -v --refresh
    rm -f "$CREDS.credrun.state" # the test's own, left as it was
    collect

    # profiles.conf errors
    export XDG_CONFIG_HOME="$BATS_TEST_TMPDIR/config"
    mkdir -p "$XDG_CONFIG_HOME/credrun"
    for conf in "[x]\n$P2 = 1\n" "[$P2]\n[$P2]\n" "[x]\ninherit = $P2\n" "[x]\nfile = \${$P1\n" \
        "[x]\nfile = \${A:-$P1\n" "[x y $P1]\n" "[x]\n$P1\n" "$P1 = 1\n" "[x]\naccess = $P1\n"; do
        printf "$conf" > "$XDG_CONFIG_HOME/credrun/profiles.conf"
        say cr -v -p x true
        say cr -v -p "$P2" true
    done
    rm "$XDG_CONFIG_HOME/credrun/profiles.conf"

    # each lock failure
    relogin
    set_expiry_in -10
    flock "$CREDS.credrun.lock" -c "touch '$BATS_TEST_TMPDIR/held'; exec sleep 60" 3>&- &
    wait_file "$BATS_TEST_TMPDIR/held"
    say cr -v -n true
    say cr -v -w 0.1 --refresh
    say cr -v -n --supervise true
    kill_background KILL
    ln -s /nonexistent "$BATS_TEST_TMPDIR/link.lock"
    say cr -v --lock-file "$BATS_TEST_TMPDIR/link.lock" true
    say cr -v --lock-file /nonexistent/dir/x.lock true
    mkdir "$CREDS_DIR/.oauth_refresh.lock"
    say cr -v -n --refresh
    rmdir "$CREDS_DIR/.oauth_refresh.lock"

    # writes that fail, before and after the spend
    relogin
    set_expiry_in -10
    say fi_cr openat EACCES "..credentials.json.credrun-tmp-*" "" -v --refresh
    say fi_cr pwrite ENOSPC "..credentials.json.credrun-tmp-*" 1 -v --refresh
    [ -f "$CREDS.credrun-rescue" ]
    say cr -v --refresh # the spent token, with the rescue file's hint
    json_get "$CREDS.credrun-rescue" "['claudeAiOauth']['accessToken']" >> "$TOKS"
    json_get "$CREDS.credrun-rescue" "['claudeAiOauth']['refreshToken']" >> "$TOKS"
    collect
    collect

    [ -s "$OUT" ]
    run python3 - "$TOKS" "$OUT" "$LEFT" <<'PY'
import sys
toks = {t.strip() for t in open(sys.argv[1]) if t.strip()}
pieces = {t[i:i + 8] for t in toks for i in range(len(t) - 7)}
bad = 0
for name in sys.argv[2:]:
    text = open(name, encoding="utf-8", errors="replace").read()
    for p in sorted(pieces):
        if p in text:
            at = text.index(p)
            print("%s holds %r: ...%s..." % (name, p, text[max(0, at - 60):at + 20].replace("\n", " | ")))
            bad += 1
print("%d tokens, %d pieces, %d found" % (len(toks), len(pieces), bad))
sys.exit(1 if bad else 0)
PY
    echo "$output"
    assert_success
    # the sweep did reach the paths it means to
    run cat "$OUT"
    for want in "Try 'credrun --help'" "rate limiting (429)" "token endpoint failed (500)" "not a JSON object" \
        "more than" "without a usable access_token" "redirect" "did not finish answering" "rejected the refresh token" \
        "invalid_client" "invalid_scope" "refresh_token_reused" "not valid JSON (line" "is not a string" \
        "writable by anyone" "state file" "unknown key" "bad profile name" "malformed \${" "is held by another process" \
        "symbolic link" "cannot open lock file" "the application's lock" "cannot create a temporary file" \
        "the new tokens are saved in" "quarantined" "does not exist"; do
        assert_output --partial "$want"
    done
}
