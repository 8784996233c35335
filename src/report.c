/* SPDX-License-Identifier: MIT */
/* credrun --status: gather without locking or sending, then tell. */
#include "config.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "creds.h"
#include "expiry.h"
#include "jsonptr.h"
#include "log.h"
#include "proclocks.h"
#include "refresh.h"
#include "report.h"
#include "state.h"
#include "util.h"

/* credrun's own lock: there or not, and who holds it (/proc/locks). */
static void gather_lock(const struct run_config *rc, struct report *r)
{
    struct stat sb;
    r->lock_path = rc->lock_file;
    if (lstat(rc->lock_file, &sb) != 0 || !S_ISREG(sb.st_mode))
        return;
    r->lock_exists = true;
    r->lock_held = proclocks_holder(sb.st_dev, sb.st_ino, &r->holder_pid);
    if (r->lock_held)
        proc_command(r->holder_pid, r->holder_command, sizeof r->holder_command);
}

/* Each of the application's locks (refresh and write locks, once each)
 * that is present, with its age. */
static void gather_app_locks(const struct run_config *rc, struct report *r)
{
    const struct applock_spec *all[REPORT_APP_LOCKS];
    size_t n = 0;
    for (int write = 0; write <= 1; write++) {
        size_t k;
        const struct applock_spec *specs = config_app_locks(rc, write, &k);
        for (size_t i = 0; i < k && n < REPORT_APP_LOCKS; i++)
            all[n++] = &specs[i];
    }
    for (size_t i = 0; i < n; i++) {
        bool seen = false;
        for (size_t j = 0; j < i; j++)
            seen = seen || strcmp(all[j]->path, all[i]->path) == 0;
        struct stat sb;
        if (seen || lstat(all[i]->path, &sb) != 0)
            continue;
        r->app_locks[r->n_app_locks].path = all[i]->path;
        r->app_locks[r->n_app_locks].age_s = r->now_ms / 1000 - (int64_t)sb.st_mtime;
        r->n_app_locks++;
    }
}

/* The shared state: a running cooldown, and whether it holds back the
 * endpoint a refresh of t (in the file of status sb) would go to; a
 * quarantine of t's refresh token. A state file anyone may write fails
 * as in a run, when a refresh is due (a run reads it only then). */
static enum cr_status gather_state(const struct run_config *rc, const struct tokens *t, const struct stat *sb,
                                   struct report *r, struct cr_err *err)
{
    char *spath = state_path(rc->credentials);
    struct state ss;
    enum cr_status st = state_load(&ss, spath, sb, err);
    free(spath);
    if (st != CR_OK && r->refresh_due)
        return st; /* a run would stop here too */
    if (st != CR_OK) {
        log_warn("%s", err->msg); /* a run with a fresh token never reads it */
        cr_clear(err);
        state_init(&ss);
    }
    char *url = NULL;
    bool loopback;
    struct cr_err scratch;
    if (config_token_url(rc, t, &url, &loopback, &scratch) != CR_OK)
        url = NULL;
    if (state_cooling(&ss, r->now_ms)) {
        r->cooling = true;
        snprintf(r->reason, sizeof r->reason, "%s", ss.reason);
        snprintf(r->endpoint, sizeof r->endpoint, "%s", ss.endpoint);
        r->until_ms = ss.until_ms;
        /* "" names no token: only the cooldown part of the verdict. */
        r->cooldown_blocks = url ? state_check(&ss, "", url, r->now_ms) != STATE_GO : !ss.endpoint[0];
    }
    if (t->refresh && ss.dead[0]) {
        char id[SHA256_HEX];
        state_token_id(t->refresh, id);
        if (state_check(&ss, id, url ? url : "", r->now_ms) == STATE_DEAD) {
            r->quarantined = true;
            r->quarantine_since_ms = ss.dead_since_ms;
            snprintf(r->quarantine_error, sizeof r->quarantine_error, "%s", ss.dead_error);
        }
    }
    free(url);
    return CR_OK;
}

