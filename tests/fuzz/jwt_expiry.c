/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the "exp" claim of a JWT (src/creds_json.c), read from
 * any string an endpoint or a file may hold. The result is unknown or a time
 * in (0, 1e16) ms; the same payload base64url-encoded (no padding) in a
 * well-formed token gives the same answer as the input's own encoding. */
#include "config.h"

#include "creds.h"
#include "expiry.h"
#include "fuzz.h"

/* ---- the module's API, in one place --------------------------------------- */

static int64_t jwt_exp(const char *token)
{
    return creds_jwt_exp_ms(token);
}

/* ---- the oracle ----------------------------------------------------------- */

static char *b64url(const uint8_t *p, size_t n)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char *out = malloc(n / 3 * 4 + 8), *o = out;
    FUZZ_CHECK(out, "out of memory");
    size_t i = 0;
    for (; i + 2 < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
        *o++ = a[v >> 18 & 63], *o++ = a[v >> 12 & 63], *o++ = a[v >> 6 & 63], *o++ = a[v & 63];
    }
    if (n - i == 1) {
        unsigned v = (unsigned)p[i] << 16;
        *o++ = a[v >> 18 & 63], *o++ = a[v >> 12 & 63];
    } else if (n - i == 2) {
        unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8;
        *o++ = a[v >> 18 & 63], *o++ = a[v >> 12 & 63], *o++ = a[v >> 6 & 63];
    }
    *o = '\0';
    return out;
}

static void bounded(int64_t ms, const char *what)
{
    FUZZ_CHECK(ms == EXPIRY_UNKNOWN || (ms >= 0 && ms < 10000000000000LL * 1000), "%s: exp %lld out of bounds", what,
               (long long)ms);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* the input as a token of its own */
    char *s = fuzz_cstr(data, size);
    bounded(jwt_exp(s), "raw");
    free(s);

    /* the input as the claims of a well-formed token */
    if (memchr(data, '\0', size))
        return 0;
    char *payload = b64url(data, size);
    size_t n = strlen(payload);
    char *tok = malloc(n + 32);
    FUZZ_CHECK(tok, "out of memory");
    snprintf(tok, n + 32, "eyJhbGciOiJub25lIn0.%s.c2ln", payload);
    int64_t ms = jwt_exp(tok);
    bounded(ms, "encoded");
    /* an oracle for the claims: jansson on the raw bytes */
    json_t *claims = json_loadb((const char *)data, size, 0, NULL);
    json_t *exp = json_object_get(claims, "exp");
    double e = json_is_number(exp) ? json_number_value(exp) : 0;
    int64_t want = e > 0 && e < 1e13 ? (int64_t)(e * 1000) : EXPIRY_UNKNOWN;
    FUZZ_CHECK(ms == want, "exp %lld, wanted %lld", (long long)ms, (long long)want);
    json_decref(claims);
    free(tok);
    free(payload);
    return 0;
}
