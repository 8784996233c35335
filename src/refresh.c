/* SPDX-License-Identifier: MIT */
/* Ensure the credentials are fresh. The order is the whole point: lock,
 * re-read under the lock, decide, reserve the new file, spend the refresh
 * token, store what came back. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "applock.h"
#include "atomicfile.h"
#include "creds.h"
#include "exactonce.h"
#include "expiry.h"
#include "fileown.h"
#include "http.h"
#include "lock.h"
#include "log.h"
#include "oauth.h"
#include "procsafe.h"
#include "refresh.h"
#include "retry.h"
#include "state.h"
#include "util.h"

#define RESERVE_MARGIN 4096
#define WRITE_LOCK_WAIT_S 10

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
static enum cr_status commit_under_write_locks(const struct run_config *rc, struct applock_set *apps,
                                               struct atomic_file *af, const char *out, size_t outlen, char **rescue,
                                               struct cr_err *err)
{
    struct applock_set wl;
    struct lock_wait w;
    lock_wait_init(&w, false, WRITE_LOCK_WAIT_S);
    struct cr_err lerr;
    size_t n;
    const struct applock_spec *specs = config_app_locks(rc, true, &n);
    if (applock_acquire(&wl, specs, n, &w, apps, &lerr) != CR_OK)
        log_warn("%s; writing the new tokens without it", lerr.msg);
    enum cr_status st = atomic_commit(af, out, outlen, rescue, err);
    applock_release(&wl);
    return st;
}

/* Send the refresh request for c's refresh token and parse the answer into
 * r (to be freed with oauth_response_free, whatever the status). ans gets
 * what the answer means for the shared state (state.h). */
static enum cr_status send_request(const struct run_config *rc, const struct creds *c, struct applock_set *apps,
                                   struct oauth_response *r, struct state_answer *ans, struct cr_err *err)
{
    memset(r, 0, sizeof *r);
    memset(ans, 0, sizeof *ans);
    char *url;
    bool loopback;
    enum cr_status st = config_token_url(rc, &c->t, &url, &loopback, err);
    if (st != CR_OK)
        return st;
    if (strlen(url) < sizeof ans->endpoint)
        memcpy(ans->endpoint, url, strlen(url) + 1);
    char *body = oauth_request_body_shaped(rc->body, rc->shape, c->t.refresh, rc->client_id, c->t.scope);
    struct http_request req = {
        .url = url,
        .content_type = rc->body == OAUTH_BODY_FORM ? "application/x-www-form-urlencoded" : "application/json",
        .body = body,
        .body_len = strlen(body),
        .timeout_s = rc->http_timeout,
        .cacert = rc->cacert,
        .loopback = loopback,
        .allow_http = loopback,
        .max_response = OAUTH_MAX_RESPONSE,
        .tick = tick_applocks,
        .tick_arg = apps,
    };
    struct http_response res;
    log_info("refreshing the access token at %s", url);
    st = retry_http_post(&req, &res, &ans->attempts, err);
    secret_free(body);
    free(url);
    ans->http_status = res.status;
    ans->maybe_spent = st != CR_OK && res.sent && !res.too_large;
    snprintf(ans->retry_after, sizeof ans->retry_after, "%s", res.retry_after);
    if (st == CR_OK) {
        st = oauth_parse_response_shaped(res.status, res.body, res.len, rc->shape, r, err);
        snprintf(ans->error, sizeof ans->error, "%s", r->error);
    }
    http_response_free(&res);
    return st;
}

