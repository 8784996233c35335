/* SPDX-License-Identifier: MIT */
/* Credentials files: the format-independent part. Every format supplies
 * primitives (creds.h); field extraction, scopes, the load chain and the
 * store order are here, once. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "creds.h"
#include "expiry.h"
#include "jsonptr.h"
#include "util.h"

void tokens_free(struct tokens *t)
{
    secret_free(t->access);
    secret_free(t->refresh);
    free(t->scope);
    free(t->base_url);
    t->access = t->refresh = t->scope = t->base_url = NULL;
    for (size_t i = 0; i < CREDS_MAX_EXTRA; i++) {
        secret_free(t->extra[i]);
        t->extra[i] = NULL;
    }
    t->expires_ms = EXPIRY_UNKNOWN;
}

/* The node at ptr in doc, or NULL. */
static json_t *get(const struct creds_format *fmt, void *doc, const char *ptr)
{
    return jsonptr_get(fmt->root(doc), ptr, fmt->child);
}

/* A string field: absent, null or "" gives NULL; another type is an error. */
static enum cr_status get_string(const struct creds *c, const char *ptr, char **out, struct cr_err *err)
{
    *out = NULL;
    json_t *v = ptr ? get(c->format, c->doc, ptr) : NULL;
    if (!v || json_is_null(v))
        return CR_OK;
    size_t n;
    const char *s = c->format->string(v, &n);
    if (!s || memchr(s, '\0', n))
        return cr_fail(err, CR_ERR_CREDS_MALFORMED, "%s is not a string", ptr);
    if (n > 0)
        *out = xstrdup(s);
    return CR_OK;
}

int creds_unit_ms(double n, enum expiry_unit unit, int64_t *ms)
{
    if (unit == EXPIRY_UNIT_S)
        n *= 1000;
    if (!(n > -9.2e18 && n < 9.2e18))
        return -1;
    *ms = (int64_t)n;
    return 0;
}

/* A number of seconds or ms that decodes to after 2100, or to a positive
 * time before 2000, was written in the other unit. */
static enum cr_status check_unit(const struct creds_fields *f, int64_t ms, struct cr_err *err)
{
    if (ms <= 0 || (ms >= EXPIRY_SANE_FROM_MS && ms < EXPIRY_SANE_TO_MS))
        return CR_OK;
    const char *unit = f->unit == EXPIRY_UNIT_S ? "s" : "ms";
    return cr_fail(err, CR_ERR_EXPIRY_UNIT,
                   "%s read in %s is a time %s the year %s: the file writes it in another unit; give the right "
                   "--expiry-unit (s or ms)",
                   f->expiry, unit, ms < EXPIRY_SANE_FROM_MS ? "before" : "after", ms < EXPIRY_SANE_FROM_MS ? "2000" : "2100");
}

static enum cr_status get_expiry(struct creds *c, struct cr_err *err)
{
    const struct creds_fields *f = c->fields;
    c->t.expires_ms = EXPIRY_UNKNOWN;
    if (f->unit == EXPIRY_UNIT_JWT) {
        if (c->t.access)
            c->t.expires_ms = creds_jwt_exp_ms(c->t.access);
        return CR_OK;
    }
    json_t *v = f->expiry ? get(c->format, c->doc, f->expiry) : NULL;
    if (!v || json_is_null(v))
        return CR_OK;
    double n;
    int64_t ms;
    int kind;
    if (json_is_number(v)) {
        if (f->unit == EXPIRY_UNIT_RFC3339)
            return cr_fail(err, CR_ERR_CREDS_MALFORMED, "%s is not an RFC 3339 time", f->expiry);
        n = json_number_value(v);
        kind = 1;
    } else {
        kind = json_is_string(v) ? c->format->read_time(c->doc, v, f->unit, &n, &ms) : -1;
    }
    if (kind < 0) {
        if (f->unit == EXPIRY_UNIT_RFC3339)
            return cr_fail(err, CR_ERR_CREDS_MALFORMED, "%s is not an RFC 3339 time", f->expiry);
        return cr_fail(err, CR_ERR_CREDS_MALFORMED, "%s is not a number", f->expiry);
    }
    if (kind == 1) {
        if (creds_unit_ms(n, f->unit, &ms) != 0)
            return cr_fail(err, CR_ERR_CREDS_MALFORMED, "%s is out of range", f->expiry);
        enum cr_status st = check_unit(f, ms, err);
        if (st != CR_OK)
            return st;
    }
    c->t.expires_ms = ms;
    return CR_OK;
}

