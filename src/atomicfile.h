/* SPDX-License-Identifier: MIT */
/* Reading the credentials file, and replacing it atomically: a temp file in
 * the same directory, reserved before the refresh token is spent, then
 * written, fsynced and renamed over the old one. */
#ifndef CREDRUN_ATOMICFILE_H
#define CREDRUN_ATOMICFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "status.h"

#define ATOMIC_TMP_TAG ".credrun-tmp-"     /* .<name>.credrun-tmp-XXXXXX */
#define ATOMIC_RESCUE_TAG ".credrun-rescue" /* <name>.credrun-rescue */
#define FILE_MAX_SIZE (256L * 1024 * 1024)

/* Read the whole file at path into a newly allocated, NUL-terminated *buf
 * (wipe it after use) and its status into *st. CR_ERR_CREDS_MISSING when it
 * does not exist or cannot be read, CR_ERR_NOT_REGULAR (without blocking)
 * when it is a FIFO, a device or a directory. */
enum cr_status file_read(const char *path, char **buf, size_t *len, struct stat *st, struct cr_err *err)
    __attribute__((__nonnull__));

struct atomic_file {
    char *target;  /* the file replaced */
    char *dir;     /* its directory */
    char *tmpname; /* the temp file's name inside dir */
    int dirfd;
    int fd;
    mode_t mode;
    uid_t uid;
    gid_t gid;
};

/* Make sure target can be replaced before anything irreversible happens:
 * refuse a target that is a mount point (a single-file bind mount cannot be
 * renamed over), create the temp file (O_EXCL|O_NOFOLLOW, 0600) and reserve
 * reserve bytes for it. old gives the owner and mode to keep: the temp file
 * is given old's owner and group at once (fileown_give: a warning when that
 * fails). On failure nothing is left behind and err says what to do. */
enum cr_status atomic_prepare(struct atomic_file *a, const char *target, const struct stat *old, size_t reserve,
                              struct cr_err *err) __attribute__((__nonnull__));

/* Write data into the temp file and rename it over the target, with fsyncs
 * of the file and the directory. On failure the temp file is kept as the
 * rescue file <target>.credrun-rescue when the data reached it, and its path
 * is put in *rescue (newly allocated; NULL otherwise). */
enum cr_status atomic_commit(struct atomic_file *a, const void *data, size_t len, char **rescue, struct cr_err *err) __attribute__((__nonnull__));

/* Remove the temp file (if still there) and release everything. */
void atomic_abort(struct atomic_file *a) __attribute__((__nonnull__));

/* Remove temp files that crashed runs left beside target. Call only under
 * the credential lock. */
void atomic_remove_stale(const char *target) __attribute__((__nonnull__));

#endif
