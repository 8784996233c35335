/* SPDX-License-Identifier: MIT */
/* Ownership and modes of the files credrun creates beside the credentials,
 * and the refusal of files anyone could have written. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileown.h"
#include "log.h"
#include "util.h"

mode_t fileown_mode(mode_t mode, const struct stat *dir)
{
    if (!(dir->st_mode & S_IXGRP))
        mode &= ~(mode_t)S_IRWXG;
    if (!(dir->st_mode & S_IXOTH))
        mode &= ~(mode_t)S_IRWXO;
    return mode;
}

bool fileown_give(int fd, const char *path, const struct stat *ref, bool rewrite)
{
    if (fchown(fd, ref->st_uid, ref->st_gid) == 0)
        return true;
    int errnum = errno;
    bool group = fchown(fd, (uid_t)-1, ref->st_gid) == 0;
    if (geteuid() == 0 || rewrite)
        log_warn("cannot give %s to user %u, group %u (%s)%s: run chown %u:%u %s as root", path, (unsigned)ref->st_uid,
                 (unsigned)ref->st_gid, strerror(errnum), group ? "; it belongs to this user now" : "",
                 (unsigned)ref->st_uid, (unsigned)ref->st_gid, path);
    return false;
}

#define LOCK_OPEN_FLAGS (O_NOFOLLOW | O_NOCTTY)
/* close-on-exec unless COMMAND is to inherit it */
#define LOCK_EXEC(inherit) ((inherit) ? 0 : O_CLOEXEC)

/* Open an existing lock file, read-only when it may not be written (and
 * writing is not needed). */
static int open_existing(const char *path, bool need_write, bool inherit)
{
    int fd = open(path, O_RDWR | LOCK_OPEN_FLAGS | LOCK_EXEC(inherit));
    if (fd < 0 && !need_write && (errno == EACCES || errno == EROFS || errno == EPERM))
        fd = open(path, O_RDONLY | LOCK_OPEN_FLAGS | LOCK_EXEC(inherit));
    return fd;
}

/* Create the missing lock file at path (see fileown_open_lock). */
static int create_lock(const char *path, const char *like, bool need_write, bool inherit)
{
    char *dir = path_dirname(path);
    struct stat ds;
    bool have_dir = stat(dir, &ds) == 0;
    free(dir);
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | LOCK_OPEN_FLAGS | LOCK_EXEC(inherit),
                  have_dir ? fileown_mode(FILEOWN_LOCK_MODE, &ds) : 0600);
    if (fd < 0)
        return errno == EEXIST ? open_existing(path, need_write, inherit) : -1; /* EEXIST: another run made it first */
    if (geteuid() == 0) {
        struct stat ref;
        if (like && stat(like, &ref) == 0)
            fileown_give(fd, path, &ref, false);
        else if (have_dir)
            fileown_give(fd, path, &ds, false);
    }
    return fd;
}

int fileown_open_lock(const char *path, const char *like, bool need_write, bool inherit)
{
    int fd = open(path, O_RDWR | LOCK_OPEN_FLAGS | LOCK_EXEC(inherit));
    if (fd >= 0)
        return fd;
    if (errno == ENOENT)
        return create_lock(path, like, need_write, inherit);
    if (!need_write && (errno == EACCES || errno == EROFS || errno == EPERM))
        return open(path, O_RDONLY | LOCK_OPEN_FLAGS | LOCK_EXEC(inherit));
    return -1;
}

bool fileown_trusted(const struct stat *st, const struct stat *creds)
{
    return st->st_uid == geteuid() || st->st_uid == creds->st_uid ||
           (st->st_gid == creds->st_gid && (creds->st_mode & S_IWGRP));
}

enum cr_status fileown_check_mode(const char *what, const char *path, const struct stat *st, struct cr_err *err)
{
    if (st->st_mode & S_IWOTH)
        return cr_fail(err, CR_ERR_UNSAFE_FILE,
                       "%s %s is writable by anyone, so credrun does not trust it: run chmod o-w %s", what, path, path);
    return CR_OK;
}

enum cr_status fileown_check_creds(const char *path, const struct stat *st, struct cr_err *err)
{
    enum cr_status s = fileown_check_mode("credentials file", path, st, err);
    if (s != CR_OK)
        return s;
    char *dir = path_dirname(path);
    struct stat ds;
    if (stat(dir, &ds) == 0 && (ds.st_mode & S_IWOTH) && !(ds.st_mode & S_ISVTX))
        s = cr_fail(err, CR_ERR_UNSAFE_FILE,
                    "the credentials' directory %s is writable by anyone and has no sticky bit, so anyone could "
                    "replace the credentials: run chmod o-w %s (or chmod +t %s)",
                    dir, dir, dir);
    free(dir);
    return s;
}
