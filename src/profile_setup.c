/* SPDX-License-Identifier: MIT */
/* A resolved profile made ready for one run: profiles.conf read (only with
 * -p), the command line's overrides applied, the views the codecs and oauth.c
 * read, the credentials file chosen and the lock templates expanded. See
 * profile.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jsonptr.h"
#include "pathexpand.h"
#include "profile.h"
#include "profile_keys.h"
#include "util.h"

#define CONF_MAX_SIZE (1024 * 1024)

static char *own(struct profile *p, char *s)
{
    p->owned = xrealloc(p->owned, (p->n_owned + 1) * sizeof *p->owned);
    p->owned[p->n_owned++] = s;
    return s;
}

/* Replace every {key} in t by val (newly allocated). */
static char *subst(const char *t, const char *key, const char *val)
{
    size_t kl = strlen(key), vl = strlen(val), n = 0;
    for (const char *at = t; (at = strstr(at, key)); at += kl)
        n++;
    if (n == 0)
        return xstrdup(t);
    char *out = xmalloc(strlen(t) - n * kl + n * vl + 1), *o = out;
    for (const char *p = t, *at;; p = at + kl) {
        if (!(at = strstr(p, key))) {
            strcpy(o, p);
            return out;
        }
        memcpy(o, p, (size_t)(at - p));
        o += at - p;
        memcpy(o, val, vl);
        o += vl;
    }
}

/* A pointer of p with {provider} filled in, owned by p; NULL stays NULL. */
static const char *pointer_for(struct profile *p, const char *ptr)
{
    if (!ptr || !strchr(ptr, '{') || !strstr(ptr, "{provider}"))
        return ptr; /* p's own copy */
    return own(p, subst(ptr, "{provider}", p->provider ? p->provider : ""));
}

/* The last reference token of a pointer, unescaped (newly allocated). */
static char *last_token(const char *ptr)
{
    const char *t = strrchr(ptr, '/');
    t = t ? t + 1 : ptr;
    char *out = xstrdup(t), *o = out;
    for (const char *q = t; *q; q++) {
        if (*q == '~' && (q[1] == '0' || q[1] == '1')) {
            *o++ = q[1] == '0' ? '~' : '/';
            q++;
        } else {
            *o++ = *q;
        }
    }
    *o = '\0';
    return out;
}

