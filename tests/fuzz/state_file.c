/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the shared state file (src/state.c). Whatever parses is
 * formatted and parsed again and must come back the same (a round trip of
 * the fields the file holds), and the verdict and messages built from it
 * must be well-formed at times around its own. */
#include "config.h"

#include "fuzz.h"
#include "state.h"

/* ---- the module's API, in one place --------------------------------------- */

static bool state_read(struct state *s, const char *buf, size_t len)
{
    struct cr_err err;
    cr_clear(&err);
    enum cr_status st = state_parse(s, buf, len, &err);
    FUZZ_CHECK(st == CR_OK || (st == CR_ERR_CREDS_MALFORMED && err.status == st && err.msg[0]),
               "state_parse: status %d, message '%s'", (int)st, err.msg);
    return st == CR_OK;
}

/* The status and message for a verdict other than STATE_GO. */
static enum cr_status describe(const struct state *s, enum state_verdict v, int64_t now_ms, struct cr_err *err)
{
    return state_describe(s, v, now_ms, "log in again", err);
}

/* ---- the oracle ----------------------------------------------------------- */

static void same_state(const struct state *a, const struct state *b)
{
    FUZZ_CHECK(a->kind == b->kind, "cooldown kind %d -> %d", (int)a->kind, (int)b->kind);
    if (a->kind != STATE_COOL_NONE) {
        FUZZ_CHECK(a->until_ms == b->until_ms, "until %lld -> %lld", (long long)a->until_ms, (long long)b->until_ms);
        FUZZ_CHECK(a->step == b->step, "step %u -> %u", a->step, b->step);
        FUZZ_CHECK(strcmp(a->reason, b->reason) == 0, "reason '%s' -> '%s'", a->reason, b->reason);
        FUZZ_CHECK(strcmp(a->endpoint, b->endpoint) == 0, "endpoint '%s' -> '%s'", a->endpoint, b->endpoint);
    }
    FUZZ_CHECK(strcmp(a->dead, b->dead) == 0, "quarantined id changed");
    if (a->dead[0]) {
        FUZZ_CHECK(a->dead_since_ms == b->dead_since_ms, "since %lld -> %lld", (long long)a->dead_since_ms,
                   (long long)b->dead_since_ms);
        FUZZ_CHECK(strcmp(a->dead_error, b->dead_error) == 0, "error '%s' -> '%s'", a->dead_error, b->dead_error);
    }
}

static void printable(const char *s, size_t n, const char *what)
{
    FUZZ_CHECK(memchr(s, '\0', n), "%s not terminated", what);
    for (; *s; s++)
        FUZZ_CHECK(*s >= 0x20 && *s < 0x7f, "%s holds byte 0x%02x", what, (unsigned char)*s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct state s;
    if (!state_read(&s, (const char *)data, size))
        return 0;
    printable(s.reason, sizeof s.reason, "reason");
    printable(s.dead_error, sizeof s.dead_error, "error");
    printable(s.endpoint, sizeof s.endpoint, "endpoint");
    FUZZ_CHECK(!s.dead[0] || strlen(s.dead) == SHA256_HEX - 1, "bad quarantine id");

    char *text = state_format(&s);
    struct state again;
    FUZZ_CHECK(state_read(&again, text, strlen(text)), "the formatted state does not parse: %s", text);
    same_state(&s, &again);
    free(text);

    static const char *const ids[] = {"", "0000000000000000000000000000000000000000000000000000000000000000"};
    int64_t times[] = {s.until_ms - 1, s.until_ms, s.until_ms + 1, s.dead_since_ms, 1764064800000LL};
    for (size_t i = 0; i < sizeof times / sizeof *times; i++) {
        for (size_t k = 0; k < 6; k++) {
            const char *id = k % 3 < 2 ? ids[k % 3] : s.dead;
            /* its own endpoint, and one it was not recorded for */
            const char *endpoint = k < 3 ? s.endpoint : "https://fuzz.invalid/token";
            enum state_verdict v = state_check(&s, id, endpoint, times[i]);
            FUZZ_CHECK(v == STATE_GO || v == STATE_WAIT_RATE || v == STATE_WAIT_FAIL || v == STATE_DEAD, "verdict %d",
                       (int)v);
            if (v != STATE_GO) {
                struct cr_err err;
                enum cr_status st = describe(&s, v, times[i], &err);
                enum cr_status want = v == STATE_WAIT_RATE ? CR_ERR_RATE_LIMITED
                                      : v == STATE_WAIT_FAIL ? CR_ERR_UNREACHABLE
                                                             : CR_ERR_REJECTED;
                FUZZ_CHECK(st == want && err.status == st, "verdict %d described as status %d", (int)v, (int)st);
                FUZZ_CHECK(err.msg[0], "empty message for verdict %d", (int)v);
            }
        }
    }
    /* A refresh outcome on top of it stays formattable. */
    struct state_answer a = {.st = CR_ERR_RATE_LIMITED, .http_status = 429, .attempts = 1};
    snprintf(a.retry_after, sizeof a.retry_after, "%u", (unsigned)(size % 100000));
    state_record(&s, &a, ids[1], 1764064800000LL, (uint32_t)size * 2654435761u);
    text = state_format(&s);
    FUZZ_CHECK(state_read(&again, text, strlen(text)), "the state after a 429 does not parse: %s", text);
    same_state(&s, &again);
    free(text);
    return 0;
}