/* Scopes: a list of strings, or one space-separated string. */
static enum cr_status get_scopes(struct creds *c, struct cr_err *err)
{
    const char *ptr = c->fields->scopes;
    json_t *v = ptr ? get(c->format, c->doc, ptr) : NULL;
    if (!v || json_is_null(v))
        return CR_OK;
    if (json_is_string(v))
        return get_string(c, ptr, &c->t.scope, err);
    if (!c->format->is_list(v))
        return cr_fail(err, CR_ERR_CREDS_MALFORMED, "%s is not a list of strings", ptr);
    size_t i, n, total = 1;
    json_t *s;
    json_array_foreach(v, i, s)
    {
        if (!json_is_string(s) || !c->format->string(s, &n))
            return cr_fail(err, CR_ERR_CREDS_MALFORMED, "%s is not a list of strings", ptr);
        total += n + 1;
    }
    if (json_array_size(v) == 0)
        return CR_OK;
    char *joined = xmalloc(total), *o = joined;
    json_array_foreach(v, i, s)
    {
        const char *str = c->format->string(s, &n);
        if (i)
            *o++ = ' ';
        memcpy(o, str, n);
        o += n;
    }
    *o = '\0';
    c->t.scope = joined;
    return CR_OK;
}

/* Fill c->t from c->doc. */
static enum cr_status extract(struct creds *c, struct cr_err *err)
{
    const struct creds_fields *f = c->fields;
    enum cr_status st;
    if ((st = get_string(c, f->access, &c->t.access, err)) != CR_OK ||
        (st = get_string(c, f->refresh, &c->t.refresh, err)) != CR_OK || (st = get_expiry(c, err)) != CR_OK ||
        (st = get_scopes(c, err)) != CR_OK || (st = get_string(c, f->base_url, &c->t.base_url, err)) != CR_OK)
        return st;
    return CR_OK;
}

enum cr_status creds_load(struct creds *c, const struct creds_format *format, const struct creds_fields *fields,
                          const char *buf, size_t len, struct cr_err *err)
{
    memset(c, 0, sizeof *c);
    c->format = format;
    c->fields = fields;
    c->t.expires_ms = EXPIRY_UNKNOWN;
    jsonptr_wipe_on_free();
    enum cr_status st = format->parse(buf, len, &c->doc, err);
    if (st == CR_OK)
        st = extract(c, err);
    if (st != CR_OK)
        creds_free(c);
    return st;
}

void creds_update(struct creds *c, const char *access, const char *refresh, int64_t expires_ms, const char *scope)
{
    secret_free(c->t.access);
    c->t.access = access && *access ? xstrdup(access) : NULL;
    if (refresh && *refresh) {
        secret_free(c->t.refresh);
        c->t.refresh = xstrdup(refresh);
    }
    c->t.expires_ms = expires_ms;
    if (scope && *scope) {
        free(c->t.scope);
        c->t.scope = xstrdup(scope);
    }
}

void creds_set_extra(struct creds *c, size_t i, const char *value)
{
    if (i >= CREDS_MAX_EXTRA || !c->fields->extra[i])
        return;
    secret_free(c->t.extra[i]);
    c->t.extra[i] = xstrdup(value);
}

/* Set the value at ptr in doc to value (stolen), creating missing maps (or
 * replacing nulls) on the way. 0, or -1 when a step cannot hold a child. */
static int pointer_put(const struct creds_format *fmt, void *doc, const char *ptr, json_t *value)
{
    json_t *node = fmt->root(doc);
    const char *p = ptr;
    while (*p == '/') {
        const char *end = strchr(p + 1, '/');
        if (!end)
            end = p + strlen(p);
        char *tok = jsonptr_token(p + 1, end);
        if (!*end) {
            int rc = fmt->put(node, tok, value);
            free(tok);
            return rc;
        }
        json_t *next = fmt->child(node, tok, strlen(tok));
        if (!next || json_is_null(next)) {
            next = fmt->make_map(doc);
            json_incref(next); /* borrowed below once put holds it */
            int rc = fmt->put(node, tok, next);
            json_decref(next);
            if (rc != 0)
                next = NULL;
        }
        free(tok);
        if (!json_is_object(next) && !json_is_array(next))
            break;
        node = next;
        p = end;
    }
    json_decref(value);
    return -1;
}

/* Write t into doc in the one store order: access, refresh, expiry, scopes,
 * last refresh, extras. CR_OK, or CR_ERR_CANNOT_PLACE naming the first
 * pointer that could not be set. */
