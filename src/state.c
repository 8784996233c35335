/* SPDX-License-Identifier: MIT */
/* The shared failure state: cooldowns and the quarantine, in a JSON file
 * beside the credentials. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "atomicfile.h"
#include "expiry.h"
#include "jsonptr.h"
#include "fileown.h"
#include "log.h"
#include "state.h"
#include "util.h"

char *state_path(const char *credentials)
{
    return xasprintf("%s%s", credentials, STATE_SUFFIX);
}

void state_init(struct state *s)
{
    memset(s, 0, sizeof *s);
    s->kind = STATE_COOL_NONE;
}

bool state_empty(const struct state *s)
{
    return s->kind == STATE_COOL_NONE && !s->dead[0];
}

void state_token_id(const char *refresh_token, char id[SHA256_HEX])
{
    sha256_hex(refresh_token, strlen(refresh_token), id);
}

/* Copy a printable ASCII string into a fixed buffer ("" for anything else). */
static void copy_printable(char *dst, size_t n, const char *src)
{
    size_t o = 0;
    for (const char *p = src; p && *p && o < n - 1; p++)
        dst[o++] = (*p >= 0x20 && *p < 0x7f) ? *p : '?';
    dst[o] = '\0';
}

/* Copy a word the file gives for a message (a reason: "429", "no answer";
 * an error code: invalid_grant) into dst, or "" when it is anything else:
 * a message never quotes a file's other contents. */
static void copy_word(char *dst, size_t n, const char *src)
{
    dst[0] = '\0';
    size_t len = src ? strlen(src) : 0;
    if (!len || len >= n)
        return;
    bool status = len <= 3 && strspn(src, "0123456789") == len;
    bool words = src[0] != ' ' && strspn(src, "abcdefghijklmnopqrstuvwxyz_ ") == len;
    if (status || words)
        memcpy(dst, src, len + 1);
}

/* Copy a token URL into a state's endpoint: "" when none, or when it is too
 * long or not printable ASCII (then the cooldown holds back every endpoint,
 * never too few). */
static void copy_endpoint(char dst[STATE_ENDPOINT_MAX], const char *src)
{
    dst[0] = '\0';
    if (!src || strlen(src) >= STATE_ENDPOINT_MAX)
        return;
    for (const char *p = src; *p; p++)
        if (*p < 0x21 || *p > 0x7e)
            return;
    strcpy(dst, src);
}

/* True when s is a SHA-256 in lower-case hex. */
static bool is_hex_id(const char *s)
{
    if (strlen(s) != SHA256_HEX - 1)
        return false;
    for (const char *p = s; *p; p++)
        if (!isxdigit((unsigned char)*p) || isupper((unsigned char)*p))
            return false;
    return true;
}

/* An RFC 3339 time member of o into *ms; -1 when absent or not a time. */
static int get_time(json_t *o, const char *key, int64_t *ms)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) && expiry_parse_rfc3339(json_string_value(v), ms) == 0 ? 0 : -1;
}

enum cr_status state_parse(struct state *s, const char *buf, size_t len, struct cr_err *err)
{
    state_init(s);
    json_error_t jerr;
    json_t *root = json_loadb(buf ? buf : "", buf ? len : 0, 0, &jerr);
    if (!json_is_object(root)) {
        cr_fail(err, CR_ERR_CREDS_MALFORMED, "not a JSON object");
        json_decref(root);
        return CR_ERR_CREDS_MALFORMED;
    }
    enum cr_status st = CR_OK;
    json_t *c = json_object_get(root, "cooldown");
    if (c) {
        json_t *kind = json_object_get(c, "kind"), *reason = json_object_get(c, "reason"),
               *step = json_object_get(c, "backoff_step");
        const char *k = json_string_value(kind);
        if (!json_is_object(c) || !k || (strcmp(k, "rate_limited") != 0 && strcmp(k, "failing") != 0) ||
            get_time(c, "until", &s->until_ms) != 0 || (step && !json_is_integer(step)) ||
            (step && (json_integer_value(step) < 0 || json_integer_value(step) > 64))) {
            st = cr_fail(err, CR_ERR_CREDS_MALFORMED, "\"cooldown\" needs a kind, an RFC 3339 \"until\" and a small backoff_step");
            goto out;
        }
        s->kind = strcmp(k, "rate_limited") == 0 ? STATE_COOL_RATE : STATE_COOL_FAIL;
        s->step = step ? (unsigned)json_integer_value(step) : 0;
        copy_word(s->reason, sizeof s->reason, json_string_value(reason));
        /* No endpoint (an older credrun's file), or one too long to hold:
         * the cooldown holds back every endpoint. */
        copy_endpoint(s->endpoint, json_string_value(json_object_get(c, "endpoint")));
    }
    json_t *q = json_object_get(root, "quarantine");
    if (q) {
        const char *id = json_string_value(json_object_get(q, "refresh_token_sha256"));
        if (!json_is_object(q) || !id || !is_hex_id(id) || get_time(q, "since", &s->dead_since_ms) != 0) {
            st = cr_fail(err, CR_ERR_CREDS_MALFORMED, "\"quarantine\" needs a refresh_token_sha256 of 64 hex digits and a \"since\" time");
            goto out;
        }
        memcpy(s->dead, id, SHA256_HEX);
        copy_word(s->dead_error, sizeof s->dead_error, json_string_value(json_object_get(q, "error")));
    }
out:
    json_decref(root);
    if (st != CR_OK)
        state_init(s);
    return st;
}

