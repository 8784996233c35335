/* SPDX-License-Identifier: MIT */
/* Unit tests for small helpers: paths, number parsing, status table. */
#include "config.h"

#include <stdlib.h>
#include <sys/stat.h>
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

    ok(utf8_valid("/plain/ascii"), "ASCII is valid UTF-8");
    ok(utf8_valid("/h\xc3\xa9llo/\xe2\x98\x83/\xf0\x9f\x98\x80"), "two, three and four byte forms are valid");
    ok(!utf8_valid("/x\xff/a"), "0xff is not");
    ok(!utf8_valid("/\xc0\xaf"), "an overlong '/' is not");
    ok(!utf8_valid("/\xed\xa0\x80"), "a surrogate is not");
    ok(!utf8_valid("/\xf4\x90\x80\x80"), "past U+10FFFF is not");
    ok(!utf8_valid("/\xe2\x98"), "a cut sequence is not");
    is_str(file_kind(S_IFIFO | 0600), "a FIFO", "a FIFO is named");
    is_str(file_kind(S_IFDIR | 0700), "a directory", "a directory is named");
    is_str(file_kind(S_IFCHR | 0600), "a device", "a device is named");
    is_int(status_exit_code(CR_ERR_CANNOT_PLACE, -1), 65, "cannot place is 65");
    is_int(status_exit_code(CR_ERR_EXPIRY_UNIT, -1), 65, "a wrong expiry unit is 65");
    is_int(status_exit_code(CR_ERR_NOT_REGULAR, -1), 66, "not a regular file is 66");
    is_int(status_exit_code(CR_ERR_UNKNOWN_EXPIRY, -1), 78, "an unknowable expiry is 78");
    return tap_done();
}
