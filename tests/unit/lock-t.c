/* SPDX-License-Identifier: MIT */
/* Unit tests for the shared credential lock's public contract: lock_open
 * creates a file no one else may write and refuses links, lock_take excludes another open
 * file description (as flock(1) would), and the wait rules of -n and -w. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lock.h"
#include "tap.h"

static int calls, blocking_calls;

/* Busy to a try, free to a blocking attempt (which waits for it). */
static int busy_then_free(void *arg, bool block)
{
    (void)arg;
    calls++;
    if (!block) {
        errno = EWOULDBLOCK;
        return -1;
    }
    blocking_calls++;
    return 0;
}

/* Busy to the first *(int *)arg tries, then free; never asked to block. */
static int free_after(void *arg, bool block)
{
    calls++;
    if (block)
        blocking_calls++;
    if (calls <= *(int *)arg) {
        errno = EWOULDBLOCK;
        return -1;
    }
    return 0;
}

static int spoke;
static void count_speech(void *arg)
{
    (void)arg;
    spoke++;
}

static int hard_error(void *arg, bool block)
{
    (void)arg;
    (void)block;
    errno = EIO;
    return -1;
}

int main(void)
{
    char dir[] = "/tmp/lock-t.XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    char path[256], link[256];
    snprintf(path, sizeof path, "%s/creds.json.credrun.lock", dir);
    snprintf(link, sizeof link, "%s/link.lock", dir);
    struct cr_err err;

    struct lock_wait w;
    lock_wait_init(&w, false, -1);
    is_int(lock_wait_remaining(&w), -1, "no -w: the wait is unbounded");
    lock_wait_init(&w, false, 0);
    is_int(lock_wait_remaining(&w), 0, "-w 0 leaves nothing to wait (like flock -w 0)");
    lock_wait_init(&w, true, -1);
    is_int(lock_wait_remaining(&w), 0, "-n leaves nothing to wait");
    lock_wait_init(&w, false, 30);
    double left = lock_wait_remaining(&w);
    ok(left > 29 && left <= 30, "-w 30 leaves up to 30 s (%.3f)", left);

    int fd = -1;
    is_int(lock_open(path, NULL, false, &fd, &err), CR_OK, "lock_open creates the lock file");
    struct stat sb = {0};
    int src = fd >= 0 ? fstat(fd, &sb) : -1;
    ok(src == 0 && S_ISREG(sb.st_mode) && (sb.st_mode & 0022) == 0, "a regular file no one else may write (%o)",
       (unsigned)(sb.st_mode & 0777));
    ok((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0, "close-on-exec");
    lock_wait_init(&w, true, -1);
    is_int(lock_take(fd, &w), CR_OK, "an unheld lock is taken at once");

    int other = open(path, O_RDWR | O_CLOEXEC);
    ok(flock(other, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK, "the lock is flock(2)'s: flock(1) sees it held");
    int fd2 = -1;
    is_int(lock_open(path, NULL, false, &fd2, &err), CR_OK, "an existing lock file opens");
    is_int(lock_take(fd2, &w), CR_ERR_LOCK_BUSY, "-n: a held lock is busy, not waited for");
    lock_wait_init(&w, false, 0.2);
    is_int(lock_take(fd2, &w), CR_ERR_LOCK_BUSY, "-w: a lock still held at the deadline is busy");
    close(fd);
    lock_wait_init(&w, true, -1);
    is_int(lock_take(fd2, &w), CR_OK, "released, it is taken");
    close(fd2);
    close(other);

    ok(symlink(path, link) == 0, "a symbolic link to the lock file");
    fd = -1;
    ok(lock_open(link, NULL, false, &fd, &err) != CR_OK && fd < 0, "a lock file that is a symbolic link is refused: %s", err.msg);

    lock_wait_init(&w, false, 5);
    calls = blocking_calls = 0;
    is_int(lock_wait_for(&w, busy_then_free, NULL), CR_OK, "lock_wait_for waits for a busy lock");
    ok(calls == 2 && blocking_calls == 1, "a try, then one blocking attempt (%d calls)", calls);
    lock_wait_init(&w, true, -1);
    calls = blocking_calls = 0;
    is_int(lock_wait_for(&w, busy_then_free, NULL), CR_ERR_LOCK_BUSY, "-n: one busy try is the answer");
    is_int(blocking_calls, 0, "and it never blocks");
    is_int(lock_wait_for(&w, hard_error, NULL), CR_ERR_OS, "a hard error is not waited out");

    /* A polled wait (network filesystems): tries only, never a blocking call. */
    int busy_tries = 3;
    lock_wait_init(&w, false, 30);
    calls = blocking_calls = spoke = 0;
    is_int(lock_poll(&w, free_after, &busy_tries, count_speech, NULL), CR_OK, "a polled lock is taken once it is free");
    ok(calls == 4 && blocking_calls == 0, "by tries that never block (%d tries, %d blocking)", calls, blocking_calls);
    is_int(spoke, 0, "a wait shorter than LOCK_SPEAK_MS says nothing");
    busy_tries = 1000000;
    lock_wait_init(&w, false, 1.2);
    calls = blocking_calls = spoke = 0;
    is_int(lock_poll(&w, free_after, &busy_tries, count_speech, NULL), CR_ERR_LOCK_BUSY,
           "-w: a lock still held at the deadline is busy");
    /* pauses between the tries, not a busy loop (however slow the machine) */
    ok(blocking_calls == 0 && calls >= 2 && calls <= 40, "polled, with pauses between tries (%d tries in 1.2 s)", calls);
    is_int(spoke, 1, "a wait past LOCK_SPEAK_MS says so once");
    lock_wait_init(&w, false, -1);
    is_int(lock_poll(&w, hard_error, NULL, NULL, NULL), CR_ERR_OS, "a hard error ends a polled wait");
    lock_wait_init(&w, true, -1);
    calls = 0;
    is_int(lock_poll(&w, free_after, &busy_tries, NULL, NULL), CR_ERR_LOCK_BUSY, "-n: nothing is polled");
    is_int(calls, 0, "not even one try");

    unlink(link);
    unlink(path);
    rmdir(dir);
    return tap_done();
}
