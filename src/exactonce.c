/* SPDX-License-Identifier: MIT */
/* Exactly once across hosts: see exactonce.h. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "atomicfile.h"
#include "exactonce.h"
#include "log.h"
#include "util.h"

#define POLL_S 0.15          /* how often a wait re-reads the file */
#define VANISH_RETRY_S 2.0   /* item 3: how long a vanished file is looked for */
#define VANISH_POLL_S 0.05

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sleep s seconds, keeping the application's lock directories live. */
static void nap(struct applock_set *apps, double s)
{
    double end = mono_s() + s;
    for (double left = s; left > 0; left = end - mono_s()) {
        double step = left > 0.5 ? 0.5 : left;
        struct timespec ts = {(time_t)step, (long)((step - (double)(time_t)step) * 1e9)};
        nanosleep(&ts, NULL);
        if (apps)
            applock_tick(apps);
    }
}

void exactonce_init(struct exactonce *eo, const struct run_config *rc, struct applock_set *apps,
                    exactonce_reload_fn reload)
{
    memset(eo, 0, sizeof *eo);
    eo->rc = rc;
    eo->apps = apps;
    eo->reload = reload;
    eo->sd.fd = -1;
    eo->wait_start = -1;
}

void exactonce_end(struct exactonce *eo)
{
    spent_close(&eo->sd);
}

/* A marker younger than this is a refresh in flight: the wait bound (-w,
 * else DEFAULT_MARKER_WAIT; 0 with -n) plus the HTTP timeout. */
static double marker_bound(const struct run_config *rc)
{
    double wait = rc->nonblock ? 0 : rc->wait_timeout >= 0 ? rc->wait_timeout : DEFAULT_MARKER_WAIT;
    return wait + (double)rc->http_timeout;
}

/* Look the mount up once; refuse one whose flock is local to this client. */
static enum cr_status classify(struct exactonce *eo, struct cr_err *err)
{
    const struct run_config *rc = eo->rc;
    struct netfs_mount *m = &eo->mount;
    eo->classified = true;
    struct cr_err ferr;
    if (netfs_find_for_file(NETFS_MOUNTINFO, rc->credentials, m, &ferr) != CR_OK) {
        /* Settling costs a moment; guessing "local" could cost a login. */
        memset(m, 0, sizeof *m);
        m->kind = NETFS_NETWORK;
        m->guessed = 1;
        m->why = "mountinfo unreadable";
        snprintf(m->fstype, sizeof m->fstype, "an unknown filesystem");
        log_info("%s; taking %s for a network filesystem", ferr.msg, rc->credentials);
        return CR_OK;
    }
    log_info("%s is on %s (%s): %s%s", rc->credentials, m->fstype, m->mount_point, netfs_kind_name(m->kind),
             m->guessed ? ", guessed" : "");
    if (m->kind == NETFS_LOCK_LOCAL)
        return cr_fail(err, CR_ERR_FS_UNSUPPORTED,
                       "%s is on %s (%s): %s: its flock is local to this client, so credrun's lock would not keep "
                       "other hosts from spending the same refresh token; nothing was sent: keep the credentials on "
                       "a local disk or on a network filesystem with shared locks (NFS, CephFS, GlusterFS)",
                       rc->credentials, m->fstype, m->mount_point, m->why);
    return CR_OK;
}

