/* SPDX-License-Identifier: MIT */
/* Unit tests for expiry arithmetic: units, thresholds, clamping, RFC 3339. */
#include "config.h"

#include <stdint.h>

#include "expiry.h"
#include "tap.h"

int main(void)
{
    const int64_t now = 1764000000000LL; /* epoch ms */

    ok(!expiry_needs_refresh(now + 601000, now, 600), "a token valid 601 s is fresh at --min-validity 600");
    ok(expiry_needs_refresh(now + 600000, now, 600), "a token valid exactly 600 s needs a refresh at 600");
    ok(expiry_needs_refresh(now - 1, now, 0), "an expired token needs a refresh even at --min-validity 0");
    ok(!expiry_needs_refresh(now + 1, now, 0), "a token valid 1 ms is fresh at --min-validity 0");
    ok(expiry_needs_refresh(EXPIRY_UNKNOWN, now, 0), "an unknown expiry needs a refresh");
    ok(!expiry_needs_refresh(INT64_MAX, now, 366L * 86400), "a far-future expiry does not overflow");

    ok(expiry_usable(now + 1, now), "usable until the last millisecond");
    ok(!expiry_usable(now, now), "not usable at the expiry instant");
    ok(!expiry_usable(EXPIRY_UNKNOWN, now), "an unknown expiry is not usable");
    is_int(expiry_seconds_left(now + 90500, now), 90, "seconds left round down");
    is_int(expiry_seconds_left(now - 5000, now), 0, "no seconds left when expired");

    is_int(expiry_from_expires_in(now, 3600), now + 3600000, "expires_in seconds become ms");
    is_int(expiry_from_expires_in(now, 0), now + 1000, "expires_in 0 is clamped to 1 s");
    is_int(expiry_from_expires_in(now, -50), now + 1000, "a negative expires_in is clamped to 1 s");
    is_int(expiry_from_expires_in(now, 1e12), now + EXPIRES_IN_MAX_S * 1000, "an absurd expires_in is clamped to a year");
    is_int(expiry_from_expires_in(now, 0.0 / 0.0), now + 1000, "NaN expires_in is clamped to 1 s");

    int64_t ms;
    ok(expiry_parse_rfc3339("1970-01-01T00:00:00Z", &ms) == 0 && ms == 0, "the epoch parses to 0");
    ok(expiry_parse_rfc3339("2025-11-25T10:00:00Z", &ms) == 0 && ms == 1764064800000LL, "a UTC time parses");
    ok(expiry_parse_rfc3339("2025-11-25T10:00:00.5Z", &ms) == 0 && ms == 1764064800500LL, "fractions are ms");
    ok(expiry_parse_rfc3339("2025-11-25T11:00:00+01:00", &ms) == 0 && ms == 1764064800000LL, "offsets are applied");
    ok(expiry_parse_rfc3339("2024-02-29T00:00:00Z", &ms) == 0 && ms == 1709164800000LL, "leap days parse");
    ok(expiry_parse_rfc3339("2026-11-25 10:00", &ms) != 0, "a time without seconds is refused");
    ok(expiry_parse_rfc3339("2025-11-25T10:00:00", &ms) != 0, "a time without a zone is refused");
    ok(expiry_parse_rfc3339("tomorrow", &ms) != 0, "junk is refused");
    char buf[40];
    expiry_format_rfc3339(1764064800123LL, buf, sizeof buf);
    is_str(buf, "2025-11-25T10:00:00.123Z", "formatting is RFC 3339 UTC with ms");
    ok(expiry_parse_rfc3339(buf, &ms) == 0 && ms == 1764064800123LL, "format and parse round-trip");

    /* One range for reading and writing (issue 11). */
    ok(expiry_parse_rfc3339("9999-12-31T23:59:59-01:00", &ms) != 0, "a time past 9999-12-31 UTC is refused on reading");
    ok(expiry_parse_rfc3339("0000-01-01T00:30:00+01:00", &ms) != 0, "a time before 0000-01-01 UTC is refused");
    ok(expiry_parse_rfc3339("9999-12-31T23:59:59.999Z", &ms) == 0 && ms == EXPIRY_MAX_MS, "the last time in range reads");
    ok(expiry_parse_rfc3339_unbounded("9999-12-31T23:59:59-01:00", &ms) == 0 && ms > EXPIRY_MAX_MS,
       "an answer's time past the range still parses, to be clamped");
    expiry_format_rfc3339(EXPIRY_MAX_MS + 3600000, buf, sizeof buf);
    is_str(buf, "9999-12-31T23:59:59.999Z", "a time past the range is written as its end");
    ok(expiry_parse_rfc3339(buf, &ms) == 0, "and reads back");
    expiry_format_rfc3339(INT64_MAX, buf, sizeof buf);
    ok(expiry_parse_rfc3339(buf, &ms) == 0, "even INT64_MAX is written so that it reads back");
    expiry_format_rfc3339(INT64_MIN + 1, buf, sizeof buf);
    ok(expiry_parse_rfc3339(buf, &ms) == 0 && ms == EXPIRY_MIN_MS, "and INT64_MIN + 1 as the range's start");
    const int64_t t0 = 1764064800000LL;
    is_int(expiry_clamp_answer(t0, EXPIRY_MAX_MS), t0 + EXPIRES_IN_MAX_S * 1000, "an absolute expiry is kept to a year");
    is_int(expiry_clamp_answer(t0, t0 - 5000), t0 + 1000, "one in the past to 1 s");
    is_int(expiry_clamp_answer(t0, INT64_MIN + 1), t0 + 1000, "without overflow");
    is_int(expiry_clamp_answer(t0, INT64_MAX), t0 + EXPIRES_IN_MAX_S * 1000, "at either end");
    is_int(expiry_clamp_answer(t0, t0 + 3600000), t0 + 3600000, "one inside the window stays");
    return tap_done();
}
