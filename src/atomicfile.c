/* SPDX-License-Identifier: MIT */
/* Reading the credentials file and replacing it atomically. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomicfile.h"
#include "fileown.h"
#include "log.h"
#include "util.h"

enum cr_status file_read(const char *path, char **buf, size_t *len, struct stat *st, struct cr_err *err)
{
    /* O_NONBLOCK: a FIFO or a device must not stall the open under the
     * lock; it is refused below. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        if (errno == ENOENT)
            return cr_fail(err, CR_ERR_CREDS_MISSING,
                           "credentials file %s does not exist: log in first, or pass --credentials", path);
        return cr_fail(err, CR_ERR_CREDS_MISSING, "cannot open credentials file %s: %s", path, strerror(errno));
    }
    if (fstat(fd, st) != 0) {
        cr_fail(err, CR_ERR_CREDS_MISSING, "cannot read credentials file %s: %s", path, strerror(errno));
        close(fd);
        return CR_ERR_CREDS_MISSING;
    }
    if (!S_ISREG(st->st_mode)) {
        cr_fail(err, CR_ERR_NOT_REGULAR,
                "credentials file %s is %s, not a regular file: point --credentials at the file that holds the tokens",
                path, file_kind(st->st_mode));
        close(fd);
        return CR_ERR_NOT_REGULAR;
    }
    if (st->st_size > FILE_MAX_SIZE) {
        cr_fail(err, CR_ERR_CREDS_MALFORMED, "credentials file %s is larger than %ld bytes", path, FILE_MAX_SIZE);
        close(fd);
        return CR_ERR_CREDS_MALFORMED;
    }
    /* Room for the file, the read that sees its end, and the NUL: a file
     * that does not grow is read without copying it. */
    size_t cap = (size_t)st->st_size + 2, n = 0;
    char *b = xmalloc(cap);
    for (;;) {
        if (n + 1 >= cap) {
            if (cap > (size_t)FILE_MAX_SIZE) {
                cr_fail(err, CR_ERR_CREDS_MALFORMED, "credentials file %s is larger than %ld bytes", path, FILE_MAX_SIZE);
                secret_free_n(b, cap);
                close(fd);
                return CR_ERR_CREDS_MALFORMED;
            }
            char *nb = xmalloc(cap * 2);
            memcpy(nb, b, n);
            secret_free_n(b, cap);
            b = nb;
            cap *= 2;
        }
        ssize_t r = read(fd, b + n, cap - n - 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            cr_fail(err, CR_ERR_CREDS_MISSING, "cannot read credentials file %s: %s", path, strerror(errno));
            secret_free_n(b, cap);
            close(fd);
            return CR_ERR_CREDS_MISSING;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    b[n] = '\0';
    *buf = b;
    *len = n;
    return CR_OK;
}

/* Is name (in dirfd) the root of a mount, e.g. a single file bind-mounted? */
static bool is_mount_point(int dirfd, const char *name)
{
    struct statx stx;
    if (statx(dirfd, name, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &stx) == 0 &&
        (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT))
        return (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT) != 0;
    /* Older kernels: a different device than the directory's. */
    struct stat f, d;
    return fstatat(dirfd, name, &f, AT_SYMLINK_NOFOLLOW) == 0 && fstat(dirfd, &d) == 0 && f.st_dev != d.st_dev;
}

static void cant_write(struct cr_err *err, const char *what, const char *path, int errnum)
{
    cr_fail(err, CR_ERR_CANT_WRITE, "cannot %s in %s (%s): the refresh token was not spent; free space or fix permissions", what,
             path, strerror(errnum));
}

enum cr_status atomic_prepare(struct atomic_file *a, const char *target, const struct stat *old, size_t reserve,
                              struct cr_err *err)
{
    memset(a, 0, sizeof *a);
    a->fd = a->dirfd = -1;
    a->target = xstrdup(target);
    a->dir = path_dirname(target);
    a->mode = old->st_mode & 07777;
    a->uid = old->st_uid;
    a->gid = old->st_gid;
    a->dirfd = open(a->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (a->dirfd < 0) {
        cant_write(err, "open the directory", a->dir, errno);
        atomic_abort(a);
        return CR_ERR_CANT_WRITE;
    }
    const char *base = path_basename(target);
    if (is_mount_point(a->dirfd, base)) {
        cr_fail(err, CR_ERR_CANT_WRITE,
                 "%s is a mount point of its own (a single-file bind mount), so it cannot be replaced atomically; "
                 "the refresh token was not spent: mount the directory that holds it instead",
                 target);
        atomic_abort(a);
        return CR_ERR_CANT_WRITE;
    }
    for (int tries = 0; tries < 16 && a->fd < 0; tries++) {
        unsigned char rnd[6];
        if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
            memset(rnd, tries, sizeof rnd);
        static const char alnum[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        char suffix[7];
        for (int i = 0; i < 6; i++)
            suffix[i] = alnum[rnd[i] % (sizeof alnum - 1)];
        suffix[6] = '\0';
        free(a->tmpname);
        a->tmpname = xasprintf(".%s%s%s", base, ATOMIC_TMP_TAG, suffix);
        a->fd = openat(a->dirfd, a->tmpname, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
        if (a->fd < 0 && errno != EEXIST) {
            cant_write(err, "create a temporary file", a->dir, errno);
            atomic_abort(a);
            return CR_ERR_CANT_WRITE;
        }
    }
    if (a->fd < 0) {
        cant_write(err, "create a temporary file", a->dir, EEXIST);
        atomic_abort(a);
        return CR_ERR_CANT_WRITE;
    }
    /* The temp file (and a rescue file made of it) is the old file's owner's
     * from the start; a failed chown is a warning. */
    fileown_give(a->fd, target, old, true);
    int fa = posix_fallocate(a->fd, 0, (off_t)reserve);
    if (fa != 0 && fa != EOPNOTSUPP && fa != EINVAL) {
        cant_write(err, "reserve space for the new credentials", a->dir, fa);
        atomic_abort(a);
        return CR_ERR_CANT_WRITE;
    }
    return CR_OK;
}

static int write_all(int fd, const char *p, size_t n)
{
    off_t off = 0;
    while (n) {
        ssize_t w = pwrite(fd, p, n, off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
        off += w;
    }
    return 0;
}

enum cr_status atomic_commit(struct atomic_file *a, const void *data, size_t len, char **rescue, struct cr_err *err)
{
    *rescue = NULL;
    const char *step = "write";
    if (write_all(a->fd, data, len) != 0)
        goto fail;
    step = "truncate";
    if (ftruncate(a->fd, (off_t)len) != 0)
        goto fail;
    /* Keep the old file's mode (its owner: atomic_prepare). */
    step = "set the mode of";
    if (fchmod(a->fd, a->mode) != 0)
        goto fail;
    step = "sync";
    if (fsync(a->fd) != 0)
        goto fail;
    step = "rename";
    if (renameat(a->dirfd, a->tmpname, a->dirfd, path_basename(a->target)) != 0)
        goto fail;
    free(a->tmpname);
    a->tmpname = NULL;
    if (fsync(a->dirfd) != 0)
        log_warn("cannot sync directory %s: %s", a->dir, strerror(errno));
    atomic_abort(a);
    return CR_OK;

fail:;
    int errnum = errno;
    /* The new tokens may exist nowhere else: keep them. A failed write may
     * have left a partial file, so try once more to write the rescue file
     * in full before naming it. */
    bool complete = step[0] != 'w' || (ftruncate(a->fd, 0) == 0 && write_all(a->fd, data, len) == 0);
    if (complete) {
        /* Best effort: an unsynced or untrimmed rescue file beats none. */
        if (ftruncate(a->fd, (off_t)len) != 0 || fsync(a->fd) != 0)
            log_warn("the rescue file may be incomplete after a crash: %s", strerror(errno));
        char *rname = xasprintf("%s%s", path_basename(a->target), ATOMIC_RESCUE_TAG);
        if (renameat(a->dirfd, a->tmpname, a->dirfd, rname) == 0) {
            *rescue = xasprintf("%s/%s", a->dir, rname);
            free(a->tmpname);
            a->tmpname = NULL;
        } else {
            *rescue = xasprintf("%s/%s", a->dir, a->tmpname);
            free(a->tmpname);
            a->tmpname = NULL; /* keep it whatever its name */
        }
        free(rname);
        fsync(a->dirfd);
    }
    if (*rescue)
        cr_fail(err, CR_ERR_CANT_WRITE,
                 "cannot %s the new credentials to %s (%s); the new tokens are saved in %s: move that file over %s "
                 "(mv) before the next run",
                 step, a->target, strerror(errnum), *rescue, a->target);
    else
        cr_fail(err, CR_ERR_CANT_WRITE, "cannot %s the new credentials to %s (%s); the new refresh token could not be saved",
                step, a->target, strerror(errnum));
    atomic_abort(a);
    return CR_ERR_CANT_WRITE;
}

void atomic_abort(struct atomic_file *a)
{
    if (a->tmpname && a->dirfd >= 0)
        unlinkat(a->dirfd, a->tmpname, 0);
    if (a->fd >= 0)
        close(a->fd);
    if (a->dirfd >= 0)
        close(a->dirfd);
    free(a->tmpname);
    free(a->target);
    free(a->dir);
    memset(a, 0, sizeof *a);
    a->fd = a->dirfd = -1;
}

void atomic_remove_stale(const char *target)
{
    char *dir = path_dirname(target);
    char *prefix = xasprintf(".%s%s", path_basename(target), ATOMIC_TMP_TAG);
    size_t plen = strlen(prefix);
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (strncmp(e->d_name, prefix, plen) == 0 && strlen(e->d_name) == plen + 6) {
                if (unlinkat(dirfd(d), e->d_name, 0) == 0)
                    log_info("removed %s/%s left by a crashed run", dir, e->d_name);
            }
        }
        closedir(d);
    }
    free(prefix);
    free(dir);
}
