/* SPDX-License-Identifier: MIT */
/* Unit tests for small helpers: paths, number parsing, status table. */
#include "config.h"

#include <stdlib.h>
#include <sysexits.h>

#include "status.h"
#include "tap.h"
#include "util.h"

int main(void)
{
    char *d = path_dirname("/a/b/c.json");
    is_str(d, "/a/b", "dirname of an absolute path");
    free(d);
    d = path_dirname("c.json");
    is_str(d, ".", "dirname of a bare name is .");
    free(d);
    d = path_dirname("/c.json");
    is_str(d, "/", "dirname of a file in / is /");
    free(d);
    is_str(path_basename("/a/b/c.json"), "c.json", "basename");

    long l;
    ok(parse_long("600", 0, 1000, &l) == 0 && l == 600, "whole seconds parse");
    ok(parse_long("-1", 0, 1000, &l) != 0, "negative numbers are refused");
    ok(parse_long("12x", 0, 1000, &l) != 0, "trailing junk is refused");
    ok(parse_long("", 0, 1000, &l) != 0, "empty is refused");
    ok(parse_long("1001", 0, 1000, &l) != 0, "too large is refused");
    double s;
    ok(parse_seconds("0.5", &s) == 0 && s == 0.5, "fractional seconds parse");
    ok(parse_seconds("inf", &s) != 0, "infinity is refused");
    ok(parse_seconds("nan", &s) != 0, "NaN is refused");

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
    return tap_done();
}
