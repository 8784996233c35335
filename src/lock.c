/* SPDX-License-Identifier: MIT */
/* The shared credential lock: flock(2) on a file beside the credentials. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/time.h>
#include <unistd.h>

#include "fileown.h"
#include "lock.h"

static volatile sig_atomic_t timed_out;

static void on_alarm(int sig)
{
    (void)sig;
    timed_out = 1;
}

void lock_wait_init(struct lock_wait *w, bool nonblock, double timeout_s)
{
    w->nonblock = nonblock || timeout_s == 0;
    w->bounded = timeout_s > 0;
    clock_gettime(CLOCK_MONOTONIC, &w->deadline);
    if (w->bounded) {
        double whole = (double)(long)timeout_s;
        w->deadline.tv_sec += (time_t)whole;
        w->deadline.tv_nsec += (long)((timeout_s - whole) * 1e9);
        if (w->deadline.tv_nsec >= 1000000000L) {
            w->deadline.tv_sec++;
            w->deadline.tv_nsec -= 1000000000L;
        }
    }
}

double lock_wait_remaining(const struct lock_wait *w)
{
    if (w->nonblock)
        return 0;
    if (!w->bounded)
        return -1;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double left = (double)(w->deadline.tv_sec - now.tv_sec) + (double)(w->deadline.tv_nsec - now.tv_nsec) / 1e9;
    return left > 0 ? left : 0;
}

enum cr_status lock_wait_for(const struct lock_wait *w, int (*try_lock)(void *arg, bool block), void *arg)
{
    /* The cheap case first: the lock is free. */
    if (try_lock(arg, false) == 0)
        return CR_OK;
    if (errno != EWOULDBLOCK && errno != EAGAIN)
        return CR_ERR_OS;
    double left = lock_wait_remaining(w);
    if (left == 0)
        return CR_ERR_LOCK_BUSY;

    struct sigaction sa = {0}, old_sa;
    struct itimerval it = {0}, old_it;
    if (left > 0) {
        timed_out = 0;
        sa.sa_handler = on_alarm;
        sigemptyset(&sa.sa_mask); /* no SA_RESTART: the blocking call must see EINTR */
        sigaction(SIGALRM, &sa, &old_sa);
        it.it_value.tv_sec = (time_t)left;
        it.it_value.tv_usec = (suseconds_t)((left - (double)(time_t)left) * 1e6);
        if (it.it_value.tv_sec == 0 && it.it_value.tv_usec == 0)
            it.it_value.tv_usec = 1;
        setitimer(ITIMER_REAL, &it, &old_it);
    }
    enum cr_status st = CR_OK;
    for (;;) {
        if (try_lock(arg, true) == 0)
            break;
        if (errno != EINTR) {
            st = CR_ERR_OS;
            break;
        }
        if (left > 0 && timed_out) {
            st = CR_ERR_LOCK_BUSY;
            break;
        }
    }
    if (left > 0) {
        int saved = errno;
        struct itimerval zero = {0};
        setitimer(ITIMER_REAL, &zero, NULL);
        sigaction(SIGALRM, &old_sa, NULL);
        (void)old_it;
        errno = saved;
    }
    return st;
}

enum cr_status lock_open(const char *path, const char *like, int *fd, struct cr_err *err)
{
    int f = fileown_open_lock(path, like, false);
    if (f < 0) {
        if (errno == ELOOP)
            return cr_fail(err, CR_ERR_CANT_WRITE, "lock file %s is a symbolic link; remove it or pass --lock-file", path);
        return cr_fail(err, CR_ERR_CANT_WRITE,
                       "cannot open lock file %s: %s; check the directory's permissions or pass --lock-file", path,
                       strerror(errno));
    }
    *fd = f;
    return CR_OK;
}

static int try_flock(void *arg, bool block)
{
    return flock(*(int *)arg, LOCK_EX | (block ? 0 : LOCK_NB));
}

enum cr_status lock_take(int fd, const struct lock_wait *w)
{
    return lock_wait_for(w, try_flock, &fd);
}