char *state_format(const struct state *s)
{
    json_t *root = json_object();
    if (s->kind != STATE_COOL_NONE) {
        json_t *c = json_object();
        json_object_set_new(c, "kind", json_string(s->kind == STATE_COOL_RATE ? "rate_limited" : "failing"));
        json_object_set_new(c, "reason", json_string(s->reason));
        json_object_set_new(c, "until", jsonptr_rfc3339(s->until_ms));
        json_object_set_new(c, "backoff_step", json_integer(s->step));
        if (s->endpoint[0])
            json_object_set_new(c, "endpoint", json_string(s->endpoint));
        json_object_set_new(root, "cooldown", c);
    }
    if (s->dead[0]) {
        json_t *q = json_object();
        json_object_set_new(q, "refresh_token_sha256", json_string(s->dead));
        json_object_set_new(q, "error", json_string(s->dead_error));
        json_object_set_new(q, "since", jsonptr_rfc3339(s->dead_since_ms));
        json_object_set_new(root, "quarantine", q);
    }
    return jsonptr_document(root);
}

enum cr_status state_load(struct state *s, const char *path, const struct stat *creds, struct cr_err *err)
{
    state_init(s);
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        if (errno != ENOENT) {
            s->existed = true;
            log_warn("cannot read the state file %s (%s); ignoring it", path, strerror(errno));
        }
        return CR_OK;
    }
    s->existed = true;
    struct stat sb;
    bool stat_ok = fstat(fd, &sb) == 0;
    if (stat_ok && !S_ISREG(sb.st_mode)) {
        /* refused like a credentials file that is none (issue 13 item 3) */
        close(fd);
        return cr_fail(err, CR_ERR_NOT_REGULAR,
                       "state file %s is %s, not a regular file: remove it (credrun writes a new one), then run "
                       "again; the refresh token was not spent",
                       path, file_kind(sb.st_mode));
    }
    if (!stat_ok || sb.st_size > STATE_MAX_SIZE) {
        log_warn("state file %s is not a small regular file; ignoring it", path);
        close(fd);
        return CR_OK;
    }
    if (!fileown_trusted(&sb, creds)) {
        /* planted by someone else: its cooldown or quarantine means nothing */
        log_warn("state file %s belongs to user %u, neither this user nor the credentials' owner; ignoring it "
                 "(it is replaced)",
                 path, (unsigned)sb.st_uid);
        s->dirty = true;
        close(fd);
        return CR_OK;
    }
    if (fileown_check_mode("state file", path, &sb, err) != CR_OK) {
        close(fd);
        return err->status;
    }
    char buf[STATE_MAX_SIZE + 1];
    size_t n = 0;
    ssize_t r;
    while (n < sizeof buf - 1 && (r = read(fd, buf + n, sizeof buf - 1 - n)) != 0) {
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            log_warn("cannot read the state file %s (%s); ignoring it", path, strerror(errno));
            close(fd);
            return CR_OK;
        }
        n += (size_t)r;
    }
    close(fd);
    struct cr_err perr;
    if (state_parse(s, buf, n, &perr) != CR_OK) {
        s->dirty = true; /* replace it at the next save */
        log_warn("state file %s is malformed (%s); ignoring it", path, perr.msg);
    }
    s->existed = true;
    return CR_OK;
}

