/* SPDX-License-Identifier: MIT */
/* The filesystem's clock: the mtime of a file just touched in a directory,
 * which the server sets on a network filesystem. Ages of things other hosts
 * touch (spent markers, application lock directories) are measured against
 * it, never against this machine's clock alone, so clock skew between hosts
 * sharing a directory cannot make a live thing look old. */
#ifndef CREDRUN_FSCLOCK_H
#define CREDRUN_FSCLOCK_H

#include <stdbool.h>
#include <time.h>

/* Touch the file name in the directory dirfd (or AT_FDCWD): open it with
 * O_CREAT|O_NOFOLLOW (and O_EXCL when excl), 0600, set its times to "now"
 * and put its new mtime in *now. Returns 0, or -1 with errno (the file may
 * then have been created: the caller removes a temporary one). */
int fsclock_touch(int dirfd, const char *name, bool excl, struct timespec *now) __attribute__((__nonnull__));

/* Seconds in t, as a double. */
double fsclock_seconds(struct timespec t);

#endif
