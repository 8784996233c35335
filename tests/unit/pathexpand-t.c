/* SPDX-License-Identifier: MIT */
/* Unit tests for location rules: ${NAME}, ${NAME:-default}, ~ and where
 * profiles.conf is. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pathexpand.h"
#include "tap.h"

static struct cr_err err;
#define why err.msg

static char *expand(const char *rule)
{
    char *out;
    return pathexpand(rule, &out, &err) == 0 ? out : NULL;
}

int main(void)
{
    char tmp[] = "/tmp/pathexpand-t.XXXXXX";
    if (!mkdtemp(tmp))
        return 1;
    setenv("HOME", tmp, 1);
    setenv("XDG_CONFIG_HOME", tmp, 1);

    /* Location rules. */
    char *s = expand("~/.claude/x");
    ok(s && strncmp(s, tmp, strlen(tmp)) == 0 && strcmp(s + strlen(tmp), "/.claude/x") == 0, "~ is $HOME");
    free(s);
    setenv("CRT_A", "/a", 1);
    setenv("CRT_EMPTY", "", 1);
    unsetenv("CRT_UNSET");
    s = expand("${CRT_A}/f");
    is_str(s, "/a/f", "${NAME} is its value");
    free(s);
    s = expand("${CRT_UNSET:-${CRT_EMPTY:-/d}}/f");
    is_str(s, "/d/f", "unset and empty fall through nested defaults");
    free(s);
    s = expand("${CRT_UNSET:-${CRT_A:-/d}}/f");
    is_str(s, "/a/f", "a nested default that is set wins");
    free(s);
    s = expand("a~b$c");
    is_str(s, "a~b$c", "~ inside and a $ without { are literal");
    free(s);
    ok(expand("${CRT_A") == NULL, "an unclosed ${ is refused: %s", why);
    ok(expand("${-x}") == NULL, "a bad variable name is refused");
    s = pathexpand_conf();
    ok(strcmp(s + strlen(tmp), "/credrun/profiles.conf") == 0, "profiles.conf is under $XDG_CONFIG_HOME");
    free(s);

    s = expand("${CRT_UNSET:-${CRT_UNSET:-${CRT_UNSET:-${CRT_UNSET:-${CRT_UNSET:-${CRT_UNSET:-${CRT_UNSET:-${CRT_UNSET:-${CRT_UNSET:-${CRT_UNSET:-/deep}}}}}}}}}}");
    ok(s == NULL && strstr(why, "nest too deep"), "defaults nested more than 8 deep are refused: %s", why);
    free(s);
    s = expand("${CRT_UNSET}x");
    is_str(s, "x", "an unset ${NAME} is empty");
    free(s);
    unsetenv("HOME");
    s = expand("~");
    ok(s && s[0] == '/', "without $HOME, ~ is the password database's home: %s", s ? s : "(null)");
    free(s);

    rmdir(tmp);
    return tap_done();
}
