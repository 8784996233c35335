#!/bin/sh
# SPDX-License-Identifier: MIT
# A container entrypoint for agents that share one Claude Code login.
# Mount the credentials *directory* (not the file: a single-file bind mount
# cannot be replaced atomically) from the host into every container:
#   docker run -v "$HOME/.claude:/root/.claude" IMAGE claude -p "..."
# The lock credrun takes lives in that directory, so every container (and
# the host) shares it whatever path each mounts it at.
set -eu
exec credrun --lock-scope refresh -- "$@"
