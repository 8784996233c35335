#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# Failure discipline: the shared cooldown after 429s and failures, the
# quarantine of dead refresh tokens, hostile answers, full disks, failing
# writes, signals and SIGKILL. Nothing lost, nothing hammered.

load test_helper
load login_helper  # the mock, a fresh login and $GATE per test

setup_test() {
    STATE="$CREDS.credrun.state"
    : "${FAULTINJECT:=$TESTS_DIR/faultinject.so}"
}
TEARDOWN_SIGNAL=KILL
# and a request the mock holds is let go
teardown_test() { mockctl release >/dev/null 2>&1 || true; }

# Seconds from now until the state file's cooldown ends.
cooldown_left() {
    python3 - "$STATE" <<'PY'
import datetime, json, sys, time
u = json.load(open(sys.argv[1]))["cooldown"]["until"]
t = datetime.datetime.strptime(u, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
print(round(t.timestamp() - time.time()))
PY
}

# Pretend the clock moved past the cooldown: set its end to one second ago.
end_cooldown() {
    python3 - "$STATE" <<'PY'
import json, sys, time
p = sys.argv[1]
d = json.load(open(p))
d["cooldown"]["until"] = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() - 1))
open(p, "w").write(json.dumps(d))
PY
}

# Blocked flock(2) waiters on the lock file, from /proc/locks.
lock_waiters() {
    local ino
    ino=$(stat -c %i "$CREDS.credrun.lock")
    grep -c -- "-> FLOCK .*:$ino " /proc/locks || true
}

# Another program, one that does not take credrun's lock, spends the refresh
# token in $CREDS and prints the credentials file it would write.
refresh_elsewhere() {
    python3 - "$CREDS" "$TOKEN_URL" <<'PY'
import json, sys, time, urllib.request
p, url = sys.argv[1], sys.argv[2]
d = json.load(open(p))
o = d["claudeAiOauth"]
body = json.dumps({"grant_type": "refresh_token", "refresh_token": o["refreshToken"],
                   "client_id": "9d1c250a-e61b-44d9-88ed-5944d1962f5e"}).encode()
req = urllib.request.Request(url, body, {"Content-Type": "application/json"})
r = json.load(urllib.request.build_opener(urllib.request.ProxyHandler({})).open(req))
o.update(accessToken=r["access_token"], refreshToken=r["refresh_token"],
         expiresAt=int((time.time() + r["expires_in"]) * 1000))
print(json.dumps(d))
PY
}

no_temp_files() {
    run sh -c 'ls -A "$1" | grep credrun-tmp' sh "$CREDS_DIR"
    assert_output ""
}

# --- the state file ---------------------------------------------------------

@test "a fresh token never touches the state file; a needed refresh reads it (a FIFO there: 66, nothing sent)" {
    mkfifo "$STATE"
    run cr sh -c 'echo ran'
    assert_success
    assert_output "ran"
    set_expiry_in -10
    run cr sh -c 'echo ran'
    assert_failure 66
    assert_output "credrun: state file $STATE is a FIFO, not a regular file: remove it (credrun writes a new one), then run again; the refresh token was not spent"
    [ "$(mockctl stats token_requests)" = 0 ]
}

# --- rate limits ------------------------------------------------------------

@test "a 429 with Retry-After starts a shared cooldown: no request and exit 75 until it ends" {
    set_expiry_in -10
    mockctl config mode=429 retry_after=2 mode_count=1
    run cr true
    assert_failure 75
    assert_output --regexp "rate limiting \(429\); shared cooldown: no refresh request before .* \(in [12] s\): try again then"
    [ "$(stat -c %a "$STATE")" = 600 ]
    [ "$(dirname "$STATE")" = "$CREDS_DIR" ]
    run grep -F "$(rt_of "$CREDS")" "$STATE"
    assert_failure
    # runs during the cooldown send nothing; the first one after it refreshes
    refused=0
    for i in $(seq 200); do
        rc=0
        cr -q --refresh 2>/dev/null || rc=$?
        [ "$rc" = 0 ] && break
        [ "$rc" = 75 ]
        refused=$((refused + 1))
        sleep 0.05
    done
    echo "# $refused runs refused during the cooldown" >&3
    [ "$rc" = 0 ]
    [ "$(mockctl stats token_requests)" = 2 ]
    [ "$(mockctl stats grants)" = 1 ]
    run mockctl check-file "$CREDS"
    assert_output live
    [ ! -e "$STATE" ]
}

