/* SPDX-License-Identifier: MIT */
/* config_resolve(): the command line and the profile, merged once. The
 * command line wins over the profile, the profile over the defaults. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "profile.h"
#include "runconfig.h"
#include "util.h"

#define NO_LOGIN_HINT "log in with the application"

/* The variables: which one receives the token, and which one supervise mode
 * leaves as the caller set it (a supervised command outlives any token
 * exported at its start, so only an explicit --env exports one). */
static void resolve_env(const struct cli *c, const struct profile *p, struct run_config *rc)
{
    const char *name = c->env ? c->env : p->env;
    rc->unexported_env = c->supervise && !c->env ? name : NULL;
    rc->env_name = c->no_env || (c->supervise && !c->env) ? NULL : name;
}

/* The values that come from the command line or the defaults (the profile's
 * default -m, else credrun's). */
static void resolve_plain(const struct cli *c, const struct profile *p, struct run_config *rc)
{
    rc->cacert = c->cacert;
    rc->min_validity = c->min_validity >= 0 ? c->min_validity : p->min_validity > 0 ? p->min_validity : DEFAULT_MIN_VALIDITY;
    rc->http_timeout = c->http_timeout >= 0 ? c->http_timeout : DEFAULT_HTTP_TIMEOUT;
    rc->wait_timeout = c->wait_timeout;
    rc->nonblock = c->nonblock;
    rc->force = c->force;
    rc->settle = c->settle >= 0 ? c->settle : DEFAULT_SETTLE;
    rc->refresh_only = c->refresh_only;
    rc->supervise = c->supervise;
    rc->no_kill_on_exit = c->no_kill_on_exit;
    rc->status = c->status;
    rc->status_json = c->json;
    rc->conflict_exit = c->conflict_exit;
    rc->command = c->command;
    /* A sidecar never holds the lock between refreshes. */
    rc->scope = c->scope_refresh || (c->supervise && !c->command) ? RUN_SCOPE_REFRESH : RUN_SCOPE_COMMAND;
    /* like flock(1); a supervised child must not hold it */
    rc->lock_inherited = c->command && !c->supervise && rc->scope == RUN_SCOPE_COMMAND;
}

/* The application's own refresh window (client-window): when -m lets the
 * file's remaining life fall to it and the application reads the file
 * itself (nothing exported, or a supervised command that outlives any
 * export), the application refreshes by itself before credrun does. */
static void resolve_window(const struct profile *p, struct run_config *rc)
{
    rc->client_window = p->client_window;
    if (p->client_window <= 0 || rc->min_validity > p->client_window || (rc->env_name && !rc->supervise))
        return;
    const char *app = p->name;
    long dflt = p->min_validity > 0 ? p->min_validity : DEFAULT_MIN_VALIDITY;
    if (p->client_unlocked)
        rc->warning = xasprintf("--min-validity %ld s lets the file reach %s's own refresh window: %s refreshes by "
                                "itself when less than %ld s remain, holding no lock, and several %s processes then race "
                                "each other and reuse one refresh token (a provider that revokes reused tokens logs "
                                "them all out); give -m above %ld (the default %ld leaves a margin)",
                                rc->min_validity, app, app, p->client_window, app, p->client_window,
                                dflt);
    else
        rc->warning = xasprintf("--min-validity %ld s lets the file reach %s's own refresh window: %s refreshes by "
                                "itself when less than %ld s remain, before credrun%s does; give -m above %ld (the "
                                "default %ld leaves a margin)",
                                rc->min_validity, app, app, p->client_window, rc->supervise ? " --supervise" : "",
                                p->client_window, dflt);
}

struct run_app_locks {
    char *given; /* the credentials file as named */
    bool expanded;
    struct applock_spec refresh[APPLOCK_MAX], write[APPLOCK_MAX];
    size_t n_refresh, n_write;
};

/* The files: credentials (links followed), lock file, application locks. */
static enum cr_status resolve_files(const struct cli *c, struct profile *p, struct run_config *rc, struct cr_err *err)
{
    char *given = c->credentials ? xstrdup(c->credentials) : profile_file(p);
    if (!given)
        return cr_fail(err, CR_ERR_USAGE, "profile %s names no credentials file: give --credentials FILE",
                       c->profile ? c->profile : PROFILE_DEFAULT);
    rc->credentials = path_follow_links(given);
    rc->lock_file = c->lock_file ? xstrdup(c->lock_file) : path_with_suffix(rc->credentials, LOCK_SUFFIX);
    rc->app_locks = xcalloc(1, sizeof *rc->app_locks);
    rc->app_locks->given = given; /* expanded only when a refresh needs them */
    return CR_OK;
}

