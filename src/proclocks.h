/* SPDX-License-Identifier: MIT */
/* Who holds a flock(2) on a file, as the kernel tells in /proc/locks, and
 * what that process runs, from /proc/PID/cmdline: for --status, which must
 * never take or wait for a lock to find out. */
#ifndef CREDRUN_PROCLOCKS_H
#define CREDRUN_PROCLOCKS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define PROCLOCKS_PATH "/proc/locks"

/* Find in text (the contents of /proc/locks) a flock(2) held (not waited
 * for: "->" lines are waiters) on the file of device major:minor and inode
 * ino. Returns true when one is; *pid is then the holder's PID, 0 when the
 * kernel shows none (a PID of another namespace, an open file description
 * whose process is gone). Pure. */
bool proclocks_find(const char *text, unsigned major, unsigned minor, unsigned long long ino, long *pid)
    __attribute__((__nonnull__(1, 5)));

/* Read /proc/locks and look for a flock held on the file dev/ino (a
 * stat(2)'s st_dev and st_ino). False as well when /proc/locks cannot be
 * read. */
bool proclocks_holder(dev_t dev, ino_t ino, long *pid) __attribute__((__nonnull__));

/* The command of process pid into buf (len > 0): its argv joined by spaces
 * from /proc/PID/cmdline, or its name from /proc/PID/comm when that is
 * empty (a kernel thread, a zombie); "" when neither can be read. Bytes that
 * are not printable ASCII become '?'; a long command line is cut, ending in
 * "...". */
void proc_command(long pid, char *buf, size_t len) __attribute__((__nonnull__));

/* The same for the bytes of a cmdline file (NUL-separated), pure. */
void proc_command_format(const char *raw, size_t n, char *buf, size_t len) __attribute__((__nonnull__));

#endif