void state_save(struct state *s, const char *path, const struct stat *creds)
{
    if (!s->dirty)
        return;
    s->dirty = false;
    if (state_empty(s)) {
        if (s->existed && unlink(path) != 0 && errno != ENOENT)
            log_warn("cannot remove the state file %s (%s)", path, strerror(errno));
        s->existed = false;
        return;
    }
    char *text = state_format(s);
    struct stat like = *creds;
    like.st_mode = S_IFREG | 0600;
    struct cr_err err;
    char *rescue = NULL;
    struct atomic_file af;
    atomic_remove_stale(path);
    enum cr_status st = atomic_prepare(&af, path, &like, STATE_MAX_SIZE / 16, &err);
    if (st == CR_OK)
        st = atomic_commit(&af, text, strlen(text), &rescue, &err);
    if (rescue) {
        unlink(rescue); /* nothing secret or precious in it */
        free(rescue);
    }
    if (st != CR_OK) {
        log_warn("cannot record the shared cooldown or quarantine in %s; other processes will not know of it", path);
        log_info("state file: %s", err.msg);
    } else {
        s->existed = true;
    }
    free(text);
}

/* Parse an HTTP-date (RFC 9110 section 5.6.7) into epoch ms; 0 or -1. The
 * "C" locale's day and month names are the ones HTTP uses. */
static int parse_http_date(const char *v, int64_t *ms)
{
    static const char *const formats[] = {
        "%a, %d %b %Y %H:%M:%S GMT", /* IMF-fixdate */
        "%A, %d-%b-%y %H:%M:%S GMT", /* RFC 850 */
        "%a %b %e %H:%M:%S %Y",      /* asctime */
    };
    for (size_t i = 0; i < sizeof formats / sizeof *formats; i++) {
        struct tm tm;
        memset(&tm, 0, sizeof tm);
        const char *end = strptime(v, formats[i], &tm);
        if (!end || *end)
            continue;
        if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
            tm.tm_min > 59 || tm.tm_sec > 60)
            return -1;
        time_t t = timegm(&tm);
        if (t == (time_t)-1)
            return -1;
        *ms = (int64_t)t * 1000;
        return 0;
    }
    return -1;
}

int state_parse_retry_after(const char *value, int64_t now_ms, int64_t *delay_ms)
{
    if (!*value)
        return -1;
    if (isdigit((unsigned char)value[0])) {
        int64_t secs = 0;
        const char *p = value;
        for (; isdigit((unsigned char)*p); p++) {
            if (secs <= STATE_RETRY_AFTER_MAX_MS / 1000)
                secs = secs * 10 + (*p - '0');
        }
        if (*p)
            return -1;
        int64_t d = secs * 1000;
        *delay_ms = d > STATE_RETRY_AFTER_MAX_MS ? STATE_RETRY_AFTER_MAX_MS : d;
        return 0;
    }
    int64_t at;
    if (parse_http_date(value, &at) != 0)
        return -1;
    int64_t d = at > now_ms ? at - now_ms : 0;
    *delay_ms = d > STATE_RETRY_AFTER_MAX_MS ? STATE_RETRY_AFTER_MAX_MS : d;
    return 0;
}

int64_t state_backoff_ms(unsigned step, uint32_t rnd)
{
    int64_t base = STATE_BACKOFF_MIN_MS;
    for (unsigned i = 0; i < step && base < STATE_BACKOFF_MAX_MS; i++)
        base *= 2;
    if (base > STATE_BACKOFF_MAX_MS)
        base = STATE_BACKOFF_MAX_MS;
    int64_t jitter = (base / 5) * (int64_t)rnd / ((int64_t)UINT32_MAX + 1);
    return base - jitter;
}

bool state_cooling(const struct state *s, int64_t now_ms)
{
    return s->kind != STATE_COOL_NONE && s->until_ms > now_ms && s->until_ms - now_ms <= STATE_RETRY_AFTER_MAX_MS;
}

/* True when the cooldown in s holds back requests to endpoint. */
static bool holds_back(const struct state *s, const char *endpoint)
{
    return !s->endpoint[0] || strcmp(s->endpoint, endpoint) == 0;
}

enum state_verdict state_check(const struct state *s, const char *id, const char *endpoint, int64_t now_ms)
{
    if (s->dead[0] && strcmp(s->dead, id) == 0)
        return STATE_DEAD;
    if (state_cooling(s, now_ms) && holds_back(s, endpoint))
        return s->kind == STATE_COOL_RATE ? STATE_WAIT_RATE : STATE_WAIT_FAIL;
    return STATE_GO;
}

/* Start (or lengthen) a cooldown of kind for delay ms at a's endpoint; false
 * when a longer one runs already there. */
