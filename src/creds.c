/* SPDX-License-Identifier: MIT */
/* Credentials files: the format-independent part. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "creds.h"
#include "expiry.h"
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

enum cr_status creds_load(struct creds *c, const struct creds_format *format, const struct creds_fields *fields,
                          const char *buf, size_t len, struct cr_err *err)
{
    memset(c, 0, sizeof *c);
    c->format = format;
    c->fields = fields;
    c->t.expires_ms = EXPIRY_UNKNOWN;
    enum cr_status st = format->load(c, buf, len, err);
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

enum cr_status creds_store(struct creds *c, char **out, size_t *outlen, struct cr_err *err)
{
    return c->format->store(c, out, outlen, err);
}

void creds_free(struct creds *c)
{
    if (c->doc && c->format)
        c->format->free_doc(c->doc);
    c->doc = NULL;
    tokens_free(&c->t);
}
