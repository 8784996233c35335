/* SPDX-License-Identifier: MIT */
/* The shared credential lock: flock(2) on a file beside the credentials,
 * and the waits for it and the applications' locks: blocking, with SIGALRM
 * for the deadline, on a local filesystem; polled on a network one. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <unistd.h>

#include "fileown.h"
#include "lock.h"
#include "log.h"
#include "netfs.h"

static volatile sig_atomic_t timed_out, sent_alarm;

/* The interval timer's SIGALRM comes from the kernel (si_code > 0); one
 * another process sends is noted and raised again after the wait. */
static void on_alarm(int sig, siginfo_t *si, void *ctx)
{
    (void)sig;
    (void)ctx;
    if (si && si->si_code <= 0)
        sent_alarm = 1;
    else
        timed_out = 1;
}

static int64_t mono_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* Fire SIGALRM once, after ms milliseconds (at least 1 µs). */
static void arm_alarm(double ms)
{
    struct itimerval it = {0};
    it.it_value.tv_sec = (time_t)(ms / 1000);
    it.it_value.tv_usec = (suseconds_t)((ms - (double)it.it_value.tv_sec * 1000) * 1000);
    if (it.it_value.tv_sec == 0 && it.it_value.tv_usec <= 0)
        it.it_value.tv_usec = 1;
    setitimer(ITIMER_REAL, &it, NULL);
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
    w->timeout_s = w->bounded ? timeout_s : 0;
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
    return lock_wait_speaking(w, try_lock, arg, NULL, NULL, NULL);
}

/* Sleep ms milliseconds, whatever signal handlers run meanwhile. */
static void pause_ms(long ms)
{
    struct timespec t = {.tv_sec = ms / 1000, .tv_nsec = ms % 1000 * 1000000L};
    while (nanosleep(&t, &t) != 0 && errno == EINTR)
        ;
}

enum cr_status lock_poll(const struct lock_wait *w, int (*try_lock)(void *arg, bool block), void *arg,
                         void (*speak)(void *speak_arg), void *speak_arg)
{
    int64_t start = mono_ms();
    bool to_say = speak != NULL;
    long next = LOCK_POLL_FIRST_MS;
    for (;;) {
        double left = lock_wait_remaining(w);
        if (left == 0)
            return CR_ERR_LOCK_BUSY;
        /* the last pause ends at the deadline, for one more try there */
        pause_ms(left > 0 && left * 1000 < (double)next ? (long)(left * 1000) + 1 : next);
        if (try_lock(arg, false) == 0)
            return CR_OK;
        if (errno != EWOULDBLOCK && errno != EAGAIN)
            return CR_ERR_OS;
        if (to_say && mono_ms() - start >= LOCK_SPEAK_MS) {
            to_say = false;
            speak(speak_arg);
        }
        if (next < LOCK_POLL_MAX_MS)
            next = next * 2 < LOCK_POLL_MAX_MS ? next * 2 : LOCK_POLL_MAX_MS;
    }
}

/* Must a busy lock on the file at path be polled? On a network filesystem,
 * or when which one cannot be told: yes. */
static bool must_poll(const char *path)
{
    struct netfs_mount m;
    struct cr_err err;
    if (netfs_find_for_file(NETFS_MOUNTINFO, path, &m, &err) != CR_OK) {
        log_info("%s; polling lock %s instead of blocking in it", err.msg, path);
        return true;
    }
    if (m.kind == NETFS_LOCAL)
        return false;
    log_info("lock %s is on %s (%s): polling it, never blocking in it (an interrupted lock request can hang a "
             "network filesystem's client)",
             path, m.fstype, m.mount_point);
    return true;
}

enum cr_status lock_wait_speaking(const struct lock_wait *w, int (*try_lock)(void *arg, bool block), void *arg,
                                  const char *path, void (*speak)(void *speak_arg), void *speak_arg)
{
    /* The cheap case first: the lock is free. */
    if (try_lock(arg, false) == 0)
        return CR_OK;
    if (errno != EWOULDBLOCK && errno != EAGAIN)
        return CR_ERR_OS;
    double left = lock_wait_remaining(w);
    if (left == 0)
        return CR_ERR_LOCK_BUSY;
    if (path && must_poll(path))
        return lock_poll(w, try_lock, arg, speak, speak_arg);

    /* SIGALRM ends a blocking attempt at the deadline, or at LOCK_SPEAK_MS
     * to say what is held; it must get through even while the caller holds
     * signals (a write lock taken after the refresh token is spent). */
    int64_t start = mono_ms();
    bool to_say = speak != NULL;
    struct sigaction sa = {0}, old_sa;
    sigset_t alrm, old_mask;
    timed_out = sent_alarm = 0;
    sa.sa_sigaction = on_alarm;
    sa.sa_flags = SA_SIGINFO; /* no SA_RESTART: the blocking call must see EINTR */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, &old_sa);
    sigemptyset(&alrm);
    sigaddset(&alrm, SIGALRM);
    sigprocmask(SIG_UNBLOCK, &alrm, &old_mask);
    bool armed = to_say || left > 0;
    if (armed)
        arm_alarm(to_say && (left < 0 || left * 1000 > LOCK_SPEAK_MS) ? LOCK_SPEAK_MS : left * 1000);
    enum cr_status st = CR_OK;
    for (;;) {
        if (try_lock(arg, true) == 0)
            break;
        if (errno != EINTR) {
            st = CR_ERR_OS;
            break;
        }
        if (!timed_out)
            continue;
        timed_out = 0;
        if (to_say && mono_ms() - start >= LOCK_SPEAK_MS) {
            to_say = false;
            speak(speak_arg);
        }
        left = lock_wait_remaining(w);
        if (left == 0) {
            st = CR_ERR_LOCK_BUSY;
            break;
        }
        if (left > 0 || to_say)
            arm_alarm(to_say && (left < 0 || left * 1000 > LOCK_SPEAK_MS) ? LOCK_SPEAK_MS : left * 1000);
        else
            armed = false;
    }
    int saved = errno;
    if (armed) {
        struct itimerval zero = {0};
        setitimer(ITIMER_REAL, &zero, NULL);
    }
    sigaction(SIGALRM, &old_sa, NULL);
    sigprocmask(SIG_SETMASK, &old_mask, NULL);
    if (sent_alarm)
        raise(SIGALRM); /* as sent: held if the caller holds signals */
    errno = saved;
    return st;
}

