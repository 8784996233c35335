/* SPDX-License-Identifier: MIT */
/* libFuzzer target: Retry-After values, delay-seconds and the three
 * HTTP-date forms (src/state.c), and the retry decision around them
 * (src/retry.c). A parsed delay is never negative nor above one day; a
 * date that parses gives the same instant written again as an IMF-fixdate. */
#define _GNU_SOURCE
#include "config.h"

#include <time.h>

#include "fuzz.h"
#include "http.h"
#include "retry.h"
#include "state.h"

/* ---- the module's API, in one place --------------------------------------- */

static int parse_retry_after(const char *v, int64_t now_ms, int64_t *delay_ms)
{
    return state_parse_retry_after(v, now_ms, delay_ms);
}

/* ---- the oracle ----------------------------------------------------------- */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 256)
        return 0; /* a header value; http.c keeps 64 bytes */
    char *v = fuzz_cstr(data, size);
    static const int64_t nows[] = {0, 784111777000LL, 1764064800000LL, 4102444800000LL};
    for (size_t i = 0; i < sizeof nows / sizeof *nows; i++) {
        int64_t d = -42;
        if (parse_retry_after(v, nows[i], &d) == 0) {
            FUZZ_CHECK(d >= 0 && d <= STATE_RETRY_AFTER_MAX_MS, "delay %lld for '%s'", (long long)d, v);
        } else {
            FUZZ_CHECK(d == -42, "delay written on failure for '%s'", v);
        }
    }
    /* An HTTP-date that parses names an instant: written again as an
     * IMF-fixdate it must give the same delay. */
    for (size_t i = 0; size && !(v[0] >= '0' && v[0] <= '9') && i < sizeof nows / sizeof *nows; i++) {
        int64_t d1, d2;
        if (parse_retry_after(v, nows[i], &d1) != 0 || d1 <= 0 || d1 >= STATE_RETRY_AFTER_MAX_MS)
            continue;
        time_t t = (time_t)((nows[i] + d1) / 1000);
        struct tm tm;
        char buf[64];
        FUZZ_CHECK(gmtime_r(&t, &tm), "gmtime");
        strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        FUZZ_CHECK(parse_retry_after(buf, nows[i], &d2) == 0 && d2 == d1, "'%s' is %lld ms, '%s' is %lld ms", v,
                   (long long)d1, buf, (long long)d2);
    }
    /* The retry decision with this header on a 5xx: never retried blindly. */
    struct http_response res;
    memset(&res, 0, sizeof res);
    res.status = 503;
    res.sent = true;
    snprintf(res.retry_after, sizeof res.retry_after, "%s", v);
    for (int attempt = -1; attempt <= RETRY_MAX; attempt++) {
        int64_t p = retry_delay_ms(CR_OK, &res, attempt, 30000);
        FUZZ_CHECK(p == -1 || (p > 0 && p <= 1000 && !res.retry_after[0]), "pause %lld", (long long)p);
    }
    free(v);
    return 0;
}