enum cr_status report_gather(const struct run_config *rc, struct report *r, struct cr_err *err)
{
    memset(r, 0, sizeof *r);
    cr_clear(err);
    r->now_ms = expiry_now_ms();
    r->file = rc->credentials;
    r->profile = rc->profile_name;
    r->login_hint = rc->login_hint;
    r->min_validity = rc->min_validity;
    r->expires_ms = EXPIRY_UNKNOWN;
    gather_lock(rc, r);
    gather_app_locks(rc, r);
    struct creds c;
    struct stat sb;
    enum cr_status st = refresh_read_creds(rc, &c, &sb, err);
    if (st != CR_OK)
        return st;
    r->access_present = c.t.access != NULL;
    r->expires_ms = c.t.expires_ms;
    r->refresh_present = c.t.refresh != NULL;
    r->refresh_due = !c.t.access || rc->force || expiry_needs_refresh(c.t.expires_ms, r->now_ms, rc->min_validity);
    st = gather_state(rc, &c.t, &sb, r, err);
    creds_free(&c);
    return st;
}

/* True when the access token can still be used. */
static bool usable(const struct report *r)
{
    return r->access_present && expiry_usable(r->expires_ms, r->now_ms);
}

int report_exit(const struct report *r)
{
    if (r->quarantined || (!r->refresh_present && !usable(r)))
        return REPORT_EXIT_LOGIN;
    if (!r->refresh_due)
        return REPORT_EXIT_FRESH;
    return r->cooldown_blocks && r->refresh_present ? REPORT_EXIT_BLOCKED : REPORT_EXIT_DUE;
}

/* A JSON string, or null for NULL or "". */
static json_t *json_text(const char *s)
{
    return s && *s ? json_string(s) : json_null();
}

/* Whole seconds from now_ms to ms, negative in the past (toward zero). */
static long long seconds_to(int64_t ms, int64_t now_ms)
{
    return (long long)((ms - now_ms) / 1000);
}

char *report_json(const struct report *r)
{
    json_t *root = json_object();
    json_object_set_new(root, "file", json_text(r->file));
    json_object_set_new(root, "profile", json_text(r->profile));
    json_t *lock = json_object();
    json_object_set_new(lock, "path", json_text(r->lock_path));
    json_object_set_new(lock, "held", json_boolean(r->lock_held));
    json_object_set_new(lock, "holder_pid", r->holder_pid > 0 ? json_integer(r->holder_pid) : json_null());
    json_object_set_new(lock, "holder_command", json_text(r->holder_command));
    json_object_set_new(root, "lock", lock);
    json_t *apps = json_array();
    for (size_t i = 0; i < r->n_app_locks; i++) {
        json_t *a = json_object();
        json_object_set_new(a, "path", json_string(r->app_locks[i].path));
        json_object_set_new(a, "age_s", json_integer(r->app_locks[i].age_s));
        json_array_append_new(apps, a);
    }
    json_object_set_new(root, "app_locks", apps);
    json_t *access = json_object();
    bool known = r->access_present && r->expires_ms != EXPIRY_UNKNOWN;
    json_object_set_new(access, "expires_at", known ? jsonptr_rfc3339(r->expires_ms) : json_null());
    json_object_set_new(access, "expires_in_s", known ? json_integer(seconds_to(r->expires_ms, r->now_ms)) : json_null());
    json_object_set_new(root, "access", access);
    json_object_set_new(root, "refresh_token_present", json_boolean(r->refresh_present));
    json_object_set_new(root, "refresh_due", json_boolean(r->refresh_due));
    json_t *cool = json_null();
    if (r->cooling) {
        cool = json_object();
        json_object_set_new(cool, "reason", json_text(r->reason));
        json_object_set_new(cool, "endpoint", json_text(r->endpoint));
        json_object_set_new(cool, "until", jsonptr_rfc3339(r->until_ms));
    }
    json_object_set_new(root, "cooldown", cool);
    json_t *q = json_null();
    if (r->quarantined) {
        q = json_object();
        json_object_set_new(q, "since", jsonptr_rfc3339(r->quarantine_since_ms));
    }
    json_object_set_new(root, "quarantine", q);
    return jsonptr_document(root);
}

/* A span of seconds for a person: "58 s", "12 min", "3 h 5 min", "4 d". */
static void span(long long s, char *buf, size_t len)
{
    if (s < 0)
        s = -s;
    if (s < 120)
        snprintf(buf, len, "%lld s", s);
    else if (s < 7200)
        snprintf(buf, len, "%lld min", s / 60);
    else if (s < 2 * 86400)
        snprintf(buf, len, "%lld h %lld min", s / 3600, s % 3600 / 60);
    else
        snprintf(buf, len, "%lld d", s / 86400);
}

