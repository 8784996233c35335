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

static json_t *child(json_t *node, const char *tok, size_t toklen)
{
    if (json_is_object(node))
        return json_object_getn(node, tok, toklen);
    if (json_is_array(node)) {
        char *end;
        unsigned long i = strtoul(tok, &end, 10);
        if (end == tok || *end)
            return NULL;
        return json_array_get(node, i);
    }
    return NULL;
}

/* The node at pointer ptr below root, or NULL. "" is root itself. */
static json_t *pointer_get(json_t *root, const char *ptr)
{
    return jsonptr_get(root, ptr, child);
}

/* Set the member at ptr to value (stolen), creating missing objects on the
 * way. Returns 0, or -1 when a step is not an object. */
static int pointer_set(json_t *root, const char *ptr, json_t *value)
{
    json_t *node = root;
    const char *p = ptr;
    int rc = -1;
    while (*p == '/') {
        const char *end = strchr(p + 1, '/');
        if (!end)
            end = p + strlen(p);
        char *tok = jsonptr_token(p + 1, end);
        if (!*end) {
            if (json_is_object(node)) {
                rc = json_object_set_new(node, tok, value);
                value = NULL;
            }
            free(tok);
            break;
        }
        json_t *next = child(node, tok, strlen(tok));
        if (!next && json_is_object(node)) {
            next = json_object();
            json_object_set_new(node, tok, next);
        }
        free(tok);
        if (!json_is_object(next) && !json_is_array(next))
            break;
        node = next;
        p = end;
    }
    json_decref(value);
    return rc;
}

/* A string field: absent or "" gives NULL; another type is an error. */
static enum cr_status get_string(json_t *root, const char *ptr, char **out, struct cr_err *err)
{
    *out = NULL;
    if (!ptr)
        return CR_OK;
    json_t *v = pointer_get(root, ptr);
    if (!v || json_is_null(v))
        return CR_OK;
    if (!json_is_string(v)) {
        return cr_fail(err, CR_ERR_CREDS_MALFORMED, "%s is not a string", ptr);
    }
    if (json_string_length(v) > 0)
        *out = xstrdup(json_string_value(v));
    return CR_OK;
}

static enum cr_status get_expiry(struct creds *c, json_t *root, struct cr_err *err)
{
    const struct creds_fields *f = c->fields;
    c->t.expires_ms = EXPIRY_UNKNOWN;
    if (f->unit == EXPIRY_UNIT_JWT) {
        if (c->t.access)
            c->t.expires_ms = creds_jwt_exp_ms(c->t.access);
        return CR_OK;
    }
    json_t *v = f->expiry ? pointer_get(root, f->expiry) : NULL;
    if (!v || json_is_null(v))
        return CR_OK;
    if (f->unit == EXPIRY_UNIT_RFC3339) {
        int64_t ms;
        if (!json_is_string(v) || expiry_parse_rfc3339(json_string_value(v), &ms) != 0) {
            return cr_fail(err, CR_ERR_CREDS_MALFORMED, "%s is not an RFC 3339 time", f->expiry);
        }
        c->t.expires_ms = ms;
        return CR_OK;
    }
    if (!json_is_number(v)) {
        return cr_fail(err, CR_ERR_CREDS_MALFORMED, "%s is not a number", f->expiry);
    }
    double n = json_number_value(v);
    if (f->unit == EXPIRY_UNIT_S)
        n *= 1000;
    if (!(n > -9.2e18 && n < 9.2e18)) {
        return cr_fail(err, CR_ERR_CREDS_MALFORMED, "%s is out of range", f->expiry);
    }
    c->t.expires_ms = (int64_t)n;
    return CR_OK;
}

