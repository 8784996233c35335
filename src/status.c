/* SPDX-License-Identifier: MIT */
/* The one place that maps a failure to an exit status. man/credrun.1's EXIT
 * STATUS section is this table. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "status.h"

static const int table[CR_STATUS_COUNT] = {
    [CR_OK] = 0,
    [CR_ERR_USAGE] = EX_USAGE,
    [CR_ERR_CREDS_MALFORMED] = EX_DATAERR,
    [CR_ERR_CANNOT_PLACE] = EX_DATAERR,
    [CR_ERR_EXPIRY_UNIT] = EX_DATAERR,
    [CR_ERR_CREDS_MISSING] = EX_NOINPUT,
    [CR_ERR_NOT_REGULAR] = EX_NOINPUT,
    [CR_ERR_UNREACHABLE] = EX_UNAVAILABLE,
    [CR_ERR_INTERNAL] = EX_SOFTWARE,
    [CR_ERR_OS] = EX_OSERR,
    [CR_ERR_CANT_WRITE] = EX_CANTCREAT,
    [CR_ERR_LOCK_BUSY] = EX_TEMPFAIL,
    [CR_ERR_RATE_LIMITED] = EX_TEMPFAIL,
    [CR_ERR_IN_FLIGHT] = EX_TEMPFAIL,
    [CR_ERR_BAD_RESPONSE] = EX_PROTOCOL,
    [CR_ERR_REJECTED] = EX_NOPERM,
    [CR_ERR_ALREADY_SENT] = EX_NOPERM,
    [CR_ERR_REQUEST_REFUSED] = EX_CONFIG,
    [CR_ERR_PROFILES_CONF] = EX_CONFIG,
    [CR_ERR_BASE_URL] = EX_CONFIG,
    [CR_ERR_FS_UNSUPPORTED] = EX_CONFIG,
    [CR_ERR_UNKNOWN_EXPIRY] = EX_CONFIG,
    [CR_ERR_UNSAFE_FILE] = EX_CONFIG,
    [CR_ERR_EXEC] = 126,
    [CR_ERR_NOT_FOUND] = 127,
};

int status_exit_code(enum cr_status st, int conflict_exit)
{
    if ((unsigned)st >= CR_STATUS_COUNT)
        return EX_SOFTWARE;
    if (st == CR_ERR_LOCK_BUSY && conflict_exit >= 0)
        return conflict_exit;
    return table[st];
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

enum cr_status cr_append(struct cr_err *e, const char *fmt, ...)
{
    size_t n = strlen(e->msg);
    if (n + 3 >= sizeof e->msg)
        return e->status;
    int m = snprintf(e->msg + n, sizeof e->msg - n, "%s", n ? "; " : "");
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(e->msg + n + (size_t)m, sizeof e->msg - n - (size_t)m, fmt, ap);
    va_end(ap);
    if (k < 0)
        e->msg[n] = '\0';
    else
        mark_cut(e->msg, sizeof e->msg, (int)n + m + k);
    return e->status;
}

void cr_clear(struct cr_err *e)
{
    e->status = CR_OK;
    e->msg[0] = '\0';
}
