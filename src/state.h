/* SPDX-License-Identifier: MIT */
/* The failure state every process and container sharing one credentials
 * file sees: a small JSON file beside it, <credentials>.credrun.state (0600),
 * that remembers a shared cooldown (after a 429, or after 5xx and network
 * failures) and a quarantined refresh token (one the endpoint declared dead,
 * named by its SHA-256, never stored). It is read only when a refresh is
 * needed, written only under the credential lock, replaced atomically, and
 * removed once a refresh succeeds. The arithmetic is pure and unit-tested. */
#ifndef CREDRUN_STATE_H
#define CREDRUN_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "sha256.h"
#include "status.h"

#define STATE_SUFFIX ".credrun.state"
#define STATE_BACKOFF_MIN_MS 60000LL       /* the first 429 without Retry-After */
#define STATE_BACKOFF_MAX_MS 3600000LL     /* doubling stops at one hour */
#define STATE_FAIL_COOLDOWN_MS 10000LL     /* after 5xx, network errors, timeouts */
#define STATE_COOLDOWN_MIN_MS 1000LL       /* even "Retry-After: 0" holds the crowd back 1 s */
#define STATE_RETRY_AFTER_MAX_MS 86400000LL /* a longer Retry-After is cut to one day */
#define STATE_STEP_MEMORY_MS 3600000LL     /* a 429 this soon after the last cooldown doubles it */
#define STATE_MAX_SIZE 65536
#define STATE_ENDPOINT_MAX 1024            /* a longer token URL is recorded as "" (every endpoint) */

enum state_cooldown {
    STATE_COOL_NONE,
    STATE_COOL_RATE,  /* 429: exit 75 while it lasts */
    STATE_COOL_FAIL,  /* 5xx, network error, timeout: exit 69 while it lasts */
};

struct state {
    enum state_cooldown kind;
    int64_t until_ms;                /* end of the cooldown (epoch ms) */
    char reason[32];                 /* "429", "503", "network", "timeout" */
    unsigned step;                   /* backoff step of the last 429 */
    char endpoint[STATE_ENDPOINT_MAX]; /* the token URL the cooldown holds back; "" for every endpoint
                                        * (a cooldown recorded before endpoints were) */
    char dead[SHA256_HEX];           /* SHA-256 of the quarantined refresh token, "" when none */
    int64_t dead_since_ms;
    char dead_error[64];             /* the endpoint's error code, e.g. invalid_grant */
    bool existed;                    /* the file existed when read */
    bool dirty;                      /* changed since read: save it */
};

/* What one refresh ended with, as far as the shared state cares. */
struct state_answer {
    enum cr_status st;     /* the refresh's status */
    long http_status;      /* the last HTTP status, 0 when no answer came */
    bool maybe_spent;      /* sent, but no answer: the endpoint may have rotated the token */
    int attempts;          /* requests sent */
    char retry_after[64];  /* the Retry-After header, "" when none */
    char error[64];        /* the OAuth error code, "" when none */
    char endpoint[STATE_ENDPOINT_MAX]; /* the token URL the request went to; "" when unknown or too long */
};

/* Whether a refresh may be tried now. */
enum state_verdict {
    STATE_GO,        /* send the request */
    STATE_WAIT_RATE, /* a 429 cooldown is running: CR_ERR_RATE_LIMITED */
    STATE_WAIT_FAIL, /* a failure cooldown is running: CR_ERR_UNREACHABLE */
    STATE_DEAD,      /* this refresh token was declared dead: CR_ERR_REJECTED */
};

/* <credentials>.credrun.state, newly allocated. */
char *state_path(const char *credentials) __attribute__((__nonnull__, __malloc__, __returns_nonnull__));

/* An empty state (no cooldown, no quarantine). */
void state_init(struct state *s) __attribute__((__nonnull__));

/* True when there is nothing to remember. */
bool state_empty(const struct state *s) __attribute__((__nonnull__));

/* Parse the file's text into s (initialized first). CR_OK, or
 * CR_ERR_CREDS_MALFORMED with err saying what is wrong. */
