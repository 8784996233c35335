/* SPDX-License-Identifier: MIT */
/* Unit tests for small helpers: paths and number parsing. */
#include "config.h"

#include <stdlib.h>

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

    return tap_done();
}
