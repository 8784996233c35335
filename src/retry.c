/* SPDX-License-Identifier: MIT */
/* Quick retries of token requests that cannot have spent the token. */
#include "config.h"

#include <errno.h>
#include <time.h>

#include "log.h"
#include "retry.h"

/* The monotonic clock in ms. */
static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t retry_delay_ms(enum cr_status st, const struct http_response *res, int attempt, int64_t remaining_ms)
{
    static const int64_t pause[RETRY_MAX] = {250, 1000};
    bool server_failed = st == CR_OK && res->status >= 500 && res->status < 600;
    bool never_sent = st == CR_ERR_UNREACHABLE && !res->sent && res->status == 0;
    if (!server_failed && !never_sent)
        return -1;
    if (server_failed && res->retry_after[0])
        return -1; /* it said when to come back: the shared cooldown waits that long */
    if (attempt < 0 || attempt >= RETRY_MAX)
        return -1;
    /* The next attempt needs at least one whole second of --http-timeout. */
    if (remaining_ms - pause[attempt] < 1000)
        return -1;
    return pause[attempt];
}

enum cr_status retry_http_post(const struct http_request *req, struct http_response *res, int *attempts, struct cr_err *err)
{
    int64_t deadline = mono_ms() + (int64_t)req->timeout_s * 1000;
    struct http_request r = *req;
    enum cr_status st;
    for (int attempt = 0;; attempt++) {
        *attempts = attempt + 1;
        st = http_post(&r, res, err);
        int64_t delay = retry_delay_ms(st, res, attempt, deadline - mono_ms());
        if (delay < 0)
            return st;
        log_info("token request failed (%s); trying again in %lld ms",
                 st == CR_OK ? "server error" : "no connection", (long long)delay);
        http_response_free(res);
        struct timespec ts = {.tv_sec = (time_t)(delay / 1000), .tv_nsec = (long)(delay % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
            ;
        r.timeout_s = (long)((deadline - mono_ms()) / 1000);
        if (r.timeout_s < 1)
            r.timeout_s = 1;
    }
}
