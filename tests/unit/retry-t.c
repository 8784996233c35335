/* SPDX-License-Identifier: MIT */
/* Unit tests for which failed requests are retried at once, and after how
 * long. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "retry.h"
#include "tap.h"

static void test_retry(void)
{
    struct http_response r;
    memset(&r, 0, sizeof r);
    r.status = 503;
    r.sent = true;
    is_int(retry_delay_ms(CR_OK, &r, 0, 30000), 250, "a 5xx is retried after 250 ms");
    is_int(retry_delay_ms(CR_OK, &r, 1, 30000), 1000, "then after 1 s");
    is_int(retry_delay_ms(CR_OK, &r, 2, 30000), -1, "but not a third time");
    is_int(retry_delay_ms(CR_OK, &r, 0, 1200), -1, "nor when --http-timeout leaves no whole second");
    snprintf(r.retry_after, sizeof r.retry_after, "30");
    is_int(retry_delay_ms(CR_OK, &r, 0, 30000), -1, "nor a 5xx that says when to come back");
    r.retry_after[0] = '\0';
    r.status = 429;
    is_int(retry_delay_ms(CR_OK, &r, 0, 30000), -1, "a 429 is not retried");
    r.status = 400;
    is_int(retry_delay_ms(CR_OK, &r, 0, 30000), -1, "a 4xx is not retried");
    r.status = 200;
    is_int(retry_delay_ms(CR_OK, &r, 0, 30000), -1, "a success is not retried");
    memset(&r, 0, sizeof r);
    is_int(retry_delay_ms(CR_ERR_UNREACHABLE, &r, 0, 30000), 250, "a connection that never carried the request is");
    r.sent = true;
    is_int(retry_delay_ms(CR_ERR_UNREACHABLE, &r, 0, 30000), -1, "a request cut off after it was sent is not");
    r.timed_out = true;
    is_int(retry_delay_ms(CR_ERR_BAD_RESPONSE, &r, 0, 30000), -1, "nor one that timed out");
}

int main(void)
{
    test_retry();
    return tap_done();
}
