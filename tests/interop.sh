#!/bin/bash
# SPDX-License-Identifier: MIT
# make interop: a canary for new client releases. Installs the LATEST Claude
# Code and Codex from npm into a scratch directory ($INTEROP_DIR, else a new
# temporary one), runs the real-client tests against them
# (CREDRUN_REAL_CLIENTS), and prints one line per client: its version, the
# locks it took and when relative to its refresh request (strace), whether it
# races itself inside its own refresh window, whether it kept credrun's
# refresh, and pass, fail or why it cannot run here. Not part of make check:
# CI stays on the versions pinned in tests/real/package.json.
# Run by make (which exports CREDRUN, TESTS_DIR, BATS and the rest).
set -u
: "${BATS:=bats}"
dir=${INTEROP_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/credrun-interop.XXXXXX")}
mkdir -p "$dir"
unset CREDRUN_SKIP_REAL

say() { printf '%s\n' "$*"; }
command -v node >/dev/null && command -v npm >/dev/null || { say "interop: cannot run here: node and npm are needed"; exit 77; }
node_major=$(node --version | sed 's/^v\([0-9]*\).*/\1/')

# the notes the tests left for client $1, fact $2
fact() { awk -F'\t' -v c="$1" -v f="$2" '$1 == c && $2 == f { v = $3 } END { print v }' "$dir/$1.notes" 2>/dev/null; }

status=0
for entry in claude:@anthropic-ai/claude-code:90-real-claude.bats codex:@openai/codex:91-real-codex.bats; do
    IFS=: read -r name pkg tests <<<"$entry"
    version=$(npm view "$pkg@latest" version 2>/dev/null) || { say "$name: npm view $pkg failed (offline?)"; status=1; continue; }
    engines=$(npm view "$pkg@$version" engines.node 2>/dev/null)
    need=$(grep -o '[0-9][0-9]*' <<<"$engines" | head -1)
    if [ -n "$need" ] && [ "$node_major" -lt "$need" ]; then
        say "$name $version: cannot run here (needs Node >= $need; this is $(node --version))"
        continue
    fi
    prefix="$dir/$name"
    if ! npm install --prefix "$prefix" --no-save --no-audit --no-fund "$pkg@$version" > "$dir/$name.npm.log" 2>&1; then
        say "$name $version: fail (npm install failed: $dir/$name.npm.log)"
        status=1
        continue
    fi
    rm -f "$dir/$name.notes"
    CREDRUN_REAL_CLIENTS="$prefix/node_modules" CREDRUN_INTEROP_NOTES="$dir/$name.notes" \
        "$BATS" --tap "$TESTS_DIR/$tests" > "$dir/$name.tap" 2>&1
    failed=$(grep -c '^not ok' "$dir/$name.tap")
    passed=$(grep '^ok' "$dir/$name.tap" | grep -vc '# skip')
    skipped=$(grep -c '^ok .*# skip' "$dir/$name.tap")
    if [ "$failed" -gt 0 ]; then
        result="fail ($failed failed: $(grep '^not ok' "$dir/$name.tap" | head -3 | sed 's/^not ok [0-9]* //' | paste -sd';' -); $dir/$name.tap)"
        status=1
    elif [ "$passed" -eq 0 ]; then
        result="cannot run here ($(grep -m1 '# skip' "$dir/$name.tap" | sed 's/.*# skip *//'))"
    else
        result="pass ($passed tests, $skipped skipped)"
    fi
    say "$name $("$prefix/node_modules/.bin/$name" --version 2>/dev/null | head -1):" \
        "locks: $(fact "$name" locks | sed 's/^$/unknown (its test failed)/');" \
        "races itself: $(fact "$name" races | sed 's/^$/unknown (its test failed)/');" \
        "kept credrun's refresh: $(fact "$name" kept | sed 's/^$/no (its test failed)/');" \
        "$result"
done
say "interop: details in $dir"
exit "$status"
