#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# The real OpenAI Codex CLI (npm @openai/codex, pinned in tests/real/package.json)
# under credrun, offline: its refresh goes to the mock's token endpoint
# (CODEX_REFRESH_TOKEN_URL_OVERRIDE), its model calls to the mock's Responses
# API, and everything else to a closed loopback port.
#
# Codex 0.171.0 refreshes by itself when its access token's JWT exp is less
# than 300 s away, and several Codex processes then race each other. credrun
# keeps it out of that window: with -m 320, credrun always refreshes first.
# Token requests are told apart by User-Agent: credrun/VERSION for credrun's,
# codex_exec/0.171.0 (...) for Codex's own. See NOTES-codex.md.

load test_helper
load real/interop

CODEX_CLIENT_ID=app_EMoamEEZ73f0CkXaXp7hrann

setup_file() { mock_start; }
teardown_file() { mock_stop; }

setup() {
    [ -z "${CREDRUN_SKIP_REAL:-}" ] || skip "CREDRUN_SKIP_REAL is set"
    mockctl reset
    mockctl config access_format=jwt client_id="$CODEX_CLIENT_ID" revoke_family_on_reuse=true
    export HOME="$BATS_TEST_TMPDIR/home"
    export CODEX_HOME="$HOME/.codex"
    AUTH="$CODEX_HOME/auth.json"
    mkdir -p "$CODEX_HOME"
    # Keep the login in auth.json (no keyring); the model provider is the
    # mock's Responses API; ChatGPT's backend (models, apps) a closed port.
    cat > "$CODEX_HOME/config.toml" <<EOF
cli_auth_credentials_store = "file"
check_for_update_on_startup = false
chatgpt_base_url = "http://127.0.0.1:1/backend-api/"
model_provider = "mock"
model = "gpt-5"

[model_providers.mock]
name = "credrun mock"
base_url = "$MOCK_URL/v1"
wire_api = "responses"
requires_openai_auth = true
request_max_retries = 0
stream_max_retries = 0
supports_websockets = false
EOF
    export CODEX_REFRESH_TOKEN_URL_OVERRIDE="$MOCK_URL/oauth/token"
    # Anything not sent to loopback goes to a closed port: nothing leaves the machine.
    export HTTPS_PROXY=http://127.0.0.1:1 HTTP_PROXY=http://127.0.0.1:1 ALL_PROXY=http://127.0.0.1:1
    export https_proxy=$HTTPS_PROXY http_proxy=$HTTP_PROXY all_proxy=$ALL_PROXY
    export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
    unset OPENAI_API_KEY CODEX_API_KEY
}
teardown() { kill_background; }

# Skip unless the pinned Codex runs here.
need_codex() {
    command -v node >/dev/null 2>&1 || skip "node is not installed: the real Codex needs Node.js and npm"
    command -v npm >/dev/null 2>&1 || skip "npm is not installed: run npm install in tests/real"
    CODEX=$(real_client codex)
    [ -x "$CODEX" ] || skip "Codex is not installed: run npm install in tests/real ($CODEX)"
    "$CODEX" --version >/dev/null 2>&1 || skip "Codex does not run here"
}

need_strace() {
    command -v strace >/dev/null 2>&1 || skip "strace is not installed"
}

# A Codex login from the mock, with tokens that expire in $1 seconds, and
# refreshed ones in $2 (default: $1).
codex_login() {
    mockctl config expires_in="${2:-$1}"
    mockctl login --format codex --expires-in "$1" > "$AUTH"
    chmod 600 "$AUTH"
}

crx() {
    "$CREDRUN" -p codex --token-url "$MOCK_URL/oauth/token" "$@"
}

codex_exec() {
    "$CODEX" exec --skip-git-repo-check "say hi" </dev/null
}

# Exits non-zero unless FILE is Codex's auth.json with every key Codex wrote.
AUTH_CHECK='
import json, sys
d = json.load(open(sys.argv[1]))
t = d["tokens"]
for k in ("id_token", "access_token", "refresh_token", "account_id"):
    assert isinstance(t[k], str) and t[k], k
assert "OPENAI_API_KEY" in d and isinstance(d["last_refresh"], str)
'

# Read auth.json every 20 ms until $1 exists; each read that does not parse
# or lost a key appends a line to $2.
start_auth_sampler() {
    python3 - "$AUTH" "$1" "$2" <<PY 3>&- &
import json, os, sys, time
auth, stop, bad = sys.argv[1:4]
check = compile('''$AUTH_CHECK''', "check", "exec")
while not os.path.exists(stop):
    try:
        sys.argv = ["", auth]
        exec(check, {})
    except Exception as e:
        with open(bad, "a") as f:
            f.write("%s: %r\n" % (time.strftime("%T"), e))
    time.sleep(0.02)
PY
    SAMPLER=$!
}

