/* SPDX-License-Identifier: MIT */
/* A tiny TAP producer for the C unit tests: ok(), is_int(), is_str(). */
#ifndef CREDRUN_TAP_H
#define CREDRUN_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_n, tap_failed;

#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define is_int(got, want, ...) tap_is_int((long long)(got), (long long)(want), __FILE__, __LINE__, __VA_ARGS__)
#define is_str(got, want, ...) tap_is_str((got), (want), __FILE__, __LINE__, __VA_ARGS__)

__attribute__((__format__(printf, 4, 5), __unused__)) static int tap_ok(int pass, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("%sok %d - ", pass ? "" : "not ", ++tap_n);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    if (!pass) {
        tap_failed++;
        printf("#   failed at %s:%d\n", file, line);
    }
    return pass;
}

#define TAP_VFMT(buf, fmt)                                                                                             \
    do {                                                                                                               \
        va_list ap;                                                                                                    \
        va_start(ap, fmt);                                                                                             \
        vsnprintf(buf, sizeof buf, fmt, ap);                                                                           \
        va_end(ap);                                                                                                    \
    } while (0)

__attribute__((__format__(printf, 5, 6), __unused__)) static int tap_is_int(long long got, long long want, const char *file,
                                                                 int line, const char *fmt, ...)
{
    char name[256];
    TAP_VFMT(name, fmt);
    int pass = tap_ok(got == want, file, line, "%s", name);
    if (!pass)
        printf("#   got %lld, want %lld\n", got, want);
    return pass;
}

__attribute__((__format__(printf, 5, 6), __unused__)) static int tap_is_str(const char *got, const char *want, const char *file,
                                                                 int line, const char *fmt, ...)
{
    char name[256];
    TAP_VFMT(name, fmt);
    int pass = (got == NULL && want == NULL) || (got && want && strcmp(got, want) == 0);
    tap_ok(pass, file, line, "%s", name);
    if (!pass)
        printf("#   got '%s', want '%s'\n", got ? got : "(null)", want ? want : "(null)");
    return pass;
}

static int tap_done(void)
{
    printf("1..%d\n", tap_n);
    return tap_failed ? 1 : 0;
}

/* Make tmpl (a mkdtemp(3) pattern, changed in place) the HOME and the
 * XDG_CONFIG_HOME, and unset every variable a built-in profile reads a path
 * from, so that no user's files or profiles.conf are read. Returns 0, or
 * -1 when the directory cannot be made. */
__attribute__((__unused__)) static int tap_scratch_home(char *tmpl)
{
    if (!mkdtemp(tmpl))
        return -1;
    setenv("HOME", tmpl, 1);
    setenv("XDG_CONFIG_HOME", tmpl, 1); /* no credrun/profiles.conf there */
    unsetenv("CLAUDE_CONFIG_DIR");
    unsetenv("CLAUDE_SECURESTORAGE_CONFIG_DIR");
    unsetenv("CODEX_HOME");
    unsetenv("XDG_CACHE_HOME");
    return 0;
}

#endif
