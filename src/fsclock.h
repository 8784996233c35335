/* SPDX-License-Identifier: MIT */
/* The filesystem's clock: the mtime of a file just touched in a directory,
 * which the server sets on a network filesystem. Ages of things other hosts
 * touch (spent markers, application lock directories) are measured against
 * it, never against this machine's clock alone, so clock skew between hosts
 * sharing a directory cannot make a live thing look old. */
#ifndef CREDRUN_FSCLOCK_H
#define CREDRUN_FSCLOCK_H

#include <time.h>

/* Set the times of the file open for writing at fd to "now" and put its new
 * mtime, the filesystem's time, in *now. Returns 0, or -1 with errno. */
int fsclock_read(int fd, struct timespec *now) __attribute__((__nonnull__));

/* Seconds in t, as a double. */
double fsclock_seconds(struct timespec t);

#endif
