#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `make bench`: what credrun costs next to the `flock FILE cmd` it replaces.
#
#   bench/run.sh CREDRUN TOP_SRCDIR MAXRSS
#
# Starts the bundled mock token endpoint on 127.0.0.1 (no other traffic),
# measures with hyperfine(1) and valgrind(1), and prints one table (see
# bench/report.py): flock(1), bare /bin/true, credrun's fresh-token path in
# both lock scopes, one real refresh, N concurrent one-second commands under
# flock(1) and under credrun, and the refresh-path throughput of concurrent
# callers with a token valid for one second. It also proves, not times, that
# the fresh path sends no request and never loads libcurl.
#
# Bounded: the whole run is under timeout(1) (CREDRUN_BENCH_LIMIT, default
# 280 s) and every step under its own. Knobs (environment): BENCH_ROUNDS (8)
# hyperfine rounds of BENCH_RUNS (150) runs for the fresh path, so that load
# from elsewhere on the machine shows up as a spread rather than a bias;
# BENCH_CONTEND (8) concurrent commands; BENCH_LOOPS (8) x BENCH_LOOP_RUNS
# (600: 200 ran out within about one validity window here) for the throughput.
#
# Locale: the fresh path is compared with flock(1) in the caller's locale,
# as users run it (flock(1) calls setlocale(3) and reads the locale's files;
# credrun has no messages to translate and does not); one more hyperfine run
# repeats the comparison with LC_ALL=C, where flock(1) reads none.
#
# Supervise mode: if `credrun --help` mentions --supervise and
# bench/supervise-idle.sh exists, it is run as
#   supervise-idle.sh CREDRUN
# with CREDRUN, TOKEN_URL, MOCK_PORT_FILE, MOCKCTL and BENCH_WORK (a scratch
# directory) in its environment; what it prints is the table's supervise row.
#
# GlusterFS: bench/gluster.sh times a forced refresh on a GlusterFS volume
# (tests/gluster.bash), with and without the settle wait; it says "skipped"
# and why where GlusterFS cannot run (not root, no FUSE, no glusterd).
#
# Exit status: 0 when every check held (timings are reported, never judged
# here), 1 when a check failed, 2 when a tool is missing.
set -euo pipefail

