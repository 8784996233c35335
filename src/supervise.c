/* SPDX-License-Identifier: MIT */
/* Supervise mode. The parent blocks the signals it handles and waits for
 * them on a signalfd, and for the next check on a timerfd (CLOCK_REALTIME,
 * absolute: token expiries are wall-clock times, and a suspended machine
 * must check as soon as it wakes up). Nothing polls: an idle parent sleeps
 * in poll(2) until a signal arrives or the token needs a refresh. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "command.h"
#include "expiry.h"
#include "log.h"
#include "refresh.h"
#include "supervise.h"
#include "util.h"

int64_t supervise_next_check_ms(int64_t now_ms, int64_t expires_ms, int64_t min_validity_s)
{
    if (expires_ms == EXPIRY_UNKNOWN)
        return now_ms + SUPERVISE_UNKNOWN_WAIT_MS;
    int64_t at = now_ms;
    if (expires_ms > now_ms) {
        /* Subtract so that huge expiries cannot overflow. The half-life
         * rule is only for a token shorter than min_validity: a later wake
         * than expires - min_validity would let the remaining life fall
         * into the application's own refresh window. */
        int64_t due = expires_ms - min_validity_s * 1000;
        at = due > now_ms ? due : now_ms + (expires_ms - now_ms) / 2;
    }
    return at > now_ms + SUPERVISE_MIN_WAIT_MS ? at : now_ms + SUPERVISE_MIN_WAIT_MS;
}

int64_t supervise_retry_ms(enum cr_status st, unsigned failures, int64_t now_ms, int64_t expires_ms, int64_t retry_at_ms,
                           double jitter)
{
    if (st == CR_ERR_REJECTED)
        return SUPERVISE_STOP;
    if (failures < 1)
        failures = 1;
    int64_t d = SUPERVISE_MIN_WAIT_MS;
    for (unsigned i = 1; i < failures && d < SUPERVISE_RETRY_MAX_MS; i++)
        d *= 2;
    if (d > SUPERVISE_RETRY_MAX_MS)
        d = SUPERVISE_RETRY_MAX_MS;
    if (jitter > 0 && jitter < 1)
        d -= (int64_t)((double)d * jitter / 4);
    if (expires_ms != EXPIRY_UNKNOWN && expires_ms > now_ms && d > (expires_ms - now_ms) / 2)
        d = (expires_ms - now_ms) / 2;
    if (d < SUPERVISE_MIN_WAIT_MS)
        d = SUPERVISE_MIN_WAIT_MS;
    if (retry_at_ms > now_ms && retry_at_ms - now_ms > d)
        d = retry_at_ms - now_ms;
    return d;
}

/* The parent's state. */
struct sup {
    const struct run_config *rc;
    pid_t self;
    pid_t child;   /* -1 in sidecar mode and once reaped */
    int status;    /* the child's wait status, once reaped */
    int lock_fd;   /* the credential lock held for COMMAND's life (scope command), or -1 */
    int sfd, tfd;  /* signalfd, timerfd */
    sigset_t mask; /* the signals read from sfd, blocked */
    sigset_t old;  /* the mask credrun started with: COMMAND's */
    int64_t expires_ms;
    int64_t next_ms; /* the next check, epoch ms; 0 when refreshing stopped */
    unsigned failures;
    enum cr_status last_failure;
    bool warned_expired;
    bool stop;      /* sidecar: SIGTERM or SIGINT arrived */
    bool check_now; /* sidecar: SIGHUP asks for a check */
    int stop_sig;   /* the child stopped on this job-control signal */
    unsigned seed;
};

/* Signals forwarded to COMMAND when another process sends them to credrun. */
static const int forwarded[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT,
                                SIGTSTP, SIGTTIN, SIGTTOU};

/* True when a signal was sent by a process (kill, sigqueue, tgkill), false
 * when the kernel generated it (the terminal's ^C, ^Z, ^\, resize and
 * hangup reach the whole foreground process group, COMMAND included). */
static bool sent_by_process(int32_t code)
{
    return code <= 0; /* SI_USER, SI_QUEUE, SI_TKILL, ...; SI_KERNEL is > 0 */
}

/* A number in [0, 1) to spread retries; not for secrets. */
static double jitter(struct sup *s)
{
    s->seed = s->seed * 1103515245u + 12345u;
    return (double)((s->seed >> 8) % 1000) / 1000.0;
}

