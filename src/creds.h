/* SPDX-License-Identifier: MIT */
/* Credentials files: the tokens credrun reads and writes, and the interface
 * every on-disk format implements. Everything a format does not own
 * round-trips untouched. */
#ifndef CREDRUN_CREDS_H
#define CREDRUN_CREDS_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>
#include <stdint.h>

#include "status.h"

/* How a file states when its access token expires. */
enum expiry_unit {
    EXPIRY_UNIT_MS,      /* epoch milliseconds (Claude Code) */
    EXPIRY_UNIT_S,       /* epoch seconds */
    EXPIRY_UNIT_RFC3339, /* "2026-11-25T10:00:00Z" */
    EXPIRY_UNIT_JWT,     /* the access token's JWT "exp" claim; nothing stored */
};

#define CREDS_MAX_EXTRA 4

/* Where a JSON document keeps its tokens, as RFC 6901 pointers. */
struct creds_fields {
    const char *access;
    const char *refresh;
    const char *expiry; /* may be NULL with EXPIRY_UNIT_JWT */
    enum expiry_unit unit;
    const char *scopes;       /* array of strings, or NULL when the format has none */
    const char *last_refresh; /* RFC 3339 time of the last refresh, set on update, or NULL */
    const char *base_url;     /* a base URL of the token endpoint kept in the file (relay's apiUrl), or NULL */
    const char *extra[CREDS_MAX_EXTRA]; /* further strings set from the answer (Codex's id_token), or NULL */
};

/* The tokens of one login. Strings are owned and wiped on free. */
struct tokens {
    char *access;       /* NULL when absent or empty */
    char *refresh;      /* NULL when absent or empty */
    int64_t expires_ms; /* EXPIRY_UNKNOWN when absent */
    char *scope;        /* scopes joined by spaces, NULL when none */
    char *base_url;     /* fields->base_url's value, or NULL */
    char *extra[CREDS_MAX_EXTRA]; /* new values for fields->extra[i] (wiped), NULL: unchanged */
};

/* A file format's primitives over a jansson tree. creds.c walks pointers,
 * extracts the fields, and stores them in one order with these alone; a
 * format adds nothing else. "node" is always a node of the document's own
 * tree (doc), borrowed. */
struct creds_format {
    /* Parse buf into a new *doc whose root is a map. CR_OK, or
     * CR_ERR_CREDS_MALFORMED with err filled (never quoting the file). */
    enum cr_status (*parse)(const char *buf, size_t len, void **doc, struct cr_err *err);
    /* The root map of doc (borrowed). */
    json_t *(*root)(void *doc);
    /* The child of node named by a decoded pointer token (a member name or
     * an array index), or NULL. */
    json_t *(*child)(json_t *node, const char *key, size_t keylen);
    /* The text of a plain string v (unescaped, borrowed) and its length, or
     * NULL when v is not one (not a string, or a tagged value). */
    const char *(*string)(json_t *v, size_t *len);
    /* True when v is a list (of scopes), not a map or a scalar. */
    bool (*is_list)(json_t *v);
    /* A new string value holding s (new reference); s NULL: the format's
     * "no token" value. */
    json_t *(*make_string)(const char *s);
    /* A new list of the space-separated words of s (new reference). */
    json_t *(*make_list)(const char *s);
    /* A new empty map as doc writes maps (new reference). */
    json_t *(*make_map)(void *doc);
    /* Put value (stolen, even on failure) as the child key of node: a map's
     * member (added when absent) or, where the format allows, an existing
     * array slot. 0, or -1 when node cannot hold it. */
    int (*put)(json_t *node, const char *key, json_t *value);
    /* A string v as an expiry in unit: 1 and *n the number written in the
     * unit (to be scaled), 0 and *ms an absolute time, -1 when it is not a
     * time this format can hold. Remembers its form in doc for make_time. */
    int (*read_time)(void *doc, json_t *v, enum expiry_unit unit, double *n, int64_t *ms);
    /* The expiry ms (within EXPIRY_MIN_MS..EXPIRY_MAX_MS) written as doc
     * wrote it, in unit (new reference). */
    json_t *(*make_time)(void *doc, enum expiry_unit unit, int64_t ms);
    /* A deep copy of doc, to try a store on. */
    void *(*copy)(void *doc);
    /* Serialize doc into a newly allocated *out (wipe it after use). */
    enum cr_status (*dump)(void *doc, char **out, size_t *outlen, struct cr_err *err);
    void (*free_doc)(void *doc);
};

struct creds {
    const struct creds_format *format;
    const struct creds_fields *fields;
    void *doc;
    struct tokens t;
};

/* The JSON format: jansson, key order preserved. */
extern const struct creds_format creds_format_json;

/* Transit JSON (cognitect transit, :json and :json-verbose), as ECA writes
 * its cache: pointers address the decoded maps by their keys as Transit
 * writes them (keywords "~:name"; a token starting with ^ or ` names that
 * string, written escaped "~^x"); cache codes are decoded on load and
 * written anew on store, so every other value keeps its meaning. */
extern const struct creds_format creds_format_transit;

/* Parse a credentials file held in buf with the given format and fields. */
enum cr_status creds_load(struct creds *c, const struct creds_format *format, const struct creds_fields *fields,
                          const char *buf, size_t len, struct cr_err *err) __attribute__((__nonnull__));

/* Replace the tokens after a refresh. refresh and scope may be NULL: keep the
 * old ones. */
void creds_update(struct creds *c, const char *access, const char *refresh, int64_t expires_ms, const char *scope)
    __attribute__((__nonnull__(1)));

/* Set fields->extra[i] to value on the next store (a copy is kept). */
void creds_set_extra(struct creds *c, size_t i, const char *value) __attribute__((__nonnull__));

/* Serialize the document with the current tokens. */
enum cr_status creds_store(struct creds *c, char **out, size_t *outlen, struct cr_err *err)
    __attribute__((__nonnull__));

/* Before a refresh token is spent: prove that the successor can be stored.
 * The access and refresh pointers must name a value in the file, the store
 * code is run into a copy of the document with stand-in tokens, and the
 * result must read back with them. CR_OK, or CR_ERR_CANNOT_PLACE with err
 * naming the pointer (the caller adds which file). Only on the refresh path:
 * it copies the whole document. */
enum cr_status creds_check_store(const struct creds *c, struct cr_err *err) __attribute__((__nonnull__));

/* An expiry number n written in unit (s or ms) as epoch ms: 0, or -1 when
 * out of range. For the formats' read_time. */
int creds_unit_ms(double n, enum expiry_unit unit, int64_t *ms) __attribute__((__nonnull__));

/* Free the document and wipe the tokens. */
void creds_free(struct creds *c);
void tokens_free(struct tokens *t);

/* The "exp" claim of a JWT, in epoch ms; EXPIRY_UNKNOWN when it has none. */
int64_t creds_jwt_exp_ms(const char *jwt);

#endif