enum cr_status state_parse(struct state *s, const char *buf, size_t len, struct cr_err *err)
    __attribute__((__nonnull__(1, 4)));

/* The file's text for s, newly allocated (pretty JSON, final newline). */
char *state_format(const struct state *s) __attribute__((__nonnull__, __returns_nonnull__));

/* Read the state file at path into s. A missing file is an empty state; an
 * unreadable or malformed one, or one that belongs to neither this user nor
 * the credentials' owner (creds: the credentials' status; see
 * fileown_trusted), is reported with a warning and then treated as empty
 * (the next save replaces it). CR_ERR_NOT_REGULAR for a FIFO, a device or
 * a directory (opened without blocking); CR_ERR_UNSAFE_FILE, with err
 * saying the chmod to run, for a trusted one that anyone may write; CR_OK
 * otherwise. */
enum cr_status state_load(struct state *s, const char *path, const struct stat *creds, struct cr_err *err)
    __attribute__((__nonnull__));

/* If s changed, write it to path atomically (0600, owned like creds), or
 * remove the file when s is empty. Call only under the credential lock. A
 * failure is a warning: the state is advice, the credentials are what
 * matter. */
void state_save(struct state *s, const char *path, const struct stat *creds) __attribute__((__nonnull__));

/* The name under which a refresh token is quarantined: its SHA-256 in hex. */
void state_token_id(const char *refresh_token, char id[SHA256_HEX]) __attribute__((__nonnull__));

/* Parse a Retry-After value: delay-seconds ("120") or an HTTP-date
 * (IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT", RFC 850, or asctime). Puts
 * the delay from now_ms in *delay_ms (0 for a date in the past, at most
 * STATE_RETRY_AFTER_MAX_MS) and returns 0; -1 for anything else. */
int state_parse_retry_after(const char *value, int64_t now_ms, int64_t *delay_ms) __attribute__((__nonnull__));

/* The backoff after a 429 without Retry-After: 60 s doubling with each step
 * up to one hour, less up to a fifth of it chosen by rnd (jitter), so
 * machines that were throttled together do not come back together. */
int64_t state_backoff_ms(unsigned step, uint32_t rnd);

/* May a refresh with the token named id be sent to endpoint at now_ms? A
 * quarantine of this very token wins over a cooldown; a cooldown holds back
 * only requests to the endpoint it was recorded for (one recorded without an
 * endpoint holds back every endpoint); a cooldown that claims to last longer
 * than any credrun records (a clock set back) is cut short. */
enum state_verdict state_check(const struct state *s, const char *id, const char *endpoint, int64_t now_ms)
    __attribute__((__nonnull__));

/* True when a cooldown is running at now_ms (for any endpoint), under the
 * same rules as state_check(). */
bool state_cooling(const struct state *s, int64_t now_ms) __attribute__((__nonnull__));

/* Record what a refresh with the token named id ended with: success clears
 * everything; a 429 starts a cooldown (Retry-After, else backoff); 5xx,
 * network errors and timeouts start a short one (or as long as a 5xx's
 * Retry-After asks, when longer); a token declared dead is
 * quarantined. A cooldown is recorded for a->endpoint, and replaces one
 * recorded for another endpoint. Other outcomes (other 4xx, malformed
 * answers) change nothing.
 * rnd gives the jitter. Returns true when a cooldown was started (or made
 * longer): the caller says until when. */
bool state_record(struct state *s, const struct state_answer *a, const char *id, int64_t now_ms, uint32_t rnd)
    __attribute__((__nonnull__));

/* One clause for a cooldown that is running, e.g. "shared cooldown: no
 * refresh request before 2026-11-25T10:00:00.000Z (in 58 s): try again
 * then", into buf. */
void state_describe_cooldown(const struct state *s, int64_t now_ms, char *buf, size_t len) __attribute__((__nonnull__));

/* The status for a verdict other than STATE_GO (see enum state_verdict),
 * with a whole message in err; login_hint says how to log in again. */
enum cr_status state_describe(const struct state *s, enum state_verdict v, int64_t now_ms, const char *login_hint,
                              struct cr_err *err) __attribute__((__nonnull__));

#endif
