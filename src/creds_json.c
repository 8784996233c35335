/* SPDX-License-Identifier: MIT */
/* The JSON credentials format: jansson parses and writes; credrun walks RFC
 * 6901 pointers to its fields and leaves every other key, in its order. */
#include "config.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "creds.h"
#include "expiry.h"
#include "jsonptr.h"
#include "util.h"

/* A parsed file: the tree, and how to write it again. */
struct json_doc {
    json_t *root;
    int indent;   /* 0 compact, else the width of an indented line */
    bool newline; /* the file ended with a newline */
};

static json_t *jc_root(void *doc)
{
    return ((struct json_doc *)doc)->root;
}

static json_t *jc_child(json_t *node, const char *tok, size_t toklen)
{
    if (json_is_object(node))
        return json_object_getn(node, tok, toklen);
    if (json_is_array(node)) {
        char *end;
        unsigned long i = strtoul(tok, &end, 10);
        if (end == tok || *end || tok[0] == '-' || tok[0] == '+' || tok[0] == ' ')
            return NULL;
        return json_array_get(node, i);
    }
    return NULL;
}

static const char *jc_str(json_t *v, size_t *n)
{
    if (!json_is_string(v))
        return NULL;
    *n = json_string_length(v);
    return json_string_value(v);
}

static bool jc_list(json_t *v)
{
    return json_is_array(v);
}

static json_t *jc_make_string(const char *s)
{
    return json_string(s ? s : "");
}

static json_t *jc_make_list(const char *s)
{
    return jsonptr_words(s, NULL);
}

static json_t *jc_make_map(void *doc)
{
    (void)doc;
    return json_object();
}

/* Members of objects only: a JSON array slot is never written. */
static int jc_put(json_t *node, const char *key, json_t *value)
{
    if (!json_is_object(node)) {
        json_decref(value);
        return -1;
    }
    return json_object_set_new(node, key, value); /* frees value on failure */
}

static int jc_read_time(void *doc, json_t *v, enum expiry_unit unit, double *n, int64_t *ms)
{
    (void)doc;
    (void)n;
    if (unit != EXPIRY_UNIT_RFC3339 || expiry_parse_rfc3339(json_string_value(v), ms) != 0)
        return -1;
    return 0;
}

static json_t *jc_make_time(void *doc, enum expiry_unit unit, int64_t ms)
{
    (void)doc;
    if (unit == EXPIRY_UNIT_MS)
        return json_integer(ms);
    if (unit == EXPIRY_UNIT_S)
        return json_integer(ms / 1000);
    char ts[40];
    expiry_format_rfc3339(ms, ts, sizeof ts);
    return json_string(ts);
}

/* Indentation of the original text: 0 for compact, else the width of the
 * first indented line, so a pretty-printed file stays pretty. */
static int detect_indent(const char *buf, size_t len)
{
    const char *nl = memchr(buf, '\n', len);
    if (!nl)
        return 0;
    int n = 0;
    for (const char *p = nl + 1; p < buf + len && *p == ' '; p++)
        n++;
    if (n == 0 && nl + 1 < buf + len && nl[1] == '\t')
        n = 2;
    return n > 31 ? 31 : n;
}

static void jc_free_doc(void *p)
{
    struct json_doc *doc = p;
    if (doc) {
        json_decref(doc->root);
        free(doc);
    }
}

static enum cr_status jc_parse(const char *buf, size_t len, void **out, struct cr_err *err)
{
    /* No error record on the way: filling one in costs every run; a
     * failure parses again to say where. */
    json_t *root = json_loadb(buf, len, JSON_ALLOW_NUL, NULL);
    if (!root) {
        json_error_t jerr;
        json_decref(json_loadb(buf, len, JSON_ALLOW_NUL, &jerr)); /* NULL again */
        return cr_fail(err, CR_ERR_CREDS_MALFORMED, "not valid JSON (line %d, column %d)", jerr.line, jerr.column);
    }
    if (!json_is_object(root)) {
        json_decref(root);
        return cr_fail(err, CR_ERR_CREDS_MALFORMED, "not a JSON object");
    }
    struct json_doc *doc = xcalloc(1, sizeof *doc);
    doc->root = root;
    doc->indent = detect_indent(buf, len);
    doc->newline = len && buf[len - 1] == '\n';
    *out = doc;
    return CR_OK;
}

static void *jc_copy(void *p)
{
    struct json_doc *doc = p, *c = xmalloc(sizeof *c);
    *c = *doc;
    c->root = json_deep_copy(doc->root);
    return c;
}

static enum cr_status jc_dump(void *p, char **out, size_t *outlen, struct cr_err *err)
{
    struct json_doc *doc = p;
    size_t flags = JSON_PRESERVE_ORDER | (doc->indent ? JSON_INDENT(doc->indent) : JSON_COMPACT);
    return jsonptr_dump(doc->root, flags, doc->newline, out, outlen, err);
}

const struct creds_format creds_format_json = {
    .parse = jc_parse,
    .root = jc_root,
    .child = jc_child,
    .string = jc_str,
    .is_list = jc_list,
    .make_string = jc_make_string,
    .make_list = jc_make_list,
    .make_map = jc_make_map,
    .put = jc_put,
    .read_time = jc_read_time,
    .make_time = jc_make_time,
    .copy = jc_copy,
    .dump = jc_dump,
    .free_doc = jc_free_doc,
};

static int b64url_value(int ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
        return ch - '0' + 52;
    if (ch == '-' || ch == '+')
        return 62;
    if (ch == '_' || ch == '/')
        return 63;
    return -1;
}

int64_t creds_jwt_exp_ms(const char *jwt)
{
    const char *p = strchr(jwt, '.');
    if (!p)
        return EXPIRY_UNKNOWN;
    p++;
    const char *end = strchr(p, '.');
    if (!end)
        return EXPIRY_UNKNOWN;
    size_t n = (size_t)(end - p);
    unsigned char *raw = xmalloc(n);
    size_t o = 0;
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '=')
            break;
        int v = b64url_value((unsigned char)p[i]);
        if (v < 0) {
            free(raw);
            return EXPIRY_UNKNOWN;
        }
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            raw[o++] = (unsigned char)(acc >> bits);
        }
    }
    json_t *claims = json_loadb((const char *)raw, o, 0, NULL);
    secret_free_n(raw, n);
    int64_t ms = EXPIRY_UNKNOWN;
    json_t *exp = json_object_get(claims, "exp");
    if (json_is_number(exp) && json_number_value(exp) > 0 && json_number_value(exp) < 1e13)
        ms = (int64_t)(json_number_value(exp) * 1000);
    json_decref(claims);
    return ms;
}