/* "TIME (in SPAN)" or "TIME (SPAN ago)" for ms. */
static void when(int64_t ms, int64_t now_ms, char *buf, size_t len)
{
    char ts[40], sp[40];
    expiry_format_rfc3339(ms, ts, sizeof ts);
    long long s = seconds_to(ms, now_ms);
    span(s, sp, sizeof sp);
    snprintf(buf, len, s >= 0 ? "%s (in %s)" : "%s (%s ago)", ts, sp);
}

/* The access token's line. */
static void access_line(FILE *o, const struct report *r)
{
    char w[96];
    if (!r->access_present) {
        fputs("access token:  none in the file\n", o);
    } else if (r->expires_ms == EXPIRY_UNKNOWN) {
        fputs("access token:  present, no expiry stated (a run refreshes it)\n", o);
    } else {
        when(r->expires_ms, r->now_ms, w, sizeof w);
        fprintf(o, "access token:  %s %s\n", usable(r) ? "expires" : "expired", w);
    }
}

/* The last line: what it means and what to do. */
static void verdict_line(FILE *o, const struct report *r)
{
    char w[96];
    switch (report_exit(r)) {
    case REPORT_EXIT_FRESH:
        fputs("status:        fresh\n", o);
        break;
    case REPORT_EXIT_DUE:
        fputs("status:        refresh due: the next run refreshes\n", o);
        break;
    case REPORT_EXIT_BLOCKED:
        when(r->until_ms, r->now_ms, w, sizeof w);
        fprintf(o, "status:        refresh due, but the cooldown holds it back until %s\n", w);
        break;
    default:
        fprintf(o, "status:        log in again (%s)\n", r->login_hint ? r->login_hint : "with the application");
        break;
    }
}

char *report_text(const struct report *r)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *o = open_memstream(&buf, &len);
    if (!o)
        abort();
    char w[96];
    fprintf(o, "file:          %s\n", r->file);
    fprintf(o, "profile:       %s\n", r->profile ? r->profile : "(none)");
    if (!r->lock_exists)
        fprintf(o, "lock:          %s: not there yet (the first run creates it)\n", r->lock_path);
    else if (!r->lock_held)
        fprintf(o, "lock:          %s: not held\n", r->lock_path);
    else if (r->holder_pid > 0)
        fprintf(o, "lock:          %s: held by PID %ld (%s)\n", r->lock_path, r->holder_pid,
                r->holder_command[0] ? r->holder_command : "command unknown");
    else
        fprintf(o, "lock:          %s: held (by a process this one cannot see)\n", r->lock_path);
    for (size_t i = 0; i < r->n_app_locks; i++)
        fprintf(o, "app lock:      %s: present, %lld s old\n", r->app_locks[i].path, (long long)r->app_locks[i].age_s);
    access_line(o, r);
    fprintf(o, "refresh token: %s\n", r->refresh_present ? "present" : "none in the file");
    fprintf(o, "refresh:       %s (-m %ld s)\n", r->refresh_due ? "due" : "not due", r->min_validity);
    if (r->cooling) {
        when(r->until_ms, r->now_ms, w, sizeof w);
        fprintf(o, "cooldown:      %s, for %s, until %s%s\n", r->reason[0] ? r->reason : "error",
                r->endpoint[0] ? r->endpoint : "every endpoint", w,
                r->cooldown_blocks ? "" : " (not this run's endpoint)");
    } else {
        fputs("cooldown:      none\n", o);
    }
    if (r->quarantined) {
        char ts[40];
        expiry_format_rfc3339(r->quarantine_since_ms, ts, sizeof ts);
        fprintf(o, "quarantine:    since %s (%s): the refresh token is not sent again\n", ts,
                r->quarantine_error[0] ? r->quarantine_error : "invalid_grant");
    } else {
        fputs("quarantine:    none\n", o);
    }
    verdict_line(o, r);
    if (fclose(o) != 0)
        abort();
    return buf;
}

int report_run(const struct run_config *rc)
{
    struct report r;
    struct cr_err err;
    enum cr_status st = report_gather(rc, &r, &err);
    if (st != CR_OK) {
        log_error("%s", err.msg);
        return status_exit_code(st, -1);
    }
    char *out = rc->status_json ? report_json(&r) : report_text(&r);
    fputs(out, stdout);
    free(out);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        log_error("cannot write the report: %s", strerror(errno));
        return status_exit_code(CR_ERR_OS, -1);
    }
    return report_exit(&r);
}
