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

/* How the expiry was written, so a store writes it the same way. */
enum expiry_form { FORM_NUMBER, FORM_TILDE_I, FORM_TILDE_M, FORM_TILDE_T, FORM_STRING };

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

/* A Transit string holding s: escaped when it starts with ~, ^ or `. */
static json_t *string_new(const char *s)
{
    if (s[0] == '~' || s[0] == '^' || s[0] == '`') {
        char *e = xasprintf("~%s", s);
        json_t *v = json_string(e);
        secret_free(e);
        return v;
    }
    return json_string(s);
}

/* Find the member named by key (a map key as Transit writes it, after cache
 * decoding) in a Transit map, or the element at an index of an array. *pos
 * is the array slot of the value (maps as arrays), or -1 for an object. */
static json_t *child(json_t *node, const char *key, size_t keylen, ssize_t *pos)
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

/* child() without the position, for jsonptr_get. */
static json_t *child_of(json_t *node, const char *key, size_t keylen)
{
    ssize_t pos;
    return child(node, key, keylen, &pos);
}

/* The node at ptr below root, or NULL. Tokens are strings as written, so
 * "~:auth" names the keyword :auth. */
static json_t *pointer_get(json_t *root, const char *ptr)
{
    return jsonptr_get(root, ptr, child_of);
}

/* Put value (stolen) as the member key of a map (array form or object). */
static int map_put(json_t *map, const char *key, json_t *value)
{
    if (json_is_object(map))
        return json_object_set_new(map, key, value);
    ssize_t pos;
    if (child(map, key, strlen(key), &pos) && pos >= 0)
        return json_array_set_new(map, (size_t)pos, value);
    if (!json_is_array(map) || json_array_size(map) == 0 || !is_map_marker(json_array_get(map, 0))) {
        json_decref(value);
        return -1;
    }
    json_array_append_new(map, json_string(key));
    json_array_append_new(map, value);
    return 0;
}

/* Set the value at ptr to value (stolen), creating missing maps on the way.
 * 0, or -1 when a step is neither a map nor an array. */
static int pointer_set(json_t *root, const char *ptr, json_t *value, bool verbose)
{
    json_t *node = root;
    const char *p = ptr;
    while (*p == '/') {
        const char *end = strchr(p + 1, '/');
        if (!end)
            end = p + strlen(p);
        char *tok = jsonptr_token(p + 1, end);
        ssize_t pos;
        json_t *next = child(node, tok, strlen(tok), &pos);
        if (!*end) {
            int rc;
            if (next && pos >= 0 && !is_map_marker(json_array_get(node, 0)))
                rc = json_array_set_new(node, (size_t)pos, value);
            else
                rc = map_put(node, tok, value);
            free(tok);
            return rc;
        }
        if (!next || json_is_null(next)) {
            next = verbose ? json_object() : json_pack("[s]", "^ ");
            if (map_put(node, tok, next) != 0) {
                free(tok);
                json_decref(value);
                return -1;
            }
        }
        free(tok);
        if (!json_is_array(next) && !json_is_object(next))
            break;
        node = next;
        p = end;
    }
    json_decref(value);
    return -1;
}

