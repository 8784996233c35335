/* SPDX-License-Identifier: MIT */
/* Messages to stderr, one write(2) per line so concurrent runs do not interleave. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static int level = LOG_NORMAL;

void log_set_level(int l) { level = l; }

bool log_verbose(void) { return level >= LOG_VERBOSE; }

static void emit(const char *fmt, va_list ap)
{
    char line[1024];
    int n = snprintf(line, sizeof line, "credrun: ");
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof line - 2)
        len = sizeof line - 2;
    line[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}

void log_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    emit(fmt, ap);
    va_end(ap);
}

void log_warn(const char *fmt, ...)
{
    if (level < LOG_NORMAL)
        return;
    va_list ap;
    va_start(ap, fmt);
    emit(fmt, ap);
    va_end(ap);
}

void log_info(const char *fmt, ...)
{
    if (level < LOG_VERBOSE)
        return;
    va_list ap;
    va_start(ap, fmt);
    emit(fmt, ap);
    va_end(ap);
}
