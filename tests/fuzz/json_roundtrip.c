/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the JSON credentials codec (src/creds_json.c). Each
 * input is a credentials file, read with the fields of every JSON profile;
 * whatever loads goes through the pre-spend check as on the refresh path
 * (fuzz_store.h). What it refuses is refused as its contract says; what it
 * passes gets new tokens and is written, and the output must parse again
 * (same jansson flags), read back to exactly the new tokens, and keep every
 * other key and value, in order. */
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
    return creds_load(c, &creds_format_json, f, buf, len, &err) == CR_OK;
}

/* Store c after the pre-spend check passed: it must succeed. */
static void codec_store(struct creds *c, char **out, size_t *outlen)
{
    struct cr_err err;
    enum cr_status st = creds_store(c, out, outlen, &err);
    FUZZ_CHECK(st == CR_OK, "the pre-spend check passed, then the store failed with status %d: %s", (int)st, err.msg);
}

/* The decoder flags credrun reads JSON credentials with. */
#define READ_FLAGS JSON_ALLOW_NUL

/* ---- the oracle ----------------------------------------------------------- */

/* A JWT whose "exp" is 1893456000 (2030-01-01): the JWT unit reads it back. */
#define NEW_ACCESS "eyJhbGciOiJub25lIn0.eyJleHAiOjE4OTM0NTYwMDB9.c2ln"
#define NEW_ACCESS_EXP_MS 1893456000000LL
#define NEW_REFRESH "rt-new/~\"\\\xc3\xa9"
#define NEW_EXPIRES_MS 1893456000123LL
#define NEW_SCOPE "user:inference user:profile"
#define NEW_EXTRA "id-token-new"

static FUZZ_UNUSED const struct creds_fields fieldsets[] = {
    /* claude */
    {.access = "/claudeAiOauth/accessToken", .refresh = "/claudeAiOauth/refreshToken",
     .expiry = "/claudeAiOauth/expiresAt", .unit = EXPIRY_UNIT_MS, .scopes = "/claudeAiOauth/scopes"},
    /* codex */
    {.access = "/tokens/access_token", .refresh = "/tokens/refresh_token", .unit = EXPIRY_UNIT_JWT,
     .last_refresh = "/last_refresh", .extra = {"/tokens/id_token"}},
    /* relay */
    {.access = "/accessToken", .refresh = "/refreshToken", .expiry = "/accessTokenExpiresAt",
     .unit = EXPIRY_UNIT_RFC3339, .base_url = "/apiUrl", .extra = {"/refreshTokenExpiresAt"}},
    /* gemini-like, seconds, scope as a string; a step through an array and escaped keys */
    {.access = "/access_token", .refresh = "/r/0/refresh~1token", .expiry = "/e~0xp", .unit = EXPIRY_UNIT_S,
     .scopes = "/scope"},
};

