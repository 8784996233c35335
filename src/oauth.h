/* SPDX-License-Identifier: MIT */
/* The OAuth refresh-token grant, without I/O: which URLs may carry a token,
 * the request body, and what an answer means. */
#ifndef CREDRUN_OAUTH_H
#define CREDRUN_OAUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "status.h"

#define OAUTH_MAX_RESPONSE (64 * 1024)

/* How the request body is encoded. */
enum oauth_body {
    OAUTH_BODY_JSON, /* {"grant_type":"refresh_token",...} */
    OAUTH_BODY_FORM, /* grant_type=refresh_token&... */
    OAUTH_BODY_JSON_NAMED, /* {"<shape->refresh_param>":...} and nothing else (relay) */
};

#define OAUTH_MAX_EXTRA 4

/* What a provider's request and answer look like beyond RFC 6749: the name
 * of the one member of an OAUTH_BODY_JSON_NAMED body, the answer's member
 * names (NULL: OAuth's access_token, refresh_token, expires_in, scope; no
 * absolute expiry), and further string members to keep. All zero is plain
 * OAuth. */
struct oauth_shape {
    const char *refresh_param; /* OAUTH_BODY_JSON_NAMED: "refreshToken" */
    const char *access;
    const char *refresh;
    const char *expires_in; /* seconds from now */
    const char *expires_at; /* an RFC 3339 time ("accessTokenExpiresAt") */
    const char *scope;
    const char *extra[OAUTH_MAX_EXTRA]; /* e.g. "id_token"; answered into r->extra[i] */
};

/* Check that url may carry a refresh token: https, or http to a loopback
 * host (127.0.0.0/8, ::1, localhost). *loopback tells whether the host is
 * loopback (then no proxy may be used). On refusal, err says so. */
enum cr_status oauth_check_url(const char *url, bool *loopback, struct cr_err *err) __attribute__((__nonnull__));

/* The body of a refresh-token grant, newly allocated (wipe it after use):
 * OAUTH_BODY_JSON_NAMED sends only {"<shape->refresh_param>": refresh_token};
 * the others a plain OAuth grant, as a form or JSON, where scope and
 * client_id may be NULL (left out). shape may be NULL (plain OAuth). */
char *oauth_request_body_shaped(enum oauth_body kind, const struct oauth_shape *shape, const char *refresh_token,
                                const char *client_id, const char *scope) __attribute__((__nonnull__(3)));

/* A parsed token response. Strings owned; wipe with oauth_response_free. */
struct oauth_response {
    char *access_token;
    char *refresh_token;
    bool has_expires_in;
    double expires_in;
    char *scope;
    char error[64]; /* the OAuth "error" code, printable ASCII, or "" */
    bool has_expires_at;
    int64_t expires_at_ms;             /* shape->expires_at, when has_expires_at */
    char *extra[OAUTH_MAX_EXTRA];      /* shape->extra[i]'s string value, or NULL */
};

/* Classify an HTTP answer and parse its body. Returns CR_OK with r filled for
 * a usable 2xx; otherwise a status (CR_ERR_REJECTED for invalid_grant and
 * its equivalents, CR_ERR_REQUEST_REFUSED for other 4xx, CR_ERR_RATE_LIMITED for 429,
 * CR_ERR_UNREACHABLE for 3xx and 5xx, CR_ERR_BAD_RESPONSE for junk) and a
 * message in err. A 2xx whose access token is unusable but that carries a new
 * refresh token returns CR_ERR_BAD_RESPONSE with r->refresh_token set: the
 * old one is spent, so the caller must store it.
 * The answer's member names come from shape (NULL: plain OAuth); an
 * absolute expiry that is not an RFC 3339 time is a bad response. */
enum cr_status oauth_parse_response_shaped(long http_status, const char *body, size_t len,
                                           const struct oauth_shape *shape, struct oauth_response *r, struct cr_err *err) __attribute__((__nonnull__(5, 6)));

/* When the new access token expires, in epoch ms: the answer's absolute
 * expiry, else its expires_in from now, else the "exp" claim of the new
 * token when it is a JWT (jwt_first puts that first: the file keeps no
 * expiry of its own). *known is false when none of them was there (then the
 * token is taken to live 1 s). Every result lies in [now + 1 s, now + 1 year],
 * the window expires_in is clamped to. */
int64_t oauth_response_expiry(const struct oauth_response *r, int64_t now_ms, bool jwt_first, bool *known)
    __attribute__((__nonnull__(1, 4)));

void oauth_response_free(struct oauth_response *r);

#endif
