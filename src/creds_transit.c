/* SPDX-License-Identifier: MIT */
/* The Transit JSON credentials format (cognitect transit, as ECA writes its
 * cache). jansson parses and writes the JSON; credrun walks it. Transit
 * writes a map as ["^ ", k, v, ...], a keyword as "~:name", and replaces a
 * repeated cacheable string (a map key, or a keyword, symbol or tag, longer
 * than 3 characters) by a cache code "^0", "^1", ... (base 44) naming the
 * n-th such string seen. On load every code is replaced by its string; on
 * store the document is written again with a fresh cache exactly as a
 * Transit writer would, so codes are always right even when a key was added,
 * and a document nothing changed in comes out as it went in. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "creds.h"
#include "expiry.h"
#include "jsonptr.h"
#include "util.h"

#define CACHE_DIGITS 44
#define CACHE_BASE 48
#define CACHE_MAX (CACHE_DIGITS * CACHE_DIGITS)
#define TRANSIT_INT_MAX 9007199254740991LL /* 2^53 - 1: larger integers are written "~i..." */

/* How the expiry was written, so a store writes it the same way. FORM_UNIT:
 * as the unit says (a number, or an RFC 3339 string). */
enum expiry_form { FORM_UNIT, FORM_TILDE_I, FORM_TILDE_M, FORM_TILDE_T };

struct transit_doc {
    json_t *tree;  /* the document with every cache code replaced by its string */
    bool verbose;  /* it holds JSON objects (:json-verbose): written without a cache */
    bool newline;  /* the file ended with a newline */
    enum expiry_form expiry_form;
};

/* True when a Transit writer caches s: longer than 3 characters and either a
 * map key or a keyword, symbol or tag. */
static bool cacheable(const char *s, size_t n, bool as_key)
{
    if (n <= 3)
        return false;
    return as_key || (s[0] == '~' && (s[1] == ':' || s[1] == '$' || s[1] == '#'));
}

/* The index a cache code names, or -1 when s is not a well-formed code. */
static int code_index(const char *s, size_t n)
{
    int hi = 0, lo;
    if (n == 2) {
        lo = (unsigned char)s[1] - CACHE_BASE;
    } else if (n == 3) {
        hi = (unsigned char)s[1] - CACHE_BASE;
        lo = (unsigned char)s[2] - CACHE_BASE;
    } else {
        return -1;
    }
    if (hi < 0 || hi >= CACHE_DIGITS || lo < 0 || lo >= CACHE_DIGITS || (n == 3 && hi == 0))
        return -1;
    return hi * CACHE_DIGITS + lo;
}

static bool is_map_marker(json_t *v)
{
    return json_is_string(v) && json_string_length(v) == 2 && memcmp(json_string_value(v), "^ ", 2) == 0;
}

/* The reader's cache: the strings seen so far, borrowed from the new tree. */
struct read_cache {
    json_t *e[CACHE_MAX];
    int idx;    /* where the next string goes */
    int filled; /* how many slots hold one */
};

struct decoder {
    struct read_cache cache;
    json_t *keep; /* map keys of JSON objects, alive as long as the cache names them */
    bool verbose;
    struct cr_err *err;
};

/* A copy of in with every cache code replaced by the string it names (new
 * reference), or NULL with d->err set. */
