/* SPDX-License-Identifier: MIT */
/* Ensure the credentials are fresh: take the lock, re-read the file under
 * it, refresh only if still needed, write it back atomically. */
#ifndef CREDRUN_REFRESH_H
#define CREDRUN_REFRESH_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "runconfig.h"
#include "status.h"

struct fresh {
    int lock_fd;        /* the credential lock, still held; -1 when not taken */
    char *access;       /* the access token to hand on (wipe), or NULL */
    int64_t expires_ms; /* its expiry */
    bool usable;        /* access is set and not yet expired */
    int64_t retry_at_ms; /* during a shared cooldown: when a refresh may be tried again (epoch ms), else 0 */
    /* The fast path's parsed file, kept until fresh_free: an exec of COMMAND
     * discards it unfreed. Valid when have_parsed. */
    struct creds parsed;
    bool have_parsed;
};

/* Take the lock and make sure the file's access token is valid for more
 * than rc->min_validity seconds (or refresh it with rc->force). On CR_OK f
 * holds a usable token. On failure err says what happened and f->usable
 * whether the old token can still be used; the lock stays held in both
 * cases when it was taken. */
enum cr_status refresh_ensure(const struct run_config *rc, struct fresh *f, struct cr_err *err)
    __attribute__((__nonnull__));

/* Like refresh_ensure(), for a caller that already holds the credential lock
 * on a descriptor of its own (supervise mode's command scope): opening and
 * flock()ing the lock file again would wait for itself. f->lock_fd stays -1. */
enum cr_status refresh_ensure_locked(const struct run_config *rc, struct fresh *f, struct cr_err *err)
    __attribute__((__nonnull__));

/* Read and parse rc's credentials file into c (creds_free() it) and its
 * status into sb, taking no lock. Fails as a run does (CR_ERR_CREDS_MISSING,
 * CR_ERR_CREDS_MALFORMED, CR_ERR_UNSAFE_FILE) with err saying what to do. */
enum cr_status refresh_read_creds(const struct run_config *rc, struct creds *c, struct stat *sb, struct cr_err *err)
    __attribute__((__nonnull__));

/* Release the lock (if held), wipe the token and free the parsed file. */
void fresh_free(struct fresh *f);

#endif
