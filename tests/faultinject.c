/* SPDX-License-Identifier: MIT */
/* An LD_PRELOAD shim for the failure tests (tests/60-failures.bats): makes
 * chosen file system calls fail with a chosen errno, only for files whose
 * name matches a pattern, and only the first N times. Nothing happens unless
 * FI_OPS is set.
 *   FI_OPS=pwrite,fsync  calls to fail: open, openat, write, pwrite, fsync,
 *                        fdatasync, ftruncate, rename, renameat,
 *                        posix_fallocate, fallocate
 *   FI_PATH=GLOB         fnmatch(3) pattern for the last component of the
 *                        file's name: the target of a descriptor
 *                        (/proc/self/fd/N), the path opened, or the new name
 *                        of a rename (default: every file)
 *   FI_ERRNO=NAME        EIO (default), ENOSPC, EDQUOT, EROFS, EACCES, EPERM
 *   FI_TIMES=N           fail only the first N matching calls
 *   FI_MOUNTINFO=FILE    fopen("/proc/self/mountinfo") opens FILE instead
 *                        (the filesystem checks of tests/87-spent.bats; needs
 *                        no FI_OPS)
 * Built without sanitizers; under ASan set ASAN_OPTIONS=verify_asan_link_order=0. */
#define _GNU_SOURCE
#undef _FORTIFY_SOURCE /* the shim defines open() itself */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

static int failed_so_far;

/* Is op listed in FI_OPS? */
static bool op_listed(const char *op)
{
    const char *ops = getenv("FI_OPS");
    if (!ops || !*ops)
        return false;
    size_t n = strlen(op);
    for (const char *p = ops; *p;) {
        size_t len = strcspn(p, ",");
        if (len == n && strncmp(p, op, n) == 0)
            return true;
        p += len;
        if (*p == ',')
            p++;
    }
    return false;
}

/* The errno FI_ERRNO names (EIO when unset or unknown). */
static int chosen_errno(void)
{
    static const struct {
        const char *name;
        int value;
    } names[] = {{"EIO", EIO},       {"ENOSPC", ENOSPC}, {"EDQUOT", EDQUOT},
                 {"EROFS", EROFS},   {"EACCES", EACCES}, {"EPERM", EPERM}};
    const char *e = getenv("FI_ERRNO");
    for (size_t i = 0; e && i < sizeof names / sizeof *names; i++)
        if (strcmp(e, names[i].name) == 0)
            return names[i].value;
    return EIO;
}

/* Should this call of op on the file called path fail? Returns the errno to
 * fail with, or 0. */
static int should_fail(const char *op, const char *path)
{
    if (!op_listed(op))
        return 0;
    const char *pat = getenv("FI_PATH");
    const char *base = path ? strrchr(path, '/') : NULL;
    base = base ? base + 1 : path;
    if (pat && *pat && (!base || fnmatch(pat, base, 0) != 0))
        return 0;
    const char *times = getenv("FI_TIMES");
    if (times && *times && failed_so_far >= atoi(times))
        return 0;
    failed_so_far++;
    return chosen_errno();
}

/* The name a descriptor refers to, in buf. */
static const char *fd_path(int fd, char *buf, size_t n)
{
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t r = readlink(link, buf, n - 1);
    if (r < 0)
        return NULL;
    buf[r] = '\0';
    return buf;
}

#define REAL(name) ((__typeof__(&name))dlsym(RTLD_NEXT, #name))

/* should_fail() for a call of op on descriptor fd. */
static int fd_fails(const char *op, int fd)
{
    char buf[4096];
    return should_fail(op, fd_path(fd, buf, sizeof buf));
}

ssize_t write(int fd, const void *p, size_t n)
{
    int e = fd_fails("write", fd);
    if (e) {
        errno = e;
        return -1;
    }
    return REAL(write)(fd, p, n);
}

ssize_t pwrite(int fd, const void *p, size_t n, off_t off)
{
    int e = fd_fails("pwrite", fd);
    if (e) {
        errno = e;
        return -1;
    }
    return REAL(pwrite)(fd, p, n, off);
}

ssize_t pwrite64(int fd, const void *p, size_t n, off64_t off)
{
    return pwrite(fd, p, n, off);
}

int fsync(int fd)
{
    int e = fd_fails("fsync", fd);
    if (e) {
        errno = e;
        return -1;
    }
    return REAL(fsync)(fd);
}

int fdatasync(int fd)
{
    int e = fd_fails("fdatasync", fd);
    if (e) {
        errno = e;
        return -1;
    }
    return REAL(fdatasync)(fd);
}

int ftruncate(int fd, off_t len)
{
    int e = fd_fails("ftruncate", fd);
    if (e) {
        errno = e;
        return -1;
    }
    return REAL(ftruncate)(fd, len);
}

int ftruncate64(int fd, off64_t len)
{
    return ftruncate(fd, len);
}

int posix_fallocate(int fd, off_t off, off_t len)
{
    int e = fd_fails("posix_fallocate", fd);
    if (e)
        return e; /* posix_fallocate returns the error */
    return REAL(posix_fallocate)(fd, off, len);
}

int posix_fallocate64(int fd, off64_t off, off64_t len)
{
    return posix_fallocate(fd, off, len);
}

int fallocate(int fd, int mode, off_t off, off_t len)
{
    int e = fd_fails("fallocate", fd);
    if (e) {
        errno = e;
        return -1;
    }
    return REAL(fallocate)(fd, mode, off, len);
}

int rename(const char *from, const char *to)
{
    int e = should_fail("rename", to);
    if (e) {
        errno = e;
        return -1;
    }
    return REAL(rename)(from, to);
}

int renameat(int fromdir, const char *from, int todir, const char *to)
{
    int e = should_fail("renameat", to);
    if (e) {
        errno = e;
        return -1;
    }
    return REAL(renameat)(fromdir, from, todir, to);
}

/* The mode argument of open(2) calls that create. */
#define OPEN_MODE(flags, last)                                                                                         \
    mode_t mode = 0;                                                                                                   \
    if ((flags) & (O_CREAT | O_TMPFILE)) {                                                                             \
        va_list ap;                                                                                                    \
        va_start(ap, last);                                                                                            \
        mode = (mode_t)va_arg(ap, int);                                                                                \
        va_end(ap);                                                                                                    \
    }

int open(const char *path, int flags, ...)
{
    OPEN_MODE(flags, flags)
    int e = should_fail("open", path);
    if (e) {
        errno = e;
        return -1;
    }
    return REAL(open)(path, flags, mode);
}

int open64(const char *path, int flags, ...)
{
    OPEN_MODE(flags, flags)
    return open(path, flags, mode);
}

int openat(int dir, const char *path, int flags, ...)
{
    OPEN_MODE(flags, flags)
    int e = should_fail("openat", path);
    if (e) {
        errno = e;
        return -1;
    }
    return REAL(openat)(dir, path, flags, mode);
}

int openat64(int dir, const char *path, int flags, ...)
{
    OPEN_MODE(flags, flags)
    return openat(dir, path, flags, mode);
}

/* FI_MOUNTINFO: what mount the credentials seem to be on. */
FILE *fopen(const char *path, const char *mode)
{
    const char *alt = getenv("FI_MOUNTINFO");
    if (alt && *alt && strcmp(path, "/proc/self/mountinfo") == 0)
        path = alt;
    return REAL(fopen)(path, mode);
}

FILE *fopen64(const char *path, const char *mode)
{
    return fopen(path, mode);
}
