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
    is_int(load(&c, &odd, "{\n  \"a/b\": {\n    \"tok\": \"x\",\n    \"r~t\": \"y\"\n  },\n  \"exp\": 1764064800\n}\n"), CR_OK,
           "escaped pointers and seconds load");
    is_str(c.t.refresh, "y", "~0 and ~1 decode");
    is_int(c.t.expires_ms, 1764064800000LL, "seconds become ms");
    creds_update(&c, "x2", NULL, 1764068400000LL, NULL);
    creds_store(&c, &out, &len, &err);
    is_str(out, "{\n  \"a/b\": {\n    \"tok\": \"x2\",\n    \"r~t\": \"y\"\n  },\n  \"exp\": 1764068400\n}\n",
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

    /* The JSON codec's primitives (issue 11). */
    const struct creds_format *J = &creds_format_json;
    void *doc;
    static const char prim[] = "{\"o\":{\"k\":\"v\"},\"a\":[\"x\",\"y\"],\"n\":null}\n";
    is_int(J->parse(prim, strlen(prim), &doc, &err), CR_OK, "parse gives a document");
    json_t *root = J->root(doc);
    size_t n;
    is_str(J->string(J->child(J->child(root, "o", 1), "k", 1), &n), "v", "child finds a member, string reads it");
    is_str(J->string(J->child(J->child(root, "a", 1), "1", 1), &n), "y", "child finds an array index");
    ok(J->child(J->child(root, "a", 1), "-1", 2) == NULL, "a signed index finds nothing");
    ok(J->string(J->child(root, "n", 1), &n) == NULL, "null is no string");
    ok(J->is_list(J->child(root, "a", 1)) && !J->is_list(J->child(root, "o", 1)), "is_list tells arrays from maps");
    is_int(J->put(root, "new", J->make_string("s")), 0, "put adds a member");
    is_int(J->put(J->child(root, "a", 1), "0", J->make_string("s")), -1, "put never writes into an array");
    is_int(J->put(root, "\xff", J->make_string("s")), -1, "put refuses a key that is not UTF-8, without leaking");
    double num;
    int64_t ms;
    json_t *t = J->make_time(doc, EXPIRY_UNIT_RFC3339, 1764064800000LL);
    is_int(J->read_time(doc, t, EXPIRY_UNIT_RFC3339, &num, &ms), 0, "make_time and read_time round-trip");
    is_int(ms, 1764064800000LL, "to the same time");
    json_decref(t);
    t = J->make_time(doc, EXPIRY_UNIT_S, 1764064800999LL);
    is_int(json_integer_value(t), 1764064800, "seconds are whole");
    json_decref(t);
    void *copy = J->copy(doc);
    J->put(J->root(copy), "only-in-copy", J->make_string("x"));
    ok(J->child(root, "only-in-copy", 12) == NULL, "copy is deep");
    J->free_doc(copy);
    is_int(J->dump(doc, &out, &len, &err), CR_OK, "dump serializes");
    is_str(out, "{\"o\":{\"k\":\"v\"},\"a\":[\"x\",\"y\"],\"n\":null,\"new\":\"s\"}\n", "in order, with the final newline");
    free(out);
    J->free_doc(doc);

    /* The shared extraction: a unit mistake, and values <= 0 (issue 11). */
    static const struct creds_fields flat = {.access = "/at", .refresh = "/rt", .expiry = "/e", .unit = EXPIRY_UNIT_S};
    is_int(load(&c, &flat, "{\"at\":\"a\",\"rt\":\"r\",\"e\":1764064800000}"), CR_ERR_EXPIRY_UNIT,
           "ms read as seconds (after 2100) is a unit mistake");
    static const struct creds_fields flat_ms = {.access = "/at", .refresh = "/rt", .expiry = "/e", .unit = EXPIRY_UNIT_MS};
    is_int(load(&c, &flat_ms, "{\"at\":\"a\",\"rt\":\"r\",\"e\":1764064800}"), CR_ERR_EXPIRY_UNIT,
           "seconds read as ms (positive, before 2000) is a unit mistake");
    is_int(load(&c, &flat_ms, "{\"at\":\"a\",\"rt\":\"r\",\"e\":-1}"), CR_OK, "a negative expiry loads");
    is_int(c.t.expires_ms, -1, "and means expired");
    creds_free(&c);

    /* The shared store: a placement check before spending (issue 11). */
    is_int(load(&c, &creds_fields_claude, claude), CR_OK, "a Claude Code file loads");
    is_int(creds_check_store(&c, &err), CR_OK, "and its successor can be placed");
    creds_free(&c);
    static const struct creds_fields arr = {.access = "/tokens/0", .refresh = "/tokens/1", .expiry = "/e", .unit = EXPIRY_UNIT_S};
    is_int(load(&c, &arr, "{\"tokens\":[\"at\",\"RT\"],\"e\":0}"), CR_OK, "tokens in an array load");
    is_int(creds_check_store(&c, &err), CR_ERR_CANNOT_PLACE, "but cannot be placed");
    ok(strstr(err.msg, "/tokens/0") != NULL, "and the message names the pointer: %s", err.msg);
    creds_free(&c);
    static const struct creds_fields through = {.access = "/auth/access", .refresh = "/rt", .expiry = "/e", .unit = EXPIRY_UNIT_S};
    is_int(load(&c, &through, "{\"auth\":\"legacy\",\"rt\":\"r\",\"e\":0}"), CR_OK, "a pointer through a string loads");
    is_int(creds_check_store(&c, &err), CR_ERR_CANNOT_PLACE, "but cannot be placed");
    ok(strstr(err.msg, "/auth/access") != NULL, "naming it: %s", err.msg);
    creds_free(&c);
    static const struct creds_fields typo = {.access = "/acess", .refresh = "/rt", .expiry = "/e", .unit = EXPIRY_UNIT_S};
    is_int(load(&c, &typo, "{\"at\":\"a\",\"rt\":\"r\",\"e\":0}"), CR_OK, "a mistyped pointer loads");
    is_int(creds_check_store(&c, &err), CR_ERR_CANNOT_PLACE, "but names nothing");
    ok(strstr(err.msg, "/acess names nothing") && strstr(err.msg, "--access-field"), "said so: %s", err.msg);
    creds_free(&c);
    static const struct creds_fields badexp = {.access = "/at", .refresh = "/rt", .expiry = "/meta/e", .unit = EXPIRY_UNIT_S};
    is_int(load(&c, &badexp, "{\"at\":\"a\",\"rt\":\"r\",\"meta\":\"x\"}"), CR_OK, "an expiry under a string loads");
    is_int(creds_check_store(&c, &err), CR_ERR_CANNOT_PLACE, "but its successor cannot be placed");
    ok(strstr(err.msg, "/meta/e") != NULL, "naming the expiry pointer: %s", err.msg);
    creds_free(&c);
    return tap_done();
}