/* Put the answer r into c and write c to the reserved file af. */
static enum cr_status store_answer(const struct run_config *rc, struct creds *c, struct atomic_file *af,
                                   struct applock_set *apps, const struct oauth_response *r, int64_t now,
                                   struct cr_err *err)
{
    /* A 2xx with a new refresh token spent the old one: store it even when
     * the access token is unusable (it is then recorded as expired). */
    bool known = true;
    int64_t expires =
        r->access_token ? oauth_response_expiry(r, now, rc->fields->unit == EXPIRY_UNIT_JWT, &known) : now;
    if (!known)
        log_warn("token endpoint gave no expiry; treating the new access token as valid for 1 s");
    creds_update(c, r->access_token, r->refresh_token, expires, r->scope);
    for (size_t i = 0; i < OAUTH_MAX_EXTRA && i < CREDS_MAX_EXTRA; i++)
        if (r->extra[i])
            creds_set_extra(c, i, r->extra[i]);
    char *out = NULL, *rescue = NULL;
    size_t outlen = 0;
    enum cr_status st = creds_store(c, &out, &outlen, err);
    if (st == CR_OK)
        st = commit_under_write_locks(rc, apps, af, out, outlen, &rescue, err);
    else
        atomic_abort(af);
    secret_free_n(out, outlen);
    free(rescue);
    return st;
}

/* Spend the refresh token and store the answer. Called with the lock held,
 * c loaded from disk under it, a reserved temp file, and the application's
 * locks apps held. ans gets what the answer means for the shared state
 * (state.h). */
static enum cr_status spend_and_store(const struct run_config *rc, struct creds *c, struct atomic_file *af,
                                      struct applock_set *apps, struct fresh *f, struct state_answer *ans,
                                      struct cr_err *err)
{
    struct oauth_response r;
    enum cr_status answer = send_request(rc, c, apps, &r, ans, err);
    int64_t now = expiry_now_ms();
    if (answer != CR_OK && !r.refresh_token) {
        oauth_response_free(&r);
        atomic_abort(af);
        return answer;
    }
    struct cr_err serr;
    enum cr_status st = store_answer(rc, c, af, apps, &r, now, &serr);
    oauth_response_free(&r);
    if (st != CR_OK) {
        *err = serr;
        return st;
    }
    if (answer != CR_OK)
        return answer; /* stored what we could; err says what was wrong */
    keep_token(f, &c->t, now);
    log_info("refreshed: the new access token is valid for %lld s", (long long)expiry_seconds_left(c->t.expires_ms, now));
    return CR_OK;
}

/* Append to err where a rescue file a failed write left is, if one exists. */
static void rescue_hint(const struct run_config *rc, struct cr_err *err)
{
    char *rescue = xasprintf("%s%s", rc->credentials, ATOMIC_RESCUE_TAG);
    if (access(rescue, F_OK) == 0)
        cr_append(err, "but %s holds tokens saved by a refresh whose write failed: move it over %s first", rescue,
                  rc->credentials);
    free(rescue);
}

/* May the refresh token in c be spent now? Not during a shared cooldown of
 * its endpoint, and never if it was declared dead before (--force overrides
 * neither). Returns CR_OK, or the status to end with and err saying until
 * when or why. */
static enum cr_status admit(const struct run_config *rc, const struct state *ss, const struct creds *c,
                            struct fresh *f, struct cr_err *err)
{
    int64_t now = expiry_now_ms();
    char id[SHA256_HEX];
    state_token_id(c->t.refresh, id);
    char *url;
    bool loopback;
    enum cr_status ust = config_token_url(rc, &c->t, &url, &loopback, err);
    if (ust != CR_OK)
        return ust;
    enum state_verdict v = state_check(ss, id, url, now);
    if (v != STATE_GO && log_verbose()) {
        char ts[40];
        expiry_format_rfc3339(v == STATE_DEAD ? ss->dead_since_ms : ss->until_ms, ts, sizeof ts);
        if (v == STATE_DEAD)
            log_info("quarantined: the refresh token was rejected (%s) at %s; it is not sent again", ss->dead_error, ts);
        else
            log_info("cooldown: no request to %s before %s (%s)", url, ts, ss->reason);
    }
    free(url);
    if (v == STATE_GO)
        return CR_OK;
    enum cr_status st = state_describe(ss, v, now, rc->login_hint, err);
    if (v == STATE_DEAD)
        rescue_hint(rc, err);
    else
        f->retry_at_ms = ss->until_ms;
    return st;
}

/* No login at all: say so, with how this profile's application logs in. */
static enum cr_status no_login(const struct run_config *rc, struct cr_err *err)
{
    return cr_fail(err, CR_ERR_CREDS_MISSING, "credentials file %s does not exist: log in first (%s), or pass --credentials",
                   rc->credentials, rc->login_hint);
}

