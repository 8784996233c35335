/* SPDX-License-Identifier: MIT */
/* Location rules: the file = and lock paths of profiles, and where
 * profiles.conf is. */
#ifndef CREDRUN_PATHEXPAND_H
#define CREDRUN_PATHEXPAND_H

#include "status.h"

/* Expand a location rule: ${NAME}, ${NAME:-default} (empty counts as unset;
 * defaults nest) and a leading ~ (the home directory: $HOME, else the
 * password database's). Newly allocated in *out; -1 with err
 * (CR_ERR_PROFILES_CONF) on a malformed rule, *out NULL. */
int pathexpand(const char *rule, char **out, struct cr_err *err) __attribute__((__nonnull__));

/* Where profiles.conf is: ${XDG_CONFIG_HOME:-~/.config}/credrun/profiles.conf
 * (newly allocated). */
char *pathexpand_conf(void);

#endif