static void check_one(const struct creds_fields *f, const char *buf, size_t len)
{
    /* The places the store writes a value of its own (the expiry with
     * EXPIRY_UNIT_JWT and the base URL are only read). */
    const char *ptrs[] = {f->access, f->refresh, f->unit == EXPIRY_UNIT_JWT ? NULL : f->expiry, f->scopes,
                          f->last_refresh, f->extra[0], f->extra[1], f->extra[2], f->extra[3]};
    struct fuzz_path paths[FUZZ_MAX_PATHS];
    int n_paths;
    bool judge = fuzz_paths_parse(ptrs, sizeof ptrs / sizeof *ptrs, false, paths, &n_paths);

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
        json_t *tree = json_loadb(buf, len, READ_FLAGS, NULL);
        fuzz_check_names_nothing(&refused, tree, f->access, &paths[0], false);
        fuzz_check_names_nothing(&refused, tree, f->refresh, &paths[1], false);
        json_decref(tree);
        return;
    }
    char *base_url = c.t.base_url ? strdup(c.t.base_url) : NULL;
    creds_update(&c, NEW_ACCESS, NEW_REFRESH, NEW_EXPIRES_MS, f->scopes ? NEW_SCOPE : NULL);
    for (size_t i = 0; i < CREDS_MAX_EXTRA; i++)
        if (f->extra[i])
            creds_set_extra(&c, i, NEW_EXTRA);
    char *out = NULL;
    size_t outlen = 0;
    codec_store(&c, &out, &outlen);
    creds_free(&c);

    /* It parses again, with the same flags. */
    json_error_t err;
    json_t *in = json_loadb(buf, len, READ_FLAGS, &err);
    FUZZ_CHECK(in, "the input loaded but does not parse: %s", err.text);
    json_t *res = json_loadb(out, outlen, READ_FLAGS, &err);
    FUZZ_CHECK(res, "the output does not parse (line %d: %s): %.*s", err.line, err.text, (int)outlen, out);
    /* It reads back to the new tokens. */
    struct creds back;
    FUZZ_CHECK(codec_load(&back, f, out, outlen), "the output does not load: %.*s", (int)outlen, out);
    FUZZ_CHECK(back.t.access && strcmp(back.t.access, NEW_ACCESS) == 0, "access token not read back");
    FUZZ_CHECK(back.t.refresh && strcmp(back.t.refresh, NEW_REFRESH) == 0, "refresh token not read back");
    int64_t want = f->unit == EXPIRY_UNIT_JWT ? NEW_ACCESS_EXP_MS
                   : f->unit == EXPIRY_UNIT_S ? NEW_EXPIRES_MS / 1000 * 1000
                                              : NEW_EXPIRES_MS;
    FUZZ_CHECK(back.t.expires_ms == want, "expiry read back as %lld, wanted %lld", (long long)back.t.expires_ms,
               (long long)want);
    if (f->scopes)
        FUZZ_CHECK(back.t.scope && strcmp(back.t.scope, NEW_SCOPE) == 0, "scope read back as %s",
                   back.t.scope ? back.t.scope : "(none)");
    FUZZ_CHECK((!base_url && !back.t.base_url) || (base_url && back.t.base_url && !strcmp(base_url, back.t.base_url)),
               "the base URL changed");
    creds_free(&back);

    if (!judge)
        goto done; /* pointers the oracle cannot judge (fuzz_paths_parse): it parsed and read back; the
                   * structural comparison cannot place them */

    /* The values the store wrote, where it wrote them. */
    struct fuzz_walk w = {.transit = false};
    for (int i = 0, n = 0; i < (int)(sizeof ptrs / sizeof *ptrs); i++) {
        if (!ptrs[i])
            continue;
        const struct fuzz_path *path = &paths[n++];
        fuzz_walk_add(&w, path);
        json_t *v = fuzz_get(res, path, false);
        FUZZ_CHECK(v, "nothing at %s in the output", ptrs[i]);
        if (ptrs[i] == f->last_refresh) {
            int64_t ms;
            FUZZ_CHECK(json_is_string(v) && expiry_parse_rfc3339(json_string_value(v), &ms) == 0,
                       "%s is not an RFC 3339 time", ptrs[i]);
        } else if (ptrs[i] == f->scopes) {
            FUZZ_CHECK(json_is_string(v) || json_is_array(v), "%s is neither a string nor a list", ptrs[i]);
        } else if (ptrs[i] != f->expiry) {
            const char *want_s = ptrs[i] == f->access ? NEW_ACCESS : ptrs[i] == f->refresh ? NEW_REFRESH : NEW_EXTRA;
            FUZZ_CHECK(json_is_string(v) && strcmp(json_string_value(v), want_s) == 0, "%s holds something else",
                       ptrs[i]);
        }
    }

    /* Every other key and value, in order. */
    fuzz_compare(&w, in, res);

done:
    json_decref(in);
    json_decref(res);
    free(base_url);
    free(out);
}

#include "fuzz_entry.h"
FUZZ_ROUNDTRIP_ENTRY("json", creds_format_json)
