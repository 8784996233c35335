/* SPDX-License-Identifier: MIT */
/* Credentials files: the tokens credrun reads and writes, and the interface
 * every on-disk format implements. Everything a format does not own
 * round-trips untouched. */
#ifndef CREDRUN_CREDS_H
#define CREDRUN_CREDS_H

#include <stdbool.h>
#include <stddef.h>
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

struct creds;

/* A file format: JSON with pointers, Transit, ... */
struct creds_format {
    /* Parse buf; fill c->doc and c->t. On failure fill err (never a token). */
    enum cr_status (*load)(struct creds *c, const char *buf, size_t len, struct cr_err *err);
    /* Write c->t back into c->doc and serialize the whole document into a
     * newly allocated *out (wipe it after use). */
    enum cr_status (*store)(struct creds *c, char **out, size_t *outlen, struct cr_err *err);
    void (*free_doc)(void *doc);
};

struct creds {
    const struct creds_format *format;
    const struct creds_fields *fields;
    void *doc;
    int style; /* format-specific output style (JSON: indent, 0 compact) */
    struct tokens t;
};

/* The JSON format: jansson, key order preserved. */
extern const struct creds_format creds_format_json;

/* Transit JSON (cognitect transit, :json and :json-verbose), as ECA writes
 * its cache: pointers address the decoded maps by their keys as Transit
 * writes them (keywords "~:name"); cache codes are decoded on load and
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

/* Free the document and wipe the tokens. */
void creds_free(struct creds *c);
void tokens_free(struct tokens *t);

/* The "exp" claim of a JWT, in epoch ms; EXPIRY_UNKNOWN when it has none. */
int64_t creds_jwt_exp_ms(const char *jwt);

#endif
