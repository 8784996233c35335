/* SPDX-License-Identifier: MIT */
/* The INI text of profiles.conf: [NAME] or [NAME/PROVIDER] section headers,
 * KEY = VALUE lines, # and ; comments. Only tokenizing: what a key means is
 * profile.c's. The built-in profiles are the same structures, generated at
 * build time from src/profiles.builtin.conf (src/profiles_builtin.c). */
#ifndef CREDRUN_INI_H
#define CREDRUN_INI_H

#include <stdbool.h>
#include <stddef.h>

#include "status.h"

struct ini_entry {
    const char *key, *value;
    int line;
};

struct ini_section {
    const char *name;
    int line;
    const struct ini_entry *e;
    size_t n;
};

struct ini {
    const char *origin; /* names the text in messages: "FILE:LINE: ..." */
    const struct ini_section *s;
    size_t n;
    char *buf; /* ini_parse's copy of the text, cut into strings in place */
    size_t cap;
};

/* Cut text into sections of entries, in order, keeping line numbers. On
 * failure err (CR_ERR_PROFILES_CONF) starts with "origin:LINE: " and ini
 * holds nothing. origin must outlive ini. ini_free releases a parsed ini. */
enum cr_status ini_parse(const char *text, const char *origin, struct ini *ini, struct cr_err *err)
    __attribute__((__nonnull__));

/* The section called name, or NULL (also when ini is NULL). */
const struct ini_section *ini_find(const struct ini *ini, const char *name) __attribute__((__nonnull__(2)));

/* Is ch one of a name's characters: letters, digits, '-', '_', '.'? */
bool ini_name_char(int ch);

/* True for NAME or NAME/PROVIDER of name characters. */
bool ini_section_name_ok(const char *s) __attribute__((__nonnull__));

void ini_free(struct ini *ini);

#endif
