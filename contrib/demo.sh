#!/bin/sh
# SPDX-License-Identifier: MIT
# `make demo`: credrun refreshes an expiring token against the bundled mock
# endpoint on loopback, then runs a command that checks the token it got.
set -eu
credrun=$1
mockdir=$2
work=$(mktemp -d)
trap 'kill "$mock_pid" 2>/dev/null || true; rm -rf "$work"' EXIT INT TERM

python3 "$mockdir/mock_server.py" --port-file "$work/port" --expires-in 3600 >"$work/mock.log" 2>&1 &
mock_pid=$!
MOCK_PORT_FILE=$work/port
export MOCK_PORT_FILE
"$mockdir/mockctl" wait-port
url="http://127.0.0.1:$(cat "$work/port")/v1/oauth/token"

# A login whose access token expires in 2 minutes: inside --min-validity.
mkdir -p "$work/claude"
"$mockdir/mockctl" login --expires-in 120 >"$work/claude/.credentials.json"
chmod 600 "$work/claude/.credentials.json"
echo "demo: credentials in $work/claude/.credentials.json expire in 120 s; credrun refreshes at 600 s"

"$credrun" -v --credentials "$work/claude/.credentials.json" --token-url "$url" -- \
    sh -c 'echo "demo: the wrapped command got a ${#CLAUDE_CODE_OAUTH_TOKEN}-character token in CLAUDE_CODE_OAUTH_TOKEN; the endpoint says it is $("$0" check-env CLAUDE_CODE_OAUTH_TOKEN)"' \
    "$mockdir/mockctl"

echo "demo: a second run finds the token fresh and sends no request:"
"$credrun" -v --credentials "$work/claude/.credentials.json" --token-url "$url" -- true
echo "demo: the endpoint saw $("$mockdir/mockctl" stats token_requests) refresh request(s) in all"
