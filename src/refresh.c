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

#include "atomicfile.h"
#include "creds.h"
#include "expiry.h"
#include "http.h"
#include "lock.h"
#include "log.h"
#include "oauth.h"
#include "profile.h"
#include "refresh.h"
#include "util.h"

#define RESERVE_MARGIN 4096

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
static enum cr_status spend_and_store(const struct options *o, struct creds *c, struct atomic_file *af, struct fresh *f)
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
    };
    struct http_response res;
    log_info("refreshing the access token at %s", url);
    st = http_post(&req, &res, f->why, sizeof f->why);
    secret_free(body);
    free(url);
    if (st != CR_OK) {
        http_response_free(&res);
        atomic_abort(af);
        return st;
    }
    struct oauth_response r;
    st = oauth_parse_response_shaped(res.status, res.body, res.len, profile_shape(o), &r, f->why, sizeof f->why);
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
        st = atomic_commit(af, out, outlen, &rescue, why, sizeof why);
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

    char *buf = NULL;
    size_t len = 0;
    struct stat sb;
    st = file_read(o->credentials, &buf, &len, &sb, f->why, sizeof f->why);
    if (st != CR_OK)
        return st;
    struct creds c;
    char why[384];
    st = creds_load(&c, o->format, o->fields, buf, len, why, sizeof why);
    secret_free_n(buf, len);
    if (st != CR_OK) {
        snprintf(f->why, sizeof f->why, "credentials file %s: %s; fix it or log in again", o->credentials, why);
        return st;
    }
    int64_t now = expiry_now_ms();
    keep_token(f, &c.t, now);

    if (c.t.access && !o->force && !expiry_needs_refresh(c.t.expires_ms, now, o->min_validity)) {
        log_info("access token valid for %lld s more; no refresh needed",
                 (long long)expiry_seconds_left(c.t.expires_ms, now));
        creds_free(&c);
        return CR_OK;
    }
    if (!c.t.refresh) {
        snprintf(f->why, sizeof f->why, "%s holds no refresh token: log in again (%s)", o->credentials,
                 profile_login_hint(o));
        creds_free(&c);
        return CR_ERR_REJECTED;
    }

    atomic_remove_stale(o->credentials);
    struct atomic_file af;
    st = atomic_prepare(&af, o->credentials, &sb, (size_t)sb.st_size + RESERVE_MARGIN, f->why, sizeof f->why);
    if (st == CR_OK) {
        sigset_t old;
        hold_signals(&old);
        st = spend_and_store(o, &c, &af, f);
        sigprocmask(SIG_SETMASK, &old, NULL);
    }
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
