/* SPDX-License-Identifier: MIT */
/* Supervise mode: credrun stays the parent of COMMAND (or runs alone as a
 * sidecar), sleeps until the access token needs a refresh, refreshes it
 * under the lock, forwards signals, and returns COMMAND's status. */
#ifndef CREDRUN_SUPERVISE_H
#define CREDRUN_SUPERVISE_H

#include <stdint.h>

#include "runconfig.h"
#include "status.h"

/* supervise_retry_ms() says so when retrying cannot help. */
#define SUPERVISE_STOP ((int64_t)-1)

#define SUPERVISE_MIN_WAIT_MS 1000         /* never check more often than this */
#define SUPERVISE_UNKNOWN_WAIT_MS 60000    /* next check when the expiry is unknown */
#define SUPERVISE_RETRY_MAX_MS 300000      /* longest wait between failed attempts */

/* When to check the token again after a successful check, in epoch ms:
 * expires - min_validity while that is still ahead, so the remaining life
 * never falls below min_validity (nor into an application's own refresh
 * window above it); for a token whose whole life is shorter than
 * min_validity, now + (expires - now) / 2, so it is refreshed about twice
 * per life, never in a loop; never sooner than now + 1 s. An unknown expiry
 * gives now + 60 s. */
int64_t supervise_next_check_ms(int64_t now_ms, int64_t expires_ms, int64_t min_validity_s);

/* The retry policy: how long to wait (ms, at least 1 s) after the
 * failures'th check in a row failed with st, or SUPERVISE_STOP when
 * retrying cannot help (the refresh token was rejected, quarantined or is
 * absent: a new login is needed). The wait doubles from 1 s up to 5 min, is
 * shortened by up to a quarter by jitter (0 <= jitter < 1, spreading many
 * supervisors apart), and while the token still lives it is at most half the
 * time left, so several attempts fit before it expires; but it never ends
 * before retry_at_ms, the end of a cooldown the shared state imposes (0 when
 * none: see state.h), since no request may be sent before then anyway. */
int64_t supervise_retry_ms(enum cr_status st, unsigned failures, int64_t now_ms, int64_t expires_ms, int64_t retry_at_ms,
                           double jitter);

/* Run supervise mode for o (o->supervise is set): refresh if needed, then
 * either fork and exec o->command and keep the credentials fresh until it
 * exits, or, without a command, keep them fresh until SIGTERM/SIGINT.
 * Returns credrun's exit status: COMMAND's own, 0 for a sidecar stopped by
 * SIGTERM/SIGINT, or the status of a failure that keeps anything from
 * running. When COMMAND was killed by signal N, *die_sig is set to N (else
 * 0) and the caller should die of it (procsafe_die_of) once it has cleaned
 * up; the status returned is then 128+N. */
int supervise_run(const struct run_config *rc, int *die_sig) __attribute__((__nonnull__));

#endif
