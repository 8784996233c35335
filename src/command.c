/* SPDX-License-Identifier: MIT */
/* Running COMMAND, for a plain run (exec in place) and for supervise mode
 * (exec in the forked child). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "command.h"
#include "expiry.h"
#include "log.h"
#include "procsafe.h"

enum cr_status command_exec(const struct run_config *rc, const char *access, struct cr_err *err)
{
    if (rc->env_name && access && setenv(rc->env_name, access, 1) != 0)
        return cr_fail(err, CR_ERR_OS, "cannot set %s: %s", rc->env_name, strerror(errno));
    procsafe_for_exec();
    execvp(rc->command[0], rc->command);
    int errnum = errno;
    return cr_fail(err, errnum == ENOENT || errnum == ENOTDIR ? CR_ERR_NOT_FOUND : CR_ERR_EXEC, "cannot run '%s': %s",
                   rc->command[0], strerror(errnum));
}

/* credrun's own lock was busy: -n/-w said not to wait. */
static bool own_lock_busy(const struct fresh *f, const struct cr_err *err)
{
    return err->status == CR_ERR_LOCK_BUSY && f->lock_fd < 0;
}

/* Failures a sidecar waits out rather than giving up at start. */
static bool transient(enum cr_status st)
{
    return st == CR_ERR_UNREACHABLE || st == CR_ERR_RATE_LIMITED || st == CR_ERR_BAD_RESPONSE;
}

bool command_may_proceed(const struct run_config *rc, const struct fresh *f, const struct cr_err *err)
{
    if (own_lock_busy(f, err) || rc->refresh_only)
        return false;
    if (rc->command ? !f->usable : !transient(err->status))
        return false;
    long long left = (long long)expiry_seconds_left(f->expires_ms, expiry_now_ms());
    if (!rc->supervise)
        log_warn("%s; running %s with the current access token (valid %lld s more)", err->msg, rc->command[0], left);
    else if (err->status == CR_ERR_REJECTED)
        log_error("%s; credrun stops refreshing, %s keeps running", err->msg, rc->command[0]);
    else
        log_warn("%s; starting with the current access token (valid %lld s more) and trying again", err->msg, left);
    return true;
}

void command_report(const struct fresh *f, const struct cr_err *err)
{
    if (own_lock_busy(f, err))
        log_warn("%s", err->msg);
    else
        log_error("%s", err->msg);
}