static enum cr_status get_scopes(struct creds *c, json_t *root, struct cr_err *err)
{
    const char *ptr = c->fields->scopes;
    json_t *v = ptr ? pointer_get(root, ptr) : NULL;
    if (!v || json_is_null(v))
        return CR_OK;
    if (json_is_string(v)) { /* a space-separated string is fine too */
        if (json_string_length(v))
            c->t.scope = xstrdup(json_string_value(v));
        return CR_OK;
    }
    if (!json_is_array(v)) {
        return cr_fail(err, CR_ERR_CREDS_MALFORMED, "%s is not a list of strings", ptr);
    }
    size_t total = 1, i;
    json_t *s;
    json_array_foreach(v, i, s)
    {
        if (!json_is_string(s)) {
            return cr_fail(err, CR_ERR_CREDS_MALFORMED, "%s is not a list of strings", ptr);
        }
        total += json_string_length(s) + 1;
    }
    if (json_array_size(v) == 0)
        return CR_OK;
    char *joined = xmalloc(total), *o = joined;
    json_array_foreach(v, i, s)
    {
        if (i)
            *o++ = ' ';
        size_t n = json_string_length(s);
        memcpy(o, json_string_value(s), n);
        o += n;
    }
    *o = '\0';
    c->t.scope = joined;
    return CR_OK;
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

static enum cr_status json_load(struct creds *c, const char *buf, size_t len, struct cr_err *err)
{
    jsonptr_wipe_on_free();
    json_error_t jerr;
    json_t *root = json_loadb(buf, len, JSON_ALLOW_NUL, &jerr);
    if (!root) {
        return cr_fail(err, CR_ERR_CREDS_MALFORMED, "not valid JSON (line %d, column %d)", jerr.line, jerr.column);
    }
    c->doc = root;
    if (!json_is_object(root)) {
        return cr_fail(err, CR_ERR_CREDS_MALFORMED, "not a JSON object");
    }
    c->style = detect_indent(buf, len);
    if (len && buf[len - 1] == '\n')
        c->style |= 0x100; /* keep the final newline */
    enum cr_status st;
    if ((st = get_string(root, c->fields->access, &c->t.access, err)) != CR_OK ||
        (st = get_string(root, c->fields->refresh, &c->t.refresh, err)) != CR_OK ||
        (st = get_expiry(c, root, err)) != CR_OK || (st = get_scopes(c, root, err)) != CR_OK ||
        (st = get_string(root, c->fields->base_url, &c->t.base_url, err)) != CR_OK)
        return st;
    return CR_OK;
}

static enum cr_status json_store(struct creds *c, char **out, size_t *outlen, struct cr_err *err)
{
    json_t *root = c->doc;
    const struct creds_fields *f = c->fields;
    const struct tokens *t = &c->t;
    int bad = 0;
    bad |= pointer_set(root, f->access, json_string(t->access ? t->access : ""));
    if (t->refresh)
        bad |= pointer_set(root, f->refresh, json_string(t->refresh));
    if (f->expiry && f->unit != EXPIRY_UNIT_JWT) {
        json_t *v;
        if (f->unit == EXPIRY_UNIT_MS) {
            v = json_integer(t->expires_ms);
        } else if (f->unit == EXPIRY_UNIT_S) {
            v = json_integer(t->expires_ms / 1000);
        } else {
            char ts[40];
            expiry_format_rfc3339(t->expires_ms, ts, sizeof ts);
            v = json_string(ts);
        }
        bad |= pointer_set(root, f->expiry, v);
    }
    if (f->scopes && t->scope) {
        json_t *old = pointer_get(root, f->scopes);
        bad |= pointer_set(root, f->scopes, json_is_string(old) ? json_string(t->scope) : jsonptr_words(t->scope, NULL));
    }
    if (f->last_refresh) {
        char ts[40];
        expiry_format_rfc3339(expiry_now_ms(), ts, sizeof ts);
        bad |= pointer_set(root, f->last_refresh, json_string(ts));
    }
    for (size_t i = 0; i < CREDS_MAX_EXTRA; i++)
        if (f->extra[i] && t->extra[i])
            bad |= pointer_set(root, f->extra[i], json_string(t->extra[i]));
    if (bad) {
        return cr_fail(err, CR_ERR_CREDS_MALFORMED, "cannot place the new tokens: a parent of %s is not an object", f->access);
    }
    int indent = c->style & 0xff;
    size_t flags = JSON_PRESERVE_ORDER | (indent ? JSON_INDENT(indent) : JSON_COMPACT);
    return jsonptr_dump(root, flags, (c->style & 0x100) != 0, out, outlen, err);
}

static void json_free_doc(void *doc)
{
    json_decref(doc);
}

const struct creds_format creds_format_json = {
    .load = json_load,
    .store = json_store,
    .free_doc = json_free_doc,
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
