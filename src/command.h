/* SPDX-License-Identifier: MIT */
/* Running COMMAND, for both modes: exec with the token exported and errno
 * mapped to a status, and the one decision of whether to go on after a
 * failed refresh. */
#ifndef CREDRUN_COMMAND_H
#define CREDRUN_COMMAND_H

#include <stdbool.h>

#include "refresh.h"
#include "runconfig.h"
#include "status.h"

/* Export access (when not NULL) in rc->env_name (when set) and replace this
 * process with rc->command, its core limit given back (procsafe.h). Returns only on failure: CR_ERR_OS when the
 * variable cannot be set, CR_ERR_NOT_FOUND or CR_ERR_EXEC when exec failed,
 * with err saying so. */
enum cr_status command_exec(const struct run_config *rc, const char *access, struct cr_err *err)
    __attribute__((__nonnull__(1, 3)));

/* After refresh_ensure() failed with err (f as it left it): may COMMAND (or
 * the sidecar) still start? Yes only while the current access token is still
 * valid (for a sidecar: while the failure is one to wait out), never with
 * --refresh or when credrun's own lock was busy. When it may, the warning
 * that it goes on is logged here; when not, the caller prints err once with
 * command_report(). */
bool command_may_proceed(const struct run_config *rc, const struct fresh *f, const struct cr_err *err)
    __attribute__((__nonnull__));

/* Print err once: as a warning when credrun's own lock was busy (f's lock
 * not taken; -q silences it), else as an error. */
void command_report(const struct fresh *f, const struct cr_err *err) __attribute__((__nonnull__));

#endif
