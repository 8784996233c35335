/* SPDX-License-Identifier: MIT */
/* The OAuth refresh-token grant, without I/O. */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "creds.h"
#include "expiry.h"
#include "oauth.h"
#include "util.h"

static bool host_is_loopback(const char *host, size_t n)
{
    char buf[64];
    if (n == 0 || n >= sizeof buf)
        return false;
    memcpy(buf, host, n);
    buf[n] = '\0';
    if (strcasecmp(buf, "localhost") == 0)
        return true;
    if (buf[0] == '[') {
        if (buf[n - 1] != ']')
            return false;
        buf[n - 1] = '\0';
        /* not in6addr_loopback: a data symbol every run would bind at startup */
        static const struct in6_addr lo6 = IN6ADDR_LOOPBACK_INIT;
        struct in6_addr a6;
        return inet_pton(AF_INET6, buf + 1, &a6) == 1 && memcmp(&a6, &lo6, sizeof a6) == 0;
    }
    struct in_addr a4;
    return inet_pton(AF_INET, buf, &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127;
}

enum cr_status oauth_check_url(const char *url, bool *loopback, struct cr_err *err)
{
    const char *rest;
    bool https;
    if (strncasecmp(url, "https://", 8) == 0) {
        https = true;
        rest = url + 8;
    } else if (strncasecmp(url, "http://", 7) == 0) {
        https = false;
        rest = url + 7;
    } else {
        return cr_fail(err, CR_ERR_USAGE, "token URL must start with https:// (http:// only for loopback hosts)");
    }
    size_t authority = strcspn(rest, "/?#");
    const char *at = memchr(rest, '@', authority);
    if (at) {
        return cr_fail(err, CR_ERR_USAGE, "token URL must not carry a user name or password");
    }
    size_t hostlen;
    if (rest[0] == '[') {
        const char *close = memchr(rest, ']', authority);
        hostlen = close ? (size_t)(close - rest) + 1 : authority;
    } else {
        hostlen = strcspn(rest, ":/?#");
    }
    if (hostlen == 0) {
        return cr_fail(err, CR_ERR_USAGE, "token URL has no host");
    }
    *loopback = host_is_loopback(rest, hostlen);
    if (!https && !*loopback) {
        return cr_fail(err, CR_ERR_USAGE, "token URL must use https:// (http:// is allowed only for 127.0.0.0/8, ::1 and localhost)");
    }
    return CR_OK;
}

/* Append s to a form body, percent-encoding all but unreserved characters. */
static void form_append(char **buf, size_t *len, size_t *cap, const char *key, const char *val)
{
    size_t need = *len + strlen(key) + 3 * strlen(val) + 3;
    if (need > *cap) {
        size_t ncap = need * 2;
        char *n = xmalloc(ncap);
        memcpy(n, *buf, *len);
        secret_free_n(*buf, *cap);
        *buf = n;
        *cap = ncap;
    }
    char *o = *buf + *len;
    if (*len)
        *o++ = '&';
    o += sprintf(o, "%s=", key);
    for (const unsigned char *p = (const unsigned char *)val; *p; p++) {
        if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~')
            *o++ = (char)*p;
        else
            o += sprintf(o, "%%%02X", *p);
    }
    *o = '\0';
    *len = (size_t)(o - *buf);
}

/* The body of a plain OAuth refresh-token grant (form or JSON). */
static char *plain_body(enum oauth_body kind, const char *refresh_token, const char *client_id, const char *scope)
{
    if (kind == OAUTH_BODY_FORM) {
        size_t len = 0, cap = 256;
        char *buf = xmalloc(cap);
        buf[0] = '\0';
        form_append(&buf, &len, &cap, "grant_type", "refresh_token");
        form_append(&buf, &len, &cap, "refresh_token", refresh_token);
        if (client_id)
            form_append(&buf, &len, &cap, "client_id", client_id);
        if (scope)
            form_append(&buf, &len, &cap, "scope", scope);
        return buf;
    }
    json_t *o = json_object();
    json_object_set_new(o, "grant_type", json_string("refresh_token"));
    json_object_set_new(o, "refresh_token", json_string(refresh_token));
    if (client_id)
        json_object_set_new(o, "client_id", json_string(client_id));
    if (scope)
        json_object_set_new(o, "scope", json_string(scope));
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!s)
        abort();
    return s;
}

