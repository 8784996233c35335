/* SPDX-License-Identifier: MIT */
/* Unit tests for the Transit JSON credentials format: cache codes decoded on
 * load and written anew on store, only the tokens change, escapes, and
 * documents that are not Transit. The fixture is what transit-js writes for
 * an ECA global cache (tests/real/transit-tool.js eca). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "creds.h"
#include "expiry.h"
#include "tap.h"
#include "util.h"

static const char eca[] =
    "[\"^ \",\"~:auth\",[\"^ \",\"azure\",[\"^ \"],\"openai\",[\"^ \",\"~:step\",\"~:login/done\",\"~:type\","
    "\"~:auth/oauth\",\"~:mode\",\"~:pro\",\"~:refresh-token\",\"rt-openai-untouched\",\"~:api-key\","
    "\"at-openai-untouched\",\"~:expires-at\",1700000000],\"anthropic\",[\"^ \",\"^3\",\"^4\",\"^5\",\"^6\",\"^7\","
    "\"~:max\",\"^9\",\"rt-1\",\"^:\",\"at-1\",\"^;\",1764064800],\"github-copilot\",[\"^ \",\"^3\",\"^4\",\"^5\","
    "\"~:auth/token\",\"^:\",\"~~tilde and ^caret and `tick are escaped\"],\"z-ai\",[\"^ \"]],\"~:mcp-auth\",[\"^ \","
    "\"github\",[\"^ \",\"^5\",\"^6\",\"~:access-token\",\"mcp-at-untouched\",\"^9\",\"mcp-rt-untouched\",\"^;\","
    "1800000000]],\"~:unknown/extras\",[\"^ \",\"~:set\",[\"~#set\",[\"~:a\",\"~:b\",3]],\"~:list\",[\"~#list\",[1,2.5,"
    "\"three\",null,true,false]],\"~:date\",\"~m1764064800123\",\"~:uuid\",\"~u531a379e-31bb-4ce1-8690-158dceb64be6\","
    "\"~:big\",\"~i9007199254740993\",\"~:symbol\",\"~$ns/sym\",\"~:unicode\",\"h\xc3\xa9llo \xe2\x98\x83\","
    "\"~:cmap\",[\"~#cmap\",[[1,2],\"vector key\",[\"^3\"],\"keyword in a vector key\"]],\"~:nested\",[[\"^ \",\"^3\","
    "1],[\"^ \",\"^3\",2,\"^5\",\"^6\"]]],\"~:version\",6]";

static const struct creds_fields anthropic = {
    .access = "/~:auth/anthropic/~:api-key",
    .refresh = "/~:auth/anthropic/~:refresh-token",
    .expiry = "/~:auth/anthropic/~:expires-at",
    .unit = EXPIRY_UNIT_S,
};

static enum cr_status load(struct creds *c, const struct creds_fields *f, const char *text, struct cr_err *err)
{
    return creds_load(c, &creds_format_transit, f, text, strlen(text), err);
}

/* Replace the first occurrence of from by to in s (newly allocated). */
static char *replace(const char *s, const char *from, const char *to)
{
    const char *at = strstr(s, from);
    if (!at)
        return xstrdup(s);
    return xasprintf("%.*s%s%s", (int)(at - s), s, to, at + strlen(from));
}

/* True when s holds a cache code of two base-44 digits ("^1:"). */
static bool has_two_digit_code(const char *s)
{
    for (const char *p = strstr(s, "\"^"); p; p = strstr(p + 1, "\"^"))
        if (p[2] > '0' && p[2] < '0' + 44 && p[3] >= '0' && p[3] < '0' + 44 && p[4] == '"')
            return true;
    return false;
}

static char *store(struct creds *c)
{
    char *out = NULL;
    struct cr_err err;
    size_t len;
    if (creds_store(c, &out, &len, &err) != CR_OK) {
        printf("# store failed: %s\n", err.msg);
        return xstrdup("");
    }
    ok(strlen(out) == len, "the stored length is right");
    return out;
}

