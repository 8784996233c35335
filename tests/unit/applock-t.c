/* SPDX-License-Identifier: MIT */
/* Unit tests for the applications' locks, by their public contract: a lock
 * directory is made and removed, a live one is not broken, a stale one is,
 * an fcntl lock excludes another process, a missing optional lock is
 * skipped, and release is idempotent. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <utime.h>

#include "applock.h"
#include "tap.h"

static struct cr_err err;

/* Can another process take an fcntl write lock on path? */
static bool fcntl_free_elsewhere(const char *path)
{
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(path, O_RDWR);
        struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
        _exit(fd >= 0 && fcntl(fd, F_SETLK, &fl) == 0 ? 0 : 1);
    }
    int status;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int main(void)
{
    char dir[] = "/tmp/applock-t.XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    char mk[256], fc[256], missing[256];
    snprintf(mk, sizeof mk, "%s/.oauth_refresh.lock", dir);
    snprintf(fc, sizeof fc, "%s/db.json.lock", dir);
    snprintf(missing, sizeof missing, "%s/no/such/dir.lock", dir);
    struct lock_wait nowait;
    lock_wait_init(&nowait, true, -1);
    struct stat sb;

    struct applock_spec specs[] = {
        {.kind = APPLOCK_MKDIR, .path = mk, .stale_s = 60},
        {.kind = APPLOCK_FCNTL, .path = fc},
    };
    struct applock_set s = {0};
    is_int(applock_acquire(&s, specs, 2, &nowait, NULL, &err), CR_OK, "free locks are taken");
    ok(stat(mk, &sb) == 0 && S_ISDIR(sb.st_mode), "a mkdir lock is a directory while held");
    ok(!fcntl_free_elsewhere(fc), "an fcntl lock excludes another process while held");
    applock_tick(&s);
    applock_release(&s);
    ok(stat(mk, &sb) != 0 && errno == ENOENT, "release removes the lock directory");
    ok(fcntl_free_elsewhere(fc), "and lets the fcntl lock go");
    applock_release(&s);
    ok(true, "a set may be released twice");

    /* A live lock directory (another process's, recent) is not broken. */
    ok(mkdir(mk, 0700) == 0, "another process holds the lock directory");
    struct applock_set t = {0};
    is_int(applock_acquire(&t, specs, 1, &nowait, NULL, &err), CR_ERR_LOCK_BUSY, "a live lock directory is busy with -n");
    ok(strlen(err.msg) > 0, "and says so: %s", err.msg);
    ok(stat(mk, &sb) == 0, "it is left in place");

    /* A lock directory older than its stale time is broken and taken. */
    struct utimbuf old = {.actime = time(NULL) - 3600, .modtime = time(NULL) - 3600};
    ok(utime(mk, &old) == 0, "the lock directory is an hour old");
    is_int(applock_acquire(&t, specs, 1, &nowait, NULL, &err), CR_OK, "a stale lock directory is broken");
    ok(stat(mk, &sb) == 0 && sb.st_mtime > time(NULL) - 60, "and taken anew");
    applock_release(&t);

    /* An optional lock that cannot be created where it lives is skipped;
     * the same lock not optional is an error. */
    struct applock_spec opt[] = {{.kind = APPLOCK_MKDIR, .path = missing, .stale_s = 60, .optional = true}};
    struct applock_set u = {0};
    is_int(applock_acquire(&u, opt, 1, &nowait, NULL, &err), CR_OK, "an optional lock that cannot be made is skipped");
    applock_release(&u);
    opt[0].optional = false;
    ok(applock_acquire(&u, opt, 1, &nowait, NULL, &err) != CR_OK, "a required one fails: %s", err.msg);
    applock_release(&u);

    unlink(fc);
    rmdir(dir);
    return tap_done();
}
