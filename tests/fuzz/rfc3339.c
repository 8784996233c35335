/* SPDX-License-Identifier: MIT */
/* libFuzzer target: RFC 3339 times (src/expiry.c). A time that parses is
 * formatted (UTC, milliseconds) and parsed again to the same instant, and
 * the formatted text is what the grammar allows. */
#include "config.h"


#include "expiry.h"
#include "fuzz.h"

/* ---- the module's API, in one place --------------------------------------- */

static int parse_time(const char *s, int64_t *ms)
{
    return expiry_parse_rfc3339(s, ms);
}

static void format_time(int64_t ms, char *buf, unsigned long len)
{
    expiry_format_rfc3339(ms, buf, len);
}

/* ---- the oracle ----------------------------------------------------------- */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size);
    int64_t ms = 0, again = 0;
    if (parse_time(s, &ms) == 0) {
        /* years 0000-9999 with offsets of a day at most */
        FUZZ_CHECK(ms > -62167305600000LL - 86400000LL && ms < 253402300800000LL + 86400000LL + 1000,
                   "'%s' parsed to %lld ms", s, (long long)ms);
        /* Formatted again: within years 0000-9999 (an offset can push an
         * edge time out of them, which RFC 3339 cannot write) it must parse
         * to the same instant; a leap second (:60) is the next second. */
        char buf[64];
        format_time(ms, buf, sizeof buf);
        if (ms >= -62167219200000LL && ms < 253402300800000LL) {
            FUZZ_CHECK(strlen(buf) == 24 && buf[4] == '-' && buf[10] == 'T' && buf[23] == 'Z', "formatted as '%s'",
                       buf);
            FUZZ_CHECK(parse_time(buf, &again) == 0, "'%s' -> %lld -> '%s' does not parse", s, (long long)ms, buf);
            FUZZ_CHECK(again == ms, "'%s' -> %lld -> '%s' -> %lld", s, (long long)ms, buf, (long long)again);
        }
    }
    /* any 6 bytes as an instant within years 0000-9999 formats and parses back */
    if (size >= 6) {
        uint64_t r = 0;
        for (int i = 0; i < 6; i++)
            r = r << 8 | data[i];
        int64_t t = -62167219200000LL + (int64_t)(r % (253402300800000ULL + 62167219200000ULL));
        char buf[64];
        format_time(t, buf, sizeof buf);
        FUZZ_CHECK(parse_time(buf, &again) == 0 && again == t, "%lld -> '%s' -> %lld", (long long)t, buf,
                   (long long)again);
    }
    free(s);
    return 0;
}
