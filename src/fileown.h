/* SPDX-License-Identifier: MIT */
/* Whose the files credrun creates beside the credentials are, with what
 * mode, and which files there it refuses to trust. When root runs credrun
 * for a user's credentials, everything it creates (lock, state, temp,
 * rescue, spent markers) is given to the credentials' owner and group, so
 * the user is never locked out by a file root left behind. */
#ifndef CREDRUN_FILEOWN_H
#define CREDRUN_FILEOWN_H

#include <stdbool.h>
#include <sys/stat.h>

#include "status.h"

/* A lock file holds nothing secret: readable by all (a read-only
 * descriptor can still flock it), less what its directory withholds. */
#define FILEOWN_LOCK_MODE 0644

/* mode without the permission classes dir does not let through: no group
 * bits unless dir grants its group search (g+x), no others' bits unless it
 * grants others search (o+x). Pure. */
mode_t fileown_mode(mode_t mode, const struct stat *dir) __attribute__((__nonnull__));

/* Give fd, a file or directory this process created that is (or will be
 * renamed to) path, ref's owner and group: fchown(2), and when that is
 * refused (not root), the group alone. When the result still differs from
 * ref and either this process is root or rewrite is set (fd replaces ref
 * itself), a warning names path and the chown to run. Returns true when fd
 * ends up owned like ref. One fchown(2) when it works. */
bool fileown_give(int fd, const char *path, const struct stat *ref, bool rewrite) __attribute__((__nonnull__));

/* Open the lock file at path for locking (O_RDWR, O_NOFOLLOW, close-on-exec
 * unless inherit; read-only when it exists but may not be written, unless
 * need_write: an fcntl write lock needs a writable descriptor). When missing it is
 * created, mode FILEOWN_LOCK_MODE (fileown_mode of its directory), and, when
 * root creates it, given to the owner of the file like (the credentials; or,
 * when like is NULL or missing, of the lock's directory). One open(2) when
 * the file exists. Returns the descriptor, or -1 with errno. */
int fileown_open_lock(const char *path, const char *like, bool need_write, bool inherit)
    __attribute__((__nonnull__(1)));

/* May a file credrun reads beside the credentials (the state file), whose
 * status is st, be trusted? Yes when it belongs to this user or to the
 * credentials' owner, or to their group while the credentials are
 * group-writable (a group member may write those anyway). */
bool fileown_trusted(const struct stat *st, const struct stat *creds) __attribute__((__nonnull__));

/* CR_ERR_UNSAFE_FILE when the file what ("credentials file", "state file")
 * at path, whose status is st, is writable by anyone; err says the chmod to
 * run. No system call. */
enum cr_status fileown_check_mode(const char *what, const char *path, const struct stat *st, struct cr_err *err)
    __attribute__((__nonnull__));

/* The credentials file's checks: fileown_check_mode on st (the status the
 * read already took), then the directory holding path: CR_ERR_UNSAFE_FILE
 * when it is writable by anyone and has no sticky bit. One stat(2). */
enum cr_status fileown_check_creds(const char *path, const struct stat *st, struct cr_err *err)
    __attribute__((__nonnull__));

#endif
