/* SPDX-License-Identifier: MIT */
/* Spent-token markers in <credentials>.credrun.spent/: see spent.h. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileown.h"
#include "fsclock.h"
#include "spent.h"
#include "util.h"

#define MARKER_OPEN_FLAGS (O_CREAT | O_EXCL | O_NOFOLLOW | O_WRONLY | O_CLOEXEC | O_NOCTTY)

char *spent_dir_path(const char *credentials)
{
    return xasprintf("%s%s", credentials, SPENT_SUFFIX);
}

void spent_name(const char *refresh_token, char name[SHA256_HEX])
{
    sha256_hex(refresh_token, strlen(refresh_token), name);
}

/* A directory we may trust with markers: ours (or creds' owner's) and
 * writable by no one else, who could plant a marker (a refused refresh) or
 * remove one (a token sent twice). */
static enum cr_status check_dir(struct spent_dir *sd, const struct stat *creds, struct cr_err *err)
{
    if (fstat(sd->fd, &sd->owner) != 0)
        return cr_fail(err, CR_ERR_CANT_WRITE, "cannot examine %s: %s; the refresh token was not spent", sd->path,
                       strerror(errno));
    const struct stat st = sd->owner;
    if (st.st_uid != geteuid() && !(creds && st.st_uid == creds->st_uid))
        return cr_fail(err, CR_ERR_CANT_WRITE,
                       "%s belongs to user %u, not to this user or the credentials' owner; the refresh token was "
                       "not spent: remove the directory, or run as its owner",
                       sd->path, (unsigned)st.st_uid);
    if (st.st_mode & (S_IWGRP | S_IWOTH))
        return cr_fail(err, CR_ERR_CANT_WRITE,
                       "%s is writable by others, who could mark a token spent or unmark it; the refresh token "
                       "was not spent: run chmod go-w on it",
                       sd->path);
    return CR_OK;
}

