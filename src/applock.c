/* SPDX-License-Identifier: MIT */
/* The applications' own refresh locks: proper-lockfile lock directories,
 * fcntl open-file-description locks and flock(2) locks. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "applock.h"
#include "expiry.h"
#include "fileown.h"
#include "log.h"

#define POLL_MS 50

static void nap(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Is the lock directory at path older than stale_s (by its mtime)? */
static bool dir_is_stale(const char *path, int stale_s)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return false; /* gone: the next mkdir will tell */
    int64_t mtime_ms = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
    return expiry_now_ms() - mtime_ms > (int64_t)stale_s * 1000;
}

/* Take one lock directory, polling while a live one exists. */
static enum cr_status take_dir(const struct applock_spec *sp, const struct lock_wait *w, struct applock_set *keep_alive,
                               bool *skipped, struct cr_err *err)
{
    bool said = false;
    for (;;) {
        if (mkdir(sp->path, 0755) == 0)
            return CR_OK;
        int errnum = errno;
        if (errnum == EEXIST) {
            if (dir_is_stale(sp->path, sp->stale_s)) {
                /* proper-lockfile's rule: a stale lock may be removed, then
                 * the mkdir retried; rmdir fails harmlessly if it is gone or
                 * was just retaken and is no longer empty of meaning. */
                if (rmdir(sp->path) == 0)
                    log_warn("removed stale lock %s (untouched for over %d s)", sp->path, sp->stale_s);
                continue;
            }
            double left = lock_wait_remaining(w);
            if (left == 0) {
                return cr_fail(err, CR_ERR_LOCK_BUSY, "the application's lock %s is held (its owner is refreshing)", sp->path);
            }
            if (!said) {
                log_info("waiting for the application's lock %s", sp->path);
                said = true;
            }
            if (keep_alive)
                applock_tick(keep_alive);
            nap(left > 0 && left * 1000 < POLL_MS ? (long)(left * 1000) + 1 : POLL_MS);
            continue;
        }
        if (sp->optional && (errnum == EROFS || errnum == EACCES || errnum == EPERM || errnum == ENOENT)) {
            log_info("skipping lock %s: %s", sp->path, strerror(errnum));
            *skipped = true;
            return CR_OK;
        }
        return cr_fail(err, CR_ERR_CANT_WRITE, "cannot create the application's lock %s: %s", sp->path, strerror(errnum));
    }
}

static int try_ofd(void *arg, bool block)
{
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
    return fcntl(*(int *)arg, block ? F_OFD_SETLKW : F_OFD_SETLK, &fl);
}

/* Take an fcntl lock on the file at path (Java's FileChannel.lock()). */
static enum cr_status take_fcntl(const struct applock_spec *sp, const struct lock_wait *w, int *fd, bool *skipped,
                                 struct cr_err *err)
{
    int f = fileown_open_lock(sp->path, NULL, true);
    if (f < 0) {
        int errnum = errno;
        if (sp->optional && (errnum == EROFS || errnum == EACCES || errnum == EPERM)) {
            *skipped = true;
            return CR_OK;
        }
        return cr_fail(err, CR_ERR_CANT_WRITE, "cannot open the application's lock %s: %s", sp->path, strerror(errnum));
    }
    log_info("taking the application's lock %s", sp->path);
    enum cr_status st = lock_wait_for(w, try_ofd, &f);
    if (st != CR_OK) {
        if (st == CR_ERR_LOCK_BUSY)
            cr_fail(err, st, "the application's lock %s is held (is the application running?)", sp->path);
        else
            cr_fail(err, st, "cannot lock %s: %s", sp->path, strerror(errno));
        close(f);
        return st;
    }
    *fd = f;
    return CR_OK;
}

/* Take flock(2) LOCK_EX on the file at path: blocking within w, or, for a
 * nonblock lock, LOCK_NB tried again every POLL_MS within w. The file is
 * created like credrun's own lock file and never removed (unlinking a flock
 * file races with its next taker). */
