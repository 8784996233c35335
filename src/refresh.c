/* SPDX-License-Identifier: MIT */
/* Ensure the credentials are fresh. The order is the whole point: lock,
 * re-read under the lock, decide, reserve the new file, spend the refresh
 * token, store what came back. */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "applock.h"
#include "atomicfile.h"
#include "creds.h"
#include "expiry.h"
#include "http.h"
#include "lock.h"
#include "log.h"
#include "oauth.h"
#include "profile.h"
#include "refresh.h"
#include "retry.h"
#include "state.h"
#include "util.h"

#define RESERVE_MARGIN 4096
#define WRITE_LOCK_WAIT_S 10

/* Signals that would kill us between spending the refresh token and storing
 * its successor are held back for that span. */
static void hold_signals(sigset_t *old)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, old);
}

static void keep_token(struct fresh *f, const struct tokens *t, int64_t now)
{
    secret_free(f->access);
    f->access = t->access ? xstrdup(t->access) : NULL;
    f->expires_ms = t->expires_ms;
    f->usable = t->access && expiry_usable(t->expires_ms, now);
}

/* libcurl's progress callback: keep the application's lock directories live. */
static void tick_applocks(void *arg)
{
    applock_tick(arg);
}

/* Write the new file under the application's write locks (Claude Code's
 * .storage-write.lock). The refresh token is already spent, so a busy write
 * lock delays the write by at most WRITE_LOCK_WAIT_S, never prevents it. */
static enum cr_status commit_under_write_locks(const struct options *o, struct applock_set *apps, struct atomic_file *af,
                                               const char *out, size_t outlen, char **rescue, char *why, size_t whylen)
{
    struct applock_set wl;
    struct lock_wait w;
    lock_wait_init(&w, false, WRITE_LOCK_WAIT_S);
    char lwhy[256];
    if (applock_acquire(&wl, o->write_locks, o->n_write_locks, &w, apps, lwhy, sizeof lwhy) != CR_OK)
        log_warn("%s; writing the new tokens without it", lwhy);
    enum cr_status st = atomic_commit(af, out, outlen, rescue, why, whylen);
    applock_release(&wl);
    return st;
}

/* Spend the refresh token and store the answer. Called with the lock held,
 * c loaded from disk under it, a reserved temp file, and the application's
 * locks apps held. ans gets what the answer means for the shared state
 * (state.h). */
static enum cr_status spend_and_store(const struct options *o, struct creds *c, struct atomic_file *af,
                                      struct applock_set *apps, struct fresh *f, struct state_answer *ans)
{
    char *url;
    bool loopback;
    enum cr_status st = profile_token_url(o, &c->t, &url, &loopback, f->why, sizeof f->why);
    if (st != CR_OK) {
        atomic_abort(af);
        return st;
    }
    char *body = oauth_request_body_shaped(o->body, profile_shape(o), c->t.refresh, o->client_id, c->t.scope);
    struct http_request req = {
        .url = url,
        .content_type = o->body == OAUTH_BODY_FORM ? "application/x-www-form-urlencoded" : "application/json",
        .body = body,
        .body_len = strlen(body),
        .timeout_s = o->http_timeout,
        .cacert = o->cacert,
        .loopback = loopback,
        .allow_http = loopback,
        .max_response = OAUTH_MAX_RESPONSE,
        .tick = tick_applocks,
        .tick_arg = apps,
    };
    struct http_response res;
    log_info("refreshing the access token at %s", url);
    memset(ans, 0, sizeof *ans);
    st = retry_http_post(&req, &res, &ans->attempts, f->why, sizeof f->why);
    secret_free(body);
    free(url);
    ans->http_status = res.status;
    ans->maybe_spent = st != CR_OK && res.sent && !res.too_large;
    snprintf(ans->retry_after, sizeof ans->retry_after, "%s", res.retry_after);
    if (st != CR_OK) {
        http_response_free(&res);
        atomic_abort(af);
        return st;
    }
    struct oauth_response r;
    st = oauth_parse_response_shaped(res.status, res.body, res.len, profile_shape(o), &r, f->why, sizeof f->why);
    snprintf(ans->error, sizeof ans->error, "%s", r.error);
    http_response_free(&res);
    int64_t now = expiry_now_ms();
    if (st != CR_OK && !r.refresh_token) {
        oauth_response_free(&r);
        atomic_abort(af);
        return st;
    }
    /* A 2xx with a new refresh token spent the old one: store it even when
     * the access token is unusable (it is then recorded as expired). */
    enum cr_status answer = st;
    bool known = true;
    int64_t expires =
        r.access_token ? oauth_response_expiry(&r, now, o->fields->unit == EXPIRY_UNIT_JWT, &known) : now;
    if (!known)
        log_warn("token endpoint gave no expiry; treating the new access token as valid for 1 s");
    creds_update(c, r.access_token, r.refresh_token, expires, r.scope);
    for (size_t i = 0; i < OAUTH_MAX_EXTRA && i < CREDS_MAX_EXTRA; i++)
        if (r.extra[i])
            creds_set_extra(c, i, r.extra[i]);
    oauth_response_free(&r);

