#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# Signals and the applications' locks, with real processes and real signals:
# nothing lost and no lock left behind by a signal mid-refresh, SIGPIPE
# harmless, no core dump with a secret, supervise mode dying of COMMAND's
# signal, each application's own stale rule on the filesystem's clock, and
# waits that say what they wait for.

load test_helper

setup_file() {
    mock_start
    # procwait.py [--core] [--cwd DIR] [--held | --ready FILE] [--kill SIG] -- ARGV...
    # Runs ARGV (with an unlimited core limit when --core), waits for the mock
    # to hold a request (--held) or for FILE (--ready), prints "core-limit N"
    # of the process then, sends SIG, and prints how it ended: "exit N" or
    # "signal N core|nocore".
    PROCWAIT="$BATS_FILE_TMPDIR/procwait.py"
    cat > "$PROCWAIT" <<'PY'
import os, resource, signal, subprocess, sys, time
args = sys.argv[1:]
core = cwd = held = ready = kill = None
while args[0] != "--":
    a = args.pop(0)
    if a == "--core": core = True
    elif a == "--cwd": cwd = args.pop(0)
    elif a == "--held": held = True
    elif a == "--ready": ready = args.pop(0)
    elif a == "--kill": kill = getattr(signal, "SIG" + args.pop(0))
argv = args[1:]
def pre():
    # a background job's ^C and ^\ are ignored: give them back
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGQUIT, signal.SIG_DFL)
    if core:
        resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
p = subprocess.Popen(argv, cwd=cwd, preexec_fn=pre, stdin=subprocess.DEVNULL)
if held:
    subprocess.run([os.environ["MOCK_PYTHON"], os.environ["MOCKCTL"], "wait", "held", "1"], check=True)
elif ready:
    while not os.path.exists(ready) and p.poll() is None:
        time.sleep(0.01)
if held or ready:
    for line in open("/proc/%d/limits" % p.pid):
        if line.startswith("Max core file size"):
            print("core-limit", line.split()[4])
if kill:
    os.kill(p.pid, kill)
_, status = os.waitpid(p.pid, 0) if p.returncode is None else (0, p.returncode << 8 if p.returncode >= 0 else -p.returncode)
if os.WIFSIGNALED(status):
    print("signal", os.WTERMSIG(status), "core" if os.WCOREDUMP(status) else "nocore")
else:
    print("exit", os.WEXITSTATUS(status))
PY
    export PROCWAIT
}
teardown_file() { mock_stop; }
setup() {
    mockctl reset
    export XDG_CONFIG_HOME="$BATS_TEST_TMPDIR/config" XDG_CACHE_HOME="$BATS_TEST_TMPDIR/cache"
    new_login --expires-in 3600
    set_expiry_in -5
    LOCKDIR="$CREDS_DIR/.oauth_refresh.lock"
    LEGACY="$(realpath "$CREDS_DIR").lock"
    GATE="$BATS_TEST_TMPDIR/gate"
    mkfifo "$GATE"
}
teardown() {
    mockctl release >/dev/null 2>&1 || true
    kill_background KILL
    rm -rf "$LEGACY" 2>/dev/null || true
}

# Nothing a refresh leaves behind: temp files, lock directories.
nothing_left() {
    run sh -c 'ls -A "$1" | grep -e credrun-tmp -e credrun-clock -e "^\.oauth_refresh\.lock" -e "^\.storage-write\.lock"' sh "$CREDS_DIR"
    assert_output ""
    [ ! -e "$LEGACY" ] || fail "$LEGACY was left behind"
}

# Send SIG to credrun ARGS... (credrun itself, not a subshell) while the mock
# holds its refresh: it must die of SIG, with the new tokens stored and
# nothing left behind. killed_mid_refresh SIG ARGS...
killed_mid_refresh() {
    local sig=$1 old_rt pid rc=0
    shift
    set_expiry_in -5
    old_rt=$(rt_of "$CREDS")
    mockctl config hold=true
    "$CREDRUN" --credentials "$CREDS" --token-url "$TOKEN_URL" "$@" 3>&- &
    pid=$!
    mockctl wait held 1
    [ -d "$LOCKDIR" ] || fail "SIG$sig: no Claude lock directory during the refresh"
    kill -s "$sig" "$pid"
    mockctl release
    wait "$pid" || rc=$?
    [ "$rc" = $((128 + $(kill -l "$sig"))) ] || fail "SIG$sig: status $rc"
    [ "$(rt_of "$CREDS")" != "$old_rt" ] || fail "SIG$sig: the new token was lost"
    run mockctl check-rt "$CREDS"
    assert_output live
    nothing_left
}