/* Set the timer to fire at epoch ms at (0 disarms it). Returns 0 or -1. */
static int arm(struct sup *s, int64_t at)
{
    struct itimerspec its = {0};
    if (at > 0) {
        its.it_value.tv_sec = (time_t)(at / 1000);
        its.it_value.tv_nsec = (long)(at % 1000) * 1000000L;
    }
    s->next_ms = at;
    return timerfd_settime(s->tfd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &its, NULL);
}

/* What COMMAND is called in messages. */
static const char *what(const struct sup *s)
{
    return s->rc->command ? s->rc->command[0] : "the sidecar";
}

/* Check the token and refresh it if needed, under the lock, then set the
 * timer for the next check. Failures never touch COMMAND: they are retried
 * with backoff, except a rejected refresh token, which stops refreshing
 * (a sidecar then has nothing left to do: *fatal is set). */
static void check(struct sup *s, enum cr_status *fatal)
{
    struct run_config po = *s->rc;
    po.force = false;
    po.nonblock = true; /* never block here: signals and COMMAND's exit must be seen */
    struct fresh f;
    struct cr_err err;
    enum cr_status st = s->lock_fd >= 0 ? refresh_ensure_locked(&po, &f, &err) : refresh_ensure(&po, &f, &err);
    if (f.expires_ms != EXPIRY_UNKNOWN)
        s->expires_ms = f.expires_ms;
    int64_t retry_at = f.retry_at_ms;
    const char *why = err.msg;
    fresh_free(&f);
    int64_t now = expiry_now_ms();

    if (st == CR_OK) {
        if (s->failures > 0 && s->last_failure != CR_ERR_LOCK_BUSY)
            log_warn("the access token is fresh again after %u failed attempt%s", s->failures, s->failures == 1 ? "" : "s");
        s->failures = 0;
        s->warned_expired = false;
        int64_t next = supervise_next_check_ms(now, s->expires_ms, s->rc->min_validity);
        log_info("next check in %lld s", (long long)((next - now + 999) / 1000));
        arm(s, next);
        return;
    }
    s->failures++;
    int64_t wait = supervise_retry_ms(st, s->failures, now, s->expires_ms, retry_at, jitter(s));
    if (wait == SUPERVISE_STOP) {
        if (s->rc->command)
            log_error("%s; credrun stops refreshing, %s keeps running", why, what(s));
        else
            log_error("%s", why);
        arm(s, 0);
        if (!s->rc->command)
            *fatal = st;
        return;
    }
    long long secs = (long long)((wait + 999) / 1000);
    if (st == CR_ERR_LOCK_BUSY || (s->failures > 1 && st == s->last_failure))
        log_info("%s; trying again in %lld s", why, secs);
    else
        log_warn("%s; trying again in %lld s", why, secs);
    s->last_failure = st;
    if (s->rc->command && !s->warned_expired && !expiry_usable(s->expires_ms, now)) {
        log_warn("the access token has expired; %s may fail until a refresh succeeds", what(s));
        s->warned_expired = true;
    }
    arm(s, now + wait);
}

/* The exit status a shell would report for a wait status. */
static int exit_code_of(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return status_exit_code(CR_ERR_INTERNAL, -1);
}

/* Collect every child that changed state; note COMMAND's end or stop. */
static void reap(struct sup *s)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG | WUNTRACED | WCONTINUED)) > 0) {
        if (pid != s->child)
            continue; /* a child credrun inherited: reaped, nothing more */
        if (WIFEXITED(status) || WIFSIGNALED(status)) {
            s->status = status;
            s->child = -1;
            s->stop_sig = 0;
            return;
        }
        if (WIFSTOPPED(status)) {
            int sig = WSTOPSIG(status);
            s->stop_sig = sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU ? sig : 0;
        } else if (WIFCONTINUED(status)) {
            s->stop_sig = 0;
        }
    }
}

/* True when the process is stopped right now, per /proc (true when unknown). */
static bool is_stopped(pid_t pid)
{
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return true;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return true;
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');
    return !p || p[1] != ' ' || p[2] == 'T' || p[2] == 't';
}

/* COMMAND stopped on a job-control signal: stop credrun the same way, as a
 * shell's job would, so the shell that started credrun sees the job stopped
 * and can continue it (SIGCONT reaches credrun, which forwards it). In an
 * orphaned process group, where nobody could continue it, the kernel
 * discards the signal and credrun carries on. */