    char *out = NULL, *rescue = NULL;
    size_t outlen = 0;
    char why[512];
    st = creds_store(c, &out, &outlen, why, sizeof why);
    if (st == CR_OK)
        st = commit_under_write_locks(o, apps, af, out, outlen, &rescue, why, sizeof why);
    else
        atomic_abort(af);
    secret_free_n(out, outlen);
    free(rescue);
    if (st != CR_OK) {
        snprintf(f->why, sizeof f->why, "%s", why);
        return st;
    }
    if (answer != CR_OK)
        return answer; /* stored what we could; f->why says what was wrong */
    f->refreshed = true;
    keep_token(f, &c->t, now);
    log_info("refreshed; the new access token is valid for %lld s", (long long)expiry_seconds_left(c->t.expires_ms, now));
    return CR_OK;
}

/* Append "; more" to f->why (cut to fit). */
static void why_append(struct fresh *f, const char *more)
{
    size_t n = strlen(f->why);
    snprintf(f->why + n, sizeof f->why - n, "; %s", more);
}

/* Append to f->why where a rescue file a failed write left is, if one exists. */
static void rescue_hint(const struct options *o, struct fresh *f)
{
    char *rescue = xasprintf("%s%s", o->credentials, ATOMIC_RESCUE_TAG);
    if (access(rescue, F_OK) == 0) {
        char hint[600];
        snprintf(hint, sizeof hint, "but %s holds tokens saved by a refresh whose write failed: move it over %s first",
                 rescue, o->credentials);
        why_append(f, hint);
    }
    free(rescue);
}

/* May the refresh token in c be spent now? Not during a shared cooldown, and
 * never if it was declared dead before (--force overrides neither). Returns
 * CR_OK, or the status to end with and f->why saying until when or why. */
static enum cr_status admit(const struct options *o, const struct state *ss, const struct creds *c, struct fresh *f)
{
    int64_t now = expiry_now_ms();
    char id[SHA256_HEX];
    state_token_id(c->t.refresh, id);
    enum state_verdict v = state_check(ss, id, now);
    if (v == STATE_GO)
        return CR_OK;
    state_describe(ss, v, now, f->why, sizeof f->why);
    if (v == STATE_DEAD) {
        rescue_hint(o, f);
        return CR_ERR_REJECTED;
    }
    f->retry_at_ms = ss->until_ms;
    return v == STATE_WAIT_RATE ? CR_ERR_RATE_LIMITED : CR_ERR_UNREACHABLE;
}

/* Read and parse the credentials file (under the lock) into c and its
 * status into sb. With f, f gets the access token, and on failure f->why
 * says why; without f the file is only looked at. */
