#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# What the packages install beside credrun: the bash, zsh and fish completions
# offer every long option --help prints and every profile after -p; the
# systemd units pass systemd-analyze verify.

load test_helper

setup_file() { mock_start; }
teardown_file() { mock_stop; }

SRC="$TESTS_DIR/.."
BASH_COMP="$SRC/contrib/completions/bash/credrun"
ZSH_COMP="$SRC/contrib/completions/zsh/_credrun"
FISH_COMP="$SRC/contrib/completions/fish/credrun.fish"

# Every long option credrun --help prints, one a line.
help_long_options() {
    "$CREDRUN" --help | grep -oE -- '(^|[ ,])--[a-z][a-z0-9-]+' | sed 's/^[ ,]*//' | sort -u
}

# The built-in profiles: the [NAME] sections of src/profiles.builtin.conf,
# their single source (not [NAME/PROVIDER]).
builtin_profiles() {
    sed -n 's/^ *\[ *\([^]/ ]*\) *\] *$/\1/p' "$SRC/src/profiles.builtin.conf"
}

# A profiles.conf of the user's own, whose sections must be offered too.
user_profiles_conf() {
    export XDG_CONFIG_HOME="$BATS_TEST_TMPDIR/config" HOME="$BATS_TEST_TMPDIR/home"
    mkdir -p "$XDG_CONFIG_HOME/credrun" "$HOME"
    printf '[mytool]\ninherit = claude\n\n[ mytool/other ]\n[team.ci]\ninherit = codex\n' \
        > "$XDG_CONFIG_HOME/credrun/profiles.conf"
}