enum cr_status spent_open(struct spent_dir *sd, const char *credentials, const struct stat *creds, struct cr_err *err)
{
    sd->path = spent_dir_path(credentials);
    sd->fd = -1;
    for (int tries = 0; tries < 3 && sd->fd < 0; tries++) {
        sd->fd = open(sd->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sd->fd >= 0)
            break;
        if (errno != ENOENT) {
            cr_fail(err, CR_ERR_CANT_WRITE,
                    "cannot open %s: %s; the refresh token was not spent: it must be a directory, not a link",
                    sd->path, strerror(errno));
            spent_close(sd);
            return err->status;
        }
        if (mkdir(sd->path, 0700) == 0) {
            int fd = open(sd->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            /* root refreshing another user's file: the directory is theirs */
            if (fd >= 0 && creds && geteuid() == 0)
                fileown_give(fd, sd->path, creds, false);
            sd->fd = fd;
        } else if (errno != EEXIST) {
            cr_fail(err, CR_ERR_CANT_WRITE,
                    "cannot create %s: %s; the refresh token was not spent: make the credentials' directory "
                    "writable",
                    sd->path, strerror(errno));
            spent_close(sd);
            return err->status;
        }
        /* EEXIST: another client made it first; open it on the next turn */
    }
    if (sd->fd < 0) {
        cr_fail(err, CR_ERR_CANT_WRITE, "cannot open %s: it keeps vanishing; the refresh token was not spent",
                sd->path);
        spent_close(sd);
        return err->status;
    }
    if (check_dir(sd, creds, err) != CR_OK) {
        spent_close(sd);
        return err->status;
    }
    return CR_OK;
}

void spent_close(struct spent_dir *sd)
{
    if (sd->fd >= 0)
        close(sd->fd);
    sd->fd = -1;
    free(sd->path);
    sd->path = NULL;
}

/* Root made the file name (open as fd) in sd: give it to the directory's owner. */
static void give_to_owner(const struct spent_dir *sd, int fd, const char *name)
{
    if (geteuid() != 0 || sd->owner.st_uid == 0)
        return;
    char *path = xasprintf("%s/%s", sd->path, name);
    fileown_give(fd, path, &sd->owner, false);
    free(path);
}

enum cr_status spent_now(struct spent_dir *sd, struct timespec *now, struct cr_err *err)
{
    int fd = openat(sd->fd, SPENT_CLOCK_NAME, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
    if (fd < 0)
        return cr_fail(err, CR_ERR_CANT_WRITE, "cannot open %s/%s to read the filesystem's clock: %s", sd->path,
                       SPENT_CLOCK_NAME, strerror(errno));
    give_to_owner(sd, fd, SPENT_CLOCK_NAME);
    int rc = fsclock_read(fd, now);
    int e = errno;
    close(fd);
    if (rc != 0)
        return cr_fail(err, CR_ERR_CANT_WRITE, "cannot touch %s/%s to read the filesystem's clock: %s", sd->path,
                       SPENT_CLOCK_NAME, strerror(e));
    return CR_OK;
}

/* The age of the marker name: CR_OK with *exists false when there is none. */
static enum cr_status marker_age(struct spent_dir *sd, const char *name, bool *exists, double *age_s,
                                 struct cr_err *err)
{
    struct stat st;
    *exists = false;
    *age_s = 0;
    if (fstatat(sd->fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT)
            return CR_OK;
        return cr_fail(err, CR_ERR_CANT_WRITE, "cannot examine the marker %s/%s: %s", sd->path, name, strerror(errno));
    }
    struct timespec now;
    if (spent_now(sd, &now, err) != CR_OK)
        return err->status;
    *exists = true;
    *age_s = fsclock_seconds(now) - fsclock_seconds(st.st_mtim);
    return CR_OK;
}

void spent_owner(struct spent_dir *sd, const char *name, char *buf, size_t len)
{
    buf[0] = '\0';
    int fd = openat(sd->fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return;
    ssize_t n = read(fd, buf, len - 1);
    close(fd);
    buf[n > 0 ? n : 0] = '\0';
    buf[strcspn(buf, "\n")] = '\0';
}

enum cr_status spent_record(struct spent_dir *sd, const char *refresh_token, struct spent_mark *m, struct cr_err *err)
{
    memset(m, 0, sizeof *m);
    spent_name(refresh_token, m->name);
    /* a marker removed between our create and our look is tried again */
    for (int tries = 0; tries < 3; tries++) {
        int fd = openat(sd->fd, m->name, MARKER_OPEN_FLAGS, 0600);
        if (fd >= 0) {
            give_to_owner(sd, fd, m->name);
            char host[64] = "";
            if (gethostname(host, sizeof host - 1) != 0)
                snprintf(host, sizeof host, "?");
            char line[128];
            int n = snprintf(line, sizeof line, "%s pid %ld\n", host, (long)getpid());
            /* the line is for messages only: the create itself is the record */
            ssize_t w = n > 0 ? write(fd, line, (size_t)n) : 0;
            if (w >= 0 && w != n && ftruncate(fd, 0) != 0)
                w = -1; /* a cut line reads as no owner; nothing more to do */
            int close_err = close(fd) != 0 ? errno : 0;
            if (close_err && close_err != EINTR) {
                unlinkat(sd->fd, m->name, 0);
                return cr_fail(err, CR_ERR_CANT_WRITE, "cannot create the marker in %s: %s; the refresh token was "
                               "not spent", sd->path, strerror(close_err));
            }
            m->outcome = SPENT_CREATED;
            return CR_OK;
        }
        if (errno != EEXIST)
            return cr_fail(err, CR_ERR_CANT_WRITE,
                           "cannot create the marker in %s: %s; the refresh token was not spent: free space or fix "
                           "permissions",
                           sd->path, strerror(errno));
        bool exists;
        if (marker_age(sd, m->name, &exists, &m->age_s, err) != CR_OK)
            return err->status;
        if (exists) {
            m->outcome = SPENT_EXISTS;
            spent_owner(sd, m->name, m->owner, sizeof m->owner);
            return CR_OK;
        }
    }
    return cr_fail(err, CR_ERR_CANT_WRITE,
                   "the marker in %s keeps appearing and vanishing; the refresh token was not spent: try again",
                   sd->path);
}

enum cr_status spent_remove(struct spent_dir *sd, const char *refresh_token, struct cr_err *err)
{
    char name[SHA256_HEX];
    spent_name(refresh_token, name);
    return spent_unmark(sd, name, err);
}

enum cr_status spent_unmark(struct spent_dir *sd, const char *name, struct cr_err *err)
{
    if (unlinkat(sd->fd, name, 0) != 0 && errno != ENOENT)
        return cr_fail(err, CR_ERR_CANT_WRITE,
                       "cannot remove the marker %s/%s: %s; the next run will take this refresh token for spent: "
                       "remove the file by hand",
                       sd->path, name, strerror(errno));
    return CR_OK;
}

enum cr_status spent_age(struct spent_dir *sd, const char *refresh_token, bool *exists, double *age_s,
                         struct cr_err *err)
{
    char name[SHA256_HEX];
    spent_name(refresh_token, name);
    return marker_age(sd, name, exists, age_s, err);
}

enum spent_class spent_classify(double age_s, double bound_s)
{
    return age_s < bound_s ? SPENT_IN_FLIGHT : SPENT_OLD;
}

/* Is name a marker's: 64 lower-case hex digits? */
static bool is_marker_name(const char *name)
{
    size_t i;
    for (i = 0; name[i]; i++)
        if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f')))
            return false;
    return i == SHA256_HEX - 1;
}

enum cr_status spent_prune(struct spent_dir *sd, double max_age_s, unsigned *removed, struct cr_err *err)
{
    *removed = 0;
    struct timespec now;
    if (spent_now(sd, &now, err) != CR_OK) {
        err->status = CR_ERR_OS;
        return err->status;
    }
    int fd = openat(sd->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return cr_fail(err, CR_ERR_OS, "cannot list %s to prune old markers: %s", sd->path, strerror(e));
    }
    struct dirent *de;
    for (;;) {
        errno = 0;
        if (!(de = readdir(d)))
            break;
        struct stat st;
        if (!is_marker_name(de->d_name) || fstatat(sd->fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
            !S_ISREG(st.st_mode))
            continue;
        if (fsclock_seconds(now) - fsclock_seconds(st.st_mtim) > max_age_s && unlinkat(sd->fd, de->d_name, 0) == 0)
            (*removed)++;
    }
    int e = errno;
    closedir(d);
    if (e)
        return cr_fail(err, CR_ERR_OS, "cannot list %s to prune old markers: %s", sd->path, strerror(e));
    return CR_OK;
}

enum cr_status spent_prune_daily(struct spent_dir *sd, unsigned *removed, bool *ran, struct cr_err *err)
{
    *removed = 0;
    *ran = false;
    struct timespec now;
    struct stat st;
    if (spent_now(sd, &now, err) != CR_OK) {
        err->status = CR_ERR_OS;
        return err->status;
    }
    if (fstatat(sd->fd, SPENT_PRUNED_NAME, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
        fsclock_seconds(now) - fsclock_seconds(st.st_mtim) < SPENT_PRUNE_EVERY_S &&
        fsclock_seconds(st.st_mtim) <= fsclock_seconds(now) + 60)
        return CR_OK; /* pruned lately (a stamp from the future does not count) */
    *ran = true;
    if (spent_prune(sd, SPENT_PRUNE_AGE_S, removed, err) != CR_OK)
        return err->status;
    int fd = openat(sd->fd, SPENT_PRUNED_NAME, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
    if (fd >= 0)
        give_to_owner(sd, fd, SPENT_PRUNED_NAME);
    if (fd < 0 || futimens(fd, NULL) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return cr_fail(err, CR_ERR_OS, "cannot touch %s/%s: %s; old markers will be pruned on every refresh",
                       sd->path, SPENT_PRUNED_NAME, strerror(e));
    }
    close(fd);
    return CR_OK;
}
