#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# Supervise mode with real processes, signals and terminals: the parent keeps
# short-lived tokens fresh while COMMAND runs, forwards signals sent to it,
# leaves the terminal's own signals alone, returns COMMAND's status, leaves
# no orphan, and sleeps while there is nothing to do.

load test_helper

setup_file() {
    mock_start
    # A command that records every signal it gets (one line each) and says
    # when it is ready ("PID PPID"); it exits with CODE on signal EXIT_ON.
    SIGCHILD="$BATS_FILE_TMPDIR/sigchild.py"
    cat > "$SIGCHILD" <<'PY'
import os, signal, sys
out, ready = sys.argv[1], sys.argv[2]
exit_on = sys.argv[3] if len(sys.argv) > 3 else None
code = int(sys.argv[4]) if len(sys.argv) > 4 else 0
def record(sig, frame):
    name = signal.Signals(sig).name[3:]
    fd = os.open(out, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    os.write(fd, (name + "\n").encode())
    os.close(fd)
    if name == exit_on:
        sys.exit(code)
for s in ("INT", "TERM", "HUP", "QUIT", "USR1", "USR2", "WINCH", "CONT"):
    signal.signal(getattr(signal, "SIG" + s), record)
with open(ready + ".tmp", "w") as f:
    f.write("%d %d\n" % (os.getpid(), os.getppid()))
os.rename(ready + ".tmp", ready)
while True:
    signal.pause()
PY
    export SIGCHILD
}
teardown_file() { mock_stop; }
setup() {
    mockctl reset
    new_login --expires-in 3600
    OUT="$BATS_TEST_TMPDIR/signals"
    READY="$BATS_TEST_TMPDIR/ready"
    GATE="$BATS_TEST_TMPDIR/gate"
    mkfifo "$GATE"
}
# A failed test must not leave a supervisor, a command or a terminal behind.
teardown() {
    if [ -n "${TMUX_SOCK:-}" ]; then tmux -S "$TMUX_SOCK" kill-server 2>/dev/null || true; fi
    if [ -s "$READY" ]; then kill -KILL "$(cut -d' ' -f1 "$READY")" 2>/dev/null || true; fi
    kill_background KILL
}


# Wait until process $1 is gone (or, with $2 = T, stopped).
wait_proc() {
    local i state
    for ((i = 0; i < 3000; i++)); do
        state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)
        if [ "${2:-gone}" = gone ]; then [ -z "$state" ] || [ "$state" = Z ] && return 0
        elif [ "$state" = "$2" ]; then return 0; fi
        sleep 0.01
    done
    fail "timed out waiting for process $1 to be ${2:-gone}"
}

child_pid() { cut -d' ' -f1 "$READY"; }
# cr, but replacing the subshell a background function runs in, so that $! is
# credrun's own pid.
cr_bg() { exec "$CREDRUN" --credentials "$CREDS" --token-url "$TOKEN_URL" "$@"; }

@test "usage: --supervise excludes --refresh and the eca profile, --no-kill-on-exit needs --supervise" {
    run cr --supervise --refresh
    assert_failure 64
    assert_output --partial "exclude each other"
    run cr --no-kill-on-exit true
    assert_failure 64
    assert_output --partial "needs --supervise"
    # ECA keeps its tokens in memory: a refresh while it runs would be lost
    run cr -p eca --supervise true
    assert_failure 64
    assert_output --partial "cannot be used with profile eca"
    run cr -p eca --supervise
    assert_failure 64
}

@test "a command that runs for several 3 s token lifetimes always finds a live token in the file" {
    mockctl config expires_in=3
    new_login --expires-in 3
    run cr --supervise -m 2 -- bash -c 'for i in $(seq 10); do "$0" check-file "$1" || true; sleep 1; done' "$MOCKCTL" "$CREDS"
    assert_success
    [ "$(grep -c '^live$' <<< "$output")" = 10 ]
    refute_output --partial dead
    (( $(mockctl stats grants) >= 2 ))
    [ "$(mockctl stats invalid_grant)" = 0 ]
}

@test "the same with --lock-scope refresh, where each check takes the lock anew" {
    mockctl config expires_in=3
    new_login --expires-in 3
    run cr --supervise --lock-scope refresh -m 2 -- bash -c 'for i in $(seq 6); do "$0" check-file "$1" || true; sleep 1; done' "$MOCKCTL" "$CREDS"
    assert_success
    [ "$(grep -c '^live$' <<< "$output")" = 6 ]
    (( $(mockctl stats grants) >= 2 ))
}

