/* SPDX-License-Identifier: MIT */
/* Unit tests for supervise mode's arithmetic: when to check next, and the
 * retry policy after a failed refresh. */
#include "config.h"

#include "expiry.h"
#include "supervise.h"
#include "tap.h"

int main(void)
{
    const int64_t now = 1764000000000LL; /* epoch ms */
    const int64_t hour = 3600000;

    /* When to check next. */
    is_int(supervise_next_check_ms(now, now + 8 * hour, 600), now + 8 * hour - 600000,
           "a long-lived token is checked min-validity before it expires");
    is_int(supervise_next_check_ms(now, now + 20 * 60000, 600), now + 10 * 60000,
           "a token valid 20 min at -m 600 is checked min-validity before it expires, not at once");
    is_int(supervise_next_check_ms(now, now + 325000, 320), now + 5000,
           "a 325 s token at -m 320 is checked 5 s later, with 320 s left (not after half its life, with 162 s)");
    is_int(supervise_next_check_ms(now, now + 2000, 600), now + 1000,
           "a 2 s token shorter than --min-validity is checked after half its life");
    is_int(supervise_next_check_ms(now, now + 1500, 600), now + 1000, "never sooner than 1 s");
    is_int(supervise_next_check_ms(now, now - 5000, 600), now + 1000, "an expired token: 1 s");
    /* The old rule waited max(expires - m, half the life): 1.5 s here, which
     * let the life left fall below -m. Now the check is due at expires - m. */
    is_int(supervise_next_check_ms(now, now + 3000, 2), now + 1000, "3 s token at -m 2: 2 s before expiry");
    is_int(supervise_next_check_ms(now, now + 10000, 2), now + 8000, "10 s token at -m 2: 2 s before expiry");
    is_int(supervise_next_check_ms(now, now + 10000, 0), now + 10000, "-m 0: at the expiry itself");
    is_int(supervise_next_check_ms(now, EXPIRY_UNKNOWN, 600), now + SUPERVISE_UNKNOWN_WAIT_MS,
           "an unknown expiry is checked again in a minute");
    ok(supervise_next_check_ms(now, INT64_MAX, 366L * 86400) > now + hour, "a far-future expiry does not overflow");

    /* A token whose life is shorter than --min-validity: simulate a supervisor
     * over 60 s with 2 s tokens; every check refreshes. */
    int64_t t = now, exp = now + 2000;
    int refreshes = 0;
    while (t < now + 60000) {
        t = supervise_next_check_ms(t, exp, 600);
        if (expiry_needs_refresh(exp, t, 600)) {
            exp = t + 2000;
            refreshes++;
        }
    }
    ok(refreshes <= 61 && refreshes >= 29, "2 s tokens at -m 600: about two refreshes per life over 60 s (%d)", refreshes);

    /* Whatever the life and -m, a token that outlives -m by at least 1 s is
     * checked before its remaining life falls below -m: an application's own
     * refresh window under -m (Codex's 300 s) is never reached. */
    int off = 0;
    for (int64_t life = 2; life <= 4000; life += 7)
        for (int64_t m = 0; m + 1 <= life; m += 5)
            off += supervise_next_check_ms(now, now + life * 1000, m) != now + (life - m) * 1000;
    ok(off == 0, "a token that outlives -m by 1 s or more is checked at expires - m exactly (%d not)", off);

    /* 325 s tokens at -m 320 over 60 s: a refresh every 5 s, never less than
     * 320 s left at a check. */
    t = now;
    exp = now + 325000;
    refreshes = 0;
    int64_t least = INT64_MAX;
    while (t < now + 60000) {
        t = supervise_next_check_ms(t, exp, 320);
        if (exp - t < least)
            least = exp - t;
        if (expiry_needs_refresh(exp, t, 320)) {
            exp = t + 325000;
            refreshes++;
        }
    }
    ok(refreshes == 12 && least == 320000, "325 s tokens at -m 320: 12 refreshes in 60 s, 320 s left at each (%d, %lld ms)",
       refreshes, (long long)least);

    /* The retry policy. */
    is_int(supervise_retry_ms(CR_ERR_REJECTED, 1, now, now + hour, 0, 0), SUPERVISE_STOP,
           "a rejected refresh token stops the retries");
    is_int(supervise_retry_ms(CR_ERR_UNREACHABLE, 1, now, now + hour, 0, 0), 1000, "first retry after 1 s");
    is_int(supervise_retry_ms(CR_ERR_UNREACHABLE, 2, now, now + hour, 0, 0), 2000, "then 2 s");
    is_int(supervise_retry_ms(CR_ERR_RATE_LIMITED, 5, now, now + hour, 0, 0), 16000, "doubling: 16 s at the 5th");
    is_int(supervise_retry_ms(CR_ERR_RATE_LIMITED, 30, now, now + hour, 0, 0), SUPERVISE_RETRY_MAX_MS,
           "capped at 5 min");
    is_int(supervise_retry_ms(CR_ERR_RATE_LIMITED, 4000000000u, now, now + hour, 0, 0), SUPERVISE_RETRY_MAX_MS,
           "a huge failure count does not overflow");
    is_int(supervise_retry_ms(CR_ERR_RATE_LIMITED, 0, now, now + hour, 0, 0), 1000, "failures 0 counts as the first");
    is_int(supervise_retry_ms(CR_ERR_RATE_LIMITED, 12, now, now + 60000, 0, 0), 30000,
           "at most half the time the token has left");
    is_int(supervise_retry_ms(CR_ERR_UNREACHABLE, 12, now, now + 1500, 0, 0), 1000,
           "never sooner than 1 s, even just before expiry");
    is_int(supervise_retry_ms(CR_ERR_UNREACHABLE, 12, now, now - 1000, 0, 0), SUPERVISE_RETRY_MAX_MS,
           "an expired token keeps the doubling and its cap");
    is_int(supervise_retry_ms(CR_ERR_UNREACHABLE, 3, now, EXPIRY_UNKNOWN, 0, 0), 4000, "an unknown expiry sets no bound");
    is_int(supervise_retry_ms(CR_ERR_LOCK_BUSY, 1, now, now + hour, 0, 0), 1000, "a busy lock is retried too");
    is_int(supervise_retry_ms(CR_ERR_REQUEST_REFUSED, 1, now, now + hour, 0, 0), 1000,
           "a refused request is retried with backoff, never fatal to COMMAND");
    is_int(supervise_retry_ms(CR_ERR_RATE_LIMITED, 1, now, now + hour, now + 90000, 0), 90000,
           "a shared cooldown (state.h) is waited out whole");
    is_int(supervise_retry_ms(CR_ERR_RATE_LIMITED, 1, now, now + 10000, now + 90000, 0), 90000,
           "even past the token's expiry: no request may be sent before it ends");
    is_int(supervise_retry_ms(CR_ERR_RATE_LIMITED, 5, now, now + hour, now + 3000, 0), 16000,
           "a cooldown shorter than the backoff changes nothing");
    is_int(supervise_retry_ms(CR_ERR_RATE_LIMITED, 1, now, now + hour, now - 5000, 0), 1000, "a past cooldown is ignored");
    int64_t j = supervise_retry_ms(CR_ERR_RATE_LIMITED, 5, now, now + hour, 0, 0.999);
    ok(j > 12000 && j < 16000, "jitter shortens a wait by up to a quarter (%lld)", (long long)j);
    is_int(supervise_retry_ms(CR_ERR_RATE_LIMITED, 5, now, now + hour, 0, 1.5), 16000, "jitter out of range is ignored");
    is_int(supervise_retry_ms(CR_ERR_RATE_LIMITED, 1, now, now + hour, 0, 0.9), 1000, "jitter never goes below 1 s");

    /* Attempts before a 10 min token expires, starting at -m 600: enough to
     * ride out an outage, few enough not to hammer a rate limiter. */
    int64_t at = now, until = now + 600000;
    unsigned n = 0;
    while (at < until) {
        n++;
        at += supervise_retry_ms(CR_ERR_RATE_LIMITED, n, at, until, 0, 0);
    }
    ok(n >= 8 && n <= 30, "%u attempts fit in the last 10 min of a token", n);
    (void)tap_is_str; /* nothing here compares strings */
    return tap_done();
}