static bool same_str(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* Did the file stay as it was? Its tokens, and what stat says. */
static bool same_view(const struct creds *a, const struct stat *sa, const struct creds *b, const struct stat *sb)
{
    return same_str(a->t.refresh, b->t.refresh) && same_str(a->t.access, b->t.access) &&
           a->t.expires_ms == b->t.expires_ms && sa->st_ino == sb->st_ino && sa->st_size == sb->st_size &&
           sa->st_mtim.tv_sec == sb->st_mtim.tv_sec && sa->st_mtim.tv_nsec == sb->st_mtim.tv_nsec;
}

/* Put the newer file n in place of c. */
static void adopt(struct creds *c, struct stat *sb, struct creds *n, const struct stat *nsb)
{
    creds_free(c);
    *c = *n;
    *sb = *nsb;
}

/* Item 2: on a network filesystem another host's write may not be visible
 * yet (measured: ~1 s on GlusterFS, even under flock): re-read after the
 * settle interval and go on only if nothing changed. */
static enum cr_status settle(struct exactonce *eo, struct creds *c, struct stat *sb, bool *changed,
                             struct cr_err *err)
{
    const struct run_config *rc = eo->rc;
    double bound = marker_bound(rc);
    if (eo->settled_for >= bound)
        return cr_fail(err, CR_ERR_IN_FLIGHT,
                       "%s kept changing for %.0f s while credrun waited for it to settle; nothing was sent: try "
                       "again",
                       rc->credentials, eo->settled_for);
    if (rc->settle >= 1)
        log_warn("waiting %g s for %s on %s to settle (another host's write may not be visible here yet)",
                 rc->settle, rc->credentials, eo->mount.fstype);
    else
        log_info("waiting %g s for %s on %s to settle", rc->settle, rc->credentials, eo->mount.fstype);
    double t0 = mono_s();
    nap(eo->apps, rc->settle);
    struct creds n;
    struct stat nsb;
    enum cr_status st = eo->reload(rc, &n, &nsb, err);
    eo->settled_for += mono_s() - t0;
    if (st != CR_OK)
        return st;
    if (same_view(c, sb, &n, &nsb)) {
        creds_free(&n);
        log_info("%s did not change in %g s: settled", rc->credentials, rc->settle);
        return CR_OK;
    }
    log_info("%s changed while settling: deciding again with what it holds now", rc->credentials);
    adopt(c, sb, &n, &nsb);
    *changed = true;
    return CR_OK;
}

static enum cr_status open_dir(struct exactonce *eo, const struct stat *sb, struct cr_err *err)
{
    if (eo->sd.fd >= 0)
        return CR_OK;
    return spent_open(&eo->sd, eo->rc->credentials, sb, err);
}

/* "made by HOST pid N 3 s ago" for messages. */
static void describe(char *buf, size_t len, const char *owner, double age_s)
{
    if (age_s < 0)
        snprintf(buf, len, "made by %s with a clock %.0f s ahead of this filesystem's", owner[0] ? owner : "another client",
                 -age_s);
    else
        snprintf(buf, len, "made by %s %.0f s ago", owner[0] ? owner : "another client", age_s);
}

/* A marker for c's token exists and is young: wait for its successor. */
static enum cr_status wait_successor(struct exactonce *eo, struct creds *c, struct stat *sb, const char *name,
                                     double age_s, const char *owner, bool *changed, struct cr_err *err)
{
    const struct run_config *rc = eo->rc;
    double bound = marker_bound(rc);
    char who[200];
    describe(who, sizeof who, owner, age_s);
    if (eo->wait_start < 0) {
        eo->wait_start = mono_s();
        if (!rc->nonblock)
            log_warn("waiting for another client's refresh of %s (its marker %s/%s was %s) to reach this host; "
                     "up to %.0f s",
                     rc->credentials, eo->sd.path, name, who, bound);
    }
    for (;;) {
        double waited = mono_s() - eo->wait_start;
        if (rc->nonblock || age_s >= bound || waited >= bound)
            return cr_fail(err, CR_ERR_IN_FLIGHT,
                           "another client's refresh of %s (marker %s/%s, %s) did not arrive within %.0f s; nothing "
                           "was sent: try again later; if no client is refreshing, its answer was lost, and once the "
                           "marker is %.0f s old credrun says so",
                           rc->credentials, eo->sd.path, name, who, rc->nonblock ? 0 : bound, bound);
        nap(eo->apps, POLL_S);
        struct creds n;
        struct stat nsb;
        enum cr_status st = eo->reload(rc, &n, &nsb, err);
        if (st != CR_OK)
            return st;
        char now_name[SHA256_HEX] = "";
        if (n.t.refresh)
            spent_name(n.t.refresh, now_name);
        if (strcmp(now_name, name) != 0) {
            log_info("the successor arrived after %.1f s: using the tokens another client stored", mono_s() - eo->wait_start);
            adopt(c, sb, &n, &nsb);
            *changed = true;
            return CR_OK;
        }
        creds_free(&n);
        bool exists;
        if (spent_age(&eo->sd, c->t.refresh, &exists, &age_s, err) != CR_OK)
            return err->status;
        if (!exists) {
            log_info("the marker %s/%s is gone (that refresh did not rotate the token): refreshing", eo->sd.path, name);
            return CR_OK;
        }
    }
}

/* Is there a marker for c's token? None: go on. Old: 77. Young: wait. */
static enum cr_status gate(struct exactonce *eo, struct creds *c, struct stat *sb, bool *changed, struct cr_err *err)
{
    const struct run_config *rc = eo->rc;
    if (!c->t.refresh)
        return CR_OK;
    if (open_dir(eo, sb, err) != CR_OK)
        return err->status;
    char name[SHA256_HEX];
    spent_name(c->t.refresh, name);
    bool exists;
    double age_s;
    char owner[128] = "";
    if (spent_age(&eo->sd, c->t.refresh, &exists, &age_s, err) != CR_OK)
        return err->status;
    if (strcmp(eo->seen, name) == 0) {
        /* exactonce_mark met it: a lookup here may not see it yet (NFS caches misses) */
        if (!exists)
            age_s = eo->seen_age_s;
        exists = true;
        snprintf(owner, sizeof owner, "%s", eo->seen_owner);
    }
    eo->seen[0] = '\0';
    if (!exists)
        return CR_OK;
    if (!owner[0])
        spent_owner(&eo->sd, name, owner, sizeof owner);
    double bound = marker_bound(rc);
    char *rescue = xasprintf("%s%s", rc->credentials, ATOMIC_RESCUE_TAG);
    bool rescued = access(rescue, F_OK) == 0; /* its successor is there: nothing to wait for */
    free(rescue);
    if (rescued || (spent_classify(age_s, bound) == SPENT_OLD && eo->wait_start < 0)) {
        char who[200];
        describe(who, sizeof who, owner, age_s);
        return cr_fail(err, CR_ERR_ALREADY_SENT,
                       "the refresh token in %s was already sent (marker %s/%s, %s) and its answer never arrived "
                       "here: the answer was lost, or the file was restored from a backup; nothing was sent: log "
                       "in again (%s)",
                       rc->credentials, eo->sd.path, name, who, rc->login_hint);
    }
    return wait_successor(eo, c, sb, name, age_s, owner, changed, err);
}

enum cr_status exactonce_ready(struct exactonce *eo, struct creds *c, struct stat *sb, bool *changed,
                               struct cr_err *err)
{
    *changed = false;
    if (!eo->classified && classify(eo, err) != CR_OK)
        return err->status;
    if (eo->mount.kind == NETFS_NETWORK && eo->rc->settle > 0) {
        enum cr_status st = settle(eo, c, sb, changed, err);
        if (st != CR_OK || *changed)
            return st;
    }
    return gate(eo, c, sb, changed, err);
}

enum cr_status exactonce_mark(struct exactonce *eo, const char *refresh_token, const struct stat *sb,
                              struct cr_err *err)
{
    if (open_dir(eo, sb, err) != CR_OK)
        return err->status;
    struct spent_mark m;
    if (spent_record(&eo->sd, refresh_token, &m, err) != CR_OK)
        return err->status;
    if (m.outcome == SPENT_CREATED) {
        memcpy(eo->made, m.name, sizeof eo->made);
        log_info("marked the refresh token as being sent: %s/%s", eo->sd.path, m.name);
        return CR_OK;
    }
    memcpy(eo->seen, m.name, sizeof eo->seen);
    eo->seen_age_s = m.age_s;
    snprintf(eo->seen_owner, sizeof eo->seen_owner, "%s", m.owner);
    return cr_fail(err, CR_ERR_IN_FLIGHT, "another client marked the refresh token in %s as sent first (%s/%s); "
                   "nothing was sent", eo->rc->credentials, eo->sd.path, m.name);
}

bool exactonce_keep_marker(const struct state_answer *ans, enum cr_status st, bool replaced)
{
    /* a successor was stored (or saved in the rescue file), the endpoint
     * called the token dead, or it was sent and no answer came */
    return replaced || st == CR_ERR_REJECTED || ans->maybe_spent;
}

void exactonce_outcome(struct exactonce *eo, const struct state_answer *ans, enum cr_status st,
                       const char *refresh_now)
{
    if (!eo->made[0])
        return;
    struct cr_err err;
    char now_name[SHA256_HEX] = "";
    if (refresh_now)
        spent_name(refresh_now, now_name);
    if (exactonce_keep_marker(ans, st, strcmp(now_name, eo->made) != 0)) {
        log_info("kept the marker %s/%s: the token may have been rotated", eo->sd.path, eo->made);
    } else if (spent_unmark(&eo->sd, eo->made, &err) != CR_OK) {
        log_warn("%s", err.msg);
    } else {
        log_info("removed the marker %s/%s: the token was not rotated", eo->sd.path, eo->made);
    }
    eo->made[0] = '\0';
    unsigned removed;
    bool ran;
    if (spent_prune_daily(&eo->sd, &removed, &ran, &err) != CR_OK)
        log_warn("%s", err.msg);
    else if (ran)
        log_info("pruned %u spent-token markers older than 30 days from %s", removed, eo->sd.path);
}

/* Does a failed open of path look like another client's rename in progress:
 * ESTALE, or ENOENT on a network filesystem, with its directory and lock
 * file there? (A local rename is atomic: ENOENT there is the truth.) */
static bool may_reappear(const char *path, const char *lock_file, int e)
{
    if (e != ENOENT && e != ESTALE)
        return false;
    char *dir = path_dirname(path);
    bool there = access(dir, F_OK) == 0 && access(lock_file, F_OK) == 0;
    free(dir);
    if (!there || e == ESTALE)
        return there;
    struct netfs_mount m;
    struct cr_err scratch;
    return netfs_find_for_file(NETFS_MOUNTINFO, path, &m, &scratch) != CR_OK || m.kind != NETFS_LOCAL;
}

enum cr_status exactonce_read(const char *path, const char *lock_file, char **buf, size_t *len, struct stat *st,
                              struct cr_err *err)
{
    double start = -1;
    bool said = false;
    for (;;) {
        errno = 0;
        enum cr_status s = file_read(path, buf, len, st, err);
        int e = errno; /* file_read leaves the failing call's errno */
        if (s != CR_ERR_CREDS_MISSING || (e != ENOENT && e != ESTALE))
            return s;
        double now = mono_s();
        if (start < 0) {
            if (!may_reappear(path, lock_file, e))
                return s;
            start = now;
            log_info("%s: %s; its lock file is there, so looking again for up to %.0f s", path, strerror(e),
                     VANISH_RETRY_S);
        }
        if (now - start >= VANISH_RETRY_S)
            return s;
        if (!said && now - start >= 1) {
            log_warn("waiting for %s to reappear (another host may be replacing it)", path);
            said = true;
        }
        nap(NULL, VANISH_POLL_S);
    }
}