# One loop of `codex exec` until the mock has made $2 grants or 50 s (or
# $LOOP_SECONDS) have
# passed; each run's status and output go to $1.N. With $3 = credrun, each
# run is `credrun -p codex -m 320 -- codex exec`; else codex exec alone.
exec_loop() {
    local out=$1 target=$2 n=0 deadline=$((SECONDS + ${LOOP_SECONDS:-50}))
    local -a pre=()
    [ "${3:-}" = credrun ] && pre=("$CREDRUN" -p codex --token-url "$MOCK_URL/oauth/token" -m 320 --)
    while [ "$SECONDS" -lt "$deadline" ] && \
          [ "$("$MOCK_PYTHON" "$MOCKCTL" stats grants)" -lt "$target" ]; do
        n=$((n + 1))
        "${pre[@]}" "$CODEX" exec --skip-git-repo-check "say hi" </dev/null > "$out.$n" 2>&1
        echo "status $?" >> "$out.$n"
        python3 -c "$AUTH_CHECK" "$AUTH" 2>> "$out.bad" || echo "run $n: auth.json broken" >> "$out.bad"
    done
}

# What every concurrent run must show: all runs answered, no refresh token
# reused, none of Codex's own token requests, several of credrun's.
assert_codex_kept_out() {
    local min_grants=$1 runs
    run mockctl agents
    echo "token requests by User-Agent:"$'\n'"$output"
    local own=$(mockctl ua-count --other-than credrun/) reused=$(mockctl stats invalid_grant)
    interop_note codex kept "$([ "$own$reused" = 00 ] && echo yes || echo no): $own token requests of its own, $(mockctl ua-count credrun/) by credrun, $reused invalid_grant (${BATS_TEST_DESCRIPTION%%:*})"
    [ "$(mockctl stats invalid_grant)" = 0 ] || fail "invalid_grant: $(mockctl stats invalid_grant)"
    [ "$(mockctl ua-count --other-than credrun/)" = 0 ] || fail "Codex sent token requests of its own"
    [ "$(mockctl ua-count credrun/)" -ge "$min_grants" ] || fail "credrun refreshed only $(mockctl ua-count credrun/) times"
    [ "$(mockctl stats grants)" -ge "$min_grants" ]
    [ "$(mockctl stats api_dead)" = 0 ] || fail "the Responses API saw a dead token"
    runs=$(cat "$BATS_TEST_TMPDIR"/run.*.* | grep -c '^status ')
    [ "$runs" -ge 3 ]
    [ "$(cat "$BATS_TEST_TMPDIR"/run.*.* | grep -c '^status 0$')" = "$runs" ] || {
        grep -L '^status 0$' "$BATS_TEST_TMPDIR"/run.*.* | head -1 | xargs cat; fail "a codex run failed"; }
    [ "$(mockctl stats api_requests)" -ge "$runs" ]
    [ ! -s "$BATS_TEST_TMPDIR/bad" ] || fail "auth.json did not parse or lost a key: $(head -3 "$BATS_TEST_TMPDIR/bad")"
    python3 -c "$AUTH_CHECK" "$AUTH"
    [ "$(stat -c %a "$AUTH")" = 600 ]
}

@test "control: with a token inside its 300 s window and -m below it, the real codex refreshes by itself (seen by User-Agent)" {
    need_codex
    # Refreshed tokens live an hour: a 295 s one would put Codex straight
    # back in its window, and it then races itself even in one process.
    codex_login 295 3600
    run crx -q -m 250 -- "$CODEX" exec --skip-git-repo-check "say hi" </dev/null
    assert_success
    assert_output --partial "credrun-mock-reply"
    [ "$(mockctl ua-count credrun/)" = 0 ]
    [ "$(mockctl ua-count codex_)" -ge 1 ]
}

