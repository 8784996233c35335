# shellcheck shell=bash
# SPDX-License-Identifier: MIT
# A GlusterFS volume with two FUSE client mounts, the way two hosts mount one
# network filesystem, for the bats files that test credrun across clients.
#
#   load test_helper
#   load gluster
#   setup_file()    { gluster_setup; }
#   teardown_file() { gluster_teardown; }
#   setup()         { gluster_skip_unless_ready; }
#
# bats 1.8 cannot skip from setup_file, so gluster_setup only records why it
# cannot run (GLUSTER_SKIP) and each test skips in setup with that reason.
#
# gluster_setup exports:
#   GLUSTER_VOL     the volume's name (unique per run)
#   GLUSTER_M1      the first client mount (say, host A)
#   GLUSTER_M2      the second client mount of the same volume (host B)
#   GLUSTER_DIR     a directory for logs and the brick, outside the mounts
#   GLUSTER_TIMES   a file with one "phase seconds" line per setup/teardown step
#
# It starts glusterd only when none answers, and gluster_teardown stops only a
# glusterd that gluster_setup started. It skips, saying why, when not root,
# without /dev/fuse or the gluster commands, when the host name does not
# resolve, when glusterd will not start or a FUSE mount fails, and when
# CREDRUN_SKIP_GLUSTER is set. CREDRUN_REQUIRE_GLUSTER=1 turns those skips
# (other than CREDRUN_SKIP_GLUSTER) into failures, for a CI that must run them.
#
# Needs glusterfs-server, glusterfs-client, fuse3 and psmisc (fuser).

# gluster CLI in script mode (never prompts), with a bound on each call.
_gl() { timeout 60 gluster --mode=script "$@"; }

# Is a glusterd answering on this machine?
_gl_alive() { _gl volume list >/dev/null 2>&1; }