const struct applock_spec *config_app_locks(const struct run_config *rc, bool write, size_t *n)
{
    struct run_app_locks *a = rc->app_locks;
    *n = 0;
    if (!a)
        return NULL;
    if (!a->expanded) {
        a->n_refresh = profile_expand_locks(rc->owner, a->given, false, a->refresh, APPLOCK_MAX);
        a->n_write = profile_expand_locks(rc->owner, a->given, true, a->write, APPLOCK_MAX);
        a->expanded = true;
    }
    *n = write ? a->n_write : a->n_refresh;
    return write ? a->write : a->refresh;
}

enum cr_status config_resolve(const struct cli *c, struct run_config *rc, struct cr_err *err)
{
    memset(rc, 0, sizeof *rc);
    cr_clear(err);
    struct profile_select sel = {
        .name = c->profile,
        .provider = c->provider,
        .access = c->access_field,
        .refresh = c->refresh_field,
        .expiry = c->expiry_field,
        .unit = c->expiry_unit,
        .request = c->request,
        .token_url_given = c->token_url != NULL,
    };
    struct profile *p;
    enum cr_status st = profile_setup(&sel, &p, err);
    rc->owner = p;
    if (st != CR_OK)
        return st;
    rc->profile_name = p->name;
    rc->format = p->codec == PROFILE_CODEC_TRANSIT ? &creds_format_transit : &creds_format_json;
    rc->fields = &p->fields;
    rc->body = p->body;
    rc->shape = &p->shape;
    rc->token_url = c->token_url ? c->token_url : p->token_url;
    rc->token_url_path = p->token_url_path ? p->token_url_path : "";
    rc->client_id = c->client_id ? c->client_id : p->client_id;
    rc->login_hint = p->login_hint ? p->login_hint : NO_LOGIN_HINT;
    resolve_env(c, p, rc);
    resolve_plain(c, p, rc);
    if (c->supervise && p->exec_only)
        return cr_fail(err, CR_ERR_USAGE,
                       "--supervise cannot be used with profile %s: the application keeps its tokens in memory and "
                       "writes them back without re-reading the file, so a refresh made while it runs would be "
                       "overwritten with spent tokens; drop --supervise (credrun then refreshes before the command "
                       "starts)",
                       p->name);
    resolve_window(p, rc);
    /* A profile's URL was checked when profiles.conf was parsed (the
     * built-in ones by the unit tests); whether it is loopback is asked only
     * when a refresh needs it, off the fast path. */
    if (c->token_url) {
        if (oauth_check_url(rc->token_url, &rc->token_url_loopback, err) != CR_OK)
            return err->status; /* CR_ERR_USAGE */
        rc->token_url_checked = true;
    }
    return resolve_files(c, p, rc, err);
}

enum cr_status config_token_url(const struct run_config *rc, const struct tokens *t, char **url, bool *loopback,
                                struct cr_err *err)
{
    if (!rc->fields->base_url || !t->base_url) {
        if (rc->token_url_checked) {
            *loopback = rc->token_url_loopback;
        } else if (oauth_check_url(rc->token_url, loopback, err) != CR_OK) {
            *url = NULL;
            return err->status;
        }
        *url = xstrdup(rc->token_url);
        return CR_OK;
    }
    size_t n = strlen(t->base_url);
    while (n > 0 && t->base_url[n - 1] == '/')
        n--;
    const char *path = rc->token_url_path;
    while (*path == '/')
        path++;
    *url = xasprintf("%.*s%s%s", (int)n, t->base_url, *path ? "/" : "", path);
    if (oauth_check_url(*url, loopback, err) != CR_OK) {
        err->status = CR_ERR_BASE_URL;
        cr_wrap(err, "%s in %s gives a token URL credrun refuses", rc->fields->base_url, rc->credentials);
        free(*url);
        *url = NULL;
        return CR_ERR_BASE_URL;
    }
    return CR_OK;
}

void config_free(struct run_config *rc)
{
    free(rc->credentials);
    free(rc->lock_file);
    free(rc->warning);
    rc->credentials = rc->lock_file = rc->warning = NULL;
    if (rc->app_locks)
        free(rc->app_locks->given);
    free(rc->app_locks);
    rc->app_locks = NULL;
    profile_free(rc->owner);
    rc->owner = NULL;
}