/* Read profiles.conf: CR_OK with *text NULL when there is none. */
static enum cr_status read_conf(const char *path, char **text, struct cr_err *err)
{
    *text = NULL;
    /* O_NONBLOCK: a FIFO or a device must not stall the open; refused below. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return CR_OK;
        return cr_fail(err, CR_ERR_PROFILES_CONF, "cannot read %s: %s", path, strerror(errno));
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        const char *kind = fstat(fd, &sb) != 0 ? "unreadable" : file_kind(sb.st_mode);
        close(fd);
        return cr_fail(err, CR_ERR_NOT_REGULAR, "%s is %s, not a regular file: make it a text file of profiles, or remove it",
                       path, kind);
    }
    FILE *f = fdopen(fd, "r");
    if (!f) {
        close(fd);
        return cr_fail(err, CR_ERR_PROFILES_CONF, "cannot read %s: %s", path, strerror(errno));
    }
    char *buf = xmalloc(CONF_MAX_SIZE + 1);
    size_t n = fread(buf, 1, CONF_MAX_SIZE + 1, f);
    int ferr = ferror(f);
    fclose(f);
    if (ferr || n > CONF_MAX_SIZE || memchr(buf, '\0', n)) {
        free(buf);
        return cr_fail(err, CR_ERR_PROFILES_CONF, "cannot read %s: %s", path,
                       ferr ? "read error" : "larger than 1 MiB or not text");
    }
    buf[n] = '\0';
    *text = buf;
    return CR_OK;
}

/* Apply the command line's overrides in sel to p. */
static enum cr_status apply_select(struct profile *p, const struct profile_select *sel, struct cr_err *err)
{
    if ((sel->access && profile_set_pointer(&p->access, "--access-field", sel->access, false, err) != 0) ||
        (sel->refresh && profile_set_pointer(&p->refresh, "--refresh-field", sel->refresh, false, err) != 0) ||
        (sel->expiry && profile_set_pointer(&p->expiry, "--expiry-field", sel->expiry, false, err) != 0)) {
        err->status = CR_ERR_USAGE;
        return CR_ERR_USAGE;
    }
    if (sel->unit && profile_parse_unit(sel->unit, &p->unit) != 0)
        return cr_fail(err, CR_ERR_USAGE, "invalid --expiry-unit '%s': use s, ms, iso8601 or jwt", sel->unit);
    if (sel->expiry && !sel->unit && p->unit == EXPIRY_UNIT_JWT)
        p->unit = EXPIRY_UNIT_S;
    if (sel->request) {
        const char *param;
        if (profile_parse_request(sel->request, &p->body, &param) != 0)
            return cr_fail(err, CR_ERR_USAGE, "invalid --request '%s': use json, form or json:NAME", sel->request);
        profile_set_str(&p->refresh_param, param);
    }
    if (!p->expiry)
        p->unit = EXPIRY_UNIT_JWT;
    /* Before anything derives from the pointers. */
    if (!p->access || !p->refresh)
        return cr_fail(err, CR_ERR_USAGE,
                       "profile %s does not say where the tokens are: give --access-field and --refresh-field "
                       "(JSON pointers such as /accessToken)",
                       p->name);
    if (p->body == OAUTH_BODY_JSON_NAMED) {
        /* Not OAuth: the answer is taken to use the file's own names. */
        if (!p->answer_access)
            p->answer_access = last_token(p->access);
        if (!p->answer_refresh)
            p->answer_refresh = last_token(p->refresh);
        if (!p->answer_expires_at && p->expiry && p->unit == EXPIRY_UNIT_RFC3339)
            p->answer_expires_at = last_token(p->expiry);
    }
    if (!p->token_url && !sel->token_url_given)
        return cr_fail(err, CR_ERR_USAGE, "profile %s has no token endpoint: give --token-url URL", p->name);
    return CR_OK;
}

/* Fill p->fields and p->shape, the views the codecs and oauth.c read. */
static void fill_views(struct profile *p, bool token_url_given)
{
    struct creds_fields *f = &p->fields;
    f->access = pointer_for(p, p->access);
    f->refresh = pointer_for(p, p->refresh);
    f->expiry = pointer_for(p, p->expiry);
    f->unit = p->unit;
    f->scopes = pointer_for(p, p->scopes);
    f->last_refresh = pointer_for(p, p->last_refresh);
    f->base_url = token_url_given ? NULL : pointer_for(p, p->base_url);
    struct oauth_shape *sh = &p->shape;
    sh->refresh_param = p->refresh_param;
    sh->access = p->answer_access;
    sh->refresh = p->answer_refresh;
    sh->expires_in = p->answer_expires_in;
    sh->expires_at = p->answer_expires_at;
    sh->scope = p->answer_scope;
    for (size_t i = 0; i < p->n_store; i++) {
        f->extra[i] = pointer_for(p, p->store[i].pointer);
        sh->extra[i] = p->store[i].member;
    }
}

/* Comparing decoded reference tokens: 2 when pointers a and b name the
 * same place, 1 when one names a place inside the other's, else 0. */
static int pointers_overlap(const char *a, const char *b)
{
    while (*a == '/' && *b == '/') {
        const char *ea = strchr(a + 1, '/'), *eb = strchr(b + 1, '/');
        ea = ea ? ea : a + strlen(a);
        eb = eb ? eb : b + strlen(b);
        char *ta = jsonptr_token(a + 1, ea), *tb = jsonptr_token(b + 1, eb);
        bool same = strcmp(ta, tb) == 0;
        free(ta);
        free(tb);
        if (!same)
            return 0;
        a = ea;
        b = eb;
    }
    return *a == *b ? 2 : 1;
}

/* One of the pointers check_overlap compares: the profile's key, and the
 * option when the command line gave it. */
struct field_ptr {
    const char *ptr, *key, *option;
};

/* How a message names fp: "--access-field /a", or "access = /a" as
 * profile (when not NULL) says it. */
static char *field_name(const struct field_ptr *fp, const char *profile)
{
    if (fp->option)
        return xasprintf("%s %s", fp->option, fp->ptr);
    return xasprintf("%s%s%s%s = %s", profile ? "profile " : "", profile ? profile : "", profile ? "'s " : "", fp->key,
                     fp->ptr);
}

/* Pointers the store writes that overlap would write one value over
 * another or into it: refused before anything else (the base URL's may be
 * one of them: relay stores the answer's apiUrl where it reads it). CR_ERR_USAGE when one of the two was given on the command line,
 * else CR_ERR_PROFILES_CONF naming profile p in conf (NULL: built in). */
static enum cr_status check_overlap(const struct profile *p, const struct profile_select *sel, const char *conf,
                                    struct cr_err *err)
{
    const struct creds_fields *f = &p->fields;
    struct field_ptr w[5 + CREDS_MAX_EXTRA] = {
        {f->access, "access", sel->access ? "--access-field" : NULL},
        {f->refresh, "refresh", sel->refresh ? "--refresh-field" : NULL},
        {f->unit == EXPIRY_UNIT_JWT ? NULL : f->expiry, "expiry", sel->expiry ? "--expiry-field" : NULL},
        {f->scopes, "scopes", NULL},
        {f->last_refresh, "last-refresh", NULL},
    };
    size_t n = 5;
    for (size_t i = 0; i < CREDS_MAX_EXTRA; i++)
        w[n++] = (struct field_ptr){f->extra[i], "store", NULL};
    for (size_t i = 0; i < n; i++)
        for (size_t k = i + 1; k < n; k++) {
            int overlap = w[i].ptr && w[k].ptr ? pointers_overlap(w[i].ptr, w[k].ptr) : 0;
            if (!overlap)
                continue;
            bool cli = w[i].option || w[k].option;
            char *a = field_name(&w[i], cli ? p->name : NULL), *b = field_name(&w[k], cli ? p->name : NULL);
            const char *what = overlap == 2 ? "name the same place" : "overlap (one lies inside the other)";
            enum cr_status st;
            if (cli)
                st = cr_fail(err, CR_ERR_USAGE,
                             "%s and %s %s: one value would be written over the other; give pointers to different "
                             "places",
                             a, b, what);
            else
                st = cr_fail(err, CR_ERR_PROFILES_CONF,
                             "%s: profile [%s]: %s and %s %s: one value would be written over the other; give "
                             "pointers to different places",
                             conf ? conf : "the built-in profiles", p->name, a, b, what);
            free(a);
            free(b);
            return st;
        }
    return CR_OK;
}

enum cr_status profile_setup(const struct profile_select *sel, struct profile **out, struct cr_err *err)
{
    char *text = NULL, *conf = NULL;
    enum cr_status st = CR_OK;
    *out = NULL;
    if (sel->name) {
        conf = pathexpand_conf();
        st = read_conf(conf, &text, err);
    }
    struct profile *p = NULL;
    if (st == CR_OK)
        st = profile_resolve_in(&profile_resolved, text, conf, sel->name, sel->provider, &p, err);
    /* The built-in profiles are checked for overlapping pointers by their
     * unit test: only pointers a user gave cost a check on every run. */
    bool user_pointers = text || sel->access || sel->refresh || sel->expiry;
    free(text);
    if (st == CR_OK) {
        *out = p;
        st = apply_select(p, sel, err);
    }
    if (st == CR_OK) {
        fill_views(p, sel->token_url_given);
        if (user_pointers)
            st = check_overlap(p, sel, conf, err);
    }
    free(conf);
    return st;
}

char *profile_file(const struct profile *p)
{
    if (p->n_files == 0)
        return NULL;
    char *first = NULL;
    for (size_t i = 0; i < p->n_files; i++) {
        char *path;
        struct cr_err err;
        if (pathexpand(p->files[i], &path, &err) != 0)
            continue; /* checked when parsed */
        if (p->n_files == 1)
            return path;
        struct stat sb;
        if (lstat(path, &sb) == 0) {
            free(first);
            return path;
        }
        if (!first)
            first = path;
        else
            free(path);
    }
    return first;
}

/* The placeholders of a lock template, in the order of their values. */
static const char *const placeholders[] = {"{file}", "{dir}", "{realdir}", "{name}"};
#define N_PLACEHOLDERS (sizeof placeholders / sizeof *placeholders)

/* The placeholder at t, or -1. */
static int placeholder_at(const char *t)
{
    if (*t == '{')
        for (size_t k = 0; k < N_PLACEHOLDERS; k++)
            if (strncmp(t, placeholders[k], strlen(placeholders[k])) == 0)
                return (int)k;
    return -1;
}

/* Template t with every placeholder replaced by its value in vals (newly
 * allocated): one pass to measure, one to copy. */
static char *expand_template(const char *t, const char *const vals[N_PLACEHOLDERS])
{
    size_t len = 0;
    for (const char *q = t; *q;) {
        int k = placeholder_at(q);
        len += k < 0 ? 1 : strlen(vals[k]);
        q += k < 0 ? 1 : strlen(placeholders[k]);
    }
    char *out = xmalloc(len + 1), *o = out;
    for (const char *q = t; *q;) {
        int k = placeholder_at(q);
        if (k < 0) {
            *o++ = *q++;
            continue;
        }
        size_t n = strlen(vals[k]);
        memcpy(o, vals[k], n);
        o += n;
        q += strlen(placeholders[k]);
    }
    *o = '\0';
    return out;
}

size_t profile_expand_locks(struct profile *p, const char *given, bool write, struct applock_spec *specs, size_t max)
{
    size_t n = 0;
    char *dir = NULL, *realdir = NULL;
    profile_parse_locks(p);
    for (size_t i = 0; i < p->n_locks; i++) {
        const struct profile_lock *l = &p->locks[i];
        if (l->write != write || n == max)
            continue;
        if (!dir)
            dir = path_dirname(given);
        if (!realdir && strstr(l->path, "{realdir}")) {
            char buf[PATH_MAX];
            realdir = xstrdup(realpath(dir, buf) ? buf : dir);
        }
        const char *vals[N_PLACEHOLDERS] = {given, dir, realdir ? realdir : dir, path_basename(given)};
        char *path = own(p, expand_template(l->path, vals));
        specs[n++] = (struct applock_spec){.kind = l->kind, .path = path, .stale_s = l->stale_s, .optional = l->optional,
                                             .nonblock = l->nonblock};
    }
    free(dir);
    free(realdir);
    return n;
}
