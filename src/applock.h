/* SPDX-License-Identifier: MIT */
/* The applications' own refresh locks, held while credrun refreshes so a
 * wrapped or unwrapped app never refreshes at the same moment: proper-lockfile
 * style lock directories (Claude Code, relay) and fcntl record locks (ECA's
 * Java FileChannel.lock). Taken after credrun's own lock, only to refresh,
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
};

/* One application lock, with its path already expanded. */
struct applock_spec {
    enum applock_kind kind;
    const char *path;
    int stale_s;   /* APPLOCK_MKDIR: a lock whose mtime is older may be broken */
    bool optional; /* skip it when it cannot be created there (EROFS, EACCES) */
};

#define APPLOCK_MAX 4

/* The locks held by one refresh. */
struct applock_set {
    size_t n;
    struct {
        const struct applock_spec *spec;
        int fd;            /* APPLOCK_FCNTL: the locked file */
        bool held;
    } held[APPLOCK_MAX];
    long long last_touch_ms;
};

#endif