static json_t *decode(struct decoder *d, json_t *in, bool as_key)
{
    if (json_is_string(in)) {
        const char *s = json_string_value(in);
        size_t n = json_string_length(in);
        if (n >= 1 && s[0] == '^' && !(n == 2 && s[1] == ' ')) {
            int i = code_index(s, n);
            if (i < 0 || i >= d->cache.filled) {
                cr_fail(d->err, CR_ERR_CREDS_MALFORMED, "not valid Transit: a cache code names no earlier string");
                return NULL;
            }
            return json_incref(d->cache.e[i]);
        }
        if (cacheable(s, n, as_key)) {
            if (d->cache.idx == CACHE_MAX)
                d->cache.idx = 0;
            d->cache.e[d->cache.idx++] = in;
            if (d->cache.filled < d->cache.idx)
                d->cache.filled = d->cache.idx;
        }
        return json_incref(in);
    }
    if (json_is_array(in)) {
        json_t *out = json_array();
        size_t n = json_array_size(in);
        bool map = false;
        for (size_t i = 0; i < n; i++) {
            json_t *v = decode(d, json_array_get(in, i), map && i % 2 == 1);
            if (!v) {
                json_decref(out);
                return NULL;
            }
            if (i == 0)
                map = is_map_marker(v);
            json_array_append_new(out, v);
        }
        json_t *pairs = json_array_get(out, 1);
        if ((map && n % 2 == 0) || (n == 2 && json_is_string(json_array_get(out, 0)) &&
                                    strcmp(json_string_value(json_array_get(out, 0)), "~#cmap") == 0 &&
                                    json_is_array(pairs) && json_array_size(pairs) % 2 == 1)) {
            json_decref(out);
            cr_fail(d->err, CR_ERR_CREDS_MALFORMED,
                    "not valid Transit: a map has a key without a value; restore the file from its application");
            return NULL;
        }
        return out;
    }
    if (json_is_object(in)) {
        d->verbose = true;
        json_t *out = json_object();
        const char *key;
        size_t keylen;
        json_t *v;
        json_object_keylen_foreach(in, key, keylen, v)
        {
            json_t *k = json_stringn(key, keylen);
            json_t *dk = k ? decode(d, k, true) : NULL;
            json_decref(k);
            json_t *dv = dk ? decode(d, v, false) : NULL;
            if (!dv) {
                if (!d->err->msg[0])
                    cr_fail(d->err, CR_ERR_CREDS_MALFORMED, "not valid Transit: a map key is not valid UTF-8");
                json_decref(dk);
                json_decref(out);
                return NULL;
            }
            json_object_setn_new(out, json_string_value(dk), json_string_length(dk), dv);
            json_array_append_new(d->keep, dk);
        }
        return out;
    }
    return json_incref(in);
}

/* The writer's cache, as transit-java keeps it: string -> index, cleared
 * when a new string would be the (44*44+1)-th. A jansson object is the map. */
struct encoder {
    json_t *seen;
    int next;
};

/* A copy of in with repeated cacheable strings replaced by cache codes (new
 * reference). */
static json_t *encode(struct encoder *e, json_t *in, bool as_key)
{
    if (json_is_string(in)) {
        const char *s = json_string_value(in);
        size_t n = json_string_length(in);
        if (!cacheable(s, n, as_key))
            return json_incref(in);
        json_t *have = json_object_getn(e->seen, s, n);
        if (have) {
            json_int_t i = json_integer_value(have);
            char code[4] = {'^', 0, 0, 0};
            if (i < CACHE_DIGITS) {
                code[1] = (char)(CACHE_BASE + i);
            } else {
                code[1] = (char)(CACHE_BASE + i / CACHE_DIGITS);
                code[2] = (char)(CACHE_BASE + i % CACHE_DIGITS);
            }
            return json_string(code);
        }
        if (e->next == CACHE_MAX) {
            json_object_clear(e->seen);
            e->next = 0;
        }
        json_object_setn_new(e->seen, s, n, json_integer(e->next++));
        return json_incref(in);
    }
    if (json_is_array(in)) {
        json_t *out = json_array();
        size_t n = json_array_size(in);
        bool map = n > 0 && is_map_marker(json_array_get(in, 0));
        for (size_t i = 0; i < n; i++)
            json_array_append_new(out, encode(e, json_array_get(in, i), map && i % 2 == 1));
        return out;
    }
    return json_incref(in); /* objects only occur in verbose documents, which have no cache */
}

/* The value of a Transit string: "~~x" is "~x", "^..." and "`..." are
 * escaped the same way. NULL when v is a tagged scalar ("~:kw", "~i1"). */
static const char *string_value(json_t *v, size_t *n)
{
    if (!json_is_string(v))
        return NULL;
    const char *s = json_string_value(v);
    *n = json_string_length(v);
    if (*n >= 2 && s[0] == '~') {
        if (s[1] != '~' && s[1] != '^' && s[1] != '`')
            return NULL;
        (*n)--;
        return s + 1;
    }
    return s;
}

/* A Transit string holding s: escaped when it starts with ~, ^ or `; null
 * when s is NULL. */
static json_t *string_new(const char *s)
{
    if (!s)
        return json_null();
    if (s[0] == '~' || s[0] == '^' || s[0] == '`') {
        char *e = xasprintf("~%s", s);
        json_t *v = json_string(e);
        secret_free(e);
        return v;
    }
    return json_string(s);
}

/* A pointer token names a map key as Transit writes it ("~:name" is a
 * keyword, "~~x" the string "~x"), except that a token starting with ^ or `
 * names that string itself: no writer leaves one bare (a reader takes "^x"
 * for a cache code), so it is looked up and written escaped, "~^x". The
 * written key for such a token (newly allocated), or NULL for any other. */
