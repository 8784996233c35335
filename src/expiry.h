/* SPDX-License-Identifier: MIT */
/* Expiry arithmetic: every time here is epoch milliseconds (int64_t). */
#ifndef CREDRUN_EXPIRY_H
#define CREDRUN_EXPIRY_H

#include <stdbool.h>
#include <stdint.h>

#define EXPIRY_UNKNOWN INT64_MIN
#define EXPIRES_IN_MIN_S 1LL
#define EXPIRES_IN_MAX_S 31536000LL /* one year */
/* The one range of times credrun reads and writes as RFC 3339, in UTC:
 * 0000-01-01T00:00:00.000Z to 9999-12-31T23:59:59.999Z. */
#define EXPIRY_MIN_MS (-62167219200000LL)
#define EXPIRY_MAX_MS 253402300799999LL
/* A configured expiry in s or ms outside these (and > 0) is a unit mistake:
 * before the year 2000, or after the year 2100. */
#define EXPIRY_SANE_FROM_MS 946684800000LL /* 2000-01-01 */
#define EXPIRY_SANE_TO_MS 4133980800000LL  /* 2101-01-01 */

/* The wall clock now, in epoch milliseconds. */
int64_t expiry_now_ms(void);

/* True when a token that expires at expires_ms must be refreshed now: it
 * expires within min_validity_s seconds, or its expiry is unknown. */
bool expiry_needs_refresh(int64_t expires_ms, int64_t now_ms, int64_t min_validity_s);

/* True when the token can still be used at all (expires strictly later). */
bool expiry_usable(int64_t expires_ms, int64_t now_ms);

/* Whole seconds left (0 when expired or unknown). */
int64_t expiry_seconds_left(int64_t expires_ms, int64_t now_ms);

/* expires_in seconds from a token response clamped to [1 s, 1 year]; the
 * absolute expiry in ms. */
int64_t expiry_from_expires_in(int64_t now_ms, double expires_in_s);

/* An absolute expiry from a token answer kept to the expires_in window:
 * [now + 1 s, now + 1 year]. */
int64_t expiry_clamp_answer(int64_t now_ms, int64_t expires_ms);

/* Parse an RFC 3339 / ISO 8601 UTC-or-offset timestamp ("2026-11-25T10:00:00Z",
 * "2026-11-25T10:00:00.123+01:00") into epoch ms. 0 on success, -1 on junk
 * or a time outside EXPIRY_MIN_MS..EXPIRY_MAX_MS. */
int expiry_parse_rfc3339(const char *s, int64_t *out_ms);

/* The same without the range: a time a token answer gives, which is clamped
 * (expiry_clamp_answer) rather than refused. Never more than a day past it. */
int expiry_parse_rfc3339_unbounded(const char *s, int64_t *out_ms);

/* Format epoch ms as RFC 3339 UTC with milliseconds ("2026-11-25T10:00:00.000Z")
 * into buf (at least 32 bytes), first clamped to EXPIRY_MIN_MS..EXPIRY_MAX_MS
 * so that expiry_parse_rfc3339 always reads it back. */
void expiry_format_rfc3339(int64_t ms, char *buf, unsigned long buflen);

#endif