/* Read and parse the credentials file (under the lock) into c and its
 * status into sb. With f, f gets the access token; err says why on failure. */
static enum cr_status load_creds(const struct run_config *rc, struct creds *c, struct stat *sb, struct fresh *f,
                                 struct cr_err *err)
{
    char *buf = NULL;
    size_t len = 0;
    enum cr_status st = exactonce_read(rc->credentials, rc->lock_file, &buf, &len, sb, err);
    if (st == CR_ERR_CREDS_MISSING && access(rc->credentials, F_OK) != 0 && errno == ENOENT)
        return no_login(rc, err);
    if (st == CR_OK)
        st = fileown_check_creds(rc->credentials, sb, err); /* anyone could have written it: refuse */
    if (st == CR_OK) {
        st = creds_load(c, rc->format, rc->fields, buf, len, err);
        if (st != CR_OK) {
            cr_wrap(err, "credentials file %s", rc->credentials);
            cr_append(err, "fix it or log in again");
        }
    }
    secret_free_n(buf, len);
    if (st == CR_OK && f)
        keep_token(f, &c->t, expiry_now_ms());
    return st;
}

enum cr_status refresh_read_creds(const struct run_config *rc, struct creds *c, struct stat *sb, struct cr_err *err)
{
    return load_creds(rc, c, sb, NULL, err);
}

/* If the token named sent was rejected or may have been spent by a request
 * that got no answer, re-read the file once and adopt the tokens another
 * writer (one that does not take our lock) put there meanwhile. Returns true
 * when it did: then *done says whether they are fresh enough to end with. */
static bool adopt_peer(const struct run_config *rc, struct creds *c, struct stat *sb, struct fresh *f,
                       const char *sent, enum cr_status st, bool *done)
{
    struct creds cur;
    struct stat csb;
    struct cr_err scratch;
    char id[SHA256_HEX] = "";
    if (load_creds(rc, &cur, &csb, NULL, &scratch) != CR_OK)
        return false;
    if (cur.t.refresh)
        state_token_id(cur.t.refresh, id);
    if (!id[0] || strcmp(id, sent) == 0) {
        creds_free(&cur);
        return false;
    }
    log_warn("adopted a peer's refresh: the token endpoint %s, but another program put new tokens in %s meanwhile: "
             "using those",
             st == CR_ERR_REJECTED ? "rejected the refresh token" : "did not answer", rc->credentials);
    creds_free(c);
    *c = cur;
    *sb = csb;
    int64_t now = expiry_now_ms();
    keep_token(f, &c->t, now);
    *done = c->t.access && !expiry_needs_refresh(c->t.expires_ms, now, rc->min_validity);
    return true;
}

/* After the answer (or its absence) to a refresh with the token named sent:
 * adopt a peer's tokens when ours was rejected or maybe spent (adopt_peer),
 * then record the outcome in the shared state and say in err what happens
 * next. *again (when not NULL) asks the caller to refresh once more with an
 * adopted token that is not fresh enough. Returns the refresh's final
 * status. */
