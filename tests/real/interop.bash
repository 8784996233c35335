# SPDX-License-Identifier: MIT
# Sourced by the real-client bats files (tests/9x-real-*.bats).
#
# Where the real clients are: $CREDRUN_REAL_CLIENTS, a node_modules
# directory (make interop installs the latest releases into one), else the
# pinned ones in tests/real/node_modules.
real_client() {
    printf '%s/.bin/%s\n' "${CREDRUN_REAL_CLIENTS:-$TESTS_DIR/real/node_modules}" "$1"
}

# What make interop reports per client: interop_note CLIENT FACT TEXT
# appends a line to $CREDRUN_INTEROP_NOTES (nothing when it is unset).
interop_note() {
    [ -z "${CREDRUN_INTEROP_NOTES:-}" ] || printf '%s\t%s\t%s\n' "$1" "$2" "$3" >> "$CREDRUN_INTEROP_NOTES"
}