@test "three codex processes left inside their 300 s window race each other and reuse a refresh token (what credrun keeps them from)" {
    need_codex
    # Refreshed tokens last 295 s too: each process stays inside its window.
    codex_login 295
    local -a pids=()
    for i in 1 2 3; do
        (
            while [ ! -e "$BATS_TEST_TMPDIR/go" ]; do sleep 0.01; done
            exec "$CODEX" exec --skip-git-repo-check "say hi" </dev/null > "$BATS_TEST_TMPDIR/race.$i" 2>&1
        ) 3>&- &
        pids+=($!)
    done
    touch "$BATS_TEST_TMPDIR/go"
    for p in "${pids[@]}"; do wait "$p" || true; done
    own=$(mockctl ua-count codex_) reused=$(mockctl stats invalid_grant)
    interop_note codex races "$([ "$reused" -gt 0 ] && echo yes || echo no): 3 processes inside the window sent $own token requests, $reused refused as reused"
    [ "$(mockctl ua-count credrun/)" = 0 ]
    [ "$own" -ge 2 ] || fail "codex sent $own token requests"
    # the pinned version races; make interop reports whatever a new one does
    [ -n "${CREDRUN_INTEROP_NOTES:-}" ] || [ "$reused" -gt 0 ] || fail "codex did not race itself"
}

@test "exec mode: 3 concurrent loops of credrun -p codex -m 320 -- codex exec: codex never refreshes, credrun rotates, nothing is reused" {
    need_codex
    # 323 s tokens and -m 320: credrun refreshes every ~3 s, always before
    # Codex's 300 s window (a codex exec here takes ~2 s).
    codex_login 323
    start_auth_sampler "$BATS_TEST_TMPDIR/stop" "$BATS_TEST_TMPDIR/bad"
    for i in 1 2 3; do
        exec_loop "$BATS_TEST_TMPDIR/run.$i" 4 credrun 3>&- &
    done
    for p in $(jobs -p); do [ "$p" = "$SAMPLER" ] || wait "$p"; done
    touch "$BATS_TEST_TMPDIR/stop"
    wait "$SAMPLER"
    cat "$BATS_TEST_TMPDIR"/run.*.bad >> "$BATS_TEST_TMPDIR/bad" 2>/dev/null || true
    assert_codex_kept_out 4
}

@test "supervise mode: one long credrun --supervise -p codex -m 320 run keeps 3 codex loops out of codex's window" {
    need_codex
    codex_login 323
    start_auth_sampler "$BATS_TEST_TMPDIR/stop" "$BATS_TEST_TMPDIR/bad"
    export -f exec_loop
    export AUTH_CHECK AUTH CODEX MOCK_PYTHON TMPD="$BATS_TEST_TMPDIR" LOOP_SECONDS=55
    # Inside the supervised command the loops run codex directly: only the
    # one supervising credrun refreshes.
    run --separate-stderr crx -m 320 --supervise -- bash -c '
        for i in 1 2 3; do exec_loop "$TMPD/run.$i" 3 & done
        wait' 3>&-
    touch "$BATS_TEST_TMPDIR/stop"
    wait "$SAMPLER"
    echo "$stderr"
    assert_success
    cat "$BATS_TEST_TMPDIR"/run.*.bad >> "$BATS_TEST_TMPDIR/bad" 2>/dev/null || true
    assert_codex_kept_out 3
}

# --- needs a change in src/: the warning does not exist yet ---------------

@test "-p codex with --min-validity at or below Codex's 300 s window warns once, saying why" {
    codex_login 3600
    for m in 250 300; do
        run --separate-stderr crx -m "$m" -- true
        assert_success
        echo "-m $m: $stderr"
        [ "$(grep -c 'credrun: ' <<<"$stderr")" = 1 ] || fail "-m $m: expected exactly one warning"
        grep -q '300' <<<"$stderr"
        grep -qi 'codex' <<<"$stderr"
    done
    run --separate-stderr crx -m 301 -- true
    assert_success
    [ -z "$stderr" ] || fail "-m 301 warned: $stderr"
    run --separate-stderr crx -q -m 250 -- true
    [ -z "$stderr" ] || fail "-q still warned: $stderr"
}

# --- Codex's own write locks (a `flock` lock kind in the codex profile) ---