# Is process $1 still running (not gone, not a zombie waiting to be reaped)?
_gl_running() {
    local st
    st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
    [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# Record how long a phase took: _gl_time PHASE START_EPOCHREALTIME.
_gl_time() {
    local us=$((${EPOCHREALTIME/./} - ${2/./}))
    printf '%s %d.%03d\n' "$1" $((us / 1000000)) $((us % 1000000 / 1000)) >>"$GLUSTER_TIMES"
}

# Record why the tests cannot run (GLUSTER_SKIP), cleaning up whatever was
# set up so far; returns 0, or 1 with CREDRUN_REQUIRE_GLUSTER=1 (then a failure).
_gl_cannot() {
    gluster_teardown
    if [ "${CREDRUN_REQUIRE_GLUSTER:-}" = 1 ]; then
        echo "gluster: $* (CREDRUN_REQUIRE_GLUSTER=1)" >&2
        return 1
    fi
    export GLUSTER_SKIP="GlusterFS tests skipped: $*"
    return 0
}

# In setup(): skip the test when gluster_setup could not make the volume.
gluster_skip_unless_ready() {
    if [ -n "${GLUSTER_SKIP:-}" ]; then skip "$GLUSTER_SKIP"; fi
    [ -n "${GLUSTER_M1:-}" ] || skip "GlusterFS tests skipped: gluster_setup did not run"
}

# Wait (at most ~20 s) until a file created on mount $1 is seen on mount $2:
# both clients are connected to the brick.
_gl_wait_mounts() {
    local probe=".credrun-probe.$$" i
    for ((i = 0; i < 200; i++)); do
        if mountpoint -q "$1" && mountpoint -q "$2" &&
            : 2>/dev/null >"$1/$probe" && [ -e "$2/$probe" ]; then
            rm -f "$1/$probe"
            return 0
        fi
        sleep 0.1
    done
    return 1
}

# Mount the volume at $1 as one more client; its log beside the brick.
# glusterfs returns once the mount is up (its daemon stays): bound that wait.
_gl_mount() {
    timeout 60 glusterfs --volfile-server=localhost --volfile-id="$GLUSTER_VOL" --log-file="$GLUSTER_DIR/$(basename "$1").log" "$1" \
        </dev/null >/dev/null 2>&1 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&-
}

gluster_setup() {
    local t0 t cmd host
    export GLUSTER_SKIP=
    if [ -n "${CREDRUN_SKIP_GLUSTER:-}" ]; then
        export GLUSTER_SKIP="GlusterFS tests skipped: CREDRUN_SKIP_GLUSTER is set"
        return 0
    fi
    GLUSTER_DIR="${BATS_FILE_TMPDIR:?gluster_setup runs in setup_file}/gluster"
    GLUSTER_TIMES="$GLUSTER_DIR/times"
    GLUSTER_VOL="credrun-$(date +%s)-$$-$RANDOM"
    GLUSTER_M1="$GLUSTER_DIR/m1"
    GLUSTER_M2="$GLUSTER_DIR/m2"
    GLUSTER_BRICK="$GLUSTER_DIR/brick"
    GLUSTER_STARTED_PID=
    GLUSTER_CREATED=
    export GLUSTER_DIR GLUSTER_TIMES GLUSTER_VOL GLUSTER_M1 GLUSTER_M2 GLUSTER_BRICK GLUSTER_STARTED_PID GLUSTER_CREATED
    mkdir -p "$GLUSTER_DIR" "$GLUSTER_M1" "$GLUSTER_M2" "$GLUSTER_BRICK"
    : >"$GLUSTER_TIMES"

    if [ "$(id -u)" != 0 ]; then
        _gl_cannot "they need root (glusterd and FUSE mounts); run make check as root"
        return
    fi
    if [ ! -c /dev/fuse ]; then
        _gl_cannot "no /dev/fuse (load the fuse module, or give the container --device /dev/fuse)"
        return
    fi
    for cmd in glusterd gluster glusterfs mountpoint fuser timeout; do
        if ! command -v "$cmd" >/dev/null; then
            _gl_cannot "$cmd is not installed (apt-get install glusterfs-server glusterfs-client fuse3 psmisc)"
            return
        fi
    done
    host=$(hostname)
    if ! getent hosts "$host" >/dev/null; then
        _gl_cannot "the host name $host does not resolve (glusterd names the brick by it); add it to /etc/hosts"
        return
    fi

    t0=$EPOCHREALTIME
    if ! _gl_alive; then
        # No systemd here: glusterd daemonizes itself; -p tells which process it became.
        if ! glusterd -p "$GLUSTER_DIR/glusterd.pid" -l "$GLUSTER_DIR/glusterd.log" \
            </dev/null >"$GLUSTER_DIR/glusterd.out" 2>&1 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&-; then
            _gl_cannot "glusterd will not start: $(tail -3 "$GLUSTER_DIR/glusterd.out")"
            return
        fi
        for ((t = 0; t < 200; t++)); do
            _gl_alive && break
            sleep 0.1
        done
        GLUSTER_STARTED_PID=$(cat "$GLUSTER_DIR/glusterd.pid" 2>/dev/null)
        # A peer's glusterd may have won the race for the port: then it is not ours to stop.
        if [ -n "$GLUSTER_STARTED_PID" ] && ! _gl_running "$GLUSTER_STARTED_PID"; then
            GLUSTER_STARTED_PID=
        fi
        export GLUSTER_STARTED_PID
        if ! _gl_alive; then
            _gl_cannot "glusterd will not start; its log: $(grep -E '\] [EC] \[' "$GLUSTER_DIR/glusterd.log" | tail -3)"
            return
        fi
    fi
    _gl_time glusterd "$t0"

    t0=$EPOCHREALTIME
    _gl volume create "$GLUSTER_VOL" "$host:$GLUSTER_BRICK" force >"$GLUSTER_DIR/create.out" 2>&1 || {
        echo "gluster: volume create failed: $(cat "$GLUSTER_DIR/create.out")" >&2
        gluster_teardown
        return 1
    }
    GLUSTER_CREATED=1
    export GLUSTER_CREATED
    _gl volume start "$GLUSTER_VOL" >"$GLUSTER_DIR/start.out" 2>&1 || {
        echo "gluster: volume start failed: $(cat "$GLUSTER_DIR/start.out")" >&2
        gluster_teardown
        return 1
    }
    _gl_time volume "$t0"

    t0=$EPOCHREALTIME
    if ! { _gl_mount "$GLUSTER_M1" && _gl_mount "$GLUSTER_M2" && _gl_wait_mounts "$GLUSTER_M1" "$GLUSTER_M2"; }; then
        _gl_cannot "cannot mount the volume with FUSE: $(grep -hE '\] [EC] \[' "$GLUSTER_DIR"/m[12].log 2>/dev/null | tail -2)"
        return
    fi
    _gl_time mounts "$t0"
}

# The device ("0:52") of the mount at $1, from the mount table (a stat of a
# hung FUSE mount would hang too); empty when nothing is mounted there.
_gl_mount_dev() { awk -v m="$1" '$5 == m { d = $3 } END { print d }' /proc/self/mountinfo; }

# Abort the FUSE connection of the mount at $1 (fusectl), so that the
# processes a hung client holds in its requests get an error and go.
_gl_abort_fuse() {
    local dev conn=/sys/fs/fuse/connections
    dev=$(_gl_mount_dev "$1")
    [ -n "$dev" ] || return 0
    grep -q " $conn " /proc/self/mountinfo || mount -t fusectl fusectl "$conn" 2>/dev/null || true
    if [ -w "$conn/${dev#*:}/abort" ]; then echo 1 >"$conn/${dev#*:}/abort" || true; fi
}

# Unmount $1 if mounted: plainly, then after ending what still uses it, then
# lazily. A client that stopped answering (umount and fuser would hang in
# its stat) first has its FUSE connection aborted.
_gl_umount() {
    if [ -z "$(_gl_mount_dev "$1")" ]; then return 0; fi
    if ! timeout -k 2 10 stat -f "$1" >/dev/null 2>&1; then
        echo "gluster: the client mounted at $1 does not answer: aborting its FUSE connection" >&2
        _gl_abort_fuse "$1"
        timeout -k 2 10 umount -l "$1" 2>/dev/null || echo "gluster: cannot unmount $1; unmount it with: umount -l $1" >&2
        return 0
    fi
    if timeout -k 2 30 umount "$1" 2>/dev/null; then return 0; fi
    timeout -k 2 10 fuser -km "$1" >/dev/null 2>&1 || true
    sleep 0.2
    if ! timeout -k 2 30 umount "$1" 2>/dev/null && ! timeout -k 2 10 umount -l "$1" 2>/dev/null; then
        echo "gluster: cannot unmount $1; unmount it with: umount -l $1" >&2
    fi
}

# Undo what gluster_setup did, whatever step it reached; never fails.
gluster_teardown() {
    local t0 i pid
    if [ -z "${GLUSTER_DIR:-}" ]; then return 0; fi
    t0=$EPOCHREALTIME
    _gl_umount "$GLUSTER_M1"
    _gl_umount "$GLUSTER_M2"
    if [ -n "${GLUSTER_CREATED:-}" ]; then
        _gl volume stop "$GLUSTER_VOL" force >/dev/null 2>&1 || true
        # a brick process that volume stop left behind
        for pid in $(cat /var/run/gluster/vols/"$GLUSTER_VOL"/*.pid 2>/dev/null); do
            if _gl_running "$pid"; then kill -TERM "$pid" 2>/dev/null || true; fi
        done
        if ! _gl volume delete "$GLUSTER_VOL" >/dev/null 2>&1; then
            echo "gluster: could not delete volume $GLUSTER_VOL; delete it with: gluster volume delete $GLUSTER_VOL" >&2
        fi
        # what glusterd keeps of the volume outside /var/lib/glusterd
        rm -rf /var/run/gluster/vols/"$GLUSTER_VOL" \
            "/var/log/glusterfs/bricks/$(printf '%s' "${GLUSTER_BRICK#/}" | tr / -).log" || true
        GLUSTER_CREATED=
    fi
    # a glusterd this run started but another run's volume now uses stays up
    if [ -n "${GLUSTER_STARTED_PID:-}" ] && _gl volume list 2>/dev/null | grep -qv '^No volumes present'; then
        echo "gluster: leaving glusterd $GLUSTER_STARTED_PID running: other volumes use it" >&2
        GLUSTER_STARTED_PID=
    fi
    if [ -n "${GLUSTER_STARTED_PID:-}" ]; then
        kill -TERM "$GLUSTER_STARTED_PID" 2>/dev/null || true
        for ((i = 0; i < 100; i++)); do
            if ! _gl_running "$GLUSTER_STARTED_PID"; then break; fi
            sleep 0.05
        done
        if _gl_running "$GLUSTER_STARTED_PID"; then kill -KILL "$GLUSTER_STARTED_PID" 2>/dev/null || true; fi
        GLUSTER_STARTED_PID=
    fi
    # the brick holds trusted.* xattrs and a .glusterfs tree
    rm -rf "$GLUSTER_BRICK" || true
    if [ -f "${GLUSTER_TIMES:-}" ]; then _gl_time teardown "$t0"; fi
    return 0
}
