/* SPDX-License-Identifier: MIT */
/* Unit tests for small helpers: paths and number parsing. */
#include "config.h"

#include <stdlib.h>
#include <sys/stat.h>

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
    return tap_done();
}
