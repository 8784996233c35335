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

/* What a key's value is, and so how apply_entry takes it. */
enum key_kind {
    KEY_INHERIT,  /* a profile name, resolved by build */
    KEY_FILE,     /* a location rule, added to the candidates */
    KEY_CODEC,    /* json | transit */
    KEY_POINTER,  /* a JSON pointer */
    KEY_OPTIONAL, /* a JSON pointer or none */
    KEY_UNIT,     /* s | ms | iso8601 | jwt */
    KEY_URL,      /* an https URL (http to loopback) or none */
    KEY_TEXT,     /* any text, or none */
    KEY_REQUEST,  /* json | form | json:NAME */
    KEY_MEMBER,   /* a member name, or none */
    KEY_ENV,      /* a variable name, or none */
    KEY_YESNO,    /* yes | no */
    KEY_STORE,    /* MEMBER POINTER, added to the list */
    KEY_LOCK,     /* a lock line, added to the list */
};

/* One key of profiles.conf: the table apply_entry reads, and the one that
 * src/profiles_gen.c writes the resolved built-in profiles from. */
struct profile_key {
    const char *name;
    enum key_kind kind;
    size_t off, size;  /* of its field in struct profile (0, 0: none, or a list) */
    const char *field; /* that field's name, for the generated initialisers */
    unsigned list;     /* the list the section's first line of this key replaces */
    const char *what;  /* KEY_MEMBER: what to give */
};
extern const struct profile_key profile_keys[]; /* sorted by name */
extern const size_t profile_n_keys;

/* Every string field of struct profile (char *; freed by profile_clear), by
 * offset and name. */
struct profile_str_field {
    size_t off;
    const char *field;
};
extern const struct profile_str_field profile_str_fields[];
extern const size_t profile_n_str_fields;

/* Resolve as profile_resolve does, taking a profile without profiles.conf
 * (user_text NULL) from resolved[0..n_resolved) when it is there: the
 * built-in profiles resolved at build time (src/profiles_resolved.c), whose
 * strings are shared, not copied (profile_str_static). */
enum cr_status profile_resolve_in(const struct profile *resolved, size_t n_resolved, const char *user_text,
                                  const char *origin, const char *name, const char *provider, struct profile **out,
                                  struct cr_err *err) __attribute__((__nonnull__(7, 8)));

/* Parse p's lock lines into p->locks, if not yet (a resolved profile keeps
 * only the lines: its locks are parsed when a run needs them). */
void profile_parse_locks(struct profile *p) __attribute__((__nonnull__));

/* The built-in profiles resolved at build time (src/profiles_resolved.c,
 * written by src/profiles_gen.c), and whether s is one of their strings
 * (never freed). */
extern const struct profile profile_resolved[];
extern const size_t profile_n_resolved;
bool profile_str_static(const char *s);

#endif