char *oauth_request_body_shaped(enum oauth_body kind, const struct oauth_shape *shape, const char *refresh_token,
                                const char *client_id, const char *scope)
{
    if (kind != OAUTH_BODY_JSON_NAMED)
        return plain_body(kind, refresh_token, client_id, scope);
    json_t *o = json_object();
    const char *name = shape && shape->refresh_param ? shape->refresh_param : "refresh_token";
    json_object_set_new(o, name, json_string(refresh_token));
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!s)
        abort();
    return s;
}

/* Copy the OAuth error code into r->error when it is a plain word
 * (invalid_grant): anything else is answer content that may hold a secret
 * or escape sequences, and is never put in a message. */
static void set_error(struct oauth_response *r, const char *code)
{
    if (is_plain_word(code))
        snprintf(r->error, sizeof r->error, "%s", code);
}

/* The error code of an error answer: OAuth's "error" string, or Codex-style
 * {"error":{"code":...}}. */
static void extract_error(json_t *root, struct oauth_response *r)
{
    json_t *e = json_object_get(root, "error");
    if (json_is_string(e))
        set_error(r, json_string_value(e));
    else if (json_is_object(e)) {
        json_t *code = json_object_get(e, "code");
        if (!json_is_string(code))
            code = json_object_get(e, "type");
        if (json_is_string(code))
            set_error(r, json_string_value(code));
    }
}

static bool refresh_token_dead(const char *code)
{
    static const char *const dead[] = {"invalid_grant", "refresh_token_reused", "refresh_token_expired",
                                       "refresh_token_invalidated"};
    for (size_t i = 0; i < sizeof dead / sizeof *dead; i++)
        if (strcmp(code, dead[i]) == 0)
            return true;
    return false;
}

static char *dup_nonempty_string(json_t *v)
{
    return json_is_string(v) && json_string_length(v) > 0 && !memchr(json_string_value(v), '\0', json_string_length(v))
               ? xstrdup(json_string_value(v))
               : NULL;
}

/* A member name of the answer: the shape's, else OAuth's. */
static const char *member(const char *shaped, const char *oauth)
{
    return shaped ? shaped : oauth;
}

