#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Run libFuzzer targets: run.sh BUILDDIR FUZZDIR TARGET...
# Each target runs for FUZZ_SECONDS (default 60), or FUZZ_BUDGET seconds
# shared evenly by the targets when that is given, from its seed corpus
# FUZZDIR/corpus/TARGET (never written to: new inputs go to a scratch
# directory), with -seed=FUZZ_SEED (0: random), a per-input timeout of
# FUZZ_TIMEOUT seconds (default 10: a hang is a failure) and leak detection.
# Prints "PASS: fuzz/TARGET ..." or "FAIL: fuzz/TARGET: WHAT" per target,
# keeps the failing input in FUZZ_ARTIFACTS (default BUILDDIR/artifacts) and
# ends with "fuzz: N passed, N failed"; exits 1 when any failed.
set -uo pipefail
if [ $# -lt 3 ]; then
    echo "usage: run.sh BUILDDIR FUZZDIR TARGET..." >&2
    exit 64
fi
build=$1 fuzzdir=$2
shift 2
seconds=${FUZZ_SECONDS:-60}
if [ -n "${FUZZ_BUDGET:-}" ]; then
    seconds=$((FUZZ_BUDGET / $#))
    [ "$seconds" -ge 1 ] || seconds=1
fi
seed=${FUZZ_SEED:-0}
timeout=${FUZZ_TIMEOUT:-10}
maxlen=${FUZZ_MAX_LEN:-16384}
artifacts=${FUZZ_ARTIFACTS:-$build/artifacts}
mkdir -p "$artifacts"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
passed=0 failed=0

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:allocator_may_return_null=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

for t in "$@"; do
    bin=$build/$t
    seeds=$fuzzdir/corpus/$t
    log=$artifacts/$t.log
    if [ ! -x "$bin" ]; then
        echo "FAIL: fuzz/$t: $bin not built (make fuzz-build)"
        failed=$((failed + 1))
        continue
    fi
    mkdir -p "$scratch/$t"
    dirs=("$scratch/$t")
    [ -d "$seeds" ] && dirs+=("$seeds")
    # A hang is caught twice: libFuzzer's -timeout per input, and an outer
    # limit on the whole run in case the process itself stops answering.
    timeout -k 10 $((seconds + timeout + 60)) \
        "$bin" -seed="$seed" -max_total_time="$seconds" -timeout="$timeout" -rss_limit_mb=2048 \
        -max_len="$maxlen" -detect_leaks=1 -print_final_stats=1 \
        -artifact_prefix="$artifacts/$t-" "${dirs[@]}" >"$log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    if [ "$rc" -eq 0 ]; then
        echo "PASS: fuzz/$t (${runs:-?} inputs in ${seconds} s, seed $seed)"
        passed=$((passed + 1))
        continue
    fi
    what="exit $rc"
    if grep -q 'FUZZ ORACLE MISMATCH' "$log"; then what="oracle mismatch"
    elif grep -q 'ERROR: LeakSanitizer' "$log"; then what="leak"
    elif grep -q 'ERROR: libFuzzer: timeout' "$log"; then what="hang (over $timeout s on one input)"
    elif grep -q 'runtime error:' "$log"; then what="undefined behaviour"
    elif grep -q 'ERROR: AddressSanitizer' "$log"; then what="memory error"
    elif grep -q 'ERROR: libFuzzer: out-of-memory' "$log"; then what="out of memory"
    elif grep -q 'ERROR: libFuzzer: deadly signal' "$log"; then what="crash"
    elif [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then what="hang (the run did not end)"
    fi
    input=$(sed -n 's/^.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
    echo "FAIL: fuzz/$t: $what${input:+; input: $input}; log: $log"
    grep -E -m1 -A14 'FUZZ ORACLE MISMATCH|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:' "$log" |
        sed 's/^/    /'
    failed=$((failed + 1))
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
