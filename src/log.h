/* SPDX-License-Identifier: MIT */
/* Messages to stderr: every line starts with "credrun: " and never holds a token. */
#ifndef CREDRUN_LOG_H
#define CREDRUN_LOG_H

#include <stdbool.h>

enum log_level { LOG_QUIET = -1, LOG_NORMAL = 0, LOG_VERBOSE = 1 };

/* Set how much is said: -q keeps errors only, -v adds progress lines. */
void log_set_level(int level);

/* An error: always printed. */
void log_error(const char *fmt, ...) __attribute__((__format__(printf, 1, 2)));
/* A warning: printed unless -q. */
void log_warn(const char *fmt, ...) __attribute__((__format__(printf, 1, 2)));
/* True with -v: lets a caller skip work done only to be logged. */
bool log_verbose(void);
/* Progress: printed only with -v. */
void log_info(const char *fmt, ...) __attribute__((__format__(printf, 1, 2)));

#endif
