/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the token endpoint's answer (src/oauth.c). The first
 * two bytes choose the HTTP status and the answer's shape (plain OAuth,
 * relay's, Codex's with id_token); the rest is the body. The answer is
 * classified, its expiry computed, and the result must keep the contract:
 * a status from the documented set, a message, an error code of printable
 * characters, token strings without NUL, an expiry within bounds. */
#include "config.h"

#include "creds.h"
#include "expiry.h"
#include "fuzz.h"
#include "oauth.h"

/* ---- the module's API, in one place --------------------------------------- */

static enum cr_status parse_answer(long status, const char *body, size_t len, const struct oauth_shape *shape,
                                   struct oauth_response *r, struct cr_err *err)
{
    return oauth_parse_response_shaped(status, body, len, shape, r, err);
}

/* ---- the oracle ----------------------------------------------------------- */

static const long statuses[] = {200, 201, 204, 299, 301, 302, 400, 401, 403, 404, 429, 500, 502, 503, 599, 100, 0, 600};

static const struct oauth_shape shapes[] = {
    {0},
    {.refresh_param = "refreshToken", .access = "accessToken", .refresh = "refreshToken",
     .expires_at = "accessTokenExpiresAt", .extra = {"refreshTokenExpiresAt", "apiUrl"}},
    {.extra = {"id_token"}},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    long status = statuses[data[0] % (sizeof statuses / sizeof *statuses)];
    const struct oauth_shape *shape = &shapes[data[1] % (sizeof shapes / sizeof *shapes)];
    const char *body = (const char *)data + 2;
    size_t len = size - 2;

    struct oauth_response r;
    struct cr_err err;
    cr_clear(&err);
    enum cr_status st = parse_answer(status, body, len, shape, &r, &err);
    FUZZ_CHECK(st == CR_OK || st == CR_ERR_BAD_RESPONSE || st == CR_ERR_REJECTED || st == CR_ERR_REQUEST_REFUSED ||
                   st == CR_ERR_RATE_LIMITED || st == CR_ERR_UNREACHABLE,
               "status %d is not one the contract names", (int)st);
    FUZZ_CHECK(st == CR_OK || (err.status == st && err.msg[0]), "a failure without its error (status %d, err %d: '%s')",
               (int)st, (int)err.status, err.msg);
    FUZZ_CHECK(memchr(r.error, '\0', sizeof r.error), "error code not terminated");
    for (const char *p = r.error; *p; p++)
        FUZZ_CHECK(*p >= 0x20 && *p < 0x7f, "error code holds byte 0x%02x", (unsigned char)*p);
    if (st == CR_OK) {
        FUZZ_CHECK(status >= 200 && status < 300, "CR_OK for HTTP %ld", status);
        FUZZ_CHECK(r.access_token && *r.access_token, "CR_OK without an access token");
        bool known;
        int64_t now = 1764064800000LL;
        int64_t exp = oauth_response_expiry(&r, now, false, &known);
        int64_t exp_jwt = oauth_response_expiry(&r, now, true, &known);
        if (!r.has_expires_at) {
            /* from expires_in (clamped) or a JWT's exp (< 1e13 s) */
            FUZZ_CHECK(exp > 0 && exp < 10000000000000000LL, "expiry %lld out of bounds", (long long)exp);
            FUZZ_CHECK(exp_jwt > 0 && exp_jwt < 10000000000000000LL, "expiry %lld out of bounds", (long long)exp_jwt);
        }
        if (r.has_expires_in && !r.has_expires_at)
            FUZZ_CHECK(exp >= now + 1000 && exp <= now + EXPIRES_IN_MAX_S * 1000, "expires_in not clamped: %lld",
                       (long long)(exp - now));
    } else if (st != CR_ERR_BAD_RESPONSE) {
        FUZZ_CHECK(!r.access_token && !r.refresh_token, "tokens kept from a failed answer (status %d)", (int)st);
    }
    oauth_response_free(&r);
    return 0;
}