static char *escaped_key(const char *key, size_t keylen)
{
    if (keylen == 0 || (key[0] != '^' && key[0] != '`'))
        return NULL;
    char *e = xmalloc(keylen + 2);
    e[0] = '~';
    memcpy(e + 1, key, keylen);
    e[keylen + 1] = '\0';
    return e;
}

/* Find the member written key (after cache decoding) in a Transit map, or
 * the element at an index of an array. *pos is the array slot of the value
 * (maps as arrays), or -1 for an object. */
static json_t *child_written(json_t *node, const char *key, size_t keylen, ssize_t *pos)
{
    *pos = -1;
    if (json_is_object(node))
        return json_object_getn(node, key, keylen);
    if (!json_is_array(node))
        return NULL;
    size_t n = json_array_size(node);
    json_t *pairs = node;
    size_t start = 1;
    if (n == 2 && json_is_string(json_array_get(node, 0)) && strcmp(json_string_value(json_array_get(node, 0)), "~#cmap") == 0 &&
        json_is_array(json_array_get(node, 1))) {
        pairs = json_array_get(node, 1);
        n = json_array_size(pairs);
        start = 0;
    } else if (!(n > 0 && is_map_marker(json_array_get(node, 0)))) {
        char *end;
        unsigned long i = strtoul(key, &end, 10);
        if (end == key || *end || i >= n)
            return NULL;
        *pos = (ssize_t)i;
        return json_array_get(node, i);
    }
    for (size_t i = start; i + 1 < n; i += 2) {
        json_t *k = json_array_get(pairs, i);
        if (json_is_string(k) && json_string_length(k) == keylen && memcmp(json_string_value(k), key, keylen) == 0) {
            if (pairs == node)
                *pos = (ssize_t)(i + 1);
            return json_array_get(pairs, i + 1);
        }
    }
    return NULL;
}

/* The member named by the pointer token key (escaped_key), or the element
 * at an index; *pos as child_written says. */
static json_t *child(json_t *node, const char *key, size_t keylen, ssize_t *pos)
{
    char *esc = escaped_key(key, keylen);
    json_t *v = esc ? child_written(node, esc, keylen + 1, pos) : child_written(node, key, keylen, pos);
    free(esc);
    return v;
}

/* child() without the position, for jsonptr_get. */
static json_t *child_of(json_t *node, const char *key, size_t keylen)
{
    ssize_t pos;
    return child(node, key, keylen, &pos);
}

static json_t *transit_root(void *doc)
{
    return ((struct transit_doc *)doc)->tree;
}

/* A list, not a map written as an array. */
static bool is_list(json_t *v)
{
    return json_is_array(v) && !(json_array_size(v) > 0 && is_map_marker(json_array_get(v, 0)));
}

static json_t *make_list(const char *s)
{
    return jsonptr_words(s, string_new);
}

static json_t *make_map(void *p)
{
    struct transit_doc *doc = p;
    return doc->verbose ? json_object() : json_pack("[s]", "^ ");
}

/* Put value (stolen) as the member key of a map (array form or object), or
 * at an existing index of a list. A ~#cmap is never written into. */
static int put(json_t *node, const char *key, json_t *value)
{
    char *esc = escaped_key(key, strlen(key));
    const char *wkey = esc ? esc : key; /* as written (escaped_key) */
    int rc = 0;
    ssize_t pos;
    json_t *k = NULL;
    if (json_is_object(node))
        rc = json_object_set_new(node, wkey, value); /* frees value on failure */
    else if (child_written(node, wkey, strlen(wkey), &pos) && pos >= 0)
        rc = json_array_set_new(node, (size_t)pos, value);
    else if (!(k = is_list(node) || !json_is_array(node) ? NULL : json_string(wkey))) {
        json_decref(value);
        rc = -1;
    } else {
        json_array_append_new(node, k);
        json_array_append_new(node, value);
    }
    free(esc);
    return rc;
}

/* Parse decimal digits (optionally signed) filling all of s[0..n). */
static int parse_int(const char *s, size_t n, long long *out)
{
    char buf[32];
    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *end;
    errno = 0;
    long long v = strtoll(buf, &end, 10);
    if (errno || *end || end == buf)
        return -1;
    *out = v;
    return 0;
}

