/* SPDX-License-Identifier: MIT */
/* Expiry arithmetic in epoch milliseconds. */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "expiry.h"

int64_t expiry_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool expiry_needs_refresh(int64_t expires_ms, int64_t now_ms, int64_t min_validity_s)
{
    if (expires_ms == EXPIRY_UNKNOWN)
        return true;
    /* Subtract rather than add so huge values cannot overflow. */
    return expires_ms - now_ms <= min_validity_s * 1000;
}

bool expiry_usable(int64_t expires_ms, int64_t now_ms)
{
    return expires_ms != EXPIRY_UNKNOWN && expires_ms > now_ms;
}

int64_t expiry_seconds_left(int64_t expires_ms, int64_t now_ms)
{
    if (!expiry_usable(expires_ms, now_ms))
        return 0;
    return (expires_ms - now_ms) / 1000;
}

int64_t expiry_from_expires_in(int64_t now_ms, double s)
{
    if (!(s >= (double)EXPIRES_IN_MIN_S)) /* also catches NaN */
        s = (double)EXPIRES_IN_MIN_S;
    if (s > (double)EXPIRES_IN_MAX_S)
        s = (double)EXPIRES_IN_MAX_S;
    return now_ms + (int64_t)(s * 1000.0);
}

int64_t expiry_clamp_answer(int64_t now_ms, int64_t ms)
{
    /* Compare with now plus a bound: ms itself may be near INT64_MIN/MAX. */
    if (ms < now_ms + EXPIRES_IN_MIN_S * 1000)
        return now_ms + EXPIRES_IN_MIN_S * 1000;
    if (ms > now_ms + EXPIRES_IN_MAX_S * 1000)
        return now_ms + EXPIRES_IN_MAX_S * 1000;
    return ms;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

int expiry_parse_rfc3339_unbounded(const char *s, int64_t *out_ms)
{
    int y, mo, d, h, mi, sec, ms = 0;
    const char *p = s;
    if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' || digits(&p, 2, &d))
        return -1;
    if (*p != 'T' && *p != 't' && *p != ' ')
        return -1;
    p++;
    if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi) || *p++ != ':' || digits(&p, 2, &sec))
        return -1;
    if (*p == '.') {
        p++;
        int n = 0;
        while (isdigit((unsigned char)*p)) {
            if (n < 3)
                ms = ms * 10 + (*p - '0');
            n++;
            p++;
        }
        if (n == 0)
            return -1;
        for (; n < 3; n++)
            ms *= 10;
    }
    int offset_min = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p++ == '-' ? -1 : 1, oh, om;
        if (digits(&p, 2, &oh) || *p++ != ':' || digits(&p, 2, &om) || oh > 23 || om > 59)
            return -1;
        offset_min = sign * (oh * 60 + om);
    } else {
        return -1;
    }
    if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return -1;
    int64_t days = days_from_civil(y, (unsigned)mo, (unsigned)d);
    int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec - (int64_t)offset_min * 60;
    *out_ms = secs * 1000 + ms;
    return 0;
}

int expiry_parse_rfc3339(const char *s, int64_t *out_ms)
{
    int64_t t;
    if (expiry_parse_rfc3339_unbounded(s, &t) != 0 || t < EXPIRY_MIN_MS || t > EXPIRY_MAX_MS)
        return -1;
    *out_ms = t;
    return 0;
}

void expiry_format_rfc3339(int64_t ms, char *buf, unsigned long buflen)
{
    if (ms < EXPIRY_MIN_MS)
        ms = EXPIRY_MIN_MS;
    if (ms > EXPIRY_MAX_MS)
        ms = EXPIRY_MAX_MS;
    time_t secs = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    int frac = (int)(ms - (int64_t)secs * 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    snprintf(buf, buflen, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, frac);
}