@test "supervise mode exports no token unless --env NAME is given" {
    run cr --supervise -- sh -c 'echo "${CLAUDE_CODE_OAUTH_TOKEN:-unset}"'
    assert_success
    assert_output unset
    run cr --supervise --env TOK -- "$MOCKCTL" check-env TOK
    assert_success
    assert_output live
    CLAUDE_CODE_OAUTH_TOKEN=stale run --separate-stderr cr --supervise -- sh -c 'echo "$CLAUDE_CODE_OAUTH_TOKEN"'
    assert_success
    assert_output stale
    [[ "$stderr" == *"CLAUDE_CODE_OAUTH_TOKEN is set in the environment"* ]]
}

@test "SIGTERM, SIGINT and SIGHUP sent to credrun reach the command once, and its status comes back" {
    for sig in TERM INT HUP; do
        rm -f "$OUT" "$READY"
        cr_bg --supervise -- python3 "$SIGCHILD" "$OUT" "$READY" "$sig" 42 3>&- &
        pid=$!
        wait_file "$READY"
        [ "$(cut -d' ' -f2 "$READY")" = "$pid" ]
        kill -s "$sig" "$pid"
        rc=0
        wait "$pid" || rc=$?
        [ "$rc" = 42 ] || fail "SIG$sig: status $rc, want 42"
        [ "$(cat "$OUT")" = "$sig" ] || fail "SIG$sig: the command saw $(cat "$OUT")"
    done
}

@test "SIGUSR1, SIGUSR2, SIGQUIT and SIGWINCH are forwarded too" {
    cr_bg --supervise -- python3 "$SIGCHILD" "$OUT" "$READY" WINCH 0 3>&- &
    pid=$!
    wait_file "$READY"
    for sig in USR1 USR2 QUIT; do
        kill -s "$sig" "$pid"
        wait_file "$OUT" "$sig"
    done
    kill -s WINCH "$pid"
    wait "$pid"
    [ "$(tr '\n' ' ' < "$OUT")" = "USR1 USR2 QUIT WINCH " ]
}

@test "a command killed by SIGKILL gives 137, and a failing command's status is returned" {
    run cr --supervise -- sh -c 'kill -KILL $$'
    assert_failure 137
    run cr --supervise -- sh -c 'exit 3'
    assert_failure 3
}

@test "a command that cannot run gives 127 or 126 with a message, and the parent still returns" {
    run -127 cr --supervise -- /nonexistent/cmd
    assert_output --partial "cannot run '/nonexistent/cmd'"
    run -126 cr --supervise -- "$BATS_TEST_TMPDIR"
}

@test "-n conflicts while a supervised command holds the lock (scope command), not in scope refresh" {
    cr_bg --supervise -- sh -c 'echo in > "$1"; read x < "$2"' sh "$BATS_TEST_TMPDIR/in" "$GATE" 3>&- &
    pid=$!
    wait_file "$BATS_TEST_TMPDIR/in"
    run cr -n true
    assert_failure 75
    echo go > "$GATE"
    wait "$pid"
    rm "$BATS_TEST_TMPDIR/in"
    cr_bg --supervise --lock-scope refresh -- sh -c 'echo in > "$1"; read x < "$2"' sh "$BATS_TEST_TMPDIR/in" "$GATE" 3>&- &
    pid=$!
    wait_file "$BATS_TEST_TMPDIR/in"
    run cr -n true
    assert_success
    echo go > "$GATE"
    wait "$pid"
}

@test "the command does not inherit the lock: it survives its parent without holding the lock" {
    cr_bg --supervise --no-kill-on-exit -- python3 "$SIGCHILD" "$OUT" "$READY" USR2 0 3>&- &
    pid=$!
    wait_file "$READY"
    child=$(child_pid)
    run ls -l "/proc/$child/fd"
    refute_output --partial credrun.lock
    kill -KILL "$pid"
    wait "$pid" || true
    run cr -n true
    assert_success
    kill -USR2 "$child"
    wait_proc "$child"
}

@test "killing credrun with SIGKILL leaves no orphan: the command gets SIGTERM" {
    cr_bg --supervise -- python3 "$SIGCHILD" "$OUT" "$READY" TERM 0 3>&- &
    pid=$!
    wait_file "$READY"
    child=$(child_pid)
    kill -KILL "$pid"
    wait_file "$OUT" TERM
    wait_proc "$child"
}

