/* SPDX-License-Identifier: MIT */
/* Process-wide safety (procsafe.h). */
#include "config.h"

#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "procsafe.h"

static struct rlimit saved_core;
static bool core_lowered;

/* A caught signal, unlike an ignored one, is reset to its default by
 * exec: COMMAND gets SIGPIPE as credrun found it, with no call to undo. */
static void on_pipe(int sig)
{
    (void)sig;
}

void procsafe_init(void)
{
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    if (getrlimit(RLIMIT_CORE, &saved_core) == 0 && saved_core.rlim_cur != 0) {
        struct rlimit none = {0, saved_core.rlim_max};
        core_lowered = setrlimit(RLIMIT_CORE, &none) == 0;
    }
    struct sigaction sa = {0}, old;
    sa.sa_handler = on_pipe;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGPIPE, &sa, &old) == 0 && old.sa_handler == SIG_IGN)
        sigaction(SIGPIPE, &old, NULL); /* already harmless, and COMMAND keeps it so */
}

void procsafe_for_exec(void)
{
    if (core_lowered)
        setrlimit(RLIMIT_CORE, &saved_core);
}

void procsafe_hold(sigset_t *old)
{
    static const int left_alone[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS, SIGCHLD,
                                     SIGCONT, SIGWINCH, SIGURG, SIGTSTP, SIGTTIN, SIGTTOU};
    sigset_t set;
    sigfillset(&set);
    for (size_t i = 0; i < sizeof left_alone / sizeof *left_alone; i++)
        sigdelset(&set, left_alone[i]);
    sigprocmask(SIG_BLOCK, &set, old);
}

void procsafe_die_of(int sig)
{
    struct sigaction sa = {0};
    sa.sa_handler = SIG_DFL;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, NULL);
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, sig);
    raise(sig);
    sigprocmask(SIG_UNBLOCK, &one, NULL);
    _exit(128 + sig);
}