@test "a Retry-After HTTP-date is honoured" {
    set_expiry_in -10
    mockctl config mode=429 retry_after="$(LC_ALL=C date -u -d '+40 sec' '+%a, %d %b %Y %H:%M:%S GMT')"
    run cr --refresh
    assert_failure 75
    assert_output --regexp "\(in (3[5-9]|40) s\)"
    left=$(cooldown_left)
    (( left >= 30 && left <= 40 ))
}

@test "without Retry-After the cooldown is 60 s less jitter, and doubles with the next 429" {
    set_expiry_in -10
    mockctl config mode=429
    run cr --refresh
    assert_failure 75
    left=$(cooldown_left)
    (( left >= 40 && left <= 60 ))
    [ "$(json_get "$STATE" "['cooldown']['backoff_step']")" = 0 ]
    end_cooldown
    run cr --refresh
    assert_failure 75
    left=$(cooldown_left)
    (( left >= 85 && left <= 120 ))
    [ "$(json_get "$STATE" "['cooldown']['backoff_step']")" = 1 ]
    [ "$(mockctl stats token_requests)" = 2 ]
}

@test "during a cooldown a still-valid token runs the command with one warning line (none with -q); --force sends nothing" {
    set_expiry_in 120
    mockctl config mode=429 retry_after=60
    run cr sh -c 'echo ran'
    assert_success
    assert_line "ran"
    assert_line --partial "shared cooldown"
    run cr sh -c 'echo ran'
    assert_success
    assert_line --index 0 --regexp "^credrun: token endpoint is rate limiting \(429\); shared cooldown: .*; running sh with the current access token \(valid 1[01][0-9] s more\)$"
    assert_line --index 1 "ran"
    [ "${#lines[@]}" = 2 ]
    run cr -q sh -c 'echo ran'
    assert_success
    assert_output "ran"
    run cr --force mockctl check-env CLAUDE_CODE_OAUTH_TOKEN
    assert_success
    assert_line live
    run cr --force --refresh
    assert_failure 75
    [ "$(mockctl stats token_requests)" = 1 ]
}

@test "a dozen callers with an expired token facing a 429: the endpoint sees one request" {
    set_expiry_in -10
    mockctl config hold=true
    for i in $(seq 12); do
        (
            rc=0
            cr true 2>"$BATS_TEST_TMPDIR/err.$i" || rc=$?
            echo "$rc" >"$BATS_TEST_TMPDIR/rc.$i"
        ) 3>&- &
    done
    # one caller's request is held by the endpoint, the other eleven wait for the lock
    mockctl wait held 1
    for i in $(seq 3000); do
        [ "$(lock_waiters)" -ge 11 ] && break
        sleep 0.01
    done
    [ "$(lock_waiters)" = 11 ]
    mockctl config mode=429
    mockctl release
    wait
    [ "$(mockctl stats token_requests)" = 1 ]
    run cat "$BATS_TEST_TMPDIR"/rc.*
    assert_output "$(printf '75\n%.0s' $(seq 12))"
    run grep -l "rate limiting (429); shared cooldown: no refresh request before" "$BATS_TEST_TMPDIR"/err.*
    [ "${#lines[@]}" = 12 ]
}

# --- 5xx and network failures -----------------------------------------------

@test "a 5xx is retried at once, and a later success is stored" {
    set_expiry_in -10
    mockctl config mode=500 mode_count=1
    run cr mockctl check-env CLAUDE_CODE_OAUTH_TOKEN
    assert_success
    assert_output live
    [ "$(mockctl stats token_requests)" = 2 ]
    [ "$(mockctl stats grants)" = 1 ]
    [ ! -e "$STATE" ]
}

