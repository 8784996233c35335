/* SPDX-License-Identifier: MIT */
/* Unit tests for the OAuth grant without I/O: URL policy, request bodies,
 * response classification. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "oauth.h"
#include "tap.h"

static enum cr_status url(const char *u, bool *lo)
{
    struct cr_err err;
    return oauth_check_url(u, lo, &err);
}

static enum cr_status parse(long status, const char *body, struct oauth_response *r)
{
    struct cr_err err;
    return oauth_parse_response_shaped(status, body, body ? strlen(body) : 0, NULL, r, &err);
}

int main(void)
{
    bool lo;
    ok(url("https://platform.claude.com/v1/oauth/token", &lo) == CR_OK && !lo, "https to a public host is allowed");
    ok(url("http://127.0.0.1:8080/t", &lo) == CR_OK && lo, "http to 127.0.0.1 is allowed");
    ok(url("http://127.3.4.5/t", &lo) == CR_OK && lo, "http to anywhere in 127/8 is allowed");
    ok(url("http://localhost:9/t", &lo) == CR_OK && lo, "http to localhost is allowed");
    ok(url("http://[::1]:9/t", &lo) == CR_OK && lo, "http to [::1] is allowed");
    ok(url("HTTPS://LOCALHOST/t", &lo) == CR_OK && lo, "https to loopback is loopback too");
    is_int(url("http://example.com/t", &lo), CR_ERR_USAGE, "http to a public host is refused");
    is_int(url("http://127.0.0.1.evil.com/t", &lo), CR_ERR_USAGE, "a loopback-looking prefix is not loopback");
    is_int(url("http://localhost.evil.com/t", &lo), CR_ERR_USAGE, "localhost. prefix is not loopback");
    is_int(url("http://10.0.0.1/t", &lo), CR_ERR_USAGE, "http to a private address is refused");
    is_int(url("http://user:pw@127.0.0.1/t", &lo), CR_ERR_USAGE, "credentials in the URL are refused");
    is_int(url("ftp://127.0.0.1/t", &lo), CR_ERR_USAGE, "other schemes are refused");
    is_int(url("https:///t", &lo), CR_ERR_USAGE, "a URL without a host is refused");

    char *b = oauth_request_body_shaped(OAUTH_BODY_JSON, NULL, "rt-1", "cid", "a b");
    is_str(b, "{\"grant_type\":\"refresh_token\",\"refresh_token\":\"rt-1\",\"client_id\":\"cid\",\"scope\":\"a b\"}",
           "JSON body has grant type, token, client id and scope in order");
    free(b);
    b = oauth_request_body_shaped(OAUTH_BODY_JSON, NULL, "rt-1", "cid", NULL);
    ok(strstr(b, "scope") == NULL, "no scope key without scopes");
    free(b);
    b = oauth_request_body_shaped(OAUTH_BODY_FORM, NULL, "r t/+", "c&d", "x y");
    is_str(b, "grant_type=refresh_token&refresh_token=r%20t%2F%2B&client_id=c%26d&scope=x%20y",
           "form body is percent-encoded");
    free(b);

    struct oauth_response r;
    is_int(parse(200, "{\"access_token\":\"at\",\"refresh_token\":\"rt\",\"expires_in\":3600,\"scope\":\"s\"}", &r),
           CR_OK, "a full 200 answer parses");
    ok(r.access_token && strcmp(r.access_token, "at") == 0 && r.refresh_token && strcmp(r.refresh_token, "rt") == 0 &&
           r.has_expires_in && r.expires_in == 3600 && r.scope && strcmp(r.scope, "s") == 0,
       "its fields are read");
    oauth_response_free(&r);
    is_int(parse(200, "{\"access_token\":\"at\",\"expires_in\":\"60\"}", &r), CR_OK, "refresh_token may be absent");
    ok(r.refresh_token == NULL && r.has_expires_in && r.expires_in == 60, "expires_in as a string is accepted");
    oauth_response_free(&r);
    is_int(parse(200, "not json", &r), CR_ERR_BAD_RESPONSE, "a non-JSON 200 is a bad response");
    oauth_response_free(&r);
    is_int(parse(200, "{\"token_type\":\"Bearer\"}", &r), CR_ERR_BAD_RESPONSE, "a 200 without access_token is bad");
    oauth_response_free(&r);
    is_int(parse(200, "{\"access_token\":\"\",\"refresh_token\":\"rt2\"}", &r), CR_ERR_BAD_RESPONSE,
           "an empty access_token is bad");
    ok(r.refresh_token && strcmp(r.refresh_token, "rt2") == 0, "but its new refresh token is kept for storing");
    oauth_response_free(&r);
    is_int(parse(200, "[1,2]", &r), CR_ERR_BAD_RESPONSE, "a JSON array is bad");
    oauth_response_free(&r);
    is_int(parse(400, "{\"error\":\"invalid_grant\"}", &r), CR_ERR_REJECTED, "400 invalid_grant means log in again");
    is_str(r.error, "invalid_grant", "the error code is kept");
    is_int(parse(401, "{\"error\":\"invalid_grant\"}", &r), CR_ERR_REJECTED, "401 invalid_grant too");
    is_int(parse(401, "{\"error\":{\"code\":\"refresh_token_reused\"}}", &r), CR_ERR_REJECTED,
           "Codex's refresh_token_reused too");
    is_int(parse(401, "{\"error\":\"invalid_client\"}", &r), CR_ERR_REQUEST_REFUSED, "invalid_client is a configuration error");
    is_int(parse(400, "{\"error\":\"invalid_scope\"}", &r), CR_ERR_REQUEST_REFUSED, "invalid_scope is a configuration error");
    is_int(parse(403, "<html>", &r), CR_ERR_REQUEST_REFUSED, "another 4xx is a configuration error");
    is_int(parse(400, "{\"error\":\"bad\\u001b[31m\"}", &r), CR_ERR_REQUEST_REFUSED, "an error with escapes");
    ok(strchr(r.error, 0x1b) == NULL, "control characters never reach the terminal");
    is_int(parse(429, "", &r), CR_ERR_RATE_LIMITED, "429 is rate limiting");
    is_int(parse(500, "{}", &r), CR_ERR_UNREACHABLE, "500 is unavailable");
    is_int(parse(503, NULL, &r), CR_ERR_UNREACHABLE, "503 is unavailable");
    is_int(parse(302, "", &r), CR_ERR_UNREACHABLE, "a redirect is unavailable, never followed");
    is_int(parse(101, "", &r), CR_ERR_BAD_RESPONSE, "an odd status is a bad response");

    /* A provider's own shape (relay): named request, camelCase answer. */
    static const struct oauth_shape relay = {.refresh_param = "refreshToken",
                                             .access = "accessToken",
                                             .refresh = "refreshToken",
                                             .expires_at = "accessTokenExpiresAt",
                                             .extra = {"refreshTokenExpiresAt", "apiUrl"}};
    b = oauth_request_body_shaped(OAUTH_BODY_JSON_NAMED, &relay, "rt-1", "ignored", "ignored too");
    is_str(b, "{\"refreshToken\":\"rt-1\"}", "a named body holds the refresh token alone");
    free(b);
    b = oauth_request_body_shaped(OAUTH_BODY_FORM, &relay, "rt-1", "cid", NULL);
    is_str(b, "grant_type=refresh_token&refresh_token=rt-1&client_id=cid", "OAuth bodies stay OAuth's");
    free(b);
    struct cr_err err;
    static const char answer[] = "{\"accessToken\":\"at\",\"refreshToken\":\"rt\",\"accessTokenExpiresAt\":"
                                 "\"2026-11-25T10:00:00Z\",\"refreshTokenExpiresAt\":\"2026-12-25T10:00:00Z\"}";
    is_int(oauth_parse_response_shaped(200, answer, strlen(answer), &relay, &r, &err), CR_OK,
           "a camelCase answer parses with its shape");
    ok(r.access_token && strcmp(r.access_token, "at") == 0 && r.refresh_token && strcmp(r.refresh_token, "rt") == 0,
       "its tokens are read");
    ok(r.has_expires_at && r.expires_at_ms == 1795600800000LL, "its absolute expiry is read");
    ok(r.extra[0] && strcmp(r.extra[0], "2026-12-25T10:00:00Z") == 0 && r.extra[1] == NULL,
       "extra members are kept, absent ones are NULL");
    bool known;
    is_int(oauth_response_expiry(&r, 1795600800000LL - 3600000, false, &known), 1795600800000LL,
           "the absolute expiry is the expiry");
    ok(known, "and it is known");
    oauth_response_free(&r);
    static const char bad_at[] = "{\"accessToken\":\"at\",\"accessTokenExpiresAt\":\"soon\"}";
    is_int(oauth_parse_response_shaped(200, bad_at, strlen(bad_at), &relay, &r, &err), CR_ERR_BAD_RESPONSE,
           "an absolute expiry that is no RFC 3339 time is a bad response");
    oauth_response_free(&r);

    /* Which expiry wins: a JWT's exp for files that keep none (Codex). */
    static const char jwt_answer[] =
        "{\"access_token\":\"eyJhbGciOiJub25lIn0.eyJleHAiOjIwMDAwMDAwMDB9.sig\",\"expires_in\":60}";
    is_int(parse(200, jwt_answer, &r), CR_OK, "an answer with a JWT access token parses");
    is_int(oauth_response_expiry(&r, 2000000000000LL - 60000, true, &known), 2000000000000LL,
           "jwt_first takes the token's exp");
    is_int(oauth_response_expiry(&r, 1000, false, &known), 61000, "otherwise expires_in wins");
    oauth_response_free(&r);
    is_int(parse(200, "{\"access_token\":\"opaque\"}", &r), CR_OK, "an answer with no expiry parses");
    oauth_response_expiry(&r, 1000, true, &known);
    ok(!known, "and its expiry is not known");
    oauth_response_free(&r);

    /* An absolute expiry is clamped like expires_in (issue 11). */
    static const struct oauth_shape camel = {.access = "accessToken", .refresh = "refreshToken", .expires_at = "expiresAt"};
    static const char far[] = "{\"accessToken\":\"at\",\"refreshToken\":\"rt\",\"expiresAt\":\"9999-12-31T23:59:59-01:00\"}";
    is_int(oauth_parse_response_shaped(200, far, strlen(far), &camel, &r, &err), CR_OK,
           "an answer with an expiry past 9999 UTC parses");
    is_int(oauth_response_expiry(&r, 1764064800000LL, false, &known), 1764064800000LL + 31536000000LL,
           "and is clamped to a year from now");
    oauth_response_free(&r);
    static const char past[] = "{\"accessToken\":\"at\",\"expiresAt\":\"2001-01-01T00:00:00Z\"}";
    is_int(oauth_parse_response_shaped(200, past, strlen(past), &camel, &r, &err), CR_OK, "one in the past parses");
    is_int(oauth_response_expiry(&r, 1764064800000LL, false, &known), 1764064800000LL + 1000, "and is clamped to 1 s");
    oauth_response_free(&r);
    return tap_done();
}
