/* SPDX-License-Identifier: MIT */
/* A couple of quick retries around the token request, for failures that
 * cannot have spent the refresh token: a 5xx answer (unless it says when to
 * come back with Retry-After), or a connection that never carried the
 * request. A request that was sent and not answered (a
 * timeout, a connection cut mid-way) may have been served and its token
 * rotated, so it is never retried blindly. */
#ifndef CREDRUN_RETRY_H
#define CREDRUN_RETRY_H

#include <stdint.h>

#include "http.h"
#include "status.h"

#define RETRY_MAX 2 /* retries after the first attempt */

/* The pause before the next attempt after attempt number attempt (0 for the
 * first) ended with st and res, when remaining_ms of the whole request's time
 * are left; -1 when there must be no further attempt. */
int64_t retry_delay_ms(enum cr_status st, const struct http_response *res, int attempt, int64_t remaining_ms)
    __attribute__((__nonnull__));

/* http_post() with the retries above, all within req->timeout_s. res holds
 * the last attempt's answer; *attempts counts the requests tried. */
enum cr_status retry_http_post(const struct http_request *req, struct http_response *res, int *attempts, struct cr_err *err) __attribute__((__nonnull__));

#endif
