/* SPDX-License-Identifier: MIT */
/* Process-wide safety: no core dump holding a secret, no death by SIGPIPE
 * while credrun writes to a closed stderr, signals held while a spent
 * refresh token's successor is not stored yet, and death by the signal
 * COMMAND died of. COMMAND gets back what credrun started with. */
#ifndef CREDRUN_PROCSAFE_H
#define CREDRUN_PROCSAFE_H

#include <signal.h>

/* Call first in main, before any secret is read: make the process
 * non-dumpable (PR_SET_DUMPABLE 0, which also keeps other processes of the
 * same user from reading its memory), set the soft RLIMIT_CORE to 0 (noting
 * the old one for COMMAND), and make SIGPIPE harmless (a write to a closed
 * pipe fails with EPIPE instead). Two system calls when the core limit is
 * already 0, as it usually is; SIGPIPE costs one more. */
void procsafe_init(void);

/* Just before exec'ing COMMAND: give it the core limit credrun started with
 * (nothing to do when it was 0). exec itself makes COMMAND dumpable again
 * and gives it back the SIGPIPE disposition credrun inherited. */
void procsafe_for_exec(void);

/* Hold back (block) every catchable signal whose default action ends the
 * process (HUP, INT, QUIT, ABRT, PIPE, ALRM, TERM, USR1, USR2, XCPU, XFSZ,
 * VTALRM, PROF, POLL, PWR and the real-time signals), saving the mask in
 * *old. Faults (SEGV, BUS, FPE, ILL, TRAP, SYS) and job control are left
 * alone. Restore with sigprocmask(SIG_SETMASK, old, NULL): a held signal is
 * then delivered. */
void procsafe_hold(sigset_t *old) __attribute__((__nonnull__));

/* Die of signal sig as COMMAND did, so a shell or flock(1) above sees the
 * same signal (core dumps stay off). Falls back to exit 128+sig if the
 * signal does not end the process. */
__attribute__((__noreturn__)) void procsafe_die_of(int sig);

#endif
