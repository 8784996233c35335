/* SPDX-License-Identifier: MIT */
/* The one place that maps a failure to an exit status. man/credrun.1's EXIT
 * STATUS section is this table. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
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

/* Cut msg (of size n, NUL-terminated, possibly truncated by vsnprintf) so
 * that it ends in "..." on a whole UTF-8 character when it was cut. */
static void mark_cut(char *msg, size_t n, int wanted)
{
    if (wanted < 0 || (size_t)wanted < n)
        return;
    size_t end = n - 4; /* room for "..." and the NUL */
    while (end > 0 && ((unsigned char)msg[end] & 0xC0) == 0x80)
        end--;
    memcpy(msg + end, "...", 4);
}

enum cr_status cr_fail(struct cr_err *e, enum cr_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    if (n < 0)
        e->msg[0] = '\0';
    mark_cut(e->msg, sizeof e->msg, n);
    e->status = st;
    return st;
}

enum cr_status cr_wrap(struct cr_err *e, const char *fmt, ...)
{
    char ctx[CR_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(ctx, sizeof ctx, fmt, ap);
    va_end(ap);
    if (n < 0)
        ctx[0] = '\0';
    char old[CR_ERR_MSG_MAX];
    memcpy(old, e->msg, sizeof old);
    int m = snprintf(e->msg, sizeof e->msg, "%s: %s", ctx, old);
    mark_cut(e->msg, sizeof e->msg, m);
    return e->status;
}

void cr_clear(struct cr_err *e)
{
    e->status = CR_OK;
    e->msg[0] = '\0';
}