static enum cr_status get_string(json_t *root, const char *ptr, char **out, struct cr_err *err)
{
    *out = NULL;
    json_t *v = ptr ? pointer_get(root, ptr) : NULL;
    if (!v || json_is_null(v))
        return CR_OK;
    size_t n;
    const char *s = json_is_string(v) ? string_value(v, &n) : NULL;
    if (!s || memchr(s, '\0', n)) {
        return cr_fail(err, CR_ERR_CREDS_MALFORMED, "%s is not a string", ptr);
    }
    if (n > 0)
        *out = xstrdup(s);
    return CR_OK;
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

static enum cr_status get_expiry(struct creds *c, struct transit_doc *doc, struct cr_err *err)
{
    const struct creds_fields *f = c->fields;
    c->t.expires_ms = EXPIRY_UNKNOWN;
    doc->expiry_form = f->unit == EXPIRY_UNIT_RFC3339 ? FORM_STRING : FORM_NUMBER;
    if (f->unit == EXPIRY_UNIT_JWT) {
        if (c->t.access)
            c->t.expires_ms = creds_jwt_exp_ms(c->t.access);
        return CR_OK;
    }
    json_t *v = f->expiry ? pointer_get(doc->tree, f->expiry) : NULL;
    if (!v || json_is_null(v))
        return CR_OK;
    double scale = f->unit == EXPIRY_UNIT_S ? 1000 : 1;
    if (json_is_number(v)) {
        double ms = json_number_value(v) * scale;
        if (!(ms > -9.2e18 && ms < 9.2e18)) {
            return cr_fail(err, CR_ERR_CREDS_MALFORMED, "%s is out of range", f->expiry);
        }
        c->t.expires_ms = (int64_t)ms;
        return CR_OK;
    }
    const char *s = json_is_string(v) ? json_string_value(v) : "";
    size_t n = json_is_string(v) ? json_string_length(v) : 0;
    long long i;
    if (n > 2 && s[0] == '~' && (s[1] == 'i' || s[1] == 'n') && f->unit != EXPIRY_UNIT_RFC3339 &&
        parse_int(s + 2, n - 2, &i) == 0 && i > -9200000000000000LL && i < 9200000000000000LL) {
        doc->expiry_form = FORM_TILDE_I;
        c->t.expires_ms = (int64_t)((double)i * scale);
        return CR_OK;
    }
    if (n > 2 && s[0] == '~' && s[1] == 'm' && parse_int(s + 2, n - 2, &i) == 0) {
        doc->expiry_form = FORM_TILDE_M;
        c->t.expires_ms = i;
        return CR_OK;
    }
    int64_t ms;
    if (n > 2 && s[0] == '~' && s[1] == 't' && expiry_parse_rfc3339(s + 2, &ms) == 0) {
        doc->expiry_form = FORM_TILDE_T;
        c->t.expires_ms = ms;
        return CR_OK;
    }
    if (f->unit == EXPIRY_UNIT_RFC3339 && n > 0 && s[0] != '~' && expiry_parse_rfc3339(s, &ms) == 0) {
        c->t.expires_ms = ms;
        return CR_OK;
    }
    return cr_fail(err, CR_ERR_CREDS_MALFORMED, "%s is not a time Transit can hold", f->expiry);
}

/* The expiry written in form. */
static json_t *expiry_value(const struct creds_fields *f, enum expiry_form form, int64_t ms)
{
    char buf[64];
    long long n = f->unit == EXPIRY_UNIT_S ? ms / 1000 : ms;
    switch (form) {
    case FORM_NUMBER:
        if (n <= TRANSIT_INT_MAX && n >= -TRANSIT_INT_MAX)
            return json_integer(n);
        /* fall through */
    case FORM_TILDE_I:
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
    case FORM_STRING:
    default:
        expiry_format_rfc3339(ms, buf, sizeof buf);
        return json_string(buf);
    }
}

static enum cr_status get_scopes(struct creds *c, json_t *root, struct cr_err *err)
{
    const char *ptr = c->fields->scopes;
    json_t *v = ptr ? pointer_get(root, ptr) : NULL;
    if (!v || json_is_null(v))
        return CR_OK;
    if (json_is_string(v))
        return get_string(root, ptr, &c->t.scope, err);
    size_t i, n, total = 1;
    json_t *s;
    if (!json_is_array(v) || (json_array_size(v) > 0 && is_map_marker(json_array_get(v, 0)))) {
        return cr_fail(err, CR_ERR_CREDS_MALFORMED, "%s is not a list of strings", ptr);
    }
    json_array_foreach(v, i, s)
    {
        if (!json_is_string(s) || !string_value(s, &n)) {
            return cr_fail(err, CR_ERR_CREDS_MALFORMED, "%s is not a list of strings", ptr);
        }
        total += n + 1;
    }
    if (json_array_size(v) == 0)
        return CR_OK;
    char *joined = xmalloc(total), *o = joined;
    json_array_foreach(v, i, s)
    {
        const char *str = string_value(s, &n);
        if (i)
            *o++ = ' ';
        memcpy(o, str, n);
        o += n;
    }
    *o = '\0';
    c->t.scope = joined;
    return CR_OK;
}

static json_t *scopes_value(json_t *old, const char *scope)
{
    if (json_is_string(old))
        return string_new(scope);
    return jsonptr_words(scope, string_new);
}

static void transit_free_doc(void *p)
{
    struct transit_doc *doc = p;
    if (doc) {
        json_decref(doc->tree);
        free(doc);
    }
}

static enum cr_status transit_load(struct creds *c, const char *buf, size_t len, struct cr_err *err)
{
    jsonptr_wipe_on_free();
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
    struct transit_doc *doc = xcalloc(1, sizeof *doc);
    doc->tree = tree;
    doc->verbose = verbose;
    doc->newline = len && buf[len - 1] == '\n';
    c->doc = doc;
    if (!json_is_object(tree) && !(json_array_size(tree) > 0 && is_map_marker(json_array_get(tree, 0)))) {
        return cr_fail(err, CR_ERR_CREDS_MALFORMED, "not a Transit map");
    }
    enum cr_status st;
    if ((st = get_string(tree, c->fields->access, &c->t.access, err)) != CR_OK ||
        (st = get_string(tree, c->fields->refresh, &c->t.refresh, err)) != CR_OK ||
        (st = get_expiry(c, doc, err)) != CR_OK || (st = get_scopes(c, tree, err)) != CR_OK ||
        (st = get_string(tree, c->fields->base_url, &c->t.base_url, err)) != CR_OK)
        return st;
    return CR_OK;
}

static enum cr_status transit_store(struct creds *c, char **out, size_t *outlen, struct cr_err *err)
{
    struct transit_doc *doc = c->doc;
    json_t *root = doc->tree;
    const struct creds_fields *f = c->fields;
    const struct tokens *t = &c->t;
    int bad = 0;
    bad |= pointer_set(root, f->access, t->access ? string_new(t->access) : json_null(), doc->verbose);
    if (t->refresh)
        bad |= pointer_set(root, f->refresh, string_new(t->refresh), doc->verbose);
    if (f->expiry && f->unit != EXPIRY_UNIT_JWT)
        bad |= pointer_set(root, f->expiry, expiry_value(f, doc->expiry_form, t->expires_ms), doc->verbose);
    if (f->scopes && t->scope)
        bad |= pointer_set(root, f->scopes, scopes_value(pointer_get(root, f->scopes), t->scope), doc->verbose);
    if (f->last_refresh) {
        char ts[40];
        expiry_format_rfc3339(expiry_now_ms(), ts, sizeof ts);
        bad |= pointer_set(root, f->last_refresh, json_string(ts), doc->verbose);
    }
    for (size_t i = 0; i < CREDS_MAX_EXTRA; i++)
        if (f->extra[i] && t->extra[i])
            bad |= pointer_set(root, f->extra[i], string_new(t->extra[i]), doc->verbose);
    if (bad) {
        return cr_fail(err, CR_ERR_CREDS_MALFORMED, "cannot place the new tokens: a parent of %s is not a map", f->access);
    }
    json_t *coded;
    if (doc->verbose) {
        coded = json_incref(root);
    } else {
        struct encoder e = {.seen = json_object(), .next = 0};
        coded = encode(&e, root, false);
        json_decref(e.seen);
    }
    enum cr_status st = jsonptr_dump(coded, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY, doc->newline, out,
                                     outlen, err);
    json_decref(coded);
    return st;
}

const struct creds_format creds_format_transit = {
    .load = transit_load,
    .store = transit_store,
    .free_doc = transit_free_doc,
};
