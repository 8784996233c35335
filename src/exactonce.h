/* SPDX-License-Identifier: MIT */
/* Exactly once across hosts (issue 18): what runs between "a refresh is
 * needed" and "the request goes out", and right after the answer, so that no
 * credrun on any host sends a refresh token another already sent.
 *
 *   exactonce_init     at the start of the refresh path (nothing is read)
 *   exactonce_ready    before spending: refuses a filesystem whose flock is
 *                      local to one client (78), waits on a network
 *                      filesystem until the view is settled, and looks for
 *                      the token's spent marker (wait for its successor, 75
 *                      past the bound, or 77 for an old one)
 *   exactonce_mark     with signals held, right before the request: the
 *                      marker itself (O_CREAT|O_EXCL; 73 when it cannot be)
 *   exactonce_outcome  after the answer: keep or remove the marker, prune
 *   exactonce_end      close
 *
 * Also exactonce_read: reading the credentials when another client's rename
 * makes the file vanish for an instant. */
#ifndef CREDRUN_EXACTONCE_H
#define CREDRUN_EXACTONCE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "applock.h"
#include "creds.h"
#include "netfs.h"
#include "runconfig.h"
#include "sha256.h"
#include "spent.h"
#include "state.h"
#include "status.h"

/* Re-read the credentials file (under the lock) into c and sb. On CR_OK c
 * is the caller's to free; on failure there is nothing to free. */
typedef enum cr_status (*exactonce_reload_fn)(const struct run_config *rc, struct creds *c, struct stat *sb,
                                              struct cr_err *err);

struct exactonce {
    const struct run_config *rc;
    struct applock_set *apps;   /* ticked while waiting; may be NULL */
    exactonce_reload_fn reload;
    bool classified;            /* mount looked up (once, on the refresh path only) */
    struct netfs_mount mount;
    struct spent_dir sd;        /* opened on first use */
    char made[SHA256_HEX];      /* the marker this run created, "" when none */
    char seen[SHA256_HEX];      /* a marker exactonce_mark found instead, "" when none */
    double seen_age_s;
    char seen_owner[128];
    double wait_start;          /* CLOCK_MONOTONIC s when the first wait began, < 0 before */
    double settled_for;         /* s spent settling so far (for the benchmark's -v line) */
};

/* Start; apps (may be NULL) are the application's locks this refresh holds. */
void exactonce_init(struct exactonce *eo, const struct run_config *rc, struct applock_set *apps,
                    exactonce_reload_fn reload) __attribute__((__nonnull__(1, 2, 4)));

/* May c's refresh token (c loaded under the lock, not fresh enough, the
 * application's locks held) be sent now? CR_OK with *changed false: go on
 * to exactonce_mark. CR_OK with *changed true: c and sb were replaced by a
 * newer file (settled view, or the successor another client stored): the
 * caller decides again and, if a refresh is still needed, calls this again.
 * Otherwise CR_ERR_FS_UNSUPPORTED (78), CR_ERR_IN_FLIGHT (75),
 * CR_ERR_ALREADY_SENT (77), CR_ERR_CANT_WRITE (73) or the reload's status,
 * with err saying what to do; nothing was sent. */
enum cr_status exactonce_ready(struct exactonce *eo, struct creds *c, struct stat *sb, bool *changed,
                               struct cr_err *err) __attribute__((__nonnull__));

/* Record that refresh_token is about to be sent: call with signals held,
 * after the new file is reserved, right before the request. CR_OK: the
 * marker is made, send. CR_ERR_IN_FLIGHT: another client made it first;
 * nothing may be sent: call exactonce_ready again (it waits). CR_ERR_CANT_WRITE
 * (73): it cannot be made; exit without sending. sb is the credentials' status
 * (the marker directory's owner when root runs for another user). */
enum cr_status exactonce_mark(struct exactonce *eo, const char *refresh_token, const struct stat *sb,
                              struct cr_err *err) __attribute__((__nonnull__));

/* After the request for the marked token: keep the marker when the token may
 * have been rotated (a successor stored, or saved in the rescue file;
 * invalid_grant or another "dead token" answer; sent and no answer came),
 * remove it when it was not (no connection, 3xx, 429, 5xx, any other 4xx, a
 * 2xx that brought no refresh token, or the same one: an endpoint that does
 * not rotate); then prune old markers (at most daily). st is what spending
 * returned, refresh_now the refresh token c holds after it (NULL: none).
 * Failures are warnings. */
void exactonce_outcome(struct exactonce *eo, const struct state_answer *ans, enum cr_status st,
                       const char *refresh_now) __attribute__((__nonnull__(1, 2)));

/* Pure: keep the marker after this answer? replaced: the file's refresh
 * token (in memory) is no longer the one sent. */
bool exactonce_keep_marker(const struct state_answer *ans, enum cr_status st, bool replaced)
    __attribute__((__nonnull__));

/* Close what exactonce opened; harmless twice. */
void exactonce_end(struct exactonce *eo) __attribute__((__nonnull__));

/* file_read, patient with a file that vanishes for an instant: when opening
 * or reading it fails with ESTALE, or ENOENT on a network filesystem, while
 * its directory and lock_file exist, try again for up to 2 s before giving
 * up (CR_ERR_CREDS_MISSING, as file_read). Costs nothing when the read works. */
enum cr_status exactonce_read(const char *path, const char *lock_file, char **buf, size_t *len, struct stat *st,
                              struct cr_err *err) __attribute__((__nonnull__));

#endif