# --- 1. SIGPIPE --------------------------------------------------------------

@test "a stderr whose reader is gone after the spend neither kills credrun nor loses the new token" {
    mkdir -p "$XDG_CONFIG_HOME/credrun"
    # an answer whose expires_in is not where the profile looks: credrun warns after the spend
    printf '[noexp]\ninherit = claude\nresponse-expires-in = lifetime\n' > "$XDG_CONFIG_HOME/credrun/profiles.conf"
    for args in "-v" "-p noexp"; do
        set_expiry_in -5
        old_rt=$(rt_of "$CREDS")
        rm -f "$BATS_TEST_TMPDIR/pipe"
        mkfifo "$BATS_TEST_TMPDIR/pipe"
        cat "$BATS_TEST_TMPDIR/pipe" > "$BATS_TEST_TMPDIR/err" 3>&- &
        reader=$!
        mockctl config hold=true
        # shellcheck disable=SC2086
        "$CREDRUN" $args --credentials "$CREDS" --token-url "$TOKEN_URL" --refresh 2> "$BATS_TEST_TMPDIR/pipe" 3>&- &
        pid=$!
        mockctl wait held 1
        kill "$reader"
        wait "$reader" || true
        mockctl release
        rc=0
        wait "$pid" || rc=$?
        [ "$rc" = 0 ] || fail "credrun $args: status $rc (141 is death by SIGPIPE)"
        [ "$(rt_of "$CREDS")" != "$old_rt" ] || fail "credrun $args: the new tokens were not stored"
        run mockctl check-rt "$CREDS"
        assert_output live
        nothing_left
    done
}

@test "COMMAND gets SIGPIPE's default back, in both modes" {
    for mode in "" "--supervise"; do
        # shellcheck disable=SC2086
        run cr $mode -- bash -c 'yes | head -n 1 > /dev/null; echo "${PIPESTATUS[0]}"'
        assert_success
        assert_output 141
    done
}

# --- 1, 2. Signals held over the critical span ---------------------------------

@test "USR1, USR2, ALRM and TERM mid-refresh: tokens stored and Claude's lock directories removed, then death by the signal" {
    # (QUIT too: see the core dump test; a background job here ignores it)
    for sig in USR1 USR2 ALRM TERM; do
        killed_mid_refresh "$sig" --refresh
    done
    # and the next run finds nothing to wait for
    set_expiry_in -5
    run cr -n --refresh
    assert_success
}

@test "supervise mode: a signal mid-refresh also waits until the tokens are stored and the lock directories removed" {
    # the sidecar dies of SIGUSR1, the supervising parent of SIGALRM: neither
    # forwards them
    killed_mid_refresh USR1 --supervise
    killed_mid_refresh ALRM --supervise -- sleep 600
}

# --- 3. Each application's own stale rule, on the filesystem's clock -----------

@test "a Claude lock directory untouched for 12 s is broken at once (Claude Code's own 10 s rule)" {
    mkdir "$LOCKDIR"
    touch -d '12 seconds ago' "$LOCKDIR"
    run cr -n --refresh
    assert_success
    assert_output --partial "removed stale lock $LOCKDIR (untouched for over 10 s)"
    [ "$(mockctl stats grants)" = 1 ]
    nothing_left
}

@test "lock ages are read on the filesystem's clock: a skewed local clock neither breaks a live lock nor keeps a stale one" {
    [ -f "$CLOCKSKEW" ] || fail "$CLOCKSKEW is missing: build it with make check"
    skewed() {
        env CLOCKSKEW_S="$1" LD_PRELOAD="$CLOCKSKEW" \
            ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
            "$CREDRUN" --credentials "$CREDS" --token-url "$TOKEN_URL" "${@:2}"
    }
    # this machine 2 minutes ahead: a lock touched just now is live
    mkdir "$LOCKDIR"
    run skewed 120 -w 0.3 --refresh
    assert_failure 75
    assert_output --partial "the application's lock $LOCKDIR is held"
    [ -d "$LOCKDIR" ]
    [ "$(mockctl stats token_requests)" = 0 ]
    # this machine 2 minutes behind: a lock untouched for 20 s is stale
    touch -d '20 seconds ago' "$LOCKDIR"
    run skewed -120 -w 5 --refresh
    assert_success
    assert_output --partial "removed stale lock $LOCKDIR"
    [ "$(mockctl stats grants)" = 1 ]
    nothing_left
}

