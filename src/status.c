/* SPDX-License-Identifier: MIT */
/* The one place that maps a failure to an exit status. man/credrun.1's EXIT
 * STATUS section is this table. */
#include "config.h"

#include <sysexits.h>

#include "status.h"

static const struct {
    int code;
    const char *what;
} table[CR_STATUS_COUNT] = {
    [CR_OK] = {0, "success"},
    [CR_ERR_USAGE] = {EX_USAGE, "usage error"},
    [CR_ERR_CREDS_MALFORMED] = {EX_DATAERR, "malformed credentials file"},
    [CR_ERR_CREDS_MISSING] = {EX_NOINPUT, "credentials file missing"},
    [CR_ERR_UNREACHABLE] = {EX_UNAVAILABLE, "token endpoint unavailable"},
    [CR_ERR_INTERNAL] = {EX_SOFTWARE, "internal error"},
    [CR_ERR_OS] = {EX_OSERR, "system error"},
    [CR_ERR_CANT_WRITE] = {EX_CANTCREAT, "cannot write credentials"},
    [CR_ERR_LOCK_BUSY] = {EX_TEMPFAIL, "lock busy"},
    [CR_ERR_RATE_LIMITED] = {EX_TEMPFAIL, "rate limited"},
    [CR_ERR_BAD_RESPONSE] = {EX_PROTOCOL, "malformed token response"},
    [CR_ERR_REJECTED] = {EX_NOPERM, "refresh token rejected"},
    [CR_ERR_CONFIG] = {EX_CONFIG, "request refused by the token endpoint"},
    [CR_ERR_EXEC] = {126, "command not executable"},
    [CR_ERR_NOT_FOUND] = {127, "command not found"},
};

int status_exit_code(enum cr_status st, int conflict_exit)
{
    if ((unsigned)st >= CR_STATUS_COUNT)
        return EX_SOFTWARE;
    if (st == CR_ERR_LOCK_BUSY && conflict_exit >= 0)
        return conflict_exit;
    return table[st].code;
}

const char *status_describe(enum cr_status st)
{
    if ((unsigned)st >= CR_STATUS_COUNT)
        return "unknown error";
    return table[st].what;
}