if [ $# -ne 3 ]; then
    echo "usage: bench/run.sh CREDRUN TOP_SRCDIR MAXRSS" >&2
    exit 2
fi
if [ -z "${CREDRUN_BENCH_BOUNDED:-}" ]; then
    export CREDRUN_BENCH_BOUNDED=1
    # timeout(1) signals its whole process group: hyperfine, loops and all.
    exec timeout -k 10 "${CREDRUN_BENCH_LIMIT:-280}" bash "$0" "$@"
fi

credrun=$1
top=$2
maxrss=$3
bench=$top/bench
mockdir=$top/tests/mock
rounds=${BENCH_ROUNDS:-8}
runs=${BENCH_RUNS:-150}
contend=${BENCH_CONTEND:-8}
loops=${BENCH_LOOPS:-8}
loop_runs=${BENCH_LOOP_RUNS:-600}

say() { printf 'bench: %s\n' "$*" >&2; }
die() { # die MESSAGE [STATUS]
    printf 'bench: %s\n' "$1" >&2
    exit "${2:-1}"
}

for tool in hyperfine python3 flock timeout; do
    command -v "$tool" >/dev/null || die "$tool is missing; install it (Debian: apt-get install $tool)" 2
done
have_valgrind=false
command -v valgrind >/dev/null && have_valgrind=true
[ -x "$credrun" ] || die "$credrun is not built; run make first" 2
[ -x "$maxrss" ] || die "$maxrss is not built; run make bench" 2
if ldd "$credrun" | grep -q -e libasan -e libubsan; then
    say "warning: $credrun is a sanitizer build; its timings say little (make clean && make first)"
fi

# Loopback only: no proxy may see the mock's tokens.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy
locale_in_use=${LC_ALL:-${LC_MESSAGES:-${LANG:-unset}}}

work=$(mktemp -d "${TMPDIR:-/tmp}/credrun-bench.XXXXXX")
mock_pid=
# shellcheck disable=SC2317 # run by the trap
cleanup() {
    if [ -n "$mock_pid" ]; then
        kill "$mock_pid" 2>/dev/null || true
        wait "$mock_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'say "stopped by a signal or the time limit"; exit 130' INT TERM HUP

# hyperfine with its output kept in a log, shown if it fails
hf() {
    timeout 120 hyperfine -N --style basic "$@" >>"$work/hyperfine.log" 2>&1 ||
        die "hyperfine failed: $(tail -n 5 "$work/hyperfine.log")"
}
hf_c() { # the same under LC_ALL=C
    LC_ALL=C timeout 120 hyperfine -N --style basic "$@" >>"$work/hyperfine.log" 2>&1 ||
        die "hyperfine failed: $(tail -n 5 "$work/hyperfine.log")"
}

res=$work/results.env
: >"$res"
put() { printf '%s=%s\n' "$1" "$2" >>"$res"; }
failed=0
check() { # check NAME OK(true/false) DETAIL
    put "check_$1" "$([ "$2" = true ] && echo ok || echo FAILED): $3"
    [ "$2" = true ] || failed=1
}

# --- the mock token endpoint on 127.0.0.1 -----------------------------------
# the system interpreter, as tests/mock/helpers.bash does: no version shims
py=${MOCK_PYTHON:-python3}
[ -z "${MOCK_PYTHON:-}" ] && [ -x /usr/bin/python3 ] && py=/usr/bin/python3
"$py" "$mockdir/mock_server.py" --port-file "$work/port" --expires-in 3600 \
    </dev/null >"$work/mock.log" 2>&1 &
mock_pid=$!
export MOCK_PORT_FILE=$work/port
export MOCKCTL=$mockdir/mockctl
mockctl() { "$py" "$MOCKCTL" "$@"; }
mockctl wait-port || die "mock endpoint did not start: $(cat "$work/mock.log")"
url="http://127.0.0.1:$(cat "$work/port")/v1/oauth/token"
export TOKEN_URL=$url

login() { # login DIR [mockctl login args]: a credentials file in DIR
    mkdir -p "$1"
    mockctl login "${@:2}" >"$1/creds.json"
    chmod 600 "$1/creds.json"
}
login "$work/fresh" # valid for an hour: well outside --min-validity
creds=$work/fresh/creds.json
lock=$creds.credrun.lock
# Each command is an array to run and a quoted string for hyperfine.
q() { printf '%q ' "$@"; }
fresh=("$credrun" --credentials "$creds" --token-url "$url" -- /bin/true)
fresh_refresh=("$credrun" --lock-scope refresh --credentials "$creds" --token-url "$url" -- /bin/true)
flock_=(flock "$lock" /bin/true)
fresh_cmd=$(q "${fresh[@]}")
fresh_refresh_cmd=$(q "${fresh_refresh[@]}")
flock_cmd=$(q "${flock_[@]}")
"${fresh[@]}" # creates the lock file flock(1) then shares

# --- libcurl stays out of the fresh path --------------------------------------
if ldd "$credrun" | grep -q curl; then
    check ldd false "credrun is linked against libcurl"
else
    check ldd true "ldd credrun: no libcurl"
fi
LD_DEBUG=files "${fresh[@]}" 2>"$work/ld-fresh.txt"
if grep -q 'libcurl' "$work/ld-fresh.txt"; then
    check ld_fresh false "the fresh path loaded libcurl (LD_DEBUG=files)"
else
    check ld_fresh true "LD_DEBUG=files: the fresh path maps no libcurl"
fi

# --- fresh path: flock(1), /bin/true, credrun in both scopes ------------------
req0=$(mockctl stats token_requests)
for r in $(seq 1 "$rounds"); do
    say "fresh path, round $r of $rounds ($runs runs each)"
    # hyperfine runs one command's runs after the other's: every other
    # round goes in reverse order, so drift in the machine's load cancels
    if [ $((r % 2)) -eq 1 ]; then
        hf -w 20 -r "$runs" --export-json "$work/fresh-$r.json" \
            -n flock "$flock_cmd" -n true /bin/true -n fresh "$fresh_cmd" -n fresh_refresh "$fresh_refresh_cmd"
    else
        hf -w 20 -r "$runs" --export-json "$work/fresh-$r.json" \
            -n fresh_refresh "$fresh_refresh_cmd" -n fresh "$fresh_cmd" -n true /bin/true -n flock "$flock_cmd"
    fi
done
say "fresh path once more with LC_ALL=C ($runs runs each)"
hf_c -w 20 -r "$runs" --export-json "$work/fresh-c.json" \
    -n flock "$flock_cmd" -n fresh "$fresh_cmd" -n fresh_refresh "$fresh_refresh_cmd"
req1=$(mockctl stats token_requests)
check requests "$([ "$req1" = "$req0" ] && echo true || echo false)" \
    "the fresh path sent $((req1 - req0)) token requests (mock token_requests)"

# --- one real refresh per run -------------------------------------------------
login "$work/refresh"
rcreds=$work/refresh/creds.json
refresh=("$credrun" --credentials "$rcreds" --token-url "$url" --refresh --force)
refresh_cmd=$(q "${refresh[@]}")
LD_DEBUG=files "${refresh[@]}" 2>"$work/ld-refresh.txt"
if grep -q 'libcurl' "$work/ld-refresh.txt"; then
    check ld_refresh true "LD_DEBUG=files: a refresh does load libcurl (control)"
else
    check ld_refresh false "a refresh did not show libcurl under LD_DEBUG=files"
fi
say "refresh path (30 refreshes)"
g0=$(mockctl stats grants)
hf -w 2 -r 30 --export-json "$work/refresh.json" \
    "$refresh_cmd"
g1=$(mockctl stats grants)
check grants "$([ $((g1 - g0)) -eq 32 ] && echo true || echo false)" \
    "--refresh --force made $((g1 - g0)) grants in 32 runs"
if mockctl check-file "$rcreds" >/dev/null; then
    check refreshed_file true "the refreshed file holds a live token"
else
    check refreshed_file false "the refreshed file holds no live token"
fi

# --- peak RSS (ru_maxrss via wait4, see bench/maxrss.c) -----------------------
say "peak RSS"
put rss_flock "$("$maxrss" 20 "${flock_[@]}")"
put rss_true "$("$maxrss" 20 /bin/true)"
put rss_fresh "$("$maxrss" 20 "${fresh[@]}")"
put rss_fresh_refresh "$("$maxrss" 20 "${fresh_refresh[@]}")"
put rss_refresh "$("$maxrss" 5 "${refresh[@]}")"

# --- instructions (valgrind callgrind: user space until COMMAND's execve) -----
ir_until_exec() { # the Ir of the process part that ends in execve
    local d=$work/cg
    rm -rf "$d"
    mkdir "$d"
    # IR_ENV set: valgrind runs in an environment of PATH and IR_ENV alone
    local envp=()
    [ -n "${IR_ENV:-}" ] && envp=(env -i PATH=/usr/bin:/bin "$IR_ENV")
    timeout 60 "${envp[@]}" valgrind --tool=callgrind --dump-before=execve --callgrind-out-file="$d/cg.%p" "$@" \
        >/dev/null 2>"$d/log" || return 0
    # part 1 of the process that called execve: for flock(1) its forked
    # child, which carries the counts of everything flock did before fork
    sed -n 's/^totals: *//p' "$d"/cg.*.1 2>/dev/null | head -1
}
ir_whole() {
    local d=$work/cg
    rm -rf "$d"
    mkdir "$d"
    timeout 60 valgrind --tool=callgrind --callgrind-out-file="$d/cg.out" "$@" >/dev/null 2>"$d/log" || return 0
    sed -n 's/^totals: *//p' "$d/cg.out"
}
if $have_valgrind; then
    say "instruction counts (callgrind)"
    # The fast-path figure: `credrun -- /bin/true` with the default profile
    # and bench/fresh-credentials.json (322 bytes, expires in 2100) as
    # ~/.claude/.credentials.json, in a fixed two-variable environment so that
    # the count does not depend on the caller's (ld.so's tunables scan every
    # variable). flock(1) is measured the same way.
    fx=$work/fixture
    mkdir -p "$fx/.claude"
    cp "$bench/fresh-credentials.json" "$fx/.claude/.credentials.json"
    chmod 600 "$fx/.claude/.credentials.json"
    : >"$fx/flock.lock"
    put ir_fixture "$(IR_ENV="HOME=$fx" ir_until_exec "$credrun" -- /bin/true)"
    put ir_fixture_flock "$(IR_ENV="HOME=$fx" ir_until_exec flock "$fx/flock.lock" /bin/true)"
    put ir_flock "$(ir_until_exec "${flock_[@]}")"
    put ir_true "$(ir_whole /bin/true)"
    put ir_fresh "$(ir_until_exec "${fresh[@]}")"
    put ir_fresh_refresh "$(ir_until_exec "${fresh_refresh[@]}")"
    put ir_refresh "$(ir_whole "${refresh[@]}")"
fi

# --- contention: N one-second commands at once --------------------------------
say "contention: $contend x sleep 1 under flock(1) and under credrun"
hf -r 1 --export-json "$work/contend.json" \
    "$(q sh "$bench/contend.sh" "$contend" flock "$lock" sleep 1)" \
    "$(q sh "$bench/contend.sh" "$contend" "$credrun" --credentials "$creds" --token-url "$url" -- sleep 1)" \
    "$(q sh "$bench/contend.sh" "$contend" "$credrun" --lock-scope refresh --credentials "$creds" --token-url "$url" -- sleep 1)" \
   
put contend "$contend"

# --- refresh-path throughput: tokens valid for 1 s ----------------------------
say "throughput: $loops loops x $loop_runs runs, tokens valid for 1 s"
mockctl reset
mockctl config expires_in=1
login "$work/storm" --expires-in 1
screds=$work/storm/creds.json
: >"$work/storm.fail"
t0=$(date +%s.%N)
timeout 120 sh "$bench/storm.sh" "$loops" "$loop_runs" "$work/storm.fail" \
    "$credrun" -m 0 --lock-scope refresh --credentials "$screds" --token-url "$url" -- /bin/true \
    2>"$work/storm.err" || true
t1=$(date +%s.%N)
put storm_loops "$loops"
put storm_runs "$loop_runs"
put storm_elapsed "$(python3 -c "print($t1 - $t0)")"
storm_grants=$(mockctl stats grants)
put storm_grants "$storm_grants"
# Each refresh yields a token valid for 1 s and -m 0 refreshes only an
# expired one, so there can be no more refreshes than started seconds.
storm_cap=$(python3 -c "import math; print(math.ceil($t1 - $t0))")
check storm_windows "$([ "$storm_grants" -le "$storm_cap" ] && echo true || echo false)" \
    "throughput run: $storm_grants refreshes, at most one per 1-s validity window ($storm_cap started)"
put storm_requests "$(mockctl stats token_requests)"
storm_bad=$(mockctl stats invalid_grant)
storm_failed=$(wc -l <"$work/storm.fail")
check storm_invalid_grant "$([ "$storm_bad" -eq 0 ] && echo true || echo false)" \
    "throughput run: $storm_bad invalid_grant answers"
check storm_failed "$([ "$storm_failed" -eq 0 ] && echo true || echo false)" \
    "throughput run: $storm_failed of $((loops * loop_runs)) runs failed"
mockctl config expires_in=3600

# --- supervise mode's idle parent, once it exists -----------------------------
if "$credrun" --help | grep -q -- '--supervise' && [ -f "$bench/supervise-idle.sh" ]; then
    say "supervising parent's idle CPU"
    mkdir -p "$work/supervise"
    put supervise "$(BENCH_WORK=$work/supervise CREDRUN=$credrun timeout 90 sh "$bench/supervise-idle.sh" "$credrun" |
        tr '\n' ' ' || echo "bench/supervise-idle.sh failed")"
else
    put supervise "n/a (no --supervise in credrun --help, or no bench/supervise-idle.sh)"
fi

# --- a refresh on a GlusterFS volume (skipped where it cannot run) -----------
say "a refresh on GlusterFS (two FUSE client mounts; needs root)"
put gluster "$(BENCH_WORK=$work timeout 120 bash "$bench/gluster.sh" "$credrun" "$top" 2>/dev/null ||
    echo "gluster: skipped: bench/gluster.sh did not finish")"

put system "$(uname -sr), $(nproc) CPUs, $(hyperfine --version), locale $locale_in_use, ${rounds} rounds x ${runs} runs"
python3 "$bench/report.py" "$work"
exit "$failed"