static int read_time(void *p, json_t *v, enum expiry_unit unit, double *num, int64_t *ms)
{
    struct transit_doc *doc = p;
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    long long i;
    doc->expiry_form = FORM_UNIT;
    if (n > 2 && s[0] == '~' && (s[1] == 'i' || s[1] == 'n') && unit != EXPIRY_UNIT_RFC3339 &&
        parse_int(s + 2, n - 2, &i) == 0 && i > -9200000000000000LL && i < 9200000000000000LL) {
        doc->expiry_form = FORM_TILDE_I;
        *num = (double)i;
        return 1;
    }
    if (n > 2 && s[0] == '~' && s[1] == 'm' && parse_int(s + 2, n - 2, &i) == 0) {
        doc->expiry_form = FORM_TILDE_M;
        *ms = i;
        return 0;
    }
    if (n > 2 && s[0] == '~' && s[1] == 't' && expiry_parse_rfc3339(s + 2, ms) == 0) {
        doc->expiry_form = FORM_TILDE_T;
        return 0;
    }
    if (unit == EXPIRY_UNIT_RFC3339 && n > 0 && s[0] != '~' && expiry_parse_rfc3339(s, ms) == 0)
        return 0;
    return -1;
}

/* The expiry written in the form it was read in. */
static json_t *make_time(void *p, enum expiry_unit unit, int64_t ms)
{
    struct transit_doc *doc = p;
    char buf[64];
    long long n = unit == EXPIRY_UNIT_S ? ms / 1000 : ms;
    switch (doc->expiry_form) {
    case FORM_UNIT:
        if (unit == EXPIRY_UNIT_RFC3339) {
            expiry_format_rfc3339(ms, buf, sizeof buf);
            return json_string(buf);
        }
        if (n <= TRANSIT_INT_MAX && n >= -TRANSIT_INT_MAX)
            return json_integer(n);
        /* fall through */
    case FORM_TILDE_I:
    default:
        snprintf(buf, sizeof buf, "~i%lld", n);
        return json_string(buf);
    case FORM_TILDE_M:
        snprintf(buf, sizeof buf, "~m%" PRId64, ms);
        return json_string(buf);
    case FORM_TILDE_T:
        buf[0] = '~';
        buf[1] = 't';
        expiry_format_rfc3339(ms, buf + 2, sizeof buf - 2);
        return json_string(buf);
    }
}

static void transit_free_doc(void *p)
{
    struct transit_doc *doc = p;
    if (doc) {
        json_decref(doc->tree);
        free(doc);
    }
}

static enum cr_status transit_parse(const char *buf, size_t len, void **out, struct cr_err *err)
{
    json_error_t jerr;
    json_t *raw = json_loadb(buf, len, JSON_ALLOW_NUL, &jerr);
    if (!raw) {
        return cr_fail(err, CR_ERR_CREDS_MALFORMED, "not valid JSON (line %d, column %d)", jerr.line, jerr.column);
    }
    struct decoder *d = xcalloc(1, sizeof *d);
    cr_clear(err);
    d->err = err;
    d->keep = json_array();
    json_t *tree = decode(d, raw, false);
    bool verbose = d->verbose;
    json_decref(d->keep);
    free(d);
    json_decref(raw);
    if (!tree) {
        err->status = CR_ERR_CREDS_MALFORMED;
        return CR_ERR_CREDS_MALFORMED;
    }
    if (!json_is_object(tree) && !(json_array_size(tree) > 0 && is_map_marker(json_array_get(tree, 0)))) {
        json_decref(tree);
        return cr_fail(err, CR_ERR_CREDS_MALFORMED, "not a Transit map");
    }
    struct transit_doc *doc = xcalloc(1, sizeof *doc);
    doc->tree = tree;
    doc->verbose = verbose;
    doc->newline = len && buf[len - 1] == '\n';
    *out = doc;
    return CR_OK;
}

static void *transit_copy(void *p)
{
    struct transit_doc *doc = p, *c = xmalloc(sizeof *c);
    *c = *doc;
    c->tree = json_deep_copy(doc->tree);
    return c;
}

static enum cr_status transit_dump(void *p, char **out, size_t *outlen, struct cr_err *err)
{
    struct transit_doc *doc = p;
    json_t *coded;
    if (doc->verbose) {
        coded = json_incref(doc->tree);
    } else {
        struct encoder e = {.seen = json_object(), .next = 0};
        coded = encode(&e, doc->tree, false);
        json_decref(e.seen);
    }
    enum cr_status st = jsonptr_dump(coded, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY, doc->newline, out,
                                     outlen, err);
    json_decref(coded);
    return st;
}

const struct creds_format creds_format_transit = {
    .parse = transit_parse,
    .root = transit_root,
    .child = child_of,
    .string = string_value,
    .is_list = is_list,
    .make_string = string_new,
    .make_list = make_list,
    .make_map = make_map,
    .put = put,
    .read_time = read_time,
    .make_time = make_time,
    .copy = transit_copy,
    .dump = transit_dump,
    .free_doc = transit_free_doc,
};
