/* SPDX-License-Identifier: MIT */
/* The shared credential lock: flock(2) on a file beside the credentials, the
 * same lock flock(1) takes, with one deadline bounding every wait. */
#ifndef CREDRUN_LOCK_H
#define CREDRUN_LOCK_H

#include <stdbool.h>
#include <time.h>

#include "status.h"

/* How long a caller may wait for locks: -n (not at all), -w (until one
 * deadline shared by every lock taken in this run), or forever. */
struct lock_wait {
    bool nonblock;
    bool bounded;
    struct timespec deadline; /* CLOCK_MONOTONIC, when bounded */
    double timeout_s;         /* the whole wait allowed, when bounded: for "gave up after N s" */
};

/* A wait that lasts longer than this says so: one line, unless -q. */
#define LOCK_SPEAK_MS 1000

/* Start the clock for a run's waits; timeout_s < 0 means wait forever and
 * timeout_s == 0 means do not wait (like flock -w 0). */
void lock_wait_init(struct lock_wait *w, bool nonblock, double timeout_s) __attribute__((__nonnull__));

/* Seconds left before the deadline (0 when nonblocking or past it, -1 when
 * unbounded). */
double lock_wait_remaining(const struct lock_wait *w) __attribute__((__nonnull__));

/* Run try_lock(arg, block) until it succeeds or the deadline passes.
 * try_lock returns 0 when it got the lock, or -1 with errno: EWOULDBLOCK or
 * EAGAIN when busy (and block was false), EINTR when a blocking attempt was
 * interrupted, anything else for a hard error. A blocking attempt is
 * interrupted by SIGALRM at the deadline. Returns CR_OK, CR_ERR_LOCK_BUSY, or
 * CR_ERR_OS with errno set. */
enum cr_status lock_wait_for(const struct lock_wait *w, int (*try_lock)(void *arg, bool block), void *arg)
    __attribute__((__nonnull__(1, 2)));

/* lock_wait_for, and when the wait has lasted LOCK_SPEAK_MS, speak(speak_arg)
 * is called once (outside any signal handler) to say what is held; speak may
 * be NULL. A SIGALRM another process sends meanwhile is not taken for the
 * deadline: it is raised again when the wait ends (held, if the caller holds
 * signals). When path (the locked file; NULL: not known) is on a network
 * filesystem (netfs.h), or on one that cannot be told, a busy lock is
 * polled (lock_poll) instead: there a blocked lock request that a signal
 * interrupts can wedge the client (GlusterFS's FUSE client stops answering
 * once its threads wait on interrupted locks, and every process using the
 * mount hangs). The filesystem is looked up only when the lock is busy. */
enum cr_status lock_wait_speaking(const struct lock_wait *w, int (*try_lock)(void *arg, bool block), void *arg,
                                  const char *path, void (*speak)(void *speak_arg), void *speak_arg)
    __attribute__((__nonnull__(1, 2)));

/* Between the tries of a polled lock: from the first pause to the longest. */
#define LOCK_POLL_FIRST_MS 10
#define LOCK_POLL_MAX_MS 100

/* Wait for a busy lock without ever blocking in it: try_lock(arg, false)
 * after pauses that grow from LOCK_POLL_FIRST_MS to LOCK_POLL_MAX_MS,
 * until it succeeds or w's deadline passes, speaking as lock_wait_speaking
 * does. Uses no signal and no timer. Returns CR_OK, CR_ERR_LOCK_BUSY, or
 * CR_ERR_OS with errno set. */
enum cr_status lock_poll(const struct lock_wait *w, int (*try_lock)(void *arg, bool block), void *arg,
                         void (*speak)(void *speak_arg), void *speak_arg) __attribute__((__nonnull__(1, 2)));

/* Who holds a lock on the file open at fd, from /proc/locks (matched by
 * device and inode): "PID N (COMM, running since HH:MM:SS)" put in buf, or
 * "" when that cannot be known (an open file description lock, whose
 * /proc/locks entry has no PID; a holder on another host or in another PID
 * namespace; no /proc). */
void lock_holder(int fd, char *buf, size_t len) __attribute__((__nonnull__));

/* Append "gave up after N s" to err when w was a bounded wait (-w, or a
 * cap) that ran out; nothing for -n. */
void lock_wait_gave_up(const struct lock_wait *w, struct cr_err *err) __attribute__((__nonnull__));

/* "HH:MM:SS" (local time) of t in buf. */
void lock_clock_text(time_t t, char *buf, size_t len) __attribute__((__nonnull__));

/* Open the lock file at path, close-on-exec unless inherit (COMMAND is
 * exec'd holding it, as under flock(1)), and store the descriptor in
 * *fd. A missing one is created 0644 (less what its directory withholds)
 * and, when root creates it, given to the owner and group of the file like
 * (the credentials; NULL: of the lock's directory): see fileown_open_lock.
 * A file that exists but cannot be opened for writing is opened read-only:
 * flock works on that too. Symbolic links are refused. On failure a message
 * is put in err. */
enum cr_status lock_open(const char *path, const char *like, bool inherit, int *fd, struct cr_err *err)
    __attribute__((__nonnull__(1, 4, 5)));

/* Take an exclusive flock(2) on fd within the limits of w. */
enum cr_status lock_take(int fd, const struct lock_wait *w) __attribute__((__nonnull__));

/* lock_take, and a wait longer than LOCK_SPEAK_MS says once (log_warn) that
 * the lock file at path is held, by which PID and since when. */
enum cr_status lock_take_named(int fd, const char *path, const struct lock_wait *w) __attribute__((__nonnull__));

#endif
