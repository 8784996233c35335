/* SPDX-License-Identifier: MIT */
/* The applications' own refresh locks: proper-lockfile lock directories,
 * fcntl open-file-description locks and flock(2) locks. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "applock.h"
#include "expiry.h"
#include "fileown.h"
#include "fsclock.h"
#include "log.h"
#include "util.h"

#define POLL_MS 50

static void nap(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int64_t mono_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* The filesystem's clock where a lock directory lives, read once per wait
 * (a file created beside it, touched and removed) and carried on with the
 * monotonic clock; this machine's clock when nothing can be created there. */
struct dir_clock {
    bool read;
    double at_s;     /* the filesystem's time when read */
    int64_t mono_ms; /* the monotonic time then */
};

static double dir_now(const char *lock, struct dir_clock *c)
{
    if (!c->read) {
        c->read = true;
        char *name = xasprintf("%s.credrun-clock.%ld", lock, (long)getpid());
        struct timespec t;
        int fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
        if (fd >= 0 && fsclock_read(fd, &t) == 0) {
            c->at_s = fsclock_seconds(t);
        } else {
            log_info("cannot read the filesystem's clock beside %s (%s); using this machine's", lock, strerror(errno));
            c->at_s = (double)expiry_now_ms() / 1000;
        }
        if (fd >= 0) {
            close(fd);
            unlink(name);
        }
        free(name);
        c->mono_ms = mono_ms();
    }
    return c->at_s + (double)(mono_ms() - c->mono_ms) / 1000;
}

/* How to get rid of what stands at a lock's place and cannot be removed. */
static const char *removal_hint(int errnum)
{
    if (errnum == ENOTDIR)
        return "it is not a directory: remove it (rm)";
    if (errnum == EPERM || errnum == EACCES)
        return "it belongs to another user: remove it as that user or as root";
    return "remove it (rm -r) if no application is refreshing";
}

/* Say once, past LOCK_SPEAK_MS, what the wait is for. */
static void speak_dir(const struct applock_spec *sp, double age_s, int stuck)
{
    if (stuck) {
        log_warn("waiting for the application's lock %s: it cannot be removed (%s); %s", sp->path, strerror(stuck),
                 removal_hint(stuck));
        return;
    }
    char since[64] = "";
    struct statx stx;
    if (statx(AT_FDCWD, sp->path, AT_SYMLINK_NOFOLLOW, STATX_BTIME, &stx) == 0 && (stx.stx_mask & STATX_BTIME)) {
        char when[16];
        lock_clock_text((time_t)stx.stx_btime.tv_sec, when, sizeof when);
        snprintf(since, sizeof since, " since %s", when);
    }
    log_warn("waiting for the application's lock %s, held%s (touched %.0f s ago; taken for stale after %d s untouched)",
             sp->path, since, age_s < 0 ? 0 : age_s, sp->stale_s);
}

/* Take one lock directory, polling while a live one exists. A stale one is
 * removed; one that cannot be (not empty, not a directory, another user's)
 * counts as held, within the same limits. */