@test "a lasting 5xx: three attempts, exit 69, then a short shared cooldown without requests" {
    set_expiry_in -10
    before=$(cat "$CREDS")
    mockctl config mode=500
    run cr true
    assert_failure 69
    assert_output --partial "token endpoint failed (500)"
    assert_output --partial "3 attempts made; shared cooldown: no refresh request before"
    [ "$(mockctl stats token_requests)" = 3 ]
    left=$(cooldown_left)
    (( left >= 5 && left <= 10 ))
    run cr true
    assert_failure 69
    assert_output --partial "token endpoint failed moments ago (500); shared cooldown"
    [ "$(mockctl stats token_requests)" = 3 ]
    [ "$(cat "$CREDS")" = "$before" ]
    # the cooldown over and the endpoint healed, the state file goes away
    end_cooldown
    mockctl config mode=normal
    run cr --refresh
    assert_success
    [ ! -e "$STATE" ]
}

@test "an unreachable endpoint: exit 69 and a short shared cooldown" {
    set_expiry_in -10
    run "$CREDRUN" --credentials "$CREDS" --token-url http://127.0.0.1:9/t true
    assert_failure 69
    assert_output --partial "cannot reach the token endpoint"
    assert_output --partial "shared cooldown"
    run "$CREDRUN" --credentials "$CREDS" --token-url http://127.0.0.1:9/t true
    assert_failure 69
    assert_output --partial "failed moments ago (network)"
}

@test "a request that got no answer is not sent again with the same token, and the message says what happened" {
    set_expiry_in -10
    before=$(cat "$CREDS")
    mockctl config mode=hang
    run cr --http-timeout 1 true
    assert_failure 76
    assert_output --partial "did not finish answering within 1 s"
    assert_output --partial "credrun did not send it again, and the credentials file still holds the token that was sent"
    [ "$(mockctl stats token_requests)" = 1 ]
    [ "$(cat "$CREDS")" = "$before" ]
    run cr true
    assert_failure 69
    assert_output --partial "failed moments ago (timeout)"
    [ "$(mockctl stats token_requests)" = 1 ]
}

@test "a request that got no answer while another program logged in anew: credrun adopts the new tokens" {
    set_expiry_in -10
    mockctl login >"$CREDS_DIR/other.json"
    mockctl config hold=true
    cr --http-timeout 3 mockctl check-env CLAUDE_CODE_OAUTH_TOKEN >"$BATS_TEST_TMPDIR/out" 2>&1 3>&- &
    pid=$!
    mockctl wait held 1
    mv "$CREDS_DIR/other.json" "$CREDS"
    wait "$pid"
    run cat "$BATS_TEST_TMPDIR/out"
    assert_line --partial "did not answer, but another program put new tokens in $CREDS meanwhile: using those"
    assert_line live
    [ ! -e "$STATE" ]
}

# --- invalid_grant and other 4xx ----------------------------------------------

@test "invalid_grant: exit 77, the token is quarantined by its hash, and later runs send nothing" {
    set_expiry_in -10
    rt=$(rt_of "$CREDS")
    mockctl config mode=invalid_grant mode_count=1
    run cr true
    assert_failure 77
    assert_output --partial "rejected the refresh token (invalid_grant): log in again"
    assert_output --partial "quarantined"
    [ "$(json_get "$STATE" "['quarantine']['refresh_token_sha256']")" = "$(printf %s "$rt" | sha256sum | cut -d' ' -f1)" ]
    run grep -F "$rt" "$STATE"
    assert_failure
    run cr --force true
    assert_failure 77
    assert_output --partial "is quarantined, so it is not sent again: log in again"
    [ "$(mockctl stats token_requests)" = 1 ]
    # with an access token that still works, the command runs
    set_expiry_in 120
    run cr sh -c 'echo ran'
    assert_success
    assert_line ran
    assert_line --partial "quarantined"
    [ "$(mockctl stats token_requests)" = 1 ]
}

@test "a new login lifts the quarantine without any user action" {
    set_expiry_in -10
    mockctl config mode=invalid_grant mode_count=1
    run cr true
    assert_failure 77
    [ -e "$STATE" ]
    new_login --expires-in 3600
    set_expiry_in -10
    run cr mockctl check-env CLAUDE_CODE_OAUTH_TOKEN
    assert_success
    assert_output live
    [ "$(mockctl stats grants)" = 1 ]
    [ ! -e "$STATE" ]
}