static void stop_like_child(struct sup *s)
{
    int sig = s->stop_sig;
    s->stop_sig = 0;
    if (!is_stopped(s->child))
        return; /* continued meanwhile */
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, sig);
    log_info("%s stopped (signal %d); stopping too", what(s), sig);
    /* Raise while blocked (merging with one the terminal may have left
     * pending), then unblock: the default action stops us once. */
    kill(s->self, sig);
    sigprocmask(SIG_UNBLOCK, &one, NULL);
    sigprocmask(SIG_BLOCK, &one, NULL);
}

/* Read every pending signal and act on it: forward, stop, check, reap. */
static void on_signals(struct sup *s)
{
    struct signalfd_siginfo si;
    bool chld = false;
    while (read(s->sfd, &si, sizeof si) == (ssize_t)sizeof si) {
        int sig = (int)si.ssi_signo;
        if (sig == SIGCHLD) {
            chld = true;
        } else if (sig == SIGPIPE) {
            /* a closed stderr must not kill the supervisor */
        } else if (!s->rc->command) {
            if (sig == SIGTERM || sig == SIGINT)
                s->stop = true;
            else if (sig == SIGHUP)
                s->check_now = true;
        } else if (s->child > 0 && sent_by_process(si.ssi_code) && (pid_t)si.ssi_pid != s->child) {
            /* Not reaped yet, so the pid is still COMMAND's even if it has
             * just exited. A signal COMMAND sent its own group is not echoed. */
            log_info("forwarding signal %d to %s", sig, what(s));
            if (kill(s->child, sig) != 0 && errno != ESRCH)
                log_warn("cannot forward signal %d to %s: %s", sig, what(s), strerror(errno));
        }
    }
    if (chld)
        reap(s);
    if (s->child > 0 && s->stop_sig)
        stop_like_child(s);
}

/* The timer fired, or the clock was set (ECANCELED): check when due. */
static void on_timer(struct sup *s, enum cr_status *fatal)
{
    uint64_t ticks;
    ssize_t n = read(s->tfd, &ticks, sizeof ticks);
    (void)n;
    if (s->next_ms == 0)
        return;
    if (expiry_now_ms() >= s->next_ms)
        check(s, fatal);
    else
        arm(s, s->next_ms);
}

/* The child: never returns into the parent's code. */
__attribute__((__noreturn__)) static void child_exec(const struct sup *s, const char *access)
{
    const struct run_config *rc = s->rc;
    if (!rc->no_kill_on_exit) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != s->self) /* credrun died before prctl took effect */
            _exit(128 + SIGTERM);
    }
    sigprocmask(SIG_SETMASK, &s->old, NULL);
    struct cr_err err;
    enum cr_status st = command_exec(rc, access, &err);
    log_error("%s", err.msg);
    _exit(status_exit_code(st, -1));
}

/* Block the signals the parent reads and open the signalfd and timerfd. */
static enum cr_status setup_fds(struct sup *s)
{
    sigemptyset(&s->mask);
    sigaddset(&s->mask, SIGPIPE);
    if (s->rc->command) {
        sigaddset(&s->mask, SIGCHLD);
        for (size_t i = 0; i < sizeof forwarded / sizeof *forwarded; i++)
            sigaddset(&s->mask, forwarded[i]);
    } else {
        sigaddset(&s->mask, SIGTERM);
        sigaddset(&s->mask, SIGINT);
        sigaddset(&s->mask, SIGHUP);
    }
    sigprocmask(SIG_BLOCK, &s->mask, &s->old);
    s->sfd = signalfd(-1, &s->mask, SFD_NONBLOCK | SFD_CLOEXEC);
    s->tfd = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC);
    if (s->sfd < 0 || s->tfd < 0) {
        log_error("cannot set up supervise mode: %s", strerror(errno));
        return CR_ERR_OS;
    }
    return CR_OK;
}

/* The first check follows the rules of a plain run: -n/-w, --force, and
 * COMMAND starts on an old token only while it is still valid. Returns
 * CR_OK or the failure to go on with (s->failures set), with *access the
 * token to hand COMMAND (wipe it); *code set when credrun must exit now. */