enum cr_status lock_open(const char *path, const char *like, bool inherit, int *fd, struct cr_err *err)
{
    int f = fileown_open_lock(path, like, false, inherit);
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

void lock_wait_gave_up(const struct lock_wait *w, struct cr_err *err)
{
    if (w->bounded && !w->nonblock)
        cr_append(err, "gave up after %g s", w->timeout_s);
}

void lock_clock_text(time_t t, char *buf, size_t len)
{
    struct tm tm;
    if (!localtime_r(&t, &tm) || strftime(buf, len, "%H:%M:%S", &tm) == 0)
        snprintf(buf, len, "?");
}

/* "COMM, running since HH:MM:SS" for pid from /proc, or "" */
static void describe_pid(long pid, char *buf, size_t len)
{
    char path[64], stat[512] = "";
    buf[0] = '\0';
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return;
    size_t n = fread(stat, 1, sizeof stat - 1, f);
    fclose(f);
    stat[n] = '\0';
    char *open = strchr(stat, '('), *close = strrchr(stat, ')');
    if (!open || !close || close < open)
        return;
    *close = '\0';
    /* after ") ": state is field 3; starttime, in clock ticks since boot, field 22 */
    unsigned long long start = 0;
    const char *p = close + 1;
    for (int field = 2; field < 22 && p; field++)
        p = strchr(p + 1, ' ');
    struct timespec boot, real;
    long hz = sysconf(_SC_CLK_TCK);
    if (!p || sscanf(p, " %llu", &start) != 1 || hz <= 0 || clock_gettime(CLOCK_BOOTTIME, &boot) != 0 ||
        clock_gettime(CLOCK_REALTIME, &real) != 0) {
        snprintf(buf, len, "%s", open + 1);
        return;
    }
    char when[16];
    lock_clock_text(real.tv_sec - (boot.tv_sec - (time_t)(start / (unsigned long long)hz)), when, sizeof when);
    snprintf(buf, len, "%s, running since %s", open + 1, when);
}

void lock_holder(int fd, char *buf, size_t len)
{
    buf[0] = '\0';
    struct stat st;
    if (fstat(fd, &st) != 0)
        return;
    FILE *f = fopen("/proc/locks", "re");
    if (!f)
        return;
    char line[256];
    long found = 0;
    while (!found && fgets(line, sizeof line, f)) {
        /* "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF"; "1: -> ..." is a waiter */
        char type[16], mode[16], rw[16];
        long pid;
        unsigned maj, min;
        unsigned long long ino;
        if (strstr(line, "->") || sscanf(line, "%*d: %15s %15s %15s %ld %x:%x:%llu", type, mode, rw, &pid, &maj, &min,
                                          &ino) != 7)
            continue;
        if (ino == (unsigned long long)st.st_ino && maj == major(st.st_dev) && min == minor(st.st_dev) && pid > 0 &&
            pid != (long)getpid())
            found = pid;
    }
    fclose(f);
    if (!found)
        return;
    char who[128];
    describe_pid(found, who, sizeof who);
    snprintf(buf, len, who[0] ? "PID %ld (%s)" : "PID %ld", found, who);
}

struct own_lock {
    int fd;
    const char *path;
};

static void speak_own(void *arg)
{
    const struct own_lock *l = arg;
    char who[200];
    lock_holder(l->fd, who, sizeof who);
    log_warn("waiting for lock %s, held by another process%s%s", l->path, who[0] ? ", " : "", who);
}

enum cr_status lock_take_named(int fd, const char *path, const struct lock_wait *w)
{
    struct own_lock l = {fd, path};
    return lock_wait_speaking(w, try_flock, &fd, path, speak_own, &l);
}
