#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# Options, usage errors, exit statuses that need no endpoint, the man page.

load test_helper

setup() {
    CREDS="$BATS_TEST_TMPDIR/.credentials.json"
    far=$(( ($(date +%s) + 86400) * 1000 ))
    printf '{"claudeAiOauth":{"accessToken":"at-fixture","refreshToken":"rt-fixture","expiresAt":%s,"scopes":["user:inference"]}}' "$far" > "$CREDS"
    TOKEN_URL=http://127.0.0.1:9/v1/oauth/token
}

@test "--help lists every option on stdout and exits 0" {
    run --separate-stderr "$CREDRUN" --help
    assert_success
    for opt in --credentials --token-url --client-id --cacert --min-validity --force --env --no-env \
               --lock-scope --lock-file --nonblock --timeout --conflict-exit-code --http-timeout \
               --refresh --verbose --quiet --help --version; do
        assert_output --partial -- "$opt"
    done
    [ -z "$stderr" ]
}

@test "--version prints the version" {
    run "$CREDRUN" --version
    assert_success
    assert_output --regexp '^credrun [0-9]+\.[0-9]+'
}

@test "an unknown option is a usage error (64) that points to --help" {
    run "$CREDRUN" --bogus true
    assert_failure 64
    assert_line --index 0 "credrun: unknown option '--bogus'"
    assert_line --index 1 "Try 'credrun --help' for more information."
}

@test "no COMMAND and no --refresh is a usage error" {
    run "$CREDRUN"
    assert_failure 64
    assert_output --partial "no COMMAND given"
}

@test "--refresh with a COMMAND is a usage error" {
    run "$CREDRUN" --refresh true
    assert_failure 64
    assert_output --partial "--refresh runs no command"
}

@test "option values are checked" {
    run "$CREDRUN" -m soon true
    assert_failure 64
    run "$CREDRUN" --lock-scope forever true
    assert_failure 64
    run "$CREDRUN" -E 300 true
    assert_failure 64
    run "$CREDRUN" --env A=B true
    assert_failure 64
    run "$CREDRUN" --env X --no-env true
    assert_failure 64
    run "$CREDRUN" --http-timeout 0 true
    assert_failure 64
    run "$CREDRUN" -w
    assert_failure 64
    assert_output --partial "needs an argument"
}

@test "a plain-http token URL off loopback is refused before anything else" {
    run "$CREDRUN" --credentials "$CREDS" --token-url http://example.com/token true
    assert_failure 64
    assert_output --partial "https://"
}

@test "options after COMMAND belong to COMMAND" {
    run cr -- echo -n --force
    assert_success
    assert_output "--force"
}

@test "a missing credentials file in an existing directory exits 66 and says how this profile logs in, in a run and in --status" {
    run "$CREDRUN" --credentials "$BATS_TEST_TMPDIR/nope.json" true
    assert_failure 66
    assert_output --partial "does not exist: log in first (claude /login)"
    run "$CREDRUN" -p codex --credentials "$BATS_TEST_TMPDIR/nope.json" --status
    assert_failure 66
    assert_output --partial "does not exist: log in first (codex login)"
}

@test "a machine with no login at all (no ~/.claude) exits 66 and says to log in" {
    HOME="$BATS_TEST_TMPDIR/nobody" CLAUDE_CONFIG_DIR= run "$CREDRUN" true
    assert_failure 66
    assert_output --partial "does not exist: log in first (claude /login)"
}

@test "the default file is \$CLAUDE_CONFIG_DIR/.credentials.json" {
    mkdir -p "$BATS_TEST_TMPDIR/cfg"
    cp "$CREDS" "$BATS_TEST_TMPDIR/cfg/.credentials.json"
    CLAUDE_CONFIG_DIR="$BATS_TEST_TMPDIR/cfg" run "$CREDRUN" sh -c 'echo "$CLAUDE_CODE_OAUTH_TOKEN"'
    assert_success
    assert_output "at-fixture"
    [ -f "$BATS_TEST_TMPDIR/cfg/.credentials.json.credrun.lock" ]
}

@test "a file that is not JSON exits 65 and is left alone" {
    echo '{"claudeAiOauth": {' > "$CREDS"
    run cr true
    assert_failure 65
    assert_output --partial "not valid JSON"
    [ "$(cat "$CREDS")" = '{"claudeAiOauth": {' ]
}

@test "values of the wrong JSON type exit 65" {
    echo '{"claudeAiOauth":{"accessToken":42,"refreshToken":"r","expiresAt":1}}' > "$CREDS"
    run cr true
    assert_failure 65
    assert_output --partial "/claudeAiOauth/accessToken is not a string"
    echo '{"claudeAiOauth":{"accessToken":"a","refreshToken":"r","expiresAt":"tomorrow"}}' > "$CREDS"
    run cr true
    assert_failure 65
    assert_output --partial "expiresAt is not a number"
}

@test "a blanked refresh token with a live access token still runs the command" {
    far=$(( ($(date +%s) + 300) * 1000 ))
    printf '{"claudeAiOauth":{"accessToken":"at-live","refreshToken":"","expiresAt":%s}}' "$far" > "$CREDS"
    run cr sh -c 'echo "got $CLAUDE_CODE_OAUTH_TOKEN"'
    assert_success
    assert_line "got at-live"
    assert_line --partial "no refresh token: log in again"
}

@test "a blanked login (Claude Code after invalid_grant) exits 77" {
    echo '{"claudeAiOauth":{"accessToken":"","refreshToken":"","expiresAt":0}}' > "$CREDS"
    run cr true
    assert_failure 77
    assert_output --partial "log in again (claude /login)"
}

@test "a COMMAND that does not exist exits 127, one that cannot run 126" {
    run -127 cr /nonexistent/cmd
    assert_failure 127
    assert_output --partial "cannot run '/nonexistent/cmd'"
    touch "$BATS_TEST_TMPDIR/noexec"
    run -126 cr "$BATS_TEST_TMPDIR/noexec"
    assert_failure 126
}

@test "COMMAND's own exit status is credrun's" {
    run cr sh -c 'exit 42'
    assert_failure 42
}

@test "the man page renders without warnings and documents every option" {
    man="$TESTS_DIR/../man/credrun.1"
    run groff -man -ww -z "$man"
    assert_success
    assert_output ""
    for opt in $("$CREDRUN" --help | grep -oE -- '--[a-z][a-z-]+' | sort -u); do
        grep -qF -- "${opt//-/\\-}" "$man" || fail "man page lacks $opt"
    done
    for code in 64 65 66 69 73 75 76 77 78 126 127; do
        grep -qx "\.B $code" "$man" || fail "man page's EXIT STATUS lacks $code"
    done
}