static enum cr_status first_check(struct sup *s, char **access, int64_t *retry_at, int *code)
{
    const struct run_config *rc = s->rc;
    struct fresh f;
    struct cr_err err;
    enum cr_status st = refresh_ensure(rc, &f, &err);
    s->expires_ms = f.expires_ms;
    *code = -1;
    if (st != CR_OK) {
        if (!command_may_proceed(rc, &f, &err)) {
            command_report(&f, &err);
            fresh_free(&f);
            *code = status_exit_code(st, rc->conflict_exit);
            return st;
        }
        if (st != CR_ERR_REJECTED) {
            s->failures = 1;
            s->last_failure = st;
        }
    }
    if (rc->scope == RUN_SCOPE_COMMAND && rc->command) {
        s->lock_fd = f.lock_fd; /* held until COMMAND exits; close-on-exec */
        f.lock_fd = -1;
    }
    *access = f.access;
    f.access = NULL;
    *retry_at = f.retry_at_ms;
    fresh_free(&f);
    return st;
}

/* Wait for signals and the timer until COMMAND has exited (or the sidecar
 * is told to stop); returns the sidecar's fatal status, if any. */
static enum cr_status loop(struct sup *s)
{
    const struct run_config *rc = s->rc;
    enum cr_status fatal = CR_OK;
    struct pollfd pfd[2] = {{.fd = s->sfd, .events = POLLIN}, {.fd = s->tfd, .events = POLLIN}};
    while (rc->command ? s->child > 0 : !s->stop && fatal == CR_OK) {
        if (poll(pfd, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            log_error("poll: %s", strerror(errno));
            break;
        }
        if (pfd[0].revents & POLLIN)
            on_signals(s);
        if (s->check_now) {
            s->check_now = false;
            check(s, &fatal);
        } else if ((pfd[1].revents & POLLIN) && (!rc->command || s->child > 0)) {
            on_timer(s, &fatal);
        }
    }
    return fatal;
}

/* Arm the timer for the next check after the first one ended with st. */
static void arm_first(struct sup *s, enum cr_status st, int64_t retry_at)
{
    int64_t now = expiry_now_ms();
    if (st == CR_ERR_REJECTED)
        arm(s, 0);
    else if (st != CR_OK)
        arm(s, now + supervise_retry_ms(st, s->failures, now, s->expires_ms, retry_at, jitter(s)));
    else
        arm(s, supervise_next_check_ms(now, s->expires_ms, s->rc->min_validity));
}

/* Set up, start COMMAND (handing it access, then wiping it) and supervise it
 * until it exits. Returns credrun's exit status. */
static int run_supervised(struct sup *s, enum cr_status st, char *access, int64_t retry_at)
{
    const struct run_config *rc = s->rc;
    if (setup_fds(s) != CR_OK) {
        secret_free(access);
        return status_exit_code(CR_ERR_OS, -1);
    }
    arm_first(s, st, retry_at);
    if (rc->command) {
        s->child = fork();
        if (s->child < 0) {
            log_error("cannot fork: %s", strerror(errno));
            secret_free(access);
            return status_exit_code(CR_ERR_OS, -1);
        }
        if (s->child == 0)
            child_exec(s, access);
        log_info("supervising %s (pid %ld)", rc->command[0], (long)s->child);
    }
    secret_free(access);
    enum cr_status fatal = loop(s);
    if (rc->command)
        return s->child > 0 ? status_exit_code(CR_ERR_OS, -1) : exit_code_of(s->status);
    return status_exit_code(fatal, -1);
}

int supervise_run(const struct run_config *rc, int *die_sig)
{
    *die_sig = 0;
    struct sup s = {.rc = rc, .self = getpid(), .child = -1, .lock_fd = -1, .sfd = -1, .tfd = -1};
    s.seed = (unsigned)s.self ^ (unsigned)time(NULL);
    s.expires_ms = EXPIRY_UNKNOWN;
    sigemptyset(&s.old);
    sigprocmask(SIG_SETMASK, NULL, &s.old);

    char *access = NULL;
    int64_t retry_at = 0;
    int code;
    enum cr_status st = first_check(&s, &access, &retry_at, &code);
    if (code >= 0)
        return code;
    if (rc->command && rc->unexported_env && getenv(rc->unexported_env))
        log_warn("%s is set in the environment and passed on to %s, which may prefer it to the file credrun keeps "
                 "fresh; unset it, or pass --env %s to export a snapshot",
                 rc->unexported_env, rc->command[0], rc->unexported_env);
    code = run_supervised(&s, st, access, retry_at);
    if (s.lock_fd >= 0)
        close(s.lock_fd);
    if (s.sfd >= 0)
        close(s.sfd);
    if (s.tfd >= 0)
        close(s.tfd);
    sigprocmask(SIG_SETMASK, &s.old, NULL);
    if (rc->command && s.child < 0 && WIFSIGNALED(s.status))
        *die_sig = WTERMSIG(s.status);
    return code;
}