static enum cr_status load_creds(const struct options *o, struct creds *c, struct stat *sb, struct fresh *f)
{
    char *buf = NULL, why[384];
    size_t len = 0;
    enum cr_status st = file_read(o->credentials, &buf, &len, sb, why, sizeof why);
    if (st == CR_OK) {
        st = creds_load(c, o->format, o->fields, buf, len, why, sizeof why);
        secret_free_n(buf, len);
        if (st != CR_OK && f)
            snprintf(f->why, sizeof f->why, "credentials file %s: %s; fix it or log in again", o->credentials, why);
    } else if (f) {
        snprintf(f->why, sizeof f->why, "%s", why);
    }
    if (st == CR_OK && f)
        keep_token(f, &c->t, expiry_now_ms());
    return st;
}

/* After the answer (or its absence) to a refresh with the token named sent:
 * if that token was rejected or may have been spent by a request that got
 * no answer, re-read the file once, and adopt the tokens another writer (one
 * that does not take our lock) put there meanwhile; then record the outcome
 * in the shared state and say in f->why what happens next. *again (when not
 * NULL) asks the caller to refresh once more with an adopted token that is
 * not fresh enough. Returns the refresh's final status. */
static enum cr_status after_answer(const struct options *o, struct creds *c, struct stat *sb, struct fresh *f,
                                   struct state *ss, struct state_answer *ans, const char *sent, enum cr_status st,
                                   bool *again)
{
    int64_t now = expiry_now_ms();
    if ((st == CR_ERR_REJECTED || ans->maybe_spent) && again) {
        struct creds cur;
        struct stat csb;
        char id[SHA256_HEX] = "";
        if (load_creds(o, &cur, &csb, NULL) == CR_OK) {
            if (cur.t.refresh)
                state_token_id(cur.t.refresh, id);
            if (id[0] && strcmp(id, sent) != 0) {
                log_warn("the token endpoint %s, but another program put new tokens in %s meanwhile: using those",
                         st == CR_ERR_REJECTED ? "rejected the refresh token" : "did not answer", o->credentials);
                creds_free(c);
                *c = cur;
                *sb = csb;
                keep_token(f, &c->t, now);
                if (c->t.access && !expiry_needs_refresh(c->t.expires_ms, now, o->min_validity)) {
                    ans->st = CR_OK;
                    state_record(ss, ans, sent, now, 0);
                    f->why[0] = '\0';
                    return CR_OK;
                }
                *again = true;
                return CR_OK;
            }
            creds_free(&cur);
        }
        if (ans->maybe_spent)
            why_append(f, "credrun did not send it again, and the credentials file still holds the token that was sent");
    }
    ans->st = st;
    uint32_t rnd = 0;
    if (getrandom(&rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
        rnd = (uint32_t)now;
    char more[200];
    if (state_record(ss, ans, sent, now, rnd)) {
        if (ans->attempts > 1) {
            snprintf(more, sizeof more, "%d attempts made", ans->attempts);
            why_append(f, more);
        }
        state_describe_cooldown(ss, now, more, sizeof more);
        why_append(f, more);
        f->retry_at_ms = ss->until_ms;
    } else if (st == CR_ERR_REJECTED) {
        why_append(f, "this refresh token is quarantined and will not be sent again");
        rescue_hint(o, f);
    }
    return st;
}

/* True when c's access token needs no refresh (and --force was not given). */
static bool still_fresh(const struct options *o, const struct creds *c)
{
    int64_t now = expiry_now_ms();
    if (!c->t.access || o->force || expiry_needs_refresh(c->t.expires_ms, now, o->min_validity))
        return false;
    log_info("access token valid for %lld s more; no refresh needed", (long long)expiry_seconds_left(c->t.expires_ms, now));
    return true;
}

static enum cr_status ensure_locked(const struct options *o, const struct lock_wait *w, struct fresh *f);

/* Start a run: f empty, the clock for every lock wait started. */
static void fresh_init(const struct options *o, struct fresh *f, struct lock_wait *w)
{
    memset(f, 0, sizeof *f);
    f->lock_fd = -1;
    f->expires_ms = EXPIRY_UNKNOWN;
    lock_wait_init(w, o->nonblock, o->wait_timeout);
}

enum cr_status refresh_ensure(const struct options *o, struct fresh *f)
{
    struct lock_wait w;
    fresh_init(o, f, &w);
    enum cr_status st = lock_open(o->lock_file, &f->lock_fd, f->why, sizeof f->why);
    if (st != CR_OK && access(o->credentials, F_OK) != 0) {
        /* No login at all (its directory is missing too): say that. */
        snprintf(f->why, sizeof f->why, "credentials file %s does not exist: log in first (%s), or pass --credentials",
                 o->credentials, profile_login_hint(o));
        return CR_ERR_CREDS_MISSING;
    }
    if (st != CR_OK)
        return st;
    st = lock_take(f->lock_fd, &w);
    if (st != CR_OK) {
        if (st == CR_ERR_LOCK_BUSY)
            snprintf(f->why, sizeof f->why, "lock %s is held by another process", o->lock_file);
        else
            snprintf(f->why, sizeof f->why, "cannot lock %s: %m", o->lock_file);
        close(f->lock_fd);
        f->lock_fd = -1;
        return st;
    }
    return ensure_locked(o, &w, f);
}

enum cr_status refresh_ensure_locked(const struct options *o, struct fresh *f)
{
    struct lock_wait w;
    fresh_init(o, f, &w);
    return ensure_locked(o, &w, f);
}

/* The part of refresh_ensure() that runs with the credential lock held:
 * re-read, take the applications' locks, decide, refresh, store; w bounds
 * the waits. Returns what refresh_ensure() returns. */
static enum cr_status ensure_locked(const struct options *o, const struct lock_wait *w, struct fresh *f)
{
    enum cr_status st;
    struct stat sb;
    struct creds c;
    st = load_creds(o, &c, &sb, f);
    if (st != CR_OK)
        return st;
    if (still_fresh(o, &c)) {
        creds_free(&c);
        return CR_OK;
    }
    /* The application may be refreshing right now: take its own locks, and
     * re-read, since it may have refreshed while we waited. */
    struct applock_set apps = {0};
    if (o->n_refresh_locks) {
        creds_free(&c);
        st = applock_acquire(&apps, o->refresh_locks, o->n_refresh_locks, w, NULL, f->why, sizeof f->why);
        if (st == CR_ERR_CANT_WRITE)
            why_append(f, "the refresh token was not spent");
        if (st == CR_OK)
            st = load_creds(o, &c, &sb, f);
        if (st != CR_OK || still_fresh(o, &c)) {
            if (st == CR_OK)
                creds_free(&c);
            applock_release(&apps);
            return st;
        }
    }
    if (!c.t.refresh) {
        snprintf(f->why, sizeof f->why, "%s holds no refresh token: log in again (%s)", o->credentials,
                 profile_login_hint(o));
        creds_free(&c);
        applock_release(&apps);
        return CR_ERR_REJECTED;
    }

    /* The shared cooldown and quarantine: read only now that a refresh is
     * needed, never on the fast path. */
    char *spath = state_path(o->credentials);
    struct state ss;
    state_load(&ss, spath);
    st = admit(o, &ss, &c, f);
    bool again = st == CR_OK;
    for (int round = 0; again; round++) {
        again = false;
        char sent[SHA256_HEX];
        state_token_id(c.t.refresh, sent);
        atomic_remove_stale(o->credentials);
        struct atomic_file af;
        st = atomic_prepare(&af, o->credentials, &sb, (size_t)sb.st_size + RESERVE_MARGIN, f->why, sizeof f->why);
        if (st == CR_OK) {
            sigset_t old;
            hold_signals(&old);
            struct state_answer ans;
            st = spend_and_store(o, &c, &af, &apps, f, &ans);
            st = after_answer(o, &c, &sb, f, &ss, &ans, sent, st, round == 0 ? &again : NULL);
            state_save(&ss, spath, &sb);
            sigprocmask(SIG_SETMASK, &old, NULL);
        }
    }
    state_save(&ss, spath, &sb);
    free(spath);
    applock_release(&apps);
    creds_free(&c);
    return st;
}

void fresh_free(struct fresh *f)
{
    if (f->lock_fd >= 0)
        close(f->lock_fd);
    f->lock_fd = -1;
    secret_free(f->access);
    f->access = NULL;
}