static enum cr_status after_answer(const struct run_config *rc, struct creds *c, struct stat *sb, struct fresh *f,
                                   struct state *ss, struct state_answer *ans, const char *sent, enum cr_status st,
                                   bool *again, struct cr_err *err)
{
    int64_t now = expiry_now_ms();
    if ((st == CR_ERR_REJECTED || ans->maybe_spent) && again) {
        bool done;
        if (adopt_peer(rc, c, sb, f, sent, st, &done)) {
            if (done) {
                ans->st = CR_OK;
                state_record(ss, ans, sent, now, 0);
                cr_clear(err);
            } else {
                *again = true;
            }
            return CR_OK;
        }
        if (ans->maybe_spent)
            cr_append(err, "credrun did not send it again, and the credentials file still holds the token that was sent");
    }
    ans->st = st;
    uint32_t rnd = 0;
    if (getrandom(&rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
        rnd = (uint32_t)now;
    if (state_record(ss, ans, sent, now, rnd)) {
        if (ans->attempts > 1)
            cr_append(err, "%d attempts made", ans->attempts);
        char more[200];
        state_describe_cooldown(ss, now, more, sizeof more);
        cr_append(err, "%s", more);
        f->retry_at_ms = ss->until_ms;
    } else if (st == CR_ERR_REJECTED) {
        cr_append(err, "this refresh token is quarantined and will not be sent again");
        rescue_hint(rc, err);
    }
    return st;
}

/* True when c's access token needs no refresh (and --force was not given);
 * -v then says so, as the decision named by what ("fresh", ...). */
static bool still_fresh(const struct run_config *rc, const struct creds *c, const char *what)
{
    int64_t now = expiry_now_ms();
    if (!c->t.access || rc->force || expiry_needs_refresh(c->t.expires_ms, now, rc->min_validity))
        return false;
    log_info("%s: the access token is valid for %lld s more (over -m %ld s); no refresh needed", what,
             (long long)expiry_seconds_left(c->t.expires_ms, now), rc->min_validity);
    return true;
}

/* -v: the file, the profile and the endpoint a run works with. */
static void log_setting(const struct run_config *rc, const struct creds *c)
{
    if (!log_verbose())
        return;
    char *url;
    bool loopback;
    struct cr_err scratch;
    if (config_token_url(rc, &c->t, &url, &loopback, &scratch) != CR_OK)
        url = xstrdup("none usable");
    log_info("credentials %s, profile %s, token endpoint %s", rc->credentials,
             rc->profile_name ? rc->profile_name : "(none)", url);
    free(url);
}

static enum cr_status ensure_locked(const struct run_config *rc, const struct lock_wait *w, struct fresh *f,
                                    struct cr_err *err);

/* Start a run: f empty, err clear, the clock for every lock wait started. */
static void fresh_init(const struct run_config *rc, struct fresh *f, struct lock_wait *w, struct cr_err *err)
{
    memset(f, 0, sizeof *f);
    f->lock_fd = -1;
    f->expires_ms = EXPIRY_UNKNOWN;
    cr_clear(err);
    lock_wait_init(w, rc->nonblock, rc->wait_timeout);
}

enum cr_status refresh_ensure(const struct run_config *rc, struct fresh *f, struct cr_err *err)
{
    struct lock_wait w;
    fresh_init(rc, f, &w, err);
    enum cr_status st = lock_open(rc->lock_file, rc->credentials, rc->lock_inherited, &f->lock_fd, err);
    if (st != CR_OK && access(rc->credentials, F_OK) != 0)
        return no_login(rc, err); /* its directory is missing too */
    if (st != CR_OK)
        return st;
    st = lock_take_named(f->lock_fd, rc->lock_file, &w);
    if (st != CR_OK) {
        if (st == CR_ERR_LOCK_BUSY) {
            char who[200];
            lock_holder(f->lock_fd, who, sizeof who);
            cr_fail(err, st, "lock %s is held by another process%s%s", rc->lock_file, who[0] ? ", " : "", who);
            lock_wait_gave_up(&w, err);
        } else
            cr_fail(err, st, "cannot lock %s: %m", rc->lock_file);
        close(f->lock_fd);
        f->lock_fd = -1;
        return st;
    }
    return ensure_locked(rc, &w, f, err);
}

enum cr_status refresh_ensure_locked(const struct run_config *rc, struct fresh *f, struct cr_err *err)
{
    struct lock_wait w;
    fresh_init(rc, f, &w, err);
    return ensure_locked(rc, &w, f, err);
}

/* The application may be refreshing right now: take its own locks into
 * apps, and re-read c, since it may have refreshed while we waited. Returns
 * CR_OK with *fresh_now telling whether c no longer needs a refresh (then c
 * is freed and apps released); on failure c is freed and apps released. */
static enum cr_status take_applocks(const struct run_config *rc, const struct lock_wait *w, struct creds *c,
                                    struct stat *sb, struct fresh *f, struct applock_set *apps, bool *fresh_now,
                                    struct cr_err *err)
{
    *fresh_now = false;
    size_t n;
    const struct applock_spec *specs = config_app_locks(rc, false, &n);
    if (!n)
        return CR_OK;
    creds_free(c);
    enum cr_status st = applock_acquire(apps, specs, n, w, NULL, err);
    if (st == CR_ERR_CANT_WRITE)
        cr_append(err, "the refresh token was not spent");
    if (st == CR_OK)
        st = load_creds(rc, c, sb, f, err);
    if (st == CR_OK && still_fresh(rc, c, "adopted a peer's refresh (made while credrun waited for the app's lock)")) {
        *fresh_now = true;
        creds_free(c);
    }
    if (st != CR_OK || *fresh_now)
        applock_release(apps);
    return st;
}

/* exactonce's re-read of the file. */
static enum cr_status reload_creds(const struct run_config *rc, struct creds *c, struct stat *sb, struct cr_err *err)
{
    return load_creds(rc, c, sb, NULL, err);
}

static enum cr_status no_refresh_token(const struct run_config *rc, struct cr_err *err)
{
    return cr_fail(err, CR_ERR_REJECTED, "%s holds no refresh token: log in again (%s)", rc->credentials,
                   rc->login_hint);
}

static enum cr_status check_before_spending(const struct run_config *rc, const struct creds *c, struct cr_err *err);

/* May c's token be spent? The shared state's verdict (admit), then
 * exactonce's (a settled view, no spent marker): c may be replaced by a
 * newer file, and *done then says it is fresh enough to end with. */
static enum cr_status pre_spend(const struct run_config *rc, struct exactonce *eo, const struct state *ss,
                                struct creds *c, struct stat *sb, struct fresh *f, bool *done, struct cr_err *err)
{
    *done = false;
    for (;;) {
        enum cr_status st = admit(rc, ss, c, f, err);
        bool changed = false;
        if (st == CR_OK)
            st = exactonce_ready(eo, c, sb, &changed, err);
        if (st == CR_ERR_ALREADY_SENT)
            rescue_hint(rc, err);
        if (st != CR_OK || !changed)
            return st;
        int64_t now = expiry_now_ms();
        keep_token(f, &c->t, now);
        *done = c->t.access && !expiry_needs_refresh(c->t.expires_ms, now, rc->min_validity);
        if (*done)
            return CR_OK;
        if (!c->t.refresh)
            return no_refresh_token(rc, err);
        st = check_before_spending(rc, c, err); /* the newer file must pass them too */
        if (st != CR_OK)
            return st;
    }
}

/* Spend and store, at most twice (once more with a peer's adopted token),
 * the shared state ss at spath consulted first and updated after, each
 * token marked spent first (exactonce.h). Signals that would end the
 * process are held from the first spend on: *held says so, and old is the
 * mask to restore once the application's locks are released, when a held
 * signal is delivered. */
static enum cr_status refresh_rounds(const struct run_config *rc, struct creds *c, struct stat *sb, struct fresh *f,
                                     struct applock_set *apps, sigset_t *old, bool *held, struct cr_err *err)
{
    char *spath = state_path(rc->credentials);
    struct state ss;
    enum cr_status st = state_load(&ss, spath, sb, err);
    if (st != CR_OK) {
        free(spath);
        return st;
    }
    struct exactonce eo;
    exactonce_init(&eo, rc, apps, reload_creds);
    atomic_remove_stale(rc->credentials);
    bool done;
    st = pre_spend(rc, &eo, &ss, c, sb, f, &done, err);
    bool again = st == CR_OK && !done;
    for (int round = 0; again;) {
        again = false;
        char sent[SHA256_HEX];
        state_token_id(c->t.refresh, sent);
        struct atomic_file af;
        st = atomic_prepare(&af, rc->credentials, sb, (size_t)sb->st_size + RESERVE_MARGIN, err);
        if (st == CR_OK) {
            if (!*held)
                procsafe_hold(old);
            *held = true;
            struct state_answer ans;
            st = exactonce_mark(&eo, c->t.refresh, sb, err);
            if (st == CR_OK) {
                st = spend_and_store(rc, c, &af, apps, f, &ans, err);
                exactonce_outcome(&eo, &ans, st, c->t.refresh);
                st = after_answer(rc, c, sb, f, &ss, &ans, sent, st, round++ == 0 ? &again : NULL, err);
                state_save(&ss, spath, sb);
            } else {
                atomic_abort(&af);
                if (round == 0) { /* nothing spent yet: waiting for another client stays interruptible */
                    sigprocmask(SIG_SETMASK, old, NULL);
                    *held = false;
                }
            }
        }
        if (st == CR_ERR_IN_FLIGHT) { /* another client marked it first: wait for its successor */
            st = pre_spend(rc, &eo, &ss, c, sb, f, &done, err);
            again = st == CR_OK && !done;
        }
    }
    exactonce_end(&eo);
    state_save(&ss, spath, sb);
    if (f->retry_at_ms)
        cr_append(err, "the cooldown holds back requests to %s and is recorded in %s: removing that file clears it",
                  ss.endpoint[0] ? ss.endpoint : "every token endpoint", spath);
    free(spath);
    return st;
}

/* Before any request: the successor of c's refresh token must have a place
 * in the file (creds_check_store), and the new access token's expiry must be
 * knowable, or every run would spend a refresh token. Refresh path only. */
static enum cr_status check_before_spending(const struct run_config *rc, const struct creds *c, struct cr_err *err)
{
    enum cr_status st = creds_check_store(c, err);
    if (st != CR_OK) {
        cr_wrap(err, "credentials file %s", rc->credentials);
        return cr_append(err, "the refresh token was not spent");
    }
    if (rc->fields->unit == EXPIRY_UNIT_JWT && c->t.access && c->t.refresh && c->t.expires_ms == EXPIRY_UNKNOWN &&
        !rc->force)
        return cr_fail(err, CR_ERR_UNKNOWN_EXPIRY,
                       "cannot tell when the access token in %s expires: it is no JWT with an \"exp\" claim and no "
                       "expiry field is configured, so every run would spend a refresh token; give --expiry-field "
                       "POINTER (and --expiry-unit), or --force to refresh this once",
                       rc->credentials);
    return CR_OK;
}

/* The part of refresh_ensure() that runs with the credential lock held:
 * re-read, take the applications' locks, decide, refresh, store; w bounds
 * the waits. Returns what refresh_ensure() returns. */
static enum cr_status ensure_locked(const struct run_config *rc, const struct lock_wait *w, struct fresh *f,
                                    struct cr_err *err)
{
    struct stat sb;
    struct creds c;
    enum cr_status st = load_creds(rc, &c, &sb, f, err);
    if (st != CR_OK)
        return st;
    log_setting(rc, &c);
    if (still_fresh(rc, &c, "fresh")) {
        f->parsed = c; /* freed by fresh_free, which an exec never reaches */
        f->have_parsed = true;
        return CR_OK;
    }
    struct applock_set apps = {0};
    bool fresh_now, held = false;
    sigset_t old;
    st = take_applocks(rc, w, &c, &sb, f, &apps, &fresh_now, err);
    if (st != CR_OK || fresh_now)
        return st;
    st = check_before_spending(rc, &c, err);
    if (st != CR_OK) {
        /* nothing sent */
    } else if (!c.t.refresh) {
        st = no_refresh_token(rc, err);
    } else {
        /* The shared cooldown and quarantine: read only now that a refresh
         * is needed, never on the fast path. */
        st = refresh_rounds(rc, &c, &sb, f, &apps, &old, &held, err);
    }
    applock_release(&apps);
    creds_free(&c);
    if (held)
        sigprocmask(SIG_SETMASK, &old, NULL); /* a held signal ends the run here, no lock left behind */
    return st;
}

void fresh_free(struct fresh *f)
{
    if (f->lock_fd >= 0)
        close(f->lock_fd);
    f->lock_fd = -1;
    secret_free(f->access);
    f->access = NULL;
    if (f->have_parsed)
        creds_free(&f->parsed);
    f->have_parsed = false;
}
