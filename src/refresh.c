/* SPDX-License-Identifier: MIT */
/* Ensure the credentials are fresh. The order is the whole point: lock,
 * re-read under the lock, decide, reserve the new file, spend the refresh
 * token, store what came back. */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "applock.h"
#include "atomicfile.h"
#include "creds.h"
#include "expiry.h"
#include "http.h"
#include "lock.h"
#include "log.h"
#include "oauth.h"
#include "refresh.h"
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

/* Spend the refresh token and store the answer. Called with the lock held,
 * c loaded from disk under it, and a reserved temp file. */
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

static enum cr_status spend_and_store(const struct options *o, struct creds *c, struct atomic_file *af,
                                      struct applock_set *apps, struct fresh *f)
{
    char *body = oauth_request_body(o->body, c->t.refresh, o->client_id, c->t.scope);
    struct http_request req = {
        .url = o->token_url,
        .content_type = o->body == OAUTH_BODY_FORM ? "application/x-www-form-urlencoded" : "application/json",
        .body = body,
        .body_len = strlen(body),
        .timeout_s = o->http_timeout,
        .cacert = o->cacert,
        .loopback = o->token_url_loopback,
        .allow_http = o->token_url_loopback,
        .max_response = OAUTH_MAX_RESPONSE,
        .tick = tick_applocks,
        .tick_arg = apps,
    };
    struct http_response res;
    log_info("refreshing the access token at %s", o->token_url);
    enum cr_status st = http_post(&req, &res, f->why, sizeof f->why);
    secret_free(body);
    if (st != CR_OK) {
        http_response_free(&res);
        atomic_abort(af);
        return st;
    }
    struct oauth_response r;
    st = oauth_parse_response(res.status, res.body, res.len, &r, f->why, sizeof f->why);
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
    int64_t expires = r.access_token ? expiry_from_expires_in(now, r.has_expires_in ? r.expires_in : 0) : now;
    if (r.access_token && !r.has_expires_in)
        log_warn("token endpoint gave no expires_in; treating the new access token as valid for 1 s");
    creds_update(c, r.access_token, r.refresh_token, expires, r.scope);
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

/* Read and parse the credentials file into c (and its status into sb);
 * f gets its access token. On failure f->why says why. */
static enum cr_status load_creds(const struct options *o, struct creds *c, struct stat *sb, struct fresh *f)
{
    char *buf = NULL;
    size_t len = 0;
    enum cr_status st = file_read(o->credentials, &buf, &len, sb, f->why, sizeof f->why);
    if (st != CR_OK)
        return st;
    char why[384];
    st = creds_load(c, o->format, o->fields, buf, len, why, sizeof why);
    secret_free_n(buf, len);
    if (st != CR_OK) {
        snprintf(f->why, sizeof f->why, "credentials file %s: %s; fix it or log in again", o->credentials, why);
        return st;
    }
    keep_token(f, &c->t, expiry_now_ms());
    return CR_OK;
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

enum cr_status refresh_ensure(const struct options *o, struct fresh *f)
{
    memset(f, 0, sizeof *f);
    f->lock_fd = -1;
    f->expires_ms = EXPIRY_UNKNOWN;

    struct lock_wait w;
    lock_wait_init(&w, o->nonblock, o->wait_timeout);
    enum cr_status st = lock_open(o->lock_file, &f->lock_fd, f->why, sizeof f->why);
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
        st = applock_acquire(&apps, o->refresh_locks, o->n_refresh_locks, &w, NULL, f->why, sizeof f->why);
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
        snprintf(f->why, sizeof f->why, "%s holds no refresh token: log in again (claude /login)", o->credentials);
        creds_free(&c);
        applock_release(&apps);
        return CR_ERR_REJECTED;
    }

    atomic_remove_stale(o->credentials);
    struct atomic_file af;
    st = atomic_prepare(&af, o->credentials, &sb, (size_t)sb.st_size + RESERVE_MARGIN, f->why, sizeof f->why);
    if (st == CR_OK) {
        sigset_t old;
        hold_signals(&old);
        st = spend_and_store(o, &c, &af, &apps, f);
        sigprocmask(SIG_SETMASK, &old, NULL);
    }
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
