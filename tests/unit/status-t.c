/* SPDX-License-Identifier: MIT */
/* Unit tests for the one table of statuses and exit codes, and the error
 * type's message building. */
#include "config.h"

#include <string.h>
#include <sysexits.h>

#include "status.h"
#include "tap.h"

int main(void)
{
    is_int(status_exit_code(CR_OK, -1), 0, "success is 0");
    is_int(status_exit_code(CR_ERR_USAGE, -1), EX_USAGE, "usage is 64");
    is_int(status_exit_code(CR_ERR_CREDS_MALFORMED, -1), 65, "malformed is 65");
    is_int(status_exit_code(CR_ERR_CREDS_MISSING, -1), 66, "missing is 66");
    is_int(status_exit_code(CR_ERR_UNREACHABLE, -1), 69, "unreachable is 69");
    is_int(status_exit_code(CR_ERR_CANT_WRITE, -1), 73, "cannot write is 73");
    is_int(status_exit_code(CR_ERR_LOCK_BUSY, -1), 75, "lock busy is 75");
    is_int(status_exit_code(CR_ERR_LOCK_BUSY, 3), 3, "-E replaces the lock conflict status");
    is_int(status_exit_code(CR_ERR_RATE_LIMITED, 3), 75, "-E does not replace rate limiting");
    is_int(status_exit_code(CR_ERR_BAD_RESPONSE, -1), 76, "bad response is 76");
    is_int(status_exit_code(CR_ERR_REJECTED, -1), 77, "rejected is 77");
    is_int(status_exit_code(CR_ERR_REQUEST_REFUSED, -1), 78, "config is 78");
    is_int(status_exit_code(CR_ERR_EXEC, -1), 126, "not executable is 126");
    is_int(status_exit_code(CR_ERR_NOT_FOUND, -1), 127, "not found is 127");

    struct cr_err err;
    cr_clear(&err);
    is_int(cr_fail(&err, CR_ERR_USAGE, "bad %s", "thing"), CR_ERR_USAGE, "cr_fail returns its status");
    cr_wrap(&err, "in %s", "file");
    is_str(err.msg, "in file: bad thing", "cr_wrap puts context in front");
    cr_append(&err, "fix it");
    ok(strstr(err.msg, "bad thing") && strstr(err.msg, "fix it"), "cr_append adds what to do: %s", err.msg);
    is_int(status_exit_code(CR_ERR_CANNOT_PLACE, -1), 65, "cannot place is 65");
    is_int(status_exit_code(CR_ERR_EXPIRY_UNIT, -1), 65, "a wrong expiry unit is 65");
    is_int(status_exit_code(CR_ERR_NOT_REGULAR, -1), 66, "not a regular file is 66");
    is_int(status_exit_code(CR_ERR_UNKNOWN_EXPIRY, -1), 78, "an unknowable expiry is 78");
    return tap_done();
}