@test "invalid_grant because another program rotated the token meanwhile: credrun adopts its tokens" {
    set_expiry_in -10
    refresh_elsewhere >"$CREDS_DIR/rotated.json"
    mockctl config hold=true
    cr mockctl check-env CLAUDE_CODE_OAUTH_TOKEN >"$BATS_TEST_TMPDIR/out" 2>&1 3>&- &
    pid=$!
    mockctl wait held 1
    mv "$CREDS_DIR/rotated.json" "$CREDS"
    mockctl release
    wait "$pid"
    run cat "$BATS_TEST_TMPDIR/out"
    assert_line --partial "adopted a peer's refresh: the token endpoint rejected the refresh token, but another program put new tokens in $CREDS meanwhile: using those"
    assert_line live
    [ "$(mockctl stats invalid_grant)" = 1 ]
    [ ! -e "$STATE" ]
    run mockctl check-rt "$CREDS"
    assert_output live
}

@test "Codex's refresh_token_reused is quarantined too" {
    set_expiry_in -10
    mockctl config mode=codex_reused mode_count=1
    run cr true
    assert_failure 77
    [ "$(json_get "$STATE" "['quarantine']['error']")" = refresh_token_reused ]
    run cr true
    assert_failure 77
    [ "$(mockctl stats token_requests)" = 1 ]
}

@test "invalid_client, invalid_scope and a redirect record neither quarantine nor cooldown" {
    set_expiry_in -10
    before=$(cat "$CREDS")
    run cr --client-id wrong-client true
    assert_failure 78
    mockctl config mode=invalid_scope mode_count=1
    run cr true
    assert_failure 78
    assert_output --partial "invalid_scope"
    mockctl config mode=redirect mode_count=1
    run cr true
    assert_failure 69
    assert_output --partial "redirect"
    [ ! -e "$STATE" ]
    [ "$(cat "$CREDS")" = "$before" ]
    [ "$(mockctl stats token_requests)" = 3 ]
    run cr mockctl check-env CLAUDE_CODE_OAUTH_TOKEN
    assert_success
    assert_output live
}

# --- hostile or broken answers ----------------------------------------------

@test "a 2xx with a new refresh token but no access token: the new refresh token is stored and works" {
    set_expiry_in -10
    old_rt=$(rt_of "$CREDS")
    cp "$CREDS" "$BATS_TEST_TMPDIR/before.json"
    mockctl config mode=rotated_no_access_token mode_count=1
    run cr true
    assert_failure 76
    assert_output --partial "without a usable access_token"
    [ "$(rt_of "$CREDS")" != "$old_rt" ]
    run mockctl check-rt "$CREDS"
    assert_output live
    python3 - "$BATS_TEST_TMPDIR/before.json" "$CREDS" <<'PY'
import json, sys, time
a = json.load(open(sys.argv[1])); b = json.load(open(sys.argv[2]))
assert list(a) == list(b) and list(a["claudeAiOauth"]) == list(b["claudeAiOauth"])
assert b["claudeAiOauth"]["expiresAt"] <= time.time() * 1000, "stored as already expired"
for k in ("accessToken", "refreshToken", "expiresAt"):
    a["claudeAiOauth"].pop(k); b["claudeAiOauth"].pop(k)
assert a == b
PY
    run cr mockctl check-env CLAUDE_CODE_OAUTH_TOKEN
    assert_success
    assert_output live
    [ "$(mockctl stats invalid_grant)" = 0 ]
}

@test "an absurd or negative expires_in is clamped to one year or one second" {
    set_expiry_in -10
    mockctl config expires_in=1000000000000
    run cr --refresh
    assert_success
    exp=$(json_get "$CREDS" "['claudeAiOauth']['expiresAt']")
    now_ms=$(( $(date +%s) * 1000 ))
    (( exp > now_ms + 31535000000 && exp <= now_ms + 31536000000 + 5000 ))
    mockctl config expires_in=-50
    run cr --force --refresh
    assert_success
    exp=$(json_get "$CREDS" "['claudeAiOauth']['expiresAt']")
    now_ms=$(( $(date +%s) * 1000 ))
    (( exp > now_ms - 5000 && exp <= now_ms + 2000 ))
}

# --- never spend a token that cannot be stored ------------------------------