static enum cr_status put_all(const struct creds_format *fmt, const struct creds_fields *f, void *doc,
                              const struct tokens *t, int64_t now, struct cr_err *err)
{
    const char *bad = NULL;
#define PUT(ptr, value)                                                                                                \
    do {                                                                                                               \
        if (pointer_put(fmt, doc, (ptr), (value)) != 0 && !bad)                                                        \
            bad = (ptr);                                                                                               \
    } while (0)
    PUT(f->access, fmt->make_string(t->access));
    if (t->refresh)
        PUT(f->refresh, fmt->make_string(t->refresh));
    if (f->expiry && f->unit != EXPIRY_UNIT_JWT)
        PUT(f->expiry, fmt->make_time(doc, f->unit, t->expires_ms));
    if (f->scopes && t->scope) {
        json_t *old = get(fmt, doc, f->scopes);
        PUT(f->scopes, json_is_string(old) ? fmt->make_string(t->scope) : fmt->make_list(t->scope));
    }
    if (f->last_refresh) {
        char ts[40];
        expiry_format_rfc3339(now, ts, sizeof ts);
        PUT(f->last_refresh, fmt->make_string(ts));
    }
    for (size_t i = 0; i < CREDS_MAX_EXTRA; i++)
        if (f->extra[i] && t->extra[i])
            PUT(f->extra[i], fmt->make_string(t->extra[i]));
#undef PUT
    if (bad)
        return cr_fail(err, CR_ERR_CANNOT_PLACE,
                       "cannot place the new tokens at %s: a value on its way is neither a map nor a list that holds "
                       "it; fix the pointer or the file",
                       bad);
    return CR_OK;
}

enum cr_status creds_store(struct creds *c, char **out, size_t *outlen, struct cr_err *err)
{
    enum cr_status st = put_all(c->format, c->fields, c->doc, &c->t, expiry_now_ms(), err);
    if (st != CR_OK)
        return st;
    return c->format->dump(c->doc, out, outlen, err);
}

/* True when the node at ptr reads back as the string want. */
static bool reads_back(const struct creds *c, const char *ptr, const char *want)
{
    json_t *v = get(c->format, c->doc, ptr);
    size_t n;
    const char *s = v ? c->format->string(v, &n) : NULL;
    return s && n == strlen(want) && memcmp(s, want, n) == 0;
}

enum cr_status creds_check_store(const struct creds *c, struct cr_err *err)
{
    const struct creds_fields *f = c->fields;
    const char *missing = !get(c->format, c->doc, f->access)    ? f->access
                          : !get(c->format, c->doc, f->refresh) ? f->refresh
                                                                : NULL;
    if (missing)
        return cr_fail(err, CR_ERR_CANNOT_PLACE,
                       "%s names nothing in the file: check the pointer given as --%s-field, or log in again if the "
                       "file holds no login",
                       missing, missing == f->access ? "access" : "refresh");
    /* Stand-ins shaped like the answer: every field the store may write. */
    int64_t now = expiry_now_ms();
    char access[] = "credrun-check-access", refresh[] = "credrun-check-refresh", word[] = "credrun-check";
    struct tokens t = {.access = access,
                       .refresh = refresh,
                       .expires_ms = now + EXPIRES_IN_MAX_S * 1000,
                       .scope = c->t.scope ? c->t.scope : word};
    for (size_t i = 0; i < CREDS_MAX_EXTRA; i++)
        t.extra[i] = f->extra[i] ? word : NULL;
    struct creds copy = {.format = c->format, .fields = f, .doc = c->format->copy(c->doc)};
    enum cr_status st = put_all(c->format, f, copy.doc, &t, now, err);
    char *out = NULL;
    size_t len = 0;
    if (st == CR_OK)
        st = c->format->dump(copy.doc, &out, &len, err);
    c->format->free_doc(copy.doc);
    if (st != CR_OK)
        return st;
    struct creds back;
    struct cr_err berr;
    st = creds_load(&back, c->format, f, out, len, &berr);
    secret_free_n(out, len);
    if (st != CR_OK) /* berr speaks of the stand-ins, never of the file's tokens */
        return cr_fail(err, CR_ERR_CANNOT_PLACE,
                       "the new tokens would not read back from %s after a refresh (%s): fix the pointers or the file",
                       f->access, berr.msg);
    const char *lost = NULL;
    if (!reads_back(&back, f->access, t.access))
        lost = f->access;
    else if (!reads_back(&back, f->refresh, t.refresh))
        lost = f->refresh;
    else if (f->expiry && f->unit != EXPIRY_UNIT_JWT && back.t.expires_ms != t.expires_ms &&
             back.t.expires_ms / 1000 != t.expires_ms / 1000)
        lost = f->expiry;
    creds_free(&back);
    if (lost)
        return cr_fail(err, CR_ERR_CANNOT_PLACE,
                       "the new tokens would not read back from %s after a refresh: fix the pointer or the file",
                       lost);
    return CR_OK;
}

void creds_free(struct creds *c)
{
    if (c->doc && c->format)
        c->format->free_doc(c->doc);
    c->doc = NULL;
    tokens_free(&c->t);
}