# --- issue 13, 2. A stale lock that cannot be removed ---------------------------

@test "a stale lock directory that cannot be removed counts as held: bounded by -n and -w, no busy loop, exit 75 naming it" {
    command -v strace > /dev/null || skip "strace is not installed"
    mkdir "$LOCKDIR"
    touch "$LOCKDIR/leftover"
    touch -d '1 minute ago' "$LOCKDIR"
    run timeout 60 "$CREDRUN" --credentials "$CREDS" --token-url "$TOKEN_URL" -n --refresh
    assert_failure 75
    assert_output --partial "the application's lock $LOCKDIR is stale but cannot be removed (Directory not empty)"
    assert_output --partial "remove it (rm -r)"
    # (LeakSanitizer cannot run under ptrace)
    run timeout 60 env ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
        strace -f -qq -o "$BATS_TEST_TMPDIR/trace" -e trace=rmdir "$CREDRUN" --credentials "$CREDS" --token-url "$TOKEN_URL" -w 1.5 --refresh
    assert_failure 75
    assert_output --partial "$LOCKDIR is stale but cannot be removed"
    assert_output --partial "gave up after 1.5 s"
    assert_output --partial "waiting for the application's lock $LOCKDIR: it cannot be removed"
    tries=$(grep -c 'rmdir(' "$BATS_TEST_TMPDIR/trace")
    (( tries < 100 )) || fail "$tries rmdir calls in 1.5 s: a busy loop"
    [ "$(mockctl stats token_requests)" = 0 ]
    # a regular file in its place
    rm -r "$LOCKDIR"
    touch -d '1 minute ago' "$LOCKDIR"
    run timeout 60 "$CREDRUN" --credentials "$CREDS" --token-url "$TOKEN_URL" -w 0.5 --refresh
    assert_failure 75
    assert_output --partial "$LOCKDIR is stale but cannot be removed (Not a directory); it is not a directory: remove it (rm)"
    rm "$LOCKDIR"
    run cr -n --refresh
    assert_success
}

# --- 4. Waits that speak --------------------------------------------------------

@test "a wait over 1 s for credrun's own lock says who holds it; when -w runs out, after how long" {
    flock "$CREDS.credrun.lock" sh -c 'echo in > "$1"; read x < "$2"' sh "$BATS_TEST_TMPDIR/in" "$GATE" 3>&- &
    holder=$!
    wait_file "$BATS_TEST_TMPDIR/in"
    run cr -w 1.5 true
    assert_failure 75
    assert_line --partial "waiting for lock $CREDS.credrun.lock, held by another process, PID $holder (flock, running since "
    assert_line --partial "lock $CREDS.credrun.lock is held by another process, PID $holder (flock"
    assert_line --partial "gave up after 1.5 s"
    run cr -q -w 1.2 true
    assert_failure 75
    assert_output ""
    # a wait that ends well said so once, and goes on
    cr true 2> "$BATS_TEST_TMPDIR/err" 3>&- &
    pid=$!
    wait_file "$BATS_TEST_TMPDIR/err" "waiting for lock $CREDS.credrun.lock, held by another process, PID $holder" partial
    echo go > "$GATE"
    wait "$pid"
    [ "$(grep -c waiting "$BATS_TEST_TMPDIR/err")" = 1 ]
}

@test "a wait over 1 s for an application's lock says what is held and since when; the cap or -w says after how long" {
    mkdir "$LOCKDIR"
    cr --refresh 2> "$BATS_TEST_TMPDIR/err" 3>&- &
    pid=$!
    wait_file "$BATS_TEST_TMPDIR/err" "waiting for the application's lock $LOCKDIR, held" partial
    grep -q "taken for stale after 10 s untouched" "$BATS_TEST_TMPDIR/err"
    [ "$(mockctl stats token_requests)" = 0 ]
    rmdir "$LOCKDIR"
    wait "$pid"
    [ "$(mockctl stats grants)" = 1 ]
    # ECA's fcntl lock, held by a process /proc/locks names
    export XDG_CACHE_HOME="$BATS_TEST_TMPDIR/cache"
    mkdir -p "$XDG_CACHE_HOME/eca"
    db="$XDG_CACHE_HOME/eca/db.transit.json"
    python3 -c '
import fcntl, sys
f = open(sys.argv[1], "a")
fcntl.lockf(f, fcntl.LOCK_EX)
open(sys.argv[2], "w").close()
open(sys.argv[3]).read()' "$db.lock" "$BATS_TEST_TMPDIR/in" "$GATE" 3>&- &
    holder=$!
    wait_file "$BATS_TEST_TMPDIR/in"
    echo '["^ ","~:auth",["^ ","anthropic",["^ ","~:api-key","a","~:refresh-token","r","~:expires-at",'"$(($(date +%s) - 10))"']]]' > "$db"
    run "$CREDRUN" -p eca --token-url "$TOKEN_URL" -w 1.5 --refresh
    assert_failure 75
    assert_line --partial "waiting for the application's lock $db.lock, held by PID $holder (python3, running since "
    assert_line --partial "the application's lock $db.lock is held by PID $holder"
    assert_line --partial "gave up after 1.5 s"
    echo go > "$GATE"
}