# bash_complete WORD...: what bash completion offers for the last WORD of
# `credrun WORD...` (bash-completion's own library, as an interactive shell).
bash_complete() {
    bash -c '
        source /usr/share/bash-completion/bash_completion
        compopt() { :; }  # a builtin that works only inside a completion
        source "$1"; shift
        COMP_WORDS=(credrun "$@"); COMP_CWORD=$#
        COMP_LINE="${COMP_WORDS[*]}"; COMP_POINT=${#COMP_LINE}
        _credrun credrun "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
        printf "%s\n" "${COMPREPLY[@]}"' bash "$BASH_COMP" "$@"
}

# fish_complete LINE: what fish offers at the end of LINE.
fish_complete() {
    fish --no-config -c "source '$FISH_COMP'; complete -C '$1'" | cut -f1
}

need() { command -v "$1" >/dev/null || skip "$1 is not installed"; }

@test "help lists long options and src/profiles.builtin.conf built-in profiles (the lists the completions are checked against)" {
    run help_long_options
    assert_line --partial -- --profile
    assert_line -- --supervise
    (( ${#lines[@]} >= 20 ))
    run builtin_profiles
    assert_line claude
    assert_line codex
    refute_line --partial /
}

@test "bash completion offers every long option that --help prints" {
    [ -r /usr/share/bash-completion/bash_completion ] || skip "bash-completion is not installed"
    run bash_complete --
    assert_success
    offered=$output
    for opt in $(help_long_options); do
        grep -qxF -- "$opt" <<<"$offered" || fail "bash completion does not offer $opt"
    done
}

@test "bash completion offers each built-in profile and each of profiles.conf's after -p and --profile" {
    [ -r /usr/share/bash-completion/bash_completion ] || skip "bash-completion is not installed"
    user_profiles_conf
    for flag in -p --profile; do
        run bash_complete -q "$flag" ""
        assert_success
        for p in $(builtin_profiles) mytool team.ci; do
            assert_line "$p"
        done
        refute_line --partial /
    done
    run bash_complete -p co
    assert_output codex
}

@test "bash completion completes COMMAND as a command line once options end" {
    [ -r /usr/share/bash-completion/bash_completion ] || skip "bash-completion is not installed"
    run bash_complete -q -p claude -- mockct
    assert_line mockctl
    run bash_complete --lock-scope refresh mockct
    assert_line mockctl
    run bash_complete -q -- ls --colo
    assert_line --partial --color
    run bash_complete --lock-scope ""
    assert_output "$(printf 'command\nrefresh')"
}

@test "zsh completion names every long option that --help prints and each profile after -p" {
    for opt in $(help_long_options); do
        grep -qE -- "(^|[{,'\"()])$opt([=+\[}]|\$)" "$ZSH_COMP" || fail "zsh completion lacks $opt"
    done
    need zsh
    run zsh -n "$ZSH_COMP"
    assert_success
    # Run its profile function with stand-ins for compsys's _arguments and _describe.
    user_profiles_conf
    run zsh -fc '_arguments() { :; }; _describe() { print -rl -- ${(P)${@[-1]}}; }
        source "$1"; _credrun_profiles' zsh "$ZSH_COMP"
    assert_success
    for p in $(builtin_profiles) mytool team.ci; do
        assert_line "$p"
    done
}

@test "fish completion offers every long option that --help prints and each profile after -p" {
    need fish
    run fish_complete "credrun --"
    assert_success
    offered=$output
    for opt in $(help_long_options); do
        grep -qxF -- "$opt" <<<"$offered" || fail "fish completion does not offer $opt"
    done
    user_profiles_conf
    for flag in -p --profile; do
        run fish_complete "credrun -q $flag "
        for p in $(builtin_profiles) mytool team.ci; do
            assert_line "$p"
        done
    done
    run fish_complete "credrun -p claude -- mockct"
    assert_line mockctl
    run fish_complete "credrun -q --lock-scope "
    assert_output "$(printf 'command\nrefresh')"
}

# The units as installed: @bindir@ replaced by the directory of the credrun
# under test, so that systemd-analyze finds an executable there.
units_for_test() {
    local dir=$BATS_TEST_TMPDIR/$1 f
    mkdir -p "$dir"
    for f in "$SRC"/contrib/systemd/$2*.in "$SRC"/contrib/systemd/*.timer; do
        f=${f##*/}
        sed "s|@bindir@|$(dirname "$CREDRUN")|g" "$SRC/contrib/systemd/$2$f" > "$dir/${f%.in}" 2>/dev/null ||
            sed "s|@bindir@|$(dirname "$CREDRUN")|g" "$SRC/contrib/systemd/$f" > "$dir/${f%.in}"
    done
    echo "$dir"
}

@test "the system units pass systemd-analyze verify, instantiated for a profile" {
    need systemd-analyze
    dir=$(units_for_test system "")
    for u in credrun-refresh@claude.service credrun-refresh@claude.timer credrun-keeper@codex.service; do
        run systemd-analyze verify --man=no "$dir/$u"
        assert_success
        assert_output ""
    done
    grep -qx "ExecStart=$(dirname "$CREDRUN")/credrun --quiet --profile %i --refresh" "$dir/credrun-refresh@.service"
    grep -qx "ExecStart=$(dirname "$CREDRUN")/credrun --quiet --profile %i --supervise" "$dir/credrun-keeper@.service"
}

@test "the --user units pass systemd-analyze --user verify, instantiated for a profile" {
    need systemd-analyze
    dir=$(units_for_test user user/)
    export XDG_RUNTIME_DIR="$BATS_TEST_TMPDIR/run"
    mkdir -p -m 700 "$XDG_RUNTIME_DIR"
    for u in credrun-refresh@claude.service credrun-refresh@claude.timer credrun-keeper@codex.service; do
        run systemd-analyze --user verify --man=no "$dir/$u"
        assert_success
        assert_output ""
    done
}

@test "the built units name the configured bindir's credrun, nothing left to substitute" {
    built="$(dirname "$CREDRUN")/contrib/systemd"
    [ -e "$built/credrun-refresh@.service" ] || skip "no built units beside $CREDRUN"
    for f in "$built"/credrun-*@.service "$built"/user/credrun-*@.service; do
        refute grep -q '@bindir@' "$f"
        grep -qE '^ExecStart=/[^ ]*/credrun --quiet --profile %i --(refresh|supervise)$' "$f" ||
            fail "$f: ExecStart is not an absolute credrun: $(grep ExecStart "$f")"
    done
}

@test "the docker entrypoint is executable and runs the command through credrun with a live token" {
    [ -x "$SRC/contrib/docker-entrypoint.sh" ]
    new_login --expires-in 3600
    mkdir -p "$BATS_TEST_TMPDIR/bin"
    ln -s "$CREDRUN" "$BATS_TEST_TMPDIR/bin/credrun"
    PATH="$BATS_TEST_TMPDIR/bin:$PATH" CLAUDE_CONFIG_DIR="$CREDS_DIR" \
        run "$SRC/contrib/docker-entrypoint.sh" mockctl check-env CLAUDE_CODE_OAUTH_TOKEN
    assert_success
    assert_output live
}
