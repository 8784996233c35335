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
};

/* Check that url may carry a refresh token: https, or http to a loopback
 * host (127.0.0.0/8, ::1, localhost). *loopback tells whether the host is
 * loopback (then no proxy may be used). On refusal, why says so. */
enum cr_status oauth_check_url(const char *url, bool *loopback, char *why, size_t whylen) __attribute__((__nonnull__));

/* The body of a refresh-token grant, newly allocated (wipe it after use).
 * scope and client_id may be NULL: left out. */
char *oauth_request_body(enum oauth_body kind, const char *refresh_token, const char *client_id, const char *scope)
    __attribute__((__nonnull__(2)));

/* A parsed token response. Strings owned; wipe with oauth_response_free. */
struct oauth_response {
    char *access_token;
    char *refresh_token;
    bool has_expires_in;
    double expires_in;
    char *scope;
    char error[64]; /* the OAuth "error" code, printable ASCII, or "" */
};

/* Classify an HTTP answer and parse its body. Returns CR_OK with r filled for
 * a usable 2xx; otherwise a status (CR_ERR_REJECTED for invalid_grant and
 * its equivalents, CR_ERR_CONFIG for other 4xx, CR_ERR_RATE_LIMITED for 429,
 * CR_ERR_UNREACHABLE for 3xx and 5xx, CR_ERR_BAD_RESPONSE for junk) and a
 * message in why. A 2xx whose access token is unusable but that carries a new
 * refresh token returns CR_ERR_BAD_RESPONSE with r->refresh_token set: the
 * old one is spent, so the caller must store it. */
enum cr_status oauth_parse_response(long http_status, const char *body, size_t len, struct oauth_response *r, char *why,
                                    size_t whylen) __attribute__((__nonnull__(4, 5)));

void oauth_response_free(struct oauth_response *r);

#endif