static enum cr_status take_dir(const struct applock_spec *sp, const struct lock_wait *w, struct applock_set *keep_alive,
                               bool *skipped, struct cr_err *err)
{
    bool said = false, spoke = false;
    struct dir_clock clk = {0};
    int64_t start = mono_ms();
    for (;;) {
        if (mkdir(sp->path, 0755) == 0)
            return CR_OK;
        int errnum = errno;
        if (errnum == EEXIST) {
            struct stat st;
            if (lstat(sp->path, &st) != 0)
                continue; /* gone meanwhile: mkdir again */
            double age = dir_now(sp->path, &clk) - fsclock_seconds(st.st_mtim);
            int stuck = S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
            if (!stuck && age > sp->stale_s) {
                /* proper-lockfile's rule: a stale lock may be removed, then
                 * the mkdir retried */
                if (rmdir(sp->path) == 0) {
                    log_warn("removed stale lock %s (untouched for over %d s)", sp->path, sp->stale_s);
                    continue;
                }
                if (errno == ENOENT)
                    continue;
                stuck = errno == EEXIST ? ENOTEMPTY : errno;
            }
            double left = lock_wait_remaining(w);
            if (left == 0) {
                if (stuck)
                    cr_fail(err, CR_ERR_LOCK_BUSY, "the application's lock %s is stale but cannot be removed (%s); %s",
                            sp->path, strerror(stuck), removal_hint(stuck));
                else
                    cr_fail(err, CR_ERR_LOCK_BUSY, "the application's lock %s is held (its owner is refreshing)",
                            sp->path);
                lock_wait_gave_up(w, err);
                return CR_ERR_LOCK_BUSY;
            }
            if (!said) {
                log_info("waiting for the application's lock %s", sp->path);
                said = true;
            }
            if (!spoke && mono_ms() - start >= LOCK_SPEAK_MS) {
                speak_dir(sp, age, stuck);
                spoke = true;
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

struct ofd_wait {
    const char *path;
    int fd;
};

static void speak_ofd(void *arg)
{
    const struct ofd_wait *o = arg;
    char who[200];
    lock_holder(o->fd, who, sizeof who);
    log_warn("waiting for the application's lock %s, held by %s", o->path, who[0] ? who : "another process");
}

/* Open (creating it like credrun's own lock file) the lock file an fcntl
 * or flock lock takes; need_write for fcntl's write lock. Returns CR_OK with
 * *fd set, CR_OK with *skipped set for an optional lock that cannot be
 * opened there, or CR_ERR_CANT_WRITE. */
static enum cr_status open_lock_file(const struct applock_spec *sp, bool need_write, int *fd, bool *skipped,
                                     struct cr_err *err)
{
    *fd = fileown_open_lock(sp->path, NULL, need_write, false);
    if (*fd < 0) {
        int errnum = errno;
        if (sp->optional && (errnum == EROFS || errnum == EACCES || errnum == EPERM)) {
            *skipped = true;
            return CR_OK;
        }
        return cr_fail(err, CR_ERR_CANT_WRITE, "cannot open the application's lock %s: %s", sp->path, strerror(errnum));
    }
    log_info("taking the application's lock %s", sp->path);
    return CR_OK;
}

/* Take an fcntl lock on the file at path (Java's FileChannel.lock()). */
static enum cr_status take_fcntl(const struct applock_spec *sp, const struct lock_wait *w, int *fd, bool *skipped,
                                 struct cr_err *err)
{
    int f;
    enum cr_status ost = open_lock_file(sp, true, &f, skipped, err);
    if (ost != CR_OK || *skipped)
        return ost;
    struct ofd_wait ow = {sp->path, f};
    enum cr_status st = lock_wait_speaking(w, try_ofd, &f, sp->path, speak_ofd, &ow);
    if (st != CR_OK) {
        if (st == CR_ERR_LOCK_BUSY) {
            char who[200];
            lock_holder(f, who, sizeof who);
            cr_fail(err, st, "the application's lock %s is held%s%s (is the application running?)", sp->path,
                    who[0] ? " by " : "", who);
            lock_wait_gave_up(w, err);
        } else
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
    int f;
    enum cr_status ost = open_lock_file(sp, false, &f, skipped, err);
    if (ost != CR_OK || *skipped)
        return ost;
    enum cr_status st = CR_OK;
    int64_t start = mono_ms();
    bool spoke = false;
    if (!sp->nonblock)
        st = lock_take_named(f, sp->path, w);
    else
        while (flock(f, LOCK_EX | LOCK_NB) != 0) {
            if (errno != EWOULDBLOCK) {
                st = CR_ERR_OS;
                break;
            }
            if (!spoke && mono_ms() - start >= LOCK_SPEAK_MS) {
                log_warn("waiting for the application's lock %s, held by another process", sp->path);
                spoke = true;
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