static bool cool(struct state *s, const struct state_answer *a, enum state_cooldown kind, const char *reason,
                 int64_t now_ms, int64_t delay)
{
    if (delay < STATE_COOLDOWN_MIN_MS)
        delay = STATE_COOLDOWN_MIN_MS;
    /* A failure never shortens a longer rate-limit cooldown still running. */
    if (kind == STATE_COOL_FAIL && s->kind == STATE_COOL_RATE && s->until_ms > now_ms + delay &&
        holds_back(s, a->endpoint))
        return false;
    s->kind = kind;
    s->until_ms = now_ms + delay;
    copy_printable(s->reason, sizeof s->reason, reason);
    copy_endpoint(s->endpoint, a->endpoint);
    s->dirty = true;
    return true;
}

bool state_record(struct state *s, const struct state_answer *a, const char *id, int64_t now_ms, uint32_t rnd)
{
    char reason[32];
    switch (a->st) {
    case CR_OK:
        if (!state_empty(s) || s->existed) {
            bool existed = s->existed;
            state_init(s);
            s->existed = existed;
            s->dirty = true;
        }
        return false;
    case CR_ERR_RATE_LIMITED: {
        /* Another 429 soon after the last cooldown ended doubles the wait. */
        unsigned step = 0;
        if (s->kind == STATE_COOL_RATE && now_ms - s->until_ms <= STATE_STEP_MEMORY_MS &&
            holds_back(s, a->endpoint))
            step = s->step + 1 > 16 ? 16 : s->step + 1;
        int64_t delay;
        if (state_parse_retry_after(a->retry_after, now_ms, &delay) != 0)
            delay = state_backoff_ms(step, rnd);
        s->step = step;
        return cool(s, a, STATE_COOL_RATE, "429", now_ms, delay);
    }
    case CR_ERR_UNREACHABLE:
        if (a->http_status >= 300 && a->http_status < 400)
            return false; /* a redirect is a configuration problem; waiting changes nothing */
        if (a->http_status >= 500) {
            /* A 503 may say how long it will last. */
            int64_t delay;
            snprintf(reason, sizeof reason, "%ld", a->http_status);
            if (state_parse_retry_after(a->retry_after, now_ms, &delay) == 0 && delay > STATE_FAIL_COOLDOWN_MS)
                return cool(s, a, STATE_COOL_FAIL, reason, now_ms, delay);
        } else {
            snprintf(reason, sizeof reason, "%s", a->maybe_spent ? "no answer" : "network");
        }
        return cool(s, a, STATE_COOL_FAIL, reason, now_ms, STATE_FAIL_COOLDOWN_MS);
    case CR_ERR_BAD_RESPONSE:
        return a->maybe_spent && cool(s, a, STATE_COOL_FAIL, "timeout", now_ms, STATE_FAIL_COOLDOWN_MS);
    case CR_ERR_REJECTED:
        memcpy(s->dead, id, SHA256_HEX);
        s->dead_since_ms = now_ms;
        copy_printable(s->dead_error, sizeof s->dead_error, a->error[0] ? a->error : "invalid_grant");
        s->dirty = true;
        return false;
    default:
        return false;
    }
}

void state_describe_cooldown(const struct state *s, int64_t now_ms, char *buf, size_t len)
{
    char ts[40];
    expiry_format_rfc3339(s->until_ms, ts, sizeof ts);
    long long secs = s->until_ms > now_ms ? (long long)((s->until_ms - now_ms + 999) / 1000) : 0;
    snprintf(buf, len, "shared cooldown: no refresh request before %s (in %lld s): try again then", ts, secs);
}

enum cr_status state_describe(const struct state *s, enum state_verdict v, int64_t now_ms, const char *login_hint,
                              struct cr_err *err)
{
    char cool_msg[160], ts[40];
    switch (v) {
    case STATE_WAIT_RATE:
        state_describe_cooldown(s, now_ms, cool_msg, sizeof cool_msg);
        return cr_fail(err, CR_ERR_RATE_LIMITED, "token endpoint is rate limiting (429); %s", cool_msg);
    case STATE_WAIT_FAIL:
        state_describe_cooldown(s, now_ms, cool_msg, sizeof cool_msg);
        return cr_fail(err, CR_ERR_UNREACHABLE, "token endpoint failed moments ago (%s); %s",
                       s->reason[0] ? s->reason : "error", cool_msg);
    case STATE_DEAD:
        expiry_format_rfc3339(s->dead_since_ms, ts, sizeof ts);
        return cr_fail(err, CR_ERR_REJECTED,
                       "the refresh token was rejected (%s) at %s and is quarantined, so it is not sent again: log in "
                       "again (%s)",
                       s->dead_error[0] ? s->dead_error : "invalid_grant", ts, login_hint);
    case STATE_GO:
    default:
        cr_fail(err, CR_OK, "no cooldown");
        return CR_OK;
    }
}
