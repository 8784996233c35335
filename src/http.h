/* SPDX-License-Identifier: MIT */
/* One HTTPS POST through libcurl, which is dlopen()ed on first use so runs
 * that need no refresh never pay for loading it. */
#ifndef CREDRUN_HTTP_H
#define CREDRUN_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "status.h"

struct http_request {
    const char *url;
    const char *content_type;
    const char *body;
    size_t body_len;
    long timeout_s;      /* the whole request */
    const char *cacert;  /* CA bundle instead of the system's, or NULL */
    bool loopback;       /* never use a proxy */
    bool allow_http;     /* plain http allowed (loopback only) */
    size_t max_response; /* larger bodies are an error */
    void (*tick)(void *); /* called about every second while the request runs, or NULL */
    void *tick_arg;
};

struct http_response {
    long status;        /* HTTP status, 0 when none arrived */
    char *body;         /* NUL-terminated; wipe with http_response_free */
    size_t len;
    bool too_large;     /* the body passed max_response */
    bool timed_out;     /* the whole-request timeout struck */
    bool sent;          /* the request may have reached the server */
    char retry_after[64];
};

/* POST the request. Returns CR_OK when an HTTP answer arrived (any status);
 * CR_ERR_UNREACHABLE when none did (err says so), CR_ERR_BAD_RESPONSE when
 * the body was too large or never ended, CR_ERR_OS when libcurl cannot be
 * loaded. */
enum cr_status http_post(const struct http_request *req, struct http_response *res, struct cr_err *err)
    __attribute__((__nonnull__));

void http_response_free(struct http_response *res);

#endif