@test "a full file system stops the refresh before the token is spent (exit 73)" {
    unshare --mount true 2>/dev/null || skip "no mount namespaces here"
    set_expiry_in -10
    mkdir "$BATS_TEST_TMPDIR/tiny"
    run unshare --mount sh -c '
        mount -t tmpfs -o size=64k,mode=700 tmpfs "$1" || exit 99
        cp "$2" "$1/.credentials.json" && touch "$1/.credentials.json.credrun.lock"
        dd if=/dev/zero of="$1/filler" bs=4k 2>/dev/null
        rc=0
        "$3" --credentials "$1/.credentials.json" --token-url "$4" --refresh || rc=$?
        cmp -s "$2" "$1/.credentials.json" && echo "file unchanged"
        ls -A "$1" | grep -c credrun-tmp
        exit $rc' sh "$BATS_TEST_TMPDIR/tiny" "$CREDS" "$CREDRUN" "$TOKEN_URL"
    assert_failure 73
    assert_output --partial "cannot reserve space for the new credentials"
    assert_output --partial "No space left on device"
    assert_output --partial "the refresh token was not spent"
    assert_line "file unchanged"
    assert_line --index 2 0
    [ "$(mockctl stats token_requests)" = 0 ]
    run mockctl check-rt "$CREDS"
    assert_output live
}

@test "a reservation (EDQUOT) or temp file (EACCES) that cannot be had stops the refresh before the token is spent" {
    set_expiry_in -10
    cp "$CREDS" "$BATS_TEST_TMPDIR/before.json"
    run fi_cr posix_fallocate EDQUOT "..credentials.json.credrun-tmp-*" "" --refresh
    assert_failure 73
    assert_output --partial "Disk quota exceeded"
    assert_output --partial "the refresh token was not spent"
    run fi_cr openat EACCES "..credentials.json.credrun-tmp-*" "" --refresh
    assert_failure 73
    assert_output --partial "Permission denied"
    [ "$(mockctl stats token_requests)" = 0 ]
    cmp "$BATS_TEST_TMPDIR/before.json" "$CREDS"
    no_temp_files
}

@test "a write that fails after the refresh keeps the new tokens in the rescue file, and moving it back works" {
    set_expiry_in -10
    cp "$CREDS" "$BATS_TEST_TMPDIR/before.json"
    run fi_cr pwrite ENOSPC "..credentials.json.credrun-tmp-*" 1 --refresh
    assert_failure 73
    assert_output --partial "cannot write the new credentials to $CREDS (No space left on device)"
    assert_output --partial "the new tokens are saved in $CREDS.credrun-rescue: move that file over $CREDS"
    cmp "$BATS_TEST_TMPDIR/before.json" "$CREDS"
    [ "$(stat -c %a "$CREDS.credrun-rescue")" = 600 ]
    run mockctl check-rt "$CREDS.credrun-rescue"
    assert_output live
    run mockctl check-file "$CREDS.credrun-rescue"
    assert_output live
    no_temp_files
    # left where it is, the old (spent) token is refused and credrun points at the rescue file
    run cr --refresh
    assert_failure 77
    assert_output --partial "$CREDS.credrun-rescue holds tokens saved by a refresh whose write failed: move it over $CREDS first"
    mv "$CREDS.credrun-rescue" "$CREDS"
    run cr --force mockctl check-env CLAUDE_CODE_OAUTH_TOKEN
    assert_success
    assert_output live
}

@test "a rename or fsync that fails after the refresh: the reserved temp file becomes the rescue file" {
    for fault in "renameat:.credentials.json" "fsync:..credentials.json.credrun-tmp-*"; do
        new_login --expires-in 3600
        set_expiry_in -10
        rm -f "$CREDS.credrun-rescue"
        cp "$CREDS" "$BATS_TEST_TMPDIR/before.json"
        run fi_cr "${fault%%:*}" EIO "${fault#*:}" "" --refresh
        assert_failure 73
        assert_output --partial "(Input/output error); the new tokens are saved in $CREDS.credrun-rescue"
        cmp "$BATS_TEST_TMPDIR/before.json" "$CREDS"
        run mockctl check-rt "$CREDS.credrun-rescue"
        assert_output live
        no_temp_files
    done
}