@test "the pinned codex takes auth.lock (LOCK_EX), then auth.json.lock (LOCK_EX|LOCK_NB), after its refresh request and before its rename" {
    need_codex
    need_strace
    codex_login 200 3600
    port=${MOCK_URL##*:}
    strace -f -tt -e trace=flock,open,openat,rename,renameat,renameat2,connect \
        -o "$BATS_TEST_TMPDIR/strace" "$CODEX" exec --skip-git-repo-check "say hi" </dev/null >/dev/null 2>&1
    [ "$(mockctl ua-count codex_)" = 1 ]
    run python3 - "$BATS_TEST_TMPDIR/strace" "$CODEX_HOME" "$port" <<'PY'
import re, sys
path, home, port = sys.argv[1:4]
lines = open(path).read().splitlines()
def first(pred, start=0):
    for i in range(start, len(lines)):
        if pred(lines[i]):
            return i
    sys.exit("not found after line %d" % start)
fd = lambda l: re.search(r"= (\d+)$", l).group(1)
i_lock = first(lambda l: '"%s/auth.lock"' % home in l and "O_CREAT" in l)
pid = lines[i_lock].split()[0]
f1 = fd(lines[i_lock])
i_ex = first(lambda l: l.startswith(pid + " ") and "flock(%s, LOCK_EX)" % f1 in l, i_lock)
i_jlock = first(lambda l: '"%s/auth.json.lock"' % home in l and "O_CREAT" in l, i_ex)
f2 = fd(lines[i_jlock])
i_nb = first(lambda l: l.startswith(pid + " ") and "flock(%s, LOCK_EX|LOCK_NB) = 0" % f2 in l, i_jlock)
i_ren = first(lambda l: re.search(r'rename\w*\(.*["/]auth\.json"[,)]', l), i_nb)
conns = [i for i, l in enumerate(lines) if "connect(" in l and "htons(%s)" % port in l]
assert conns and conns[0] < i_lock, "the refresh request is sent before the locks"
def t(i):
    h, m, sec = lines[i].split()[1].split(":")
    return (int(h) * 60 + int(m)) * 60 + float(sec)
req = t(conns[0])
print("after its refresh request: flock auth.lock LOCK_EX +%.0f ms, auth.json.lock LOCK_EX|LOCK_NB +%.0f ms, "
      "rename onto auth.json +%.0f ms" % ((t(i_ex) - req) * 1000, (t(i_nb) - req) * 1000, (t(i_ren) - req) * 1000))
PY
    echo "$output"
    assert_success
    interop_note codex locks "$output"
}

# credrun under strace: it holds auth.lock, then auth.json.lock, from before its
# token request until after its rename of auth.json.
@test "credrun -p codex holds auth.lock then auth.json.lock around its refresh and its rename of auth.json" {
    need_strace
    codex_login 200
    port=${MOCK_URL##*:}
    strace -f -e trace=flock,open,openat,rename,renameat,renameat2,connect,close \
        -o "$BATS_TEST_TMPDIR/strace" "$CREDRUN" -p codex --token-url "$MOCK_URL/oauth/token" --refresh
    [ "$(mockctl stats grants)" = 1 ]
    python3 - "$BATS_TEST_TMPDIR/strace" "$CODEX_HOME" "$port" <<'PY'
import re, sys
path, home, port = sys.argv[1:4]
lines = open(path).read().splitlines()
def first(pred, start=0, what=""):
    for i in range(start, len(lines)):
        if pred(lines[i]):
            return i
    sys.exit("credrun never did: %s" % what)
fd = lambda l: re.search(r"= (\d+)$", l).group(1)
i_lock = first(lambda l: re.search(r'open(at)?\(.*["/]auth\.lock".* = \d+$', l),
               what="open auth.lock")
f1 = fd(lines[i_lock])
i_ex = first(lambda l: re.search(r"flock\(%s, LOCK_EX(\|LOCK_NB)?\)\s+= 0" % f1, l), i_lock, "flock auth.lock")
i_jlock = first(lambda l: re.search(r'open(at)?\(.*["/]auth\.json\.lock".* = \d+$', l), i_ex,
                "open auth.json.lock after auth.lock")
f2 = fd(lines[i_jlock])
i_nb = first(lambda l: re.search(r"flock\(%s, LOCK_EX(\|LOCK_NB)?\)\s+= 0" % f2, l), i_jlock, "flock auth.json.lock")
i_conn = first(lambda l: "connect(" in l and "htons(%s)" % port in l, what="connect to the mock")
i_ren = first(lambda l: re.search(r'rename\w*\(.*["/]auth\.json"[,)]', l), what="rename onto auth.json")
assert i_nb < i_conn, "the token request was sent before Codex's locks were held"
assert i_conn < i_ren
for f, name, i in ((f1, "auth.lock", i_ex), (f2, "auth.json.lock", i_nb)):
    rel = [j for j in range(i + 1, len(lines))
           if re.search(r"(flock\(%s, LOCK_UN\)|close\(%s\))" % (f, f), lines[j])]
    assert not rel or rel[0] > i_ren, "%s released before the rename" % name
PY
    python3 -c "$AUTH_CHECK" "$AUTH"
}

@test "while something holds Codex's auth.lock, credrun -p codex waits for it before it refreshes or writes auth.json" {
    command -v flock >/dev/null || skip "flock(1) is not installed"
    [ "$(uname -m)" = x86_64 ] || skip "the barrier reads x86_64 syscall numbers"
    codex_login 200
    before=$(sha256sum < "$AUTH")
    touch "$CODEX_HOME/auth.lock"
    exec {holder}>"$CODEX_HOME/auth.lock"
    flock -x "$holder"
    # exec: $! is credrun itself, not the subshell a backgrounded function runs in
    (exec "$CREDRUN" -p codex --token-url "$MOCK_URL/oauth/token" --refresh) 3>&- {holder}>&- &
    pid=$!
    # Barrier: credrun has auth.lock open and is blocked in flock(2) or in a
    # sleep between tries (x86_64 syscalls 73, 35, 230).
    for ((i = 0; i < 3000; i++)); do
        case "$(cut -d' ' -f1 /proc/$pid/syscall 2>/dev/null)" in 73 | 35 | 230)
            readlink /proc/$pid/fd/* 2>/dev/null | grep -q '/auth\.lock$' && break ;;
        esac
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.01
    done
    kill -0 "$pid" 2>/dev/null || { exec {holder}>&-; fail "credrun did not wait for auth.lock"; }
    [ "$(mockctl stats token_requests)" = 0 ] || fail "credrun sent its refresh while Codex's lock was held"
    [ "$(sha256sum < "$AUTH")" = "$before" ] || fail "credrun wrote auth.json while Codex's lock was held"
    exec {holder}>&-
    wait "$pid"
    [ "$(mockctl stats grants)" = 1 ]
    [ "$(sha256sum < "$AUTH")" != "$before" ]
    python3 -c "$AUTH_CHECK" "$AUTH"
}

@test "with -n, credrun -p codex exits 75 when Codex's auth.lock is busy, and spends no refresh token" {
    command -v flock >/dev/null || skip "flock(1) is not installed"
    codex_login 200
    before=$(sha256sum < "$AUTH")
    run flock -x "$CODEX_HOME/auth.lock" "$CREDRUN" -p codex --token-url "$MOCK_URL/oauth/token" -n --refresh
    [ "$status" = 75 ] || fail "status $status, expected 75: $output"
    [ "$(mockctl stats token_requests)" = 0 ]
    [ "$(sha256sum < "$AUTH")" = "$before" ]
    run flock -x "$CODEX_HOME/auth.lock" "$CREDRUN" -p codex --token-url "$MOCK_URL/oauth/token" -w 0.3 --refresh
    [ "$status" = 75 ] || fail "-w 0.3: status $status, expected 75: $output"
    [ "$(mockctl stats token_requests)" = 0 ]
}

@test "while something holds only auth.json.lock, credrun -p codex retries its LOCK_NB within -w and refreshes once it is free" {
    command -v flock >/dev/null || skip "flock(1) is not installed"
    codex_login 200
    exec {holder}>"$CODEX_HOME/auth.json.lock"
    flock -x "$holder"
    (exec "$CREDRUN" -p codex --token-url "$MOCK_URL/oauth/token" -w 60 --refresh) 3>&- {holder}>&- &
    pid=$!
    # Barrier: credrun holds auth.lock and has auth.json.lock open, retrying.
    for ((i = 0; i < 3000; i++)); do
        readlink /proc/$pid/fd/* 2>/dev/null | grep -q '/auth\.json\.lock$' && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.01
    done
    kill -0 "$pid" 2>/dev/null || { exec {holder}>&-; fail "credrun did not wait for auth.json.lock"; }
    run flock -n "$CODEX_HOME/auth.lock" true
    [ "$status" = 1 ] || { exec {holder}>&-; fail "credrun did not hold auth.lock while it waited"; }
    [ "$(mockctl stats token_requests)" = 0 ] || fail "credrun sent its refresh while auth.json.lock was held"
    exec {holder}>&-
    wait "$pid"
    [ "$(mockctl stats grants)" = 1 ]
    python3 -c "$AUTH_CHECK" "$AUTH"
    # and -w bounds the retries
    run flock -x "$CODEX_HOME/auth.json.lock" "$CREDRUN" -p codex --token-url "$MOCK_URL/oauth/token" -w 0.3 --refresh
    [ "$status" = 75 ] || fail "-w 0.3: status $status, expected 75: $output"
    [ "$(mockctl stats token_requests)" = 1 ]
}
