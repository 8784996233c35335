/* SPDX-License-Identifier: MIT */
/* Value parsers that profile.c (profiles.conf's keys) and profile_setup.c
 * (the command line's overrides) share. Internal to those two files. */
#ifndef CREDRUN_PROFILE_KEYS_H
#define CREDRUN_PROFILE_KEYS_H

#include <stdbool.h>

#include "profile.h"

/* Replace *field by a copy of value (NULL: none). */
void profile_set_str(char **field, const char *value) __attribute__((__nonnull__(1)));

/* A JSON pointer "/..." (it may hold {provider}) into *field; optional: "none"
 * clears it. 0, or -1 with err "KEY: what to give" (CR_ERR_PROFILES_CONF). */
int profile_set_pointer(char **field, const char *key, const char *v, bool optional, struct cr_err *err)
    __attribute__((__nonnull__));

/* s | ms | iso8601 (rfc3339) | jwt: 0, or -1. */
int profile_parse_unit(const char *v, enum expiry_unit *u) __attribute__((__nonnull__));

/* json | form | json:NAME: 0 with *param NAME (pointing into v) or NULL, or -1. */
int profile_parse_request(const char *v, enum oauth_body *body, const char **param) __attribute__((__nonnull__));

/* A member name of an answer: name characters and ':'. */
bool profile_member_name_ok(const char *v) __attribute__((__nonnull__));

/* Free the lists of p named in lists (files 1, locks 2, stores 4). */
void profile_clear_lists(struct profile *p, unsigned lists) __attribute__((__nonnull__));

/* Free what p holds, not p itself. */
void profile_clear(struct profile *p) __attribute__((__nonnull__));

#endif
