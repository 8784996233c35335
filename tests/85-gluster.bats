#!/usr/bin/env bats
# SPDX-License-Identifier: MIT
# The GlusterFS setup of tests/gluster.bash, and the facts about two clients
# of one network filesystem that credrun's exactly-once design (issue 18)
# rests on: flock and O_CREAT|O_EXCL are decided at the server and exact
# across clients, mkdir is exclusive (racing clients may both lose), while a
# read after the other client's rename may return the old content for a
# while, even under flock.

load test_helper
load gluster

setup_file() { gluster_setup; }
teardown_file() {
    gluster_teardown
    # setup and teardown times, for the record (the TAP stream shows them as comments)
    if [ -s "${GLUSTER_TIMES:-}" ]; then sed 's/^/# gluster /' "$GLUSTER_TIMES" >&3; fi
}
setup() {
    gluster_skip_unless_ready
    T="t$BATS_TEST_NUMBER"
    mkdir "$GLUSTER_M1/$T"
    GATE="$BATS_TEST_TMPDIR/gate"
    mkfifo "$GATE"
}
teardown() {
    kill_background
    if [ -n "${T:-}" ] && [ -d "${GLUSTER_M1:-}/$T" ]; then rm -rf "${GLUSTER_M1:?}/$T"; fi
}

@test "the two mounts are two FUSE clients of one GlusterFS volume" {
    local m1 m2
    m1=$(awk -v m="$GLUSTER_M1" '$5 == m { print $3, $(NF - 2), $(NF - 1) }' /proc/self/mountinfo)
    m2=$(awk -v m="$GLUSTER_M2" '$5 == m { print $3, $(NF - 2), $(NF - 1) }' /proc/self/mountinfo)
    [[ "$m1" == *" fuse.glusterfs localhost:$GLUSTER_VOL" ]]
    [[ "$m2" == *" fuse.glusterfs localhost:$GLUSTER_VOL" ]]
    # two devices (two clients), not one mount seen twice
    [ "${m1%% *}" != "${m2%% *}" ]
    echo hello > "$GLUSTER_M1/$T/f"
    run cat "$GLUSTER_M2/$T/f"
    assert_output hello
}

@test "flock on one mount excludes the other" {
    touch "$GLUSTER_M1/$T/lock"
    # hold the lock on mount 1 until the gate opens
    flock -x "$GLUSTER_M1/$T/lock" -c "echo held > '$BATS_TEST_TMPDIR/held'; read -r _ < '$GATE'" 3>&- &
    wait_file "$BATS_TEST_TMPDIR/held" held
    run flock -n -x "$GLUSTER_M2/$T/lock" true
    assert_failure 1
    run flock -n -s "$GLUSTER_M2/$T/lock" true
    assert_failure 1
    echo go > "$GATE"
    wait
    run flock -w 30 -x "$GLUSTER_M2/$T/lock" true
    assert_success
}

@test "a shared flock on one mount admits a shared one on the other and holds off an exclusive one" {
    touch "$GLUSTER_M1/$T/lock"
    flock -s "$GLUSTER_M1/$T/lock" -c "echo held > '$BATS_TEST_TMPDIR/held'; read -r _ < '$GATE'" 3>&- &
    wait_file "$BATS_TEST_TMPDIR/held" held
    run flock -n -s "$GLUSTER_M2/$T/lock" true
    assert_success
    run flock -n -x "$GLUSTER_M2/$T/lock" true
    assert_failure 1
    echo go > "$GATE"
    wait
}

# Two processes, one on each mount, race to create the same 200 names.
race_create() {
    python3 - "$GLUSTER_M1/$T" "$GLUSTER_M2/$T" "$1" <<'PY'
import os, sys
a, b, kind = sys.argv[1:4]
N = 200

def create(path):
    if kind == "mkdir":
        os.mkdir(path, 0o700)
    else:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW, 0o600))

r, w = os.pipe()
kids = []
for i, d in enumerate((a, b)):
    pid = os.fork()
    if pid == 0:
        os.close(w)
        os.read(r, 1)  # start together
        won = []
        for n in range(N):
            try:
                create(os.path.join(d, "m%d" % n))
                won.append(n)
            except FileExistsError:
                pass
        with open(os.path.join(d, "..", "won-%s-%d" % (os.path.basename(d), i)), "w") as f:
            f.write(" ".join(map(str, won)))
        os._exit(0)
    kids.append(pid)
os.close(r)
os.write(w, b"gg")
os.close(w)
for pid in kids:
    _, st = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(st) == 0
won = []
for i, d in enumerate((a, b)):
    p = os.path.join(d, "..", "won-%s-%d" % (os.path.basename(d), i))
    won.append(set(map(int, open(p).read().split())))
    os.unlink(p)
