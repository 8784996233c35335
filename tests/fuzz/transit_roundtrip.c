/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the Transit credentials codec (src/creds_transit.c).
 * Each input is a Transit JSON file, read with several sets of fields (ECA's
 * and others); whatever loads goes through the pre-spend check as on the
 * refresh path (fuzz_store.h), and what it passes gets new tokens and is
 * written. The output must parse again, its cache codes must decode (by this
 * file's own reader, written from the Transit spec), it must read back to
 * exactly the new tokens, and after decoding both, keep every other key and
 * value in order. */
#include "config.h"

#include <jansson.h>

#include "creds.h"
#include "expiry.h"
#include "fuzz.h"
#include "fuzz_store.h"

/* ---- the module's API, in one place --------------------------------------- */

static bool codec_load(struct creds *c, const struct creds_fields *f, const char *buf, size_t len)
{
    struct cr_err err;
    return creds_load(c, &creds_format_transit, f, buf, len, &err) == CR_OK;
}

/* Store c after the pre-spend check passed: it must succeed. */
static void codec_store(struct creds *c, char **out, size_t *outlen)
{
    struct cr_err err;
    enum cr_status st = creds_store(c, out, outlen, &err);
    FUZZ_CHECK(st == CR_OK, "the pre-spend check passed, then the store failed with status %d: %s", (int)st, err.msg);
}

#define READ_FLAGS JSON_ALLOW_NUL

/* ---- a Transit reader, from the spec (transit-format README, Caching) ----- */

#define CACHE_DIGITS 44
#define CACHE_MAX (CACHE_DIGITS * CACHE_DIGITS)

struct tcache {
    json_t *e[CACHE_MAX];
    int idx, filled;
    json_t *keep; /* object keys the cache borrows */
};

static bool tcacheable(const char *s, size_t n, bool as_key)
{
    return n > 3 && (as_key || (s[0] == '~' && (s[1] == ':' || s[1] == '$' || s[1] == '#')));
}

/* in with cache codes replaced (new reference); strings in the cache are
 * borrowed from in, which outlives the result's use. */
static json_t *tdecode(struct tcache *c, json_t *in, bool as_key)
{
    if (json_is_string(in)) {
        const char *s = json_string_value(in);
        size_t n = json_string_length(in);
        if (n >= 2 && s[0] == '^' && s[1] != ' ') {
            int i = -1;
            if (n == 2)
                i = s[1] - '0';
            else if (n == 3)
                i = (s[1] - '0') * CACHE_DIGITS + (s[2] - '0');
            FUZZ_CHECK(i >= 0 && i < c->filled && (n == 2 ? i < CACHE_DIGITS : s[2] - '0' < CACHE_DIGITS),
                       "cache code \"%.3s\" names no string (cache holds %d)", s, c->filled);
            return json_incref(c->e[i]);
        }
        if (tcacheable(s, n, as_key)) {
            if (c->idx == CACHE_MAX)
                c->idx = 0;
            c->e[c->idx++] = in;
            if (c->filled < c->idx)
                c->filled = c->idx;
        }
        return json_incref(in);
    }
    if (json_is_array(in)) {
        json_t *out = json_array();
        bool map = false;
        for (size_t i = 0; i < json_array_size(in); i++) {
            json_t *v = tdecode(c, json_array_get(in, i), map && i % 2 == 1);
            if (i == 0)
                map = json_is_string(v) && json_string_length(v) == 2 && !memcmp(json_string_value(v), "^ ", 2);
            json_array_append_new(out, v);
        }
        return out;
    }
    if (json_is_object(in)) {
        json_t *out = json_object();
        const char *key;
        size_t keylen;
        json_t *v;
        json_object_keylen_foreach(in, key, keylen, v)
        {
            json_t *k = json_stringn(key, keylen);
            FUZZ_CHECK(k, "a key is not UTF-8");
            json_t *dk = tdecode(c, k, true);
            json_array_append_new(c->keep, k);
            json_object_setn_new(out, json_string_value(dk), json_string_length(dk), tdecode(c, v, false));
            json_decref(dk);
        }
        return out;
    }
    return json_incref(in);
}

/* Parse text as Transit (decoded tree; *raw is the JSON as written), or
 * NULL when it is not JSON. */
static json_t *tparse(const char *buf, size_t len, json_t **raw)
{
    json_error_t err;
    *raw = json_loadb(buf, len, READ_FLAGS, &err);
    if (!*raw)
        return NULL;
    struct tcache *c = calloc(1, sizeof *c);
    FUZZ_CHECK(c, "out of memory");
    c->keep = json_array();
    json_t *t = tdecode(c, *raw, false);
    json_decref(c->keep);
    free(c);
    return t;
}

/* ---- the oracle ----------------------------------------------------------- */

#define NEW_ACCESS "eyJhbGciOiJub25lIn0.eyJleHAiOjE4OTM0NTYwMDB9.c2ln"
#define NEW_ACCESS_EXP_MS 1893456000000LL
#define NEW_REFRESH "~rt-new^`\xe2\x98\x83" /* needs Transit's "~" escape */
#define NEW_REFRESH_RAW "~~rt-new^`\xe2\x98\x83"
#define NEW_EXPIRES_MS 1893456000123LL
#define NEW_SCOPE "user:inference ~user:profile"
#define NEW_EXTRA "^id-token-new"
#define NEW_EXTRA_RAW "~^id-token-new"

static FUZZ_UNUSED const struct creds_fields fieldsets[] = {
    /* eca, anthropic */
    {.access = "/~:auth/anthropic/~:api-key", .refresh = "/~:auth/anthropic/~:refresh-token",
     .expiry = "/~:auth/anthropic/~:expires-at", .unit = EXPIRY_UNIT_S},
    /* eca, a provider that is often absent (maps are created) */
    {.access = "/~:auth/openai/~:api-key", .refresh = "/~:auth/openai/~:refresh-token",
     .expiry = "/~:auth/openai/~:expires-at", .unit = EXPIRY_UNIT_S},
    /* ms, scopes, last refresh and an extra; a key in a cmap */
    {.access = "/~:mcp-auth/github/~:access-token", .refresh = "/~:mcp-auth/github/~:refresh-token",
     .expiry = "/~:mcp-auth/github/~:expires-at", .unit = EXPIRY_UNIT_MS, .scopes = "/~:mcp-auth/github/~:scopes",
     .last_refresh = "/~:last-refresh", .extra = {"/~:cm/k/~:id"}},
    /* RFC 3339, a step through an array */
    {.access = "/~:a", .refresh = "/~:nested/1/~:r", .expiry = "/~:t", .unit = EXPIRY_UNIT_RFC3339},
};

static void check_one(const struct creds_fields *f, const char *buf, size_t len)
{
    /* The places the store writes (the expiry only when not from a JWT). */
    const char *ptrs[] = {f->access, f->refresh, f->unit == EXPIRY_UNIT_JWT ? NULL : f->expiry, f->scopes,
                          f->last_refresh, f->extra[0], f->extra[1], f->extra[2], f->extra[3]};
    struct fuzz_path paths[FUZZ_MAX_PATHS];
    int n_paths;
    bool judge = fuzz_paths_parse(ptrs, sizeof ptrs / sizeof *ptrs, true, paths, &n_paths);

    struct creds c;
    if (!codec_load(&c, f, buf, len))
        return;
    /* As the refresh path: the check first; a refusal spends nothing, stores nothing. */
    const char *named[] = {f->access, f->refresh, f->expiry, f->scopes, f->last_refresh,
                           f->extra[0], f->extra[1], f->extra[2], f->extra[3]};
    struct cr_err refused;
    if (!fuzz_check_store(&c, named, sizeof named / sizeof *named, &refused)) {
        creds_free(&c);
        if (!judge)
            return;
        /* access and refresh are paths[0] and paths[1] (never NULL) */
        json_t *raw, *tree = tparse(buf, len, &raw);
        fuzz_check_names_nothing(&refused, tree, f->access, &paths[0], true);
        fuzz_check_names_nothing(&refused, tree, f->refresh, &paths[1], true);
        json_decref(tree);
        json_decref(raw);
        return;
    }
    creds_update(&c, NEW_ACCESS, NEW_REFRESH, NEW_EXPIRES_MS, f->scopes ? NEW_SCOPE : NULL);
    for (size_t i = 0; i < CREDS_MAX_EXTRA; i++)
        if (f->extra[i])
            creds_set_extra(&c, i, NEW_EXTRA);
    char *out = NULL;
    size_t outlen = 0;
    codec_store(&c, &out, &outlen);
    creds_free(&c);

    json_t *raw_in, *raw_out;
    json_t *in = tparse(buf, len, &raw_in);
    FUZZ_CHECK(in, "the input loaded but is not JSON");
    json_t *res = tparse(out, outlen, &raw_out);
    FUZZ_CHECK(res, "the output does not parse: %.*s", (int)outlen, out);

    struct creds back;
    FUZZ_CHECK(codec_load(&back, f, out, outlen), "the output does not load: %.*s", (int)outlen, out);
    FUZZ_CHECK(back.t.access && strcmp(back.t.access, NEW_ACCESS) == 0, "access token not read back");
    FUZZ_CHECK(back.t.refresh && strcmp(back.t.refresh, NEW_REFRESH) == 0, "refresh token not read back: %s",
               back.t.refresh ? back.t.refresh : "(none)");
    /* seconds written as a number lose the milliseconds; "~m" and "~t" keep them */
    FUZZ_CHECK(f->unit == EXPIRY_UNIT_JWT ? back.t.expires_ms == NEW_ACCESS_EXP_MS
                                          : back.t.expires_ms == NEW_EXPIRES_MS ||
                                                (f->unit == EXPIRY_UNIT_S &&
                                                 back.t.expires_ms == NEW_EXPIRES_MS / 1000 * 1000),
               "expiry read back as %lld", (long long)back.t.expires_ms);
    if (f->scopes)
        FUZZ_CHECK(back.t.scope && strcmp(back.t.scope, NEW_SCOPE) == 0, "scope read back as %s",
                   back.t.scope ? back.t.scope : "(none)");
    creds_free(&back);

    if (!judge)
        goto done; /* pointers the oracle cannot judge (fuzz_paths_parse): it parsed and read back; the
                   * structural comparison cannot place them */

    struct fuzz_walk w = {.transit = true};
    for (int i = 0, n = 0; i < (int)(sizeof ptrs / sizeof *ptrs); i++) {
        if (!ptrs[i])
            continue;
        const struct fuzz_path *path = &paths[n++];
        fuzz_walk_add(&w, path);
        json_t *v = fuzz_get(res, path, true);
        FUZZ_CHECK(v, "nothing at %s in the output", ptrs[i]);
        const char *want = ptrs[i] == f->access ? NEW_ACCESS : ptrs[i] == f->refresh ? NEW_REFRESH_RAW
                           : ptrs[i] == f->extra[0]                                  ? NEW_EXTRA_RAW
                                                                                     : NULL;
        if (want)
            FUZZ_CHECK(json_is_string(v) && strcmp(json_string_value(v), want) == 0, "%s holds something else",
                       ptrs[i]);
    }

    fuzz_compare(&w, in, res);

done:
    json_decref(in);
    json_decref(res);
    json_decref(raw_in);
    json_decref(raw_out);
    free(out);
}

#include "fuzz_entry.h"
FUZZ_ROUNDTRIP_ENTRY("eca", creds_format_transit)
