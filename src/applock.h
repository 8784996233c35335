/* SPDX-License-Identifier: MIT */
/* The applications' own refresh locks, held while credrun refreshes so a
 * wrapped or unwrapped app never refreshes at the same moment: proper-lockfile
 * style lock directories (Claude Code, relay), fcntl record locks (ECA's
 * Java FileChannel.lock) and flock(2) locks (Codex's write locks). Taken after credrun's own lock, only to refresh,
 * and released before COMMAND runs. */
#ifndef CREDRUN_APPLOCK_H
#define CREDRUN_APPLOCK_H

#include <stdbool.h>
#include <stddef.h>

#include "lock.h"
#include "status.h"

enum applock_kind {
    APPLOCK_MKDIR, /* mkdir to take, rmdir to release, mtime refreshed while held */
    APPLOCK_FCNTL, /* an fcntl write lock (open file description lock) on a file */
    APPLOCK_FLOCK, /* flock(2) LOCK_EX on a file (Codex's auth.lock, auth.json.lock) */
};

/* One application lock, with its path already expanded. */
struct applock_spec {
    enum applock_kind kind;
    const char *path;
    int stale_s;   /* APPLOCK_MKDIR: a lock whose mtime is older may be broken */
    bool optional; /* skip it when it cannot be created there (EROFS, EACCES) */
    bool nonblock; /* APPLOCK_FLOCK: only LOCK_EX|LOCK_NB, retried while busy, as the application takes it */
};

#define APPLOCK_MAX 4

/* The locks held by one refresh. */
struct applock_set {
    size_t n;
    struct {
        const struct applock_spec *spec;
        int fd;            /* APPLOCK_FCNTL, APPLOCK_FLOCK: the locked file */
        bool held;
    } held[APPLOCK_MAX];
    long long last_touch_ms;
};

/* Without -n or -w, the wait for an application's lock is capped. */
#define APPLOCK_DEFAULT_WAIT_S 120

/* Take the n locks of specs in order, within the limits of w (or at most
 * APPLOCK_DEFAULT_WAIT_S when w is unbounded). A lock directory older than
 * its stale time is broken; a live one never is. An optional lock that
 * cannot be created where it lives (read-only or foreign directory) is
 * skipped. Returns CR_OK with every lock held, or CR_ERR_LOCK_BUSY /
 * CR_ERR_CANT_WRITE with none held and err filled. specs must outlive s.
 * keep_alive, if not NULL, is a set already held that is ticked while this
 * call waits. */
enum cr_status applock_acquire(struct applock_set *s, const struct applock_spec *specs, size_t n,
                               const struct lock_wait *w, struct applock_set *keep_alive, struct cr_err *err)
    __attribute__((__nonnull__(1, 4, 6)));

/* Refresh the mtime of every held lock directory, at most once a second, so
 * the app never takes a lock in use for a stale one. Call it often while
 * held (the HTTP request calls it from libcurl's progress callback). */
void applock_tick(struct applock_set *s) __attribute__((__nonnull__));

/* Release every held lock; s may be released twice. */
void applock_release(struct applock_set *s) __attribute__((__nonnull__));

#endif