static enum cr_status take_flock(const struct applock_spec *sp, const struct lock_wait *w, int *fd, bool *skipped,
                                 struct cr_err *err)
{
    int f = fileown_open_lock(sp->path, NULL, false);
    if (f < 0) {
        int errnum = errno;
        if (sp->optional && (errnum == EROFS || errnum == EACCES || errnum == EPERM)) {
            *skipped = true;
            return CR_OK;
        }
        return cr_fail(err, CR_ERR_CANT_WRITE, "cannot open the application's lock %s: %s", sp->path, strerror(errnum));
    }
    log_info("taking the application's lock %s", sp->path);
    enum cr_status st = CR_OK;
    if (!sp->nonblock)
        st = lock_take(f, w);
    else
        while (flock(f, LOCK_EX | LOCK_NB) != 0) {
            if (errno != EWOULDBLOCK) {
                st = CR_ERR_OS;
                break;
            }
            double left = lock_wait_remaining(w);
            if (left == 0) {
                st = CR_ERR_LOCK_BUSY;
                break;
            }
            nap(left > 0 && left * 1000 < POLL_MS ? (long)(left * 1000) + 1 : POLL_MS);
        }
    if (st != CR_OK) {
        if (st == CR_ERR_LOCK_BUSY)
            cr_fail(err, st, "the application's lock %s is held (is the application writing its login?)", sp->path);
        else
            cr_fail(err, st, "cannot lock %s: %s", sp->path, strerror(errno));
        close(f);
        return st;
    }
    *fd = f;
    return CR_OK;
}

enum cr_status applock_acquire(struct applock_set *s, const struct applock_spec *specs, size_t n,
                               const struct lock_wait *w, struct applock_set *keep_alive, struct cr_err *err)
{
    memset(s, 0, sizeof *s);
    struct lock_wait capped = *w;
    if (!w->nonblock && !w->bounded)
        lock_wait_init(&capped, false, APPLOCK_DEFAULT_WAIT_S);
    for (size_t i = 0; i < n && i < APPLOCK_MAX; i++) {
        const struct applock_spec *sp = &specs[i];
        bool skipped = false;
        int fd = -1;
        enum cr_status st = sp->kind == APPLOCK_MKDIR   ? take_dir(sp, &capped, keep_alive, &skipped, err)
                            : sp->kind == APPLOCK_FLOCK ? take_flock(sp, &capped, &fd, &skipped, err)
                                                        : take_fcntl(sp, &capped, &fd, &skipped, err);
        if (st != CR_OK) {
            applock_release(s);
            return st;
        }
        if (skipped)
            continue;
        s->held[s->n].spec = sp;
        s->held[s->n].fd = fd;
        s->held[s->n].held = true;
        s->n++;
        log_info("holding the application's lock %s", sp->path);
    }
    s->last_touch_ms = expiry_now_ms();
    return CR_OK;
}

void applock_tick(struct applock_set *s)
{
    long long now = expiry_now_ms();
    if (now - s->last_touch_ms < 1000)
        return;
    s->last_touch_ms = now;
    for (size_t i = 0; i < s->n; i++)
        if (s->held[i].held && s->held[i].spec->kind == APPLOCK_MKDIR)
            utimensat(AT_FDCWD, s->held[i].spec->path, NULL, 0);
}

void applock_release(struct applock_set *s)
{
    for (size_t i = s->n; i-- > 0;) {
        if (!s->held[i].held)
            continue;
        if (s->held[i].spec->kind == APPLOCK_MKDIR) {
            if (rmdir(s->held[i].spec->path) != 0 && errno != ENOENT)
                log_warn("cannot remove lock %s: %s", s->held[i].spec->path, strerror(errno));
        } else {
            close(s->held[i].fd);
        }
        s->held[i].held = false;
    }
    s->n = 0;
}