enum cr_status oauth_parse_response_shaped(long status, const char *body, size_t len, const struct oauth_shape *shape,
                                           struct oauth_response *r, struct cr_err *err)
{
    static const struct oauth_shape plain;
    if (!shape)
        shape = &plain;
    memset(r, 0, sizeof *r);
    json_t *root = body && len ? json_loadb(body, len, 0, NULL) : NULL;
    if (!json_is_object(root)) {
        json_decref(root);
        root = NULL;
    }
    enum cr_status st = CR_OK;
    if (status >= 200 && status < 300) {
        if (!root) {
            return cr_fail(err, CR_ERR_BAD_RESPONSE, "token endpoint answered %ld with a body that is not a JSON object", status);
        }
        r->access_token = dup_nonempty_string(json_object_get(root, member(shape->access, "access_token")));
        r->refresh_token = dup_nonempty_string(json_object_get(root, member(shape->refresh, "refresh_token")));
        r->scope = dup_nonempty_string(json_object_get(root, member(shape->scope, "scope")));
        for (size_t i = 0; i < OAUTH_MAX_EXTRA; i++)
            if (shape->extra[i])
                r->extra[i] = dup_nonempty_string(json_object_get(root, shape->extra[i]));
        if (shape->expires_at) {
            json_t *ea = json_object_get(root, shape->expires_at);
            if (ea && !json_is_null(ea)) {
                if (!json_is_string(ea) || expiry_parse_rfc3339_unbounded(json_string_value(ea), &r->expires_at_ms) != 0) {
                    cr_fail(err, CR_ERR_BAD_RESPONSE, "token endpoint answered %ld with a %s that is not an RFC 3339 time", status,
                             shape->expires_at);
                    json_decref(root);
                    return CR_ERR_BAD_RESPONSE;
                }
                r->has_expires_at = true;
            }
        }
        json_t *ei = json_object_get(root, member(shape->expires_in, "expires_in"));
        if (json_is_number(ei)) {
            r->has_expires_in = true;
            r->expires_in = json_number_value(ei);
        } else if (json_is_string(ei)) {
            char *end;
            double d = strtod(json_string_value(ei), &end);
            if (end != json_string_value(ei) && !*end) {
                r->has_expires_in = true;
                r->expires_in = d;
            }
        }
        if (!r->access_token) {
            st = cr_fail(err, CR_ERR_BAD_RESPONSE, "token endpoint answered %ld without a usable %s", status,
                     member(shape->access, "access_token"));
        }
    } else if (status >= 300 && status < 400) {
        st = cr_fail(err, CR_ERR_UNREACHABLE, "token endpoint answered with a redirect (%ld), which credrun never follows; check --token-url",
                 status);
    } else if (status == 429) {
        st = cr_fail(err, CR_ERR_RATE_LIMITED, "token endpoint is rate limiting (429)");
    } else if (status >= 500 && status < 600) {
        st = cr_fail(err, CR_ERR_UNREACHABLE, "token endpoint failed (%ld); try again later", status);
    } else if (status >= 400 && status < 500) {
        if (root)
            extract_error(root, r);
        if ((status == 400 || status == 401) && refresh_token_dead(r->error)) {
            st = cr_fail(err, CR_ERR_REJECTED, "token endpoint rejected the refresh token (%s): log in again", r->error);
        } else {
            st = cr_fail(err, CR_ERR_REQUEST_REFUSED,
                     "token endpoint refused the request (%ld %s); check --token-url, --client-id and the scopes; the "
                     "refresh token was kept",
                     status, r->error[0] ? r->error : "no error code credrun shows");
        }
    } else {
        st = cr_fail(err, CR_ERR_BAD_RESPONSE, "token endpoint answered with unexpected status %ld", status);
    }
    json_decref(root);
    return st;
}

int64_t oauth_response_expiry(const struct oauth_response *r, int64_t now_ms, bool jwt_first, bool *known)
{
    *known = true;
    /* An absolute expiry is kept to the window expires_in is: an answer
     * never makes credrun write a time it could not read back. */
    int64_t jwt = r->access_token && jwt_first ? creds_jwt_exp_ms(r->access_token) : EXPIRY_UNKNOWN;
    if (jwt != EXPIRY_UNKNOWN)
        return expiry_clamp_answer(now_ms, jwt);
    if (r->has_expires_at)
        return expiry_clamp_answer(now_ms, r->expires_at_ms);
    if (r->has_expires_in)
        return expiry_from_expires_in(now_ms, r->expires_in);
    jwt = r->access_token ? creds_jwt_exp_ms(r->access_token) : EXPIRY_UNKNOWN;
    if (jwt != EXPIRY_UNKNOWN)
        return expiry_clamp_answer(now_ms, jwt);
    *known = false;
    return expiry_from_expires_in(now_ms, 0);
}

void oauth_response_free(struct oauth_response *r)
{
    secret_free(r->access_token);
    secret_free(r->refresh_token);
    free(r->scope);
    r->access_token = r->refresh_token = r->scope = NULL;
    for (size_t i = 0; i < OAUTH_MAX_EXTRA; i++) {
        secret_free(r->extra[i]);
        r->extra[i] = NULL;
    }
}
