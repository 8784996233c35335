/* SPDX-License-Identifier: MIT */
/* Unit tests for the JSON credentials format: fields, types, round trips. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "creds.h"
#include "expiry.h"
#include "tap.h"

/* Where Claude Code keeps its tokens in .credentials.json (the [claude]
 * profile's pointers). */
static const struct creds_fields creds_fields_claude = {
    .access = "/claudeAiOauth/accessToken",
    .refresh = "/claudeAiOauth/refreshToken",
    .expiry = "/claudeAiOauth/expiresAt",
    .unit = EXPIRY_UNIT_MS,
    .scopes = "/claudeAiOauth/scopes",
};

static const char claude[] =
    "{\"zeta\":1,\"claudeAiOauth\":{\"accessToken\":\"at-1\",\"refreshToken\":\"rt-1\",\"expiresAt\":1764064800000,"
    "\"scopes\":[\"user:inference\",\"user:profile\"],\"subscriptionType\":\"max\"},\"alpha\":{\"nested\":[1,2.5,"
    "\"x\",null,true]}}";

static enum cr_status load(struct creds *c, const struct creds_fields *f, const char *text)
{
    struct cr_err err;
    return creds_load(c, &creds_format_json, f, text, strlen(text), &err);
}

int main(void)
{
    struct creds c;
    struct cr_err err;
    is_int(load(&c, &creds_fields_claude, claude), CR_OK, "a Claude Code file loads");
    is_str(c.t.access, "at-1", "access token");
    is_str(c.t.refresh, "rt-1", "refresh token");
    is_int(c.t.expires_ms, 1764064800000LL, "expiresAt is epoch ms");
    is_str(c.t.scope, "user:inference user:profile", "scopes are joined by spaces");

    creds_update(&c, "at-2", "rt-2", 1764068400000LL, NULL);
    char *out;
    size_t len;
    is_int(creds_store(&c, &out, &len, &err), CR_OK, "it stores");
    is_str(out,
           "{\"zeta\":1,\"claudeAiOauth\":{\"accessToken\":\"at-2\",\"refreshToken\":\"rt-2\",\"expiresAt\":"
           "1764068400000,\"scopes\":[\"user:inference\",\"user:profile\"],\"subscriptionType\":\"max\"},\"alpha\":{"
           "\"nested\":[1,2.5,\"x\",null,true]}}",
           "only the three values change; every other key keeps its value and order");
    free(out);
    creds_update(&c, "at-3", NULL, 1, "a b c");
    creds_store(&c, &out, &len, &err);
    ok(strstr(out, "\"refreshToken\":\"rt-2\"") != NULL, "an absent new refresh token keeps the old one");
    ok(strstr(out, "\"scopes\":[\"a\",\"b\",\"c\"]") != NULL, "returned scopes are written as a list");
    free(out);
    creds_free(&c);

    is_int(load(&c, &creds_fields_claude, "{\"claudeAiOauth\":{\"accessToken\":\"a\",\"refreshToken\":\"\","
                                          "\"expiresAt\":0}}"),
           CR_OK, "blanked tokens load");
    ok(c.t.refresh == NULL, "an empty refresh token counts as none");
    creds_free(&c);
    is_int(load(&c, &creds_fields_claude, "{\"other\":1}"), CR_OK, "a file without the login loads");
    ok(c.t.access == NULL && c.t.refresh == NULL && c.t.expires_ms == EXPIRY_UNKNOWN, "with no tokens");
    creds_free(&c);
    is_int(load(&c, &creds_fields_claude, "{\"claudeAiOauth\":{\"accessToken\":5}}"), CR_ERR_CREDS_MALFORMED,
           "a number as token is malformed");
    is_int(load(&c, &creds_fields_claude, "{\"claudeAiOauth\":{\"expiresAt\":\"soon\"}}"), CR_ERR_CREDS_MALFORMED,
           "a string as expiresAt is malformed");
    is_int(load(&c, &creds_fields_claude, "{\"claudeAiOauth\":{\"scopes\":[1]}}"), CR_ERR_CREDS_MALFORMED,
           "a non-string scope is malformed");
    is_int(load(&c, &creds_fields_claude, "{\"claudeAiOauth\":"), CR_ERR_CREDS_MALFORMED, "truncated JSON is malformed");
    is_int(load(&c, &creds_fields_claude, "[1]"), CR_ERR_CREDS_MALFORMED, "a top-level array is malformed");
    is_int(load(&c, &creds_fields_claude, ""), CR_ERR_CREDS_MALFORMED, "an empty file is malformed");

    /* Pretty files stay pretty; pointers with escapes; seconds and RFC 3339. */
    static const struct creds_fields odd = {
        .access = "/a~1b/tok", .refresh = "/a~1b/r~0t", .expiry = "/exp", .unit = EXPIRY_UNIT_S};
    is_int(load(&c, &odd, "{\n  \"a/b\": {\n    \"tok\": \"x\",\n    \"r~t\": \"y\"\n  },\n  \"exp\": 100\n}\n"), CR_OK,
           "escaped pointers and seconds load");
    is_str(c.t.refresh, "y", "~0 and ~1 decode");
    is_int(c.t.expires_ms, 100000, "seconds become ms");
    creds_update(&c, "x2", NULL, 200000, NULL);
    creds_store(&c, &out, &len, &err);
    is_str(out, "{\n  \"a/b\": {\n    \"tok\": \"x2\",\n    \"r~t\": \"y\"\n  },\n  \"exp\": 200\n}\n",
           "an indented file keeps its indentation and final newline");
    free(out);
    creds_free(&c);

    static const struct creds_fields iso = {.access = "/accessToken",
                                            .refresh = "/refreshToken",
                                            .expiry = "/accessTokenExpiresAt",
                                            .unit = EXPIRY_UNIT_RFC3339};
    is_int(load(&c, &iso, "{\"accessToken\":\"a\",\"refreshToken\":\"r\",\"accessTokenExpiresAt\":\"2025-11-25T10:00:00Z\"}"),
           CR_OK, "RFC 3339 expiry loads");
    is_int(c.t.expires_ms, 1764064800000LL, "and is converted to ms");
    creds_update(&c, "a2", "r2", 1764068400000LL, NULL);
    creds_store(&c, &out, &len, &err);
    ok(strstr(out, "\"accessTokenExpiresAt\":\"2025-11-25T11:00:00.000Z\"") != NULL, "and written back as RFC 3339");
    free(out);
    creds_free(&c);

    /* {"exp":1764064800} as a JWT payload. */
    is_int(creds_jwt_exp_ms("eyJhbGciOiJub25lIn0.eyJleHAiOjE3NjQwNjQ4MDB9.sig"), 1764064800000LL, "JWT exp is read");
    is_int(creds_jwt_exp_ms("not-a-jwt"), EXPIRY_UNKNOWN, "a non-JWT has no expiry");
    is_int(creds_jwt_exp_ms("a.!!!.b"), EXPIRY_UNKNOWN, "a bad JWT payload has no expiry");
    return tap_done();
}
