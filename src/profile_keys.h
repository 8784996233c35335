/* SPDX-License-Identifier: MIT */
/* Value parsers that profile.c (profiles.conf's keys) and profile_setup.c
 * (the command line's overrides) share. Internal to those two files. */
#ifndef CREDRUN_PROFILE_KEYS_H
#define CREDRUN_PROFILE_KEYS_H

#include <stdbool.h>
#include <stdint.h>

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
    KEY_SECONDS,  /* whole seconds (a long), or none (0) */
};

/* One key of profiles.conf: the table apply_entry reads, and the one that
 * src/profiles_gen.c writes the resolved built-in profiles from. */
/* Names are arrays, not pointers: a table of pointers is relocated each
 * time credrun is loaded. */
struct profile_key {
    char name[24];
    enum key_kind kind;
    size_t off, size; /* of its field in struct profile (0, 0: none, or a list) */
    char field[24];   /* that field's name ("": none), for src/profiles_gen.c */
    unsigned list;     /* the list the section's first line of this key replaces */
    const char *what;  /* KEY_MEMBER: what to give */
};
extern const struct profile_key profile_keys[]; /* sorted by name */
extern const size_t profile_n_keys;

/* Every string field of struct profile (char *; freed by profile_clear), by
 * offset and name. */
struct profile_str_field {
    size_t off;
    char field[24];
};
extern const struct profile_str_field profile_str_fields[];
extern const size_t profile_n_str_fields;

/* The built-in profiles resolved at build time (src/profiles_resolved.c,
 * written by src/profiles_gen.c), without a pointer, so that loading credrun
 * relocates nothing for them: each profile is a run of writes into a zeroed
 * struct profile, at byte off either a string of the pool (size 0, value its
 * offset there) or an integer of size bytes. Generic: any field of char *
 * or integer type, list items and counts included. */
struct profile_write {
    uint16_t off, size;
    uint32_t value;
};
struct profile_packed {
    uint32_t name;      /* its section's name: an offset in the pool */
    uint32_t first, n; /* its writes */
};
struct profile_tables {
    const char *pool;
    size_t pool_size;
    const struct profile_write *writes;
    const struct profile_packed *profiles;
    size_t n;
};
extern const struct profile_tables profile_resolved;

/* Resolve as profile_resolve does, taking a profile without profiles.conf
 * (user_text NULL) from resolved (NULL: none) when it holds it; its strings
 * are then the tables', shared, never freed (profile_str_static). */
enum cr_status profile_resolve_in(const struct profile_tables *resolved, const char *user_text, const char *origin,
                                  const char *name, const char *provider, struct profile **out, struct cr_err *err)
    __attribute__((__nonnull__(6, 7)));

/* Parse p's lock lines into p->locks, if not yet (a resolved profile keeps
 * only the lines: its locks are parsed when a run needs them). */
void profile_parse_locks(struct profile *p) __attribute__((__nonnull__));

/* Whether s is a string of profile_resolved's pool (never freed). */
bool profile_str_static(const char *s);

/* Write the resolved profile r of t into p (zeroed): its strings are t's. */
void profile_unpack(const struct profile_tables *t, const struct profile_packed *r, struct profile *p)
    __attribute__((__nonnull__));

#endif