# --- 5. No core dumps with secrets ----------------------------------------------

@test "no core dump mid-refresh or from the supervising parent, even under ulimit -c unlimited; COMMAND keeps its core limit" {
    # SIGILL: a crash that AddressSanitizer leaves alone, as it does the core
    # limit with disable_coredump=0
    export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}disable_coredump=0"
    mkdir "$BATS_TEST_TMPDIR/cwd"
    mockctl config hold=true
    run python3 "$PROCWAIT" --core --cwd "$BATS_TEST_TMPDIR/cwd" --held --kill ILL -- \
        "$CREDRUN" --credentials "$CREDS" --token-url "$TOKEN_URL" --refresh
    assert_line "core-limit 0"
    assert_line "signal 4 nocore"
    mockctl release
    rm -r "$LOCKDIR" "$LEGACY" # a crash leaves them, as SIGKILL does
    # SIGQUIT (^\) is held until the new tokens are stored, then ends the run without a core
    new_login --expires-in 3600
    set_expiry_in -5
    mockctl config hold=true
    python3 "$PROCWAIT" --core --cwd "$BATS_TEST_TMPDIR/cwd" --held --kill QUIT -- \
        "$CREDRUN" --credentials "$CREDS" --token-url "$TOKEN_URL" --refresh > "$BATS_TEST_TMPDIR/quit" 3>&- &
    mockctl wait held 1
    wait_file "$BATS_TEST_TMPDIR/quit" "core-limit 0"
    mockctl release
    wait
    run cat "$BATS_TEST_TMPDIR/quit"
    assert_line "signal 3 nocore"
    run mockctl check-rt "$CREDS"
    assert_output live
    nothing_left
    new_login --expires-in 3600
    run python3 "$PROCWAIT" --core --cwd "$BATS_TEST_TMPDIR/cwd" --ready "$BATS_TEST_TMPDIR/ready" --kill ILL -- \
        "$CREDRUN" --credentials "$CREDS" --token-url "$TOKEN_URL" --supervise -- \
        sh -c 'ulimit -c > "$1.tmp"; mv "$1.tmp" "$1"; exec sleep 600' sh "$BATS_TEST_TMPDIR/ready"
    assert_line "core-limit 0"
    assert_line "signal 4 nocore"
    [ "$(cat "$BATS_TEST_TMPDIR/ready")" = unlimited ]
    run ls -A "$BATS_TEST_TMPDIR/cwd"
    assert_output ""
    run python3 "$PROCWAIT" --core -- "$CREDRUN" --credentials "$CREDS" --token-url "$TOKEN_URL" -- sh -c 'ulimit -c; ulimit -Hc'
    assert_output "$(printf 'unlimited\nunlimited\nexit 0')"
}

# --- 6. Supervise mode dies of COMMAND's signal ---------------------------------

@test "supervise mode dies of the signal that killed COMMAND, so the shell sees the same signal, core dumps still off" {
    mkdir "$BATS_TEST_TMPDIR/cwd"
    for sig in TERM INT HUP QUIT KILL; do
        run python3 "$PROCWAIT" --core --cwd "$BATS_TEST_TMPDIR/cwd" -- \
            "$CREDRUN" --credentials "$CREDS" --token-url "$TOKEN_URL" --supervise -- sh -c "ulimit -c 0; kill -$sig \$\$"
        assert_output "signal $(kill -l "$sig") nocore"
    done
    run python3 "$PROCWAIT" -- "$CREDRUN" --credentials "$CREDS" --token-url "$TOKEN_URL" --supervise -- sh -c 'exit 3'
    assert_output "exit 3"
    run ls -A "$BATS_TEST_TMPDIR/cwd"
    assert_output ""
}