@test "--no-kill-on-exit: the command outlives a killed credrun and gets no SIGTERM" {
    cr_bg --supervise --no-kill-on-exit -- python3 "$SIGCHILD" "$OUT" "$READY" USR2 0 3>&- &
    pid=$!
    wait_file "$READY"
    child=$(child_pid)
    kill -KILL "$pid"
    wait "$pid" || true
    # Two signals round trip: a SIGTERM sent at credrun's death would have
    # been handled (and ended the command) before the second one.
    kill -USR1 "$child"
    wait_file "$OUT" USR1
    kill -0 "$child"
    kill -USR2 "$child"
    wait_proc "$child"
    [ "$(tr '\n' ' ' < "$OUT")" = "USR1 USR2 " ]
}

@test "an idle supervisor sleeps: its voluntary context switches barely move while the token is far from expiry" {
    cr_bg --supervise -- sh -c 'echo in > "$1"; read x < "$2"' sh "$BATS_TEST_TMPDIR/in" "$GATE" 3>&- &
    pid=$!
    wait_file "$BATS_TEST_TMPDIR/in"
    before=$(awk '/^voluntary_ctxt_switches/ {print $2}' "/proc/$pid/status")
    sleep 3 # the observation window, not a synchronisation
    after=$(awk '/^voluntary_ctxt_switches/ {print $2}' "/proc/$pid/status")
    echo go > "$GATE"
    wait "$pid"
    echo "# voluntary context switches over 3 s: $((after - before))" >&3
    (( after - before < 5 ))
    [ "$(mockctl stats token_requests)" = 0 ]
}

@test "a 2 s token shorter than --min-validity 600 is refreshed about twice per life, not in a loop" {
    mockctl config expires_in=2
    new_login --expires-in 2
    start=$(date +%s%N)
    cr --supervise -m 600 -- sleep 5
    elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
    grants=$(mockctl stats grants)
    echo "# $grants grants in $elapsed_ms ms" >&3
    # one at the start, then one per half life (1 s); a loop would make hundreds
    (( grants >= 3 && grants <= elapsed_ms / 1000 + 2 ))
    [ "$(mockctl stats invalid_grant)" = 0 ]
}

@test "a refresh rate limited while the command runs waits out the shared cooldown, then succeeds; the command goes on" {
    mockctl config expires_in=4 mode=429 retry_after=2 mode_count=1
    new_login --expires-in 4
    # first check ~1 s before expiry - 3 s; the 2 s cooldown outlasts the 1 s backoff
    run --separate-stderr cr -v --supervise -m 3 -- "$MOCKCTL" wait grants 1
    assert_success
    [ "$(mockctl stats errors)" = 1 ]
    [ "$(mockctl stats grants)" = 1 ]
    [[ "$stderr" == *"rate limiting (429)"*"trying again in 2 s"* ]]
    [ "$(grep -c 'trying again' <<< "$stderr")" = 1 ]
    [[ "$stderr" == *"fresh again after 1 failed attempt"* ]]
    run mockctl check-file "$CREDS"
    assert_output live
}

@test "an unreachable endpoint while the command runs is retried after the shared cooldown; the command goes on" {
    new_login --expires-in 4
    err="$BATS_TEST_TMPDIR/stderr"
    # the command ends once credrun has said it will try again
    rc=0
    "$CREDRUN" --credentials "$CREDS" --token-url http://127.0.0.1:9/v1/oauth/token --supervise -m 3 -- \
        sh -c 'until grep -q "trying again in" "$0"; do sleep 0.05; done; exit 7' "$err" 2> "$err" || rc=$?
    [ "$rc" = 7 ]
    run cat "$err"
    assert_output --regexp "cannot (connect|reach).*; trying again in (9|10) s"
}

@test "invalid_grant while the command runs stops refreshing, says once to log in again, the command goes on" {
    mockctl config expires_in=2 mode=invalid_grant
    new_login --expires-in 2
    # the command waits for the rejection, then outlives the token by 3 s
    run --separate-stderr cr --supervise -m 1 -- sh -c '"$0" wait errors 1 >/dev/null && sleep 4 && exit 5' "$MOCKCTL"
    assert_failure 5
    [ "$(mockctl stats token_requests)" = 1 ]
    [ "$(grep -c 'log in again' <<< "$stderr")" = 1 ]
    [[ "$stderr" == *"stops refreshing"* ]]
}

@test "sidecar: --supervise without a command refreshes until SIGTERM, then exits 0, never holding the lock while idle" {
    mockctl config expires_in=3
    new_login --expires-in 3
    cr_bg --supervise -m 2 2> "$BATS_TEST_TMPDIR/stderr" 3>&- &
    pid=$!
    mockctl wait grants 2
    run mockctl check-file "$CREDS"
    assert_output live
    # lock scope is always refresh: the lock is free between refreshes
    mockctl config hold=true
    mockctl wait held 1
    run cr -n -m 0 true
    assert_failure 75
    mockctl release
    kill -TERM "$pid"
    wait "$pid"
    run mockctl check-file "$CREDS"
    assert_output live
    # -m 2 is inside claude's own 300 s window: that one warning, nothing else
    run grep -c "own refresh window" "$BATS_TEST_TMPDIR/stderr"
    assert_output 1
    run grep -v "own refresh window" "$BATS_TEST_TMPDIR/stderr"
    assert_output ""
}