int main(void)
{
    struct creds c;
    struct cr_err err;

    is_int(load(&c, &anthropic, eca, &err), CR_OK, "an ECA cache written by transit-js loads");
    is_str(c.t.access, "at-1", ":api-key is found through cache codes");
    is_str(c.t.refresh, "rt-1", ":refresh-token is found through cache codes");
    is_int(c.t.expires_ms, 1764064800000LL, ":expires-at is epoch seconds");
    char *out = store(&c);
    is_str(out, eca, "stored unchanged, the file comes out byte for byte as transit-js wrote it");
    free(out);
    creds_update(&c, "at-2", "rt-2", 1764068400000LL, NULL);
    out = store(&c);
    char *want1 = replace(eca, "\"rt-1\"", "\"rt-2\"");
    char *want2 = replace(want1, "\"at-1\"", "\"at-2\"");
    char *want = replace(want2, "1764064800]", "1764068400]");
    is_str(out, want, "after a refresh only the three values differ; every code stays where it was");
    free(want1);
    free(want2);
    free(want);
    creds_free(&c);

    /* The new file reads back: tokens, and values reached through codes after them. */
    is_int(load(&c, &anthropic, out, &err), CR_OK, "the stored file loads again");
    is_str(c.t.access, "at-2", "with the new access token");
    creds_free(&c);
    static const struct creds_fields mcp = {
        .access = "/~:mcp-auth/github/~:access-token",
        .refresh = "/~:mcp-auth/github/~:refresh-token",
        .expiry = "/~:mcp-auth/github/~:expires-at",
        .unit = EXPIRY_UNIT_S,
    };
    is_int(load(&c, &mcp, out, &err), CR_OK, "another entry of the stored file loads");
    is_str(c.t.refresh, "mcp-rt-untouched", "and its values, behind codes, are unchanged");
    is_int(c.t.expires_ms, 1800000000000LL, "its expiry too");
    creds_free(&c);
    static const struct creds_fields copilot = {.access = "/~:auth/github-copilot/~:api-key", .unit = EXPIRY_UNIT_S};
    is_int(load(&c, &copilot, out, &err), CR_OK, "an escaped string loads");
    is_str(c.t.access, "~tilde and ^caret and `tick are escaped", "~~ is read as ~");
    creds_free(&c);
    free(out);

    /* A provider entry without :expires-at (and one not there at all): the
     * key is added, which shifts every later code; the writer renumbers. */
    static const struct creds_fields openai_new = {
        .access = "/~:auth/brand-new/~:api-key",
        .refresh = "/~:auth/brand-new/~:refresh-token",
        .expiry = "/~:auth/brand-new/~:expires-at",
        .unit = EXPIRY_UNIT_S,
    };
    is_int(load(&c, &openai_new, eca, &err), CR_OK, "a file without the provider loads");
    ok(c.t.access == NULL && c.t.refresh == NULL && c.t.expires_ms == EXPIRY_UNKNOWN, "with no tokens");
    creds_update(&c, "~at", "^rt", 1764068400000LL, NULL);
    out = store(&c);
    ok(strstr(out, "\"~~at\"") && strstr(out, "\"~^rt\""), "strings that start with ~ or ^ are escaped");
    creds_free(&c);
    is_int(load(&c, &openai_new, out, &err), CR_OK, "the file with the added entry loads");
    is_str(c.t.access, "~at", "and its new access token reads back unescaped");
    is_str(c.t.refresh, "^rt", "and its new refresh token too");
    is_int(c.t.expires_ms, 1764068400000LL, "and its expiry");
    creds_free(&c);
    is_int(load(&c, &mcp, out, &err), CR_OK, "entries after the added one still load");
    is_str(c.t.refresh, "mcp-rt-untouched", "their codes were renumbered right");
    creds_free(&c);
    free(out);

    /* More cacheable strings than 44*44: two-digit codes and a wrap-around. */
    size_t cap = 200000, n = 0;
    char *big = xmalloc(cap);
    n += (size_t)snprintf(big + n, cap - n, "[\"^ \",\"~:auth\",[\"^ \"");
    for (int i = 0; i < 2100; i++)
        n += (size_t)snprintf(big + n, cap - n,
                              ",\"p-%04d\",[\"^ \",\"~:api-key\",\"at-%d\",\"~:expires-at\",%d,\"p-%04d\",true]", i, i, 1700000000 + i,
                              i ? i - 1 : 0);
    n += (size_t)snprintf(big + n, cap - n, "]]");
    static const struct creds_fields last = {
        .access = "/~:auth/p-2099/~:api-key", .expiry = "/~:auth/p-2099/~:expires-at", .unit = EXPIRY_UNIT_S};
    is_int(load(&c, &last, big, &err), CR_OK, "a large document written without a cache loads");
    creds_update(&c, "at-new", NULL, 1764068400000LL, NULL);
    out = store(&c);
    ok(has_two_digit_code(out), "stored, it uses two-digit codes");
    ok(strlen(out) < n, "and is smaller for them");
    creds_free(&c);
    is_int(load(&c, &last, out, &err), CR_OK, "it loads again past the cache's wrap-around");
    is_str(c.t.access, "at-new", "the last entry has the new token");
    is_int(c.t.expires_ms, 1764068400000LL, "and expiry");
    creds_free(&c);
    static const struct creds_fields mid = {
        .access = "/~:auth/p-1990/~:api-key", .expiry = "/~:auth/p-1990/~:expires-at", .unit = EXPIRY_UNIT_S};
    is_int(load(&c, &mid, out, &err), CR_OK, "an entry just after the wrap-around loads");
    is_str(c.t.access, "at-1990", "with its own token");
    is_int(c.t.expires_ms, 1700001990000LL, "and expiry");
    creds_free(&c);
    free(out);
    free(big);

    /* Verbose Transit (JSON objects): no cache, written without one. */
    static const char verbose[] = "{\"~:auth\":{\"anthropic\":{\"~:api-key\":\"a\",\"~:refresh-token\":\"r\","
                                  "\"~:expires-at\":\"~i1764064800\"}},\"~:version\":6}";
    is_int(load(&c, &anthropic, verbose, &err), CR_OK, "a :json-verbose file loads");
    is_int(c.t.expires_ms, 1764064800000LL, "\"~i1764064800\" is an integer");
    creds_update(&c, "a2", "r2", 1764068400000LL, NULL);
    out = store(&c);
    is_str(out,
           "{\"~:auth\":{\"anthropic\":{\"~:api-key\":\"a2\",\"~:refresh-token\":\"r2\",\"~:expires-at\":\"~i1764068400\"}},"
           "\"~:version\":6}",
           "it is written verbose, the expiry in the form it had");
    free(out);
    creds_free(&c);

    /* A code naming a key of a JSON object (what a reader accepts). */
    static const struct creds_fields via_key = {.access = "/~:k/0", .unit = EXPIRY_UNIT_S};
    is_int(load(&c, &via_key, "{\"abcd\":\"x\",\"~:k\":[\"^0\"]}", &err), CR_OK, "a code may name an object's key");
    is_str(c.t.access, "abcd", "and reads as that key");
    creds_free(&c);

    /* Not Transit, or not what credrun expects. */
    is_int(load(&c, &anthropic, "[\"^ \",\"^0\",1]", &err), CR_ERR_CREDS_MALFORMED, "a code naming nothing is malformed");
    ok(strstr(err.msg, "cache code") != NULL, "and says so: %s", err.msg);
    is_int(load(&c, &anthropic, "[\"^ \",\"~:auth\",1,\"^~\",2]", &err), CR_ERR_CREDS_MALFORMED,
           "a code outside base 44 is malformed");
    is_int(load(&c, &anthropic, "[1,2]", &err), CR_ERR_CREDS_MALFORMED, "an array that is not a map is malformed");
    is_int(load(&c, &anthropic, "[\"^ \",\"~:auth\",", &err), CR_ERR_CREDS_MALFORMED, "truncated JSON is malformed");
    is_int(load(&c, &anthropic, "[\"^ \",\"~:auth\",[\"^ \",\"anthropic\",[\"^ \",\"~:api-key\",\"~:kw\"]]]", &err),
           CR_ERR_CREDS_MALFORMED, "a keyword where a token belongs is malformed");
    is_int(load(&c, &anthropic, "[\"^ \",\"~:auth\",[\"^ \",\"anthropic\",[\"^ \",\"~:expires-at\",\"soon\"]]]", &err),
           CR_ERR_CREDS_MALFORMED, "a string as expiry is malformed");
    is_int(load(&c, &anthropic, "[\"^ \",\"~:auth\",[\"^ \",\"anthropic\",[\"^ \",\"~:api-key\",null,\"~:refresh-token\","
                                "\"\"]]]",
                &err),
           CR_OK, "nil and empty tokens load");
    ok(c.t.access == NULL && c.t.refresh == NULL, "as no tokens");
    creds_free(&c);

    /* A map with a dangling key is refused on reading (issue 11). */
    is_int(load(&c, &anthropic, "[\"^ \",\"~:auth\",[\"^ \",\"anthropic\",[\"^ \",\"~:api-key\",\"at\",\"~:note\"]]]", &err),
           CR_ERR_CREDS_MALFORMED, "a map with a key and no value is malformed");
    ok(strstr(err.msg, "a key without a value") != NULL, "and says so: %s", err.msg);
    is_int(load(&c, &anthropic, "[\"^ \",\"~:x\",[\"~#cmap\",[1,2,3]]]", &err), CR_ERR_CREDS_MALFORMED,
           "a ~#cmap with a key and no value too");
    /* A provider entry written as ~#cmap reads, but nothing is placed in it. */
    static const char cmap[] = "[\"^ \",\"~:auth\",[\"^ \",\"anthropic\",[\"~#cmap\",[\"~:api-key\",\"at\","
                               "\"~:refresh-token\",\"rt\",\"~:expires-at\",1764064800]]]]";
    is_int(load(&c, &anthropic, cmap, &err), CR_OK, "a ~#cmap provider entry loads");
    is_str(c.t.refresh, "rt", "and its tokens read");
    is_int(creds_check_store(&c, &err), CR_ERR_CANNOT_PLACE, "but the successor cannot be placed");
    ok(strstr(err.msg, "/~:auth/anthropic/~:api-key") != NULL, "naming the pointer: %s", err.msg);
    creds_free(&c);
    is_int(load(&c, &anthropic, eca, &err), CR_OK, "the ECA cache loads");
    is_int(creds_check_store(&c, &err), CR_OK, "and its successor can be placed");
    creds_free(&c);

    /* A pointer token starting with ^ or ` names that string: written as a
     * key escaped ("~^x"), never bare (a reader takes "^x" for a cache code). */
    static const struct creds_fields caret = {.access = "/~:a", .refresh = "/^ ~:m/^x", .expiry = "/`e",
                                              .unit = EXPIRY_UNIT_S};
    static const char caret_doc[] = "[\"^ \",\"~:a\",\"at\",\"~^ ~:m\",[\"^ \",\"~^x\",\"rt\"]]";
    is_int(load(&c, &caret, caret_doc, &err), CR_OK, "a key written ~^x loads");
    is_str(c.t.refresh, "rt", "and the pointer token ^x finds it");
    is_int(creds_check_store(&c, &err), CR_OK, "its successor can be placed: %s", err.msg);
    creds_update(&c, "at-2", "rt-2", 1764068400000LL, NULL);
    out = store(&c);
    is_str(out, "[\"^ \",\"~:a\",\"at-2\",\"~^ ~:m\",[\"^ \",\"~^x\",\"rt-2\"],\"~`e\",1764068400]",
           "the new key `e is written escaped, the others in place");
    creds_free(&c);
    is_int(load(&c, &caret, out, &err), CR_OK, "credrun reads its own output: %s", err.msg);
    is_str(c.t.refresh, "rt-2", "with the new refresh token");
    ok(c.t.expires_ms == 1764068400000LL, "and the new expiry");
    creds_free(&c);
    free(out);

    /* The Transit codec's primitives. */
    const struct creds_format *T = &creds_format_transit;
    void *doc;
    static const char prim[] = "[\"^ \",\"~:m\",[\"^ \",\"abcd\",\"~~x\"],\"~:l\",[\"a\",\"b\"],\"~:e\",\"~m1764064800000\"]";
    is_int(T->parse(prim, strlen(prim), &doc, &err), CR_OK, "parse gives a document");
    json_t *root = T->root(doc), *m = T->child(root, "~:m", 3);
    size_t sn;
    is_str(T->string(T->child(m, "abcd", 4), &sn), "~x", "child finds a member, string unescapes it");
    ok(T->string(T->child(root, "~:m", 3), &sn) == NULL, "a map is no string");
    ok(T->is_list(T->child(root, "~:l", 3)) && !T->is_list(m), "is_list tells lists from maps");
    is_int(T->put(m, "efgh", T->make_string("^y")), 0, "put appends a new key to a map");
    is_str(T->string(T->child(m, "efgh", 4), &sn), "^y", "and it reads back");
    is_int(T->put(m, "^k", T->make_string("v")), 0, "put adds a key that starts with ^");
    is_str(json_string_value(json_array_get(m, json_array_size(m) - 2)), "~^k", "written escaped");
    is_str(T->string(T->child(m, "^k", 2), &sn), "v", "and child finds it by the same token");
    is_int(T->put(T->child(root, "~:l", 3), "1", T->make_string("c")), 0, "put replaces an existing list slot");
    is_int(T->put(T->child(root, "~:l", 3), "k", T->make_string("c")), -1, "but adds no key to a list");
    is_int(T->put(m, "\xff", T->make_string("z")), -1, "put refuses a key that is not UTF-8");
    ok(json_is_null(T->make_string(NULL)), "no token is nil");
    double num;
    int64_t ms;
    is_int(T->read_time(doc, T->child(root, "~:e", 3), EXPIRY_UNIT_S, &num, &ms), 0, "~m is an absolute time");
    is_int(ms, 1764064800000LL, "in ms");
    json_t *tv = T->make_time(doc, EXPIRY_UNIT_S, 1764068400000LL);
    is_str(json_string_value(tv), "~m1764068400000", "make_time keeps the form read");
    json_decref(tv);
    json_t *ti = json_string("~i1764064800");
    is_int(T->read_time(doc, ti, EXPIRY_UNIT_S, &num, &ms), 1, "~i is a number in the unit");
    ok(num == 1764064800.0, "read as written");
    json_decref(ti);
    T->free_doc(doc);
    return tap_done();
}
