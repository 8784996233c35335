/* SPDX-License-Identifier: MIT */
/* Unit tests for the shared failure state: token ids, Retry-After parsing,
 * backoff arithmetic, cooldown and quarantine decisions and the file format.
 * SHA-256 itself: sha256-t.c; which failures are retried at once: retry-t.c. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sha256.h"
#include "state.h"
#include "tap.h"
#include "util.h"

static void test_token_id(void)
{
    char id[SHA256_HEX];
    state_token_id("rt-secret", id);
    ok(strlen(id) == 64 && !strstr(id, "rt-secret"), "a token's id is 64 hex digits, not the token");
}

#define T_1994 784111777000LL /* Sun, 06 Nov 1994 08:49:37 GMT */

static void test_retry_after(void)
{
    int64_t d = -1;
    ok(state_parse_retry_after("120", 0, &d) == 0 && d == 120000, "delay-seconds: 120 is 120 s");
    ok(state_parse_retry_after("0", 0, &d) == 0 && d == 0, "delay-seconds: 0");
    ok(state_parse_retry_after("99999999999999999999999", 0, &d) == 0 && d == STATE_RETRY_AFTER_MAX_MS,
       "an enormous delay is cut to one day without overflow");
    ok(state_parse_retry_after("", 0, &d) != 0, "empty is refused");
    ok(state_parse_retry_after("-5", 0, &d) != 0, "a negative delay is refused");
    ok(state_parse_retry_after("1.5", 0, &d) != 0, "a fractional delay is refused");
    ok(state_parse_retry_after("12abc", 0, &d) != 0, "trailing junk is refused");
    ok(state_parse_retry_after("tomorrow", 0, &d) != 0, "words are refused");

    ok(state_parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", T_1994 - 30000, &d) == 0 && d == 30000,
       "IMF-fixdate 30 s ahead");
    ok(state_parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", T_1994 - 30000, &d) == 0 && d == 30000,
       "obsolete RFC 850 date");
    ok(state_parse_retry_after("Sun Nov  6 08:49:37 1994", T_1994 - 30000, &d) == 0 && d == 30000,
       "obsolete asctime date");
    ok(state_parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", T_1994 + 5000, &d) == 0 && d == 0,
       "a date in the past means no delay");
    ok(state_parse_retry_after("Fri, 01 Jan 2100 00:00:00 GMT", T_1994, &d) == 0 && d == STATE_RETRY_AFTER_MAX_MS,
       "a date decades ahead is cut to one day");
    ok(state_parse_retry_after("Sun, 06 Nov 1994 08:49:37 PST", T_1994, &d) != 0, "only GMT dates are HTTP-dates");
    ok(state_parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT junk", T_1994, &d) != 0, "trailing junk after a date");
    ok(state_parse_retry_after("Sun, 32 Nov 1994 08:49:37 GMT", T_1994, &d) != 0, "day 32 is refused");
}

static void test_backoff(void)
{
    is_int(state_backoff_ms(0, 0), 60000, "the first backoff is 60 s");
    int64_t j = state_backoff_ms(0, UINT32_MAX);
    ok(j > 48000 && j < 60000, "jitter takes at most a fifth off (%lld)", (long long)j);
    is_int(state_backoff_ms(1, 0), 120000, "then 120 s");
    is_int(state_backoff_ms(2, 0), 240000, "then 240 s");
    is_int(state_backoff_ms(5, 0), 1920000, "step 5 is 32 min");
    is_int(state_backoff_ms(6, 0), 3600000, "step 6 stops at one hour");
    is_int(state_backoff_ms(1000, 0), 3600000, "a huge step does not overflow");
    j = state_backoff_ms(1000, UINT32_MAX);
    ok(j > 2880000 && j < 3600000, "the one-hour cap is jittered too (%lld)", (long long)j);
    ok(state_backoff_ms(3, 12345) != state_backoff_ms(3, 4000000000u), "different randomness, different waits");
}

static const char ID_A[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
static const char ID_B[] = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
#define NOW 1764000000000LL
#define URL_A "https://a.example/v1/oauth/token"
#define URL_B "https://b.example/v1/oauth/token"

static void test_check(void)
{
    struct state s;
    state_init(&s);
    ok(state_empty(&s), "a new state is empty");
    is_int(state_check(&s, ID_A, URL_A, NOW), STATE_GO, "an empty state lets a refresh go");
    s.kind = STATE_COOL_RATE;
    s.until_ms = NOW + 5000;
    is_int(state_check(&s, ID_A, URL_A, NOW), STATE_WAIT_RATE, "a running 429 cooldown holds every token back");
    is_int(state_check(&s, ID_A, URL_A, NOW + 5000), STATE_GO, "it ends at its until time");
    s.kind = STATE_COOL_FAIL;
    is_int(state_check(&s, ID_A, URL_A, NOW), STATE_WAIT_FAIL, "a running failure cooldown");
    s.until_ms = NOW + 2 * STATE_RETRY_AFTER_MAX_MS;
    is_int(state_check(&s, ID_A, URL_A, NOW), STATE_GO, "a cooldown longer than any credrun records is ignored");
    s.until_ms = NOW + 5000;
    memcpy(s.dead, ID_A, SHA256_HEX);
    is_int(state_check(&s, ID_A, URL_A, NOW), STATE_DEAD, "the quarantined token is dead, cooldown or not");
    is_int(state_check(&s, ID_B, URL_A, NOW), STATE_WAIT_FAIL, "another token (a new login) is not quarantined");
    s.kind = STATE_COOL_NONE;
    is_int(state_check(&s, ID_B, URL_A, NOW), STATE_GO, "a new login goes ahead");
}

static struct state_answer answer(enum cr_status st, long http, const char *retry_after)
{
    struct state_answer a;
    memset(&a, 0, sizeof a);
    a.st = st;
    a.http_status = http;
    snprintf(a.retry_after, sizeof a.retry_after, "%s", retry_after);
    return a;
}

static void test_record(void)
{
    struct state s;
    state_init(&s);
    struct state_answer a = answer(CR_ERR_RATE_LIMITED, 429, "");
    ok(state_record(&s, &a, ID_A, NOW, 0), "a 429 starts a cooldown");
    ok(s.kind == STATE_COOL_RATE && s.step == 0 && s.until_ms == NOW + 60000 && s.dirty,
       "without Retry-After: 60 s, step 0");
    int64_t later = s.until_ms + 1000;
    state_record(&s, &a, ID_A, later, 0);
    ok(s.step == 1 && s.until_ms == later + 120000, "another 429 just after it ended doubles the wait");
    later = s.until_ms + 1000;
    state_record(&s, &a, ID_A, later, 0);
    ok(s.step == 2 && s.until_ms == later + 240000, "and again");
    later = s.until_ms + STATE_STEP_MEMORY_MS + 1;
    state_record(&s, &a, ID_A, later, 0);
    ok(s.step == 0 && s.until_ms == later + 60000, "a 429 long after the last cooldown starts over at 60 s");

    a = answer(CR_ERR_RATE_LIMITED, 429, "2");
    state_record(&s, &a, ID_A, NOW, 0);
    ok(s.until_ms == NOW + 2000, "Retry-After: 2 is honoured");
    a = answer(CR_ERR_RATE_LIMITED, 429, "0");
    state_record(&s, &a, ID_A, NOW, 0);
    ok(s.until_ms == NOW + STATE_COOLDOWN_MIN_MS, "Retry-After: 0 still holds the crowd back 1 s");
    a = answer(CR_ERR_RATE_LIMITED, 429, "Sun, 06 Nov 1994 08:50:37 GMT");
    state_record(&s, &a, ID_A, T_1994, 0);
    ok(s.until_ms == T_1994 + 60000, "an HTTP-date Retry-After is honoured");
    a = answer(CR_ERR_RATE_LIMITED, 429, "soon");
    state_init(&s);
    state_record(&s, &a, ID_A, NOW, 0);
    ok(s.until_ms == NOW + 60000, "an unreadable Retry-After falls back to the backoff");

    state_init(&s);
    a = answer(CR_ERR_UNREACHABLE, 503, "");
    ok(state_record(&s, &a, ID_A, NOW, 0), "a 5xx starts a cooldown");
    ok(s.kind == STATE_COOL_FAIL && s.until_ms == NOW + STATE_FAIL_COOLDOWN_MS && strcmp(s.reason, "503") == 0,
       "a short one, naming the status");
    a = answer(CR_ERR_UNREACHABLE, 503, "120");
    state_record(&s, &a, ID_A, NOW, 0);
    ok(s.kind == STATE_COOL_FAIL && s.until_ms == NOW + 120000, "a 503 with Retry-After: 120 cools down 120 s");
    a = answer(CR_ERR_UNREACHABLE, 503, "2");
    state_record(&s, &a, ID_A, NOW, 0);
    ok(s.until_ms == NOW + STATE_FAIL_COOLDOWN_MS, "but never less than the short cooldown");
    a = answer(CR_ERR_UNREACHABLE, 0, "");
    state_record(&s, &a, ID_A, NOW, 0);
    is_str(s.reason, "network", "no answer at all is a network failure");
    a.maybe_spent = true;
    state_record(&s, &a, ID_A, NOW, 0);
    is_str(s.reason, "no answer", "a request cut off after it was sent");
    a = answer(CR_ERR_BAD_RESPONSE, 200, "");
    a.maybe_spent = true;
    ok(state_record(&s, &a, ID_A, NOW + 1, 0) && strcmp(s.reason, "timeout") == 0, "a timed-out answer cools down");

    state_init(&s);
    a = answer(CR_ERR_UNREACHABLE, 302, "");
    ok(!state_record(&s, &a, ID_A, NOW, 0) && state_empty(&s) && !s.dirty, "a redirect starts no cooldown");
    a = answer(CR_ERR_BAD_RESPONSE, 200, "");
    ok(!state_record(&s, &a, ID_A, NOW, 0) && state_empty(&s), "a garbled answer starts no cooldown");
    a = answer(CR_ERR_REQUEST_REFUSED, 401, "");
    ok(!state_record(&s, &a, ID_A, NOW, 0) && state_empty(&s), "invalid_client and friends change nothing");

    a = answer(CR_ERR_RATE_LIMITED, 429, "600");
    state_record(&s, &a, ID_A, NOW, 0);
    a = answer(CR_ERR_UNREACHABLE, 500, "");
    ok(!state_record(&s, &a, ID_A, NOW, 0) && s.kind == STATE_COOL_RATE && s.until_ms == NOW + 600000,
       "a failure does not cut a longer rate-limit cooldown short");

    a = answer(CR_ERR_REJECTED, 400, "");
    snprintf(a.error, sizeof a.error, "refresh_token_reused");
    state_record(&s, &a, ID_A, NOW, 0);
    ok(strcmp(s.dead, ID_A) == 0 && s.dead_since_ms == NOW && strcmp(s.dead_error, "refresh_token_reused") == 0,
       "a rejected token is quarantined by its id, with the error code");

    s.dirty = false;
    a = answer(CR_OK, 200, "");
    state_record(&s, &a, ID_B, NOW, 0);
    ok(state_empty(&s) && s.dirty, "a success clears cooldown and quarantine");
    s.dirty = false;
    state_record(&s, &a, ID_B, NOW, 0);
    ok(!s.dirty, "a success with nothing to clear writes nothing");
}

static void test_format(void)
{
    struct state s, back;
    state_init(&s);
    s.kind = STATE_COOL_RATE;
    s.until_ms = NOW + 61234;
    s.step = 3;
    snprintf(s.reason, sizeof s.reason, "429");
    memcpy(s.dead, ID_B, SHA256_HEX);
    s.dead_since_ms = NOW - 5000;
    snprintf(s.dead_error, sizeof s.dead_error, "invalid_grant");
    char *text = state_format(&s);
    struct cr_err err;
    ok(strstr(text, "\"until\": \"2025-11-24T16:01:01.234Z\"") != NULL, "times are written as RFC 3339");
    ok(text[strlen(text) - 1] == '\n', "the file ends with a newline");
    is_int(state_parse(&back, text, strlen(text), &err), CR_OK, "what is written parses back");
    ok(back.kind == s.kind && back.until_ms == s.until_ms && back.step == 3 && strcmp(back.reason, "429") == 0 &&
           strcmp(back.dead, ID_B) == 0 && back.dead_since_ms == s.dead_since_ms &&
           strcmp(back.dead_error, "invalid_grant") == 0,
       "every field round-trips");
    free(text);

    /* Times round-trip: one range for reading and writing (issue 11). */
    s.until_ms = INT64_MAX / 2;
    text = state_format(&s);
    is_int(state_parse(&back, text, strlen(text), &err), CR_OK, "a time past year 9999 is written so it reads back");
    free(text);
    const char *far = "{\"cooldown\":{\"kind\":\"failing\",\"until\":\"9999-12-31T23:59:59-01:00\"}}";
    ok(state_parse(&back, far, strlen(far), &err) != CR_OK, "a time past 9999-12-31 UTC is refused on reading");

    ok(state_parse(&back, "{}", 2, &err) == CR_OK && state_empty(&back), "{} is an empty state");
    ok(state_parse(&back, "[]", 2, &err) != CR_OK, "an array is refused");
    ok(state_parse(&back, "{\"cooldown\":", 12, &err) != CR_OK, "truncated JSON is refused");
    const char *bad_until = "{\"cooldown\":{\"kind\":\"rate_limited\",\"until\":12}}";
    ok(state_parse(&back, bad_until, strlen(bad_until), &err) != CR_OK && state_empty(&back),
       "a numeric until is refused and leaves an empty state");
    const char *bad_kind = "{\"cooldown\":{\"kind\":\"nap\",\"until\":\"2025-11-24T16:01:01Z\"}}";
    ok(state_parse(&back, bad_kind, strlen(bad_kind), &err) != CR_OK, "an unknown kind is refused");
    const char *bad_id = "{\"quarantine\":{\"refresh_token_sha256\":\"ABC\",\"since\":\"2025-11-24T16:01:01Z\"}}";
    ok(state_parse(&back, bad_id, strlen(bad_id), &err) != CR_OK, "a quarantine id must be a sha256");

    const char *msg = err.msg;
    s.kind = STATE_COOL_RATE;
    s.until_ms = NOW + 57001;
    is_int(state_describe(&s, STATE_WAIT_RATE, NOW, "app /login", &err), CR_ERR_RATE_LIMITED, "a 429 cooldown is 75");
    ok(strstr(msg, "rate limiting (429)") && strstr(msg, "(in 58 s)") && strstr(msg, "try again then"),
       "a cooldown message says when to try again: %s", msg);
    is_int(state_describe(&s, STATE_DEAD, NOW, "app /login", &err), CR_ERR_REJECTED, "a quarantine is 77");
    ok(strstr(msg, "log in again (app /login)") && strstr(msg, "invalid_grant"),
       "a quarantine message says to log in, with the profile's hint: %s", msg);

    char *p = state_path("/x/.credentials.json");
    is_str(p, "/x/.credentials.json.credrun.state", "the state file sits beside the credentials");
    free(p);
}

/* A cooldown belongs to the endpoint it was recorded for. */
static void test_endpoint(void)
{
    struct state s, back;
    struct cr_err err;
    state_init(&s);
    struct state_answer a = answer(CR_ERR_UNREACHABLE, 0, "");
    snprintf(a.endpoint, sizeof a.endpoint, "%s", URL_A);
    ok(state_record(&s, &a, ID_A, NOW, 0), "a failure at A starts a cooldown");
    is_str(s.endpoint, URL_A, "recorded for A");
    is_int(state_check(&s, ID_A, URL_A, NOW), STATE_WAIT_FAIL, "it holds back requests to A");
    is_int(state_check(&s, ID_A, URL_B, NOW), STATE_GO, "but not to B (the fixed --token-url)");
    ok(state_cooling(&s, NOW) && !state_cooling(&s, NOW + STATE_FAIL_COOLDOWN_MS), "state_cooling sees it, then not");

    char *text = state_format(&s);
    ok(strstr(text, "\"endpoint\": \"" URL_A "\"") != NULL, "the file records the endpoint");
    ok(state_parse(&back, text, strlen(text), &err) == CR_OK && strcmp(back.endpoint, URL_A) == 0,
       "and reads it back");
    free(text);

    const char *old = "{\"cooldown\":{\"kind\":\"rate_limited\",\"reason\":\"429\",\"until\":\"2025-11-24T16:01:01Z\"}}";
    ok(state_parse(&back, old, strlen(old), &err) == CR_OK && back.endpoint[0] == '\0', "an old file has no endpoint");
    int64_t t = back.until_ms - 1000;
    ok(state_check(&back, ID_A, URL_A, t) == STATE_WAIT_RATE && state_check(&back, ID_A, URL_B, t) == STATE_WAIT_RATE,
       "and its cooldown holds back every endpoint");
    const char *junk = "{\"cooldown\":{\"kind\":\"failing\",\"until\":\"2025-11-24T16:01:01Z\",\"endpoint\":\"a b\"}}";
    ok(state_parse(&back, junk, strlen(junk), &err) == CR_OK && back.endpoint[0] == '\0',
       "an endpoint that is no URL is read as every endpoint");

    /* A 429 at B replaces A's cooldown, and does not double A's backoff. */
    s.kind = STATE_COOL_RATE;
    s.step = 4;
    a = answer(CR_ERR_RATE_LIMITED, 429, "");
    snprintf(a.endpoint, sizeof a.endpoint, "%s", URL_B);
    state_record(&s, &a, ID_A, NOW, 0);
    ok(strcmp(s.endpoint, URL_B) == 0 && s.step == 0, "a 429 at B starts B's own backoff");
    /* A URL too long to hold, read from a file, holds back every endpoint. */
    char *longurl = xmalloc(2 * STATE_ENDPOINT_MAX);
    memset(longurl, 'x', 2 * STATE_ENDPOINT_MAX - 1);
    longurl[2 * STATE_ENDPOINT_MAX - 1] = '\0';
    char *big = xasprintf("{\"cooldown\":{\"kind\":\"failing\",\"until\":\"2025-11-24T16:01:01Z\",\"endpoint\":\"%s\"}}",
                          longurl);
    ok(state_parse(&back, big, strlen(big), &err) == CR_OK && back.endpoint[0] == '\0' &&
           state_check(&back, ID_A, URL_A, back.until_ms - 1) == STATE_WAIT_FAIL,
       "an endpoint too long to hold is read as every endpoint");
    free(big);
    free(longurl);
}

static void test_file(void)
{
    char dir[] = "/tmp/credrun-state-t.XXXXXX";
    if (!mkdtemp(dir)) {
        ok(0, "mkdtemp");
        return;
    }
    char *path = xasprintf("%s/.credentials.json.credrun.state", dir);
    struct stat creds;
    stat(dir, &creds);
    struct state s, back;
    struct cr_err err;
    ok(state_load(&s, path, &creds, &err) == CR_OK, "a missing state file loads");
    ok(state_empty(&s) && !s.existed, "a missing state file is an empty state");
    s.kind = STATE_COOL_FAIL;
    s.until_ms = NOW;
    snprintf(s.reason, sizeof s.reason, "500");
    s.dirty = true;
    state_save(&s, path, &creds);
    struct stat sb;
    ok(stat(path, &sb) == 0 && (sb.st_mode & 07777) == 0600, "the state file is written 0600");
    ok(state_load(&back, path, &creds, &err) == CR_OK, "the state file loads");
    ok(back.existed && back.kind == STATE_COOL_FAIL && back.until_ms == NOW, "and read back");
    struct state_answer a = answer(CR_OK, 200, "");
    state_record(&back, &a, ID_A, NOW, 0);
    state_save(&back, path, &creds);
    ok(access(path, F_OK) != 0, "a success removes the state file");
    rmdir(dir);
    free(path);
}

int main(void)
{
    test_token_id();
    test_retry_after();
    test_backoff();
    test_check();
    test_record();
    test_format();
    test_endpoint();
    test_file();
    return tap_done();
}