@test "sidecar: idle, it leaves the lock free; SIGHUP checks at once; SIGINT stops it; a rejected login ends it with 77" {
    cr_bg --supervise 3>&- &
    pid=$!
    # the sidecar checked at start and sleeps now (token valid for an hour)
    for ((i = 0; i < 3000; i++)); do
        ls -l "/proc/$pid/fd" 2>/dev/null | grep -q signalfd && break
        sleep 0.01
    done
    run cr -n true
    assert_success
    # SIGHUP: check now (the file says the token is about to expire)
    set_expiry_in 50
    kill -HUP "$pid"
    mockctl wait grants 1
    kill -INT "$pid"
    wait "$pid"
    set_expiry_in -1
    mockctl config mode=invalid_grant
    run cr --supervise
    assert_failure 77
    assert_output --partial "log in again"
}

# Run a script in a new tmux session (a pseudo-terminal); sets TMUX_SOCK.
in_tmux() {
    command -v tmux >/dev/null || skip "tmux is not installed"
    TMUX_SOCK="$BATS_TEST_TMPDIR/tmux.sock"
    TERM=${TERM:-xterm} tmux -S "$TMUX_SOCK" -f /dev/null new-session -d -x 80 -y 24 "$1" 3>&- 4>&- 5>&-
}

@test "under a terminal, ^C reaches an interactive command exactly once and credrun does not die of it" {
    cat > "$BATS_TEST_TMPDIR/run.sh" <<EOF
"$CREDRUN" --credentials "$CREDS" --token-url "$TOKEN_URL" --supervise -- python3 "$SIGCHILD" "$OUT" "$READY" USR1 3
echo \$? > "$BATS_TEST_TMPDIR/status"
EOF
    in_tmux "exec bash $BATS_TEST_TMPDIR/run.sh"
    wait_file "$READY"
    pid=$(cut -d' ' -f2 "$READY")
    # the command is in the terminal's foreground process group
    child=$(child_pid)
    read -r pgrp tpgid < <(sed 's/.*) //' "/proc/$child/stat" | awk '{print $3, $6}')
    [ "$pgrp" = "$tpgid" ]
    tmux -S "$TMUX_SOCK" send-keys C-c
    wait_file "$OUT" INT
    kill -0 "$pid"
    # A ^C echoed by credrun would be handled before this SIGUSR1 (lower
    # numbers first), which ends the command.
    kill -USR1 "$pid"
    wait_file "$BATS_TEST_TMPDIR/status"
    [ "$(cat "$BATS_TEST_TMPDIR/status")" = 3 ]
    [ "$(grep -c '^INT$' "$OUT")" = 1 ]
    [ "$(grep -c '^USR1$' "$OUT")" = 1 ]
}

@test "under a shell with job control, ^Z stops the command and credrun together and fg continues both" {
    in_tmux "env PS1='$ ' bash --norc --noprofile -i"
    tmux -S "$TMUX_SOCK" send-keys "'$CREDRUN' --credentials '$CREDS' --token-url '$TOKEN_URL' --supervise -- python3 '$SIGCHILD' '$OUT' '$READY' USR1 3" Enter
    wait_file "$READY"
    pid=$(cut -d' ' -f2 "$READY")
    child=$(child_pid)
    tmux -S "$TMUX_SOCK" send-keys C-z
    wait_proc "$child" T
    wait_proc "$pid" T
    tmux -S "$TMUX_SOCK" send-keys "jobs -l > '$BATS_TEST_TMPDIR/jobs'; fg" Enter
    wait_file "$BATS_TEST_TMPDIR/jobs"
    run cat "$BATS_TEST_TMPDIR/jobs"
    assert_output --partial Stopped
    # after fg the command runs again: it handles SIGUSR1 and exits 3
    kill -USR1 "$pid"
    wait_proc "$pid"
    tmux -S "$TMUX_SOCK" send-keys "echo \$? > '$BATS_TEST_TMPDIR/status'" Enter
    wait_file "$BATS_TEST_TMPDIR/status"
    [ "$(cat "$BATS_TEST_TMPDIR/status")" = 3 ]
    grep -qx USR1 "$OUT"
}