# --- signals and SIGKILL ----------------------------------------------------

@test "SIGTERM or SIGHUP while the request is in flight: the new tokens are stored, then credrun dies of the signal" {
    for sig in TERM HUP; do
        set_expiry_in -10
        old_rt=$(rt_of "$CREDS")
        mockctl config hold=true
        "$CREDRUN" --credentials "$CREDS" --token-url "$TOKEN_URL" --refresh 3>&- &
        pid=$! # credrun itself, not a subshell
        mockctl wait held 1
        kill -"$sig" "$pid"
        mockctl release
        rc=0
        wait "$pid" || rc=$?
        [ "$rc" = $((128 + $(kill -l "$sig"))) ]
        [ "$(rt_of "$CREDS")" != "$old_rt" ]
        run mockctl check-rt "$CREDS"
        assert_output live
        no_temp_files
    done
    [ "$(mockctl stats grants)" = 2 ]
}

@test "kill -9 at random moments of 40 refreshes: the file is always whole, old or new, and the next run recovers" {
    check="$BATS_TEST_TMPDIR/check.py"
    cat >"$check" <<'PY'
import json, sys
old = open(sys.argv[1], "rb").read()
new = open(sys.argv[2], "rb").read()
if new == old:
    print("old"); sys.exit(0)
a, b = json.loads(old), json.loads(new)
assert list(a) == list(b) and list(a["claudeAiOauth"]) == list(b["claudeAiOauth"]), "keys changed"
for k in ("accessToken", "refreshToken"):
    assert isinstance(b["claudeAiOauth"][k], str) and b["claudeAiOauth"][k], k
    assert b["claudeAiOauth"][k] != a["claudeAiOauth"][k], k
assert isinstance(b["claudeAiOauth"]["expiresAt"], int)
for k in ("accessToken", "refreshToken", "expiresAt"):
    a["claudeAiOauth"].pop(k); b["claudeAiOauth"].pop(k)
assert a == b, "other values changed"
print("new")
PY
    declare -A seen=([old]=0 [new]=0 [spent]=0 [temp]=0)
    for i in $(seq 40); do
        cp "$CREDS" "$BATS_TEST_TMPDIR/before.json"
        mockctl config delay_ms=$((RANDOM % 40))
        "$CREDRUN" --credentials "$CREDS" --token-url "$TOKEN_URL" -q --force --refresh 3>&- &
        pid=$! # credrun itself, not a subshell
        sleep "0.$(printf %03d $((RANDOM % 80)))"
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        ls -A "$CREDS_DIR" | grep -q credrun-tmp && seen[temp]=$((seen[temp] + 1))
        kind=$(python3 "$check" "$BATS_TEST_TMPDIR/before.json" "$CREDS") || fail "iteration $i: torn file: $(cat "$CREDS")"
        # A killed run leaves Claude Code's lock directories behind; the next
        # run would wait the 60 s stale rule out (tests/80-applocks.bats).
        rmdir "$CREDS_DIR/.oauth_refresh.lock" "$(realpath "$CREDS_DIR").lock" 2>/dev/null || true
        # A killed run's spent-token marker would make the next run wait for a
        # successor that never comes (tests/87-spent.bats): age it past the bound.
        find "$CREDS.credrun.spent" -type f -regex '.*/[0-9a-f]*' -exec touch -d '-1 hour' {} + 2>/dev/null || true
        # the next run refreshes with what the file holds
        rc=0
        cr -q --force --refresh 2>"$BATS_TEST_TMPDIR/err" || rc=$?
        if [ "$rc" != 0 ]; then
            # only a token spent by the killed run, whose answer died with it, may be lost
            [ "$kind" = old ] && [ "$rc" = 77 ] || fail "iteration $i: $kind file, next run exit $rc: $(cat "$BATS_TEST_TMPDIR/err")"
            kind=spent
            new_login --expires-in 3600
        fi
        seen[$kind]=$((seen[$kind] + 1))
        run mockctl check-rt "$CREDS"
        assert_output live
        no_temp_files
    done
    echo "# old ${seen[old]}, new ${seen[new]}, spent and lost ${seen[spent]}, temp files left by a kill ${seen[temp]}" >&3
}