both = won[0] & won[1]
lost = [n for n in range(N) if n not in won[0] | won[1]]
left = [n for n in lost if os.path.lexists(os.path.join(a, "m%d" % n)) or os.path.lexists(os.path.join(b, "m%d" % n))]
print("mount1 %d mount2 %d both %d missing %d left %d" % (len(won[0]), len(won[1]), len(both), len(lost), len(left)))
PY
}

@test "O_CREAT|O_EXCL is exact across mounts: each of 200 names is created by exactly one client" {
    run race_create excl
    assert_success
    assert_output --regexp '^mount1 [0-9]+ mount2 [0-9]+ both 0 missing 0 left 0$'
}

@test "mkdir across mounts never succeeds on both clients" {
    # Measured: racing mkdirs of one name from two clients sometimes both get
    # EEXIST (a few of 200), the directory then usually absent, at times seen
    # for a moment: exclusive, but a lock taker must retry when the directory
    # it collided with is not there, and may meet one nobody holds.
    run race_create mkdir
    assert_success
    echo "# mkdir race: $output" >&3
    assert_output --regexp '^mount1 [0-9]+ mount2 [0-9]+ both 0 missing [0-9]+ left [0-9]+$'
}

@test "a read on one mount after a rename on the other returns the old content for a while, even under flock" {
    # This is the hazard issue 18 guards against: if it ever stops holding,
    # the cross-client tests no longer test what they claim.
    run python3 - "$GLUSTER_M1/$T" "$GLUSTER_M2/$T" <<'PY'
import fcntl, os, sys, time
a, b = sys.argv[1:3]
stale_seen = 0
longest = 0.0
for attempt in range(3):
    name = "f%d" % attempt
    with open(os.path.join(a, name), "w") as f:
        f.write("old")
    # mount 2 learns the old content
    deadline = time.monotonic() + 10
    while open(os.path.join(b, name)).read() != "old":
        assert time.monotonic() < deadline, "mount 2 never saw the first content"
        time.sleep(0.01)
    lk = os.open(os.path.join(a, "lock"), os.O_CREAT | os.O_RDWR, 0o600)
    # mount 1 replaces the file the way credrun does: write a temp, rename over
    fcntl.flock(lk, fcntl.LOCK_EX)
    with open(os.path.join(a, name + ".tmp"), "w") as f:
        f.write("new")
        f.flush()
        os.fsync(f.fileno())
    os.rename(os.path.join(a, name + ".tmp"), os.path.join(a, name))
    fcntl.flock(lk, fcntl.LOCK_UN)
    os.close(lk)
    t0 = time.monotonic()
    # mount 2 reads under the same lock
    lk = os.open(os.path.join(b, "lock"), os.O_RDWR)
    stale = False
    while True:
        fcntl.flock(lk, fcntl.LOCK_EX)
        try:
            got = open(os.path.join(b, name)).read()
        except (FileNotFoundError, OSError):
            got = "(vanished)"
        fcntl.flock(lk, fcntl.LOCK_UN)
        if got == "new":
            break
        stale = True
        assert time.monotonic() - t0 < 30, "mount 2 never saw the new content"
        time.sleep(0.01)
    os.close(lk)
    if stale:
        stale_seen += 1
        longest = max(longest, time.monotonic() - t0)
print("stale in %d of 3, for up to %.2f s" % (stale_seen, longest))
PY
    assert_success
    echo "# $output" >&3
    # at least once the other client read the old content under the lock
    refute_output --partial "stale in 0 of 3"
}

@test "the spent-marker module's unit tests pass on the GlusterFS volume" {
    local t
    t="$(dirname "$CREDRUN")/tests/unit/spent-t"
    [ -x "$t" ] || skip "$t is not built (make check builds it)"
    SPENT_T_DIR="$GLUSTER_M1/$T" run "$t"
    assert_success
    refute_output --partial "not ok"
}

@test "a marker made on one mount is found at once on the other: O_EXCL is exact under rename-lagging reads" {
    local name
    name=$(printf %s "rt-cross" | sha256sum | cut -d' ' -f1)
    mkdir -m 700 "$GLUSTER_M1/$T/c.json.credrun.spent"
    run python3 - "$GLUSTER_M1/$T/c.json.credrun.spent/$name" "$GLUSTER_M2/$T/c.json.credrun.spent/$name" <<'PY'
import os, sys
flags = os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_NOFOLLOW
os.close(os.open(sys.argv[1], flags, 0o600))
try:
    os.open(sys.argv[2], flags, 0o600)
    print("created twice")
except FileExistsError:
    print("exists")
PY
    assert_output exists
}
