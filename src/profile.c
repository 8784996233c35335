/* SPDX-License-Identifier: MIT */
/* Profiles: what each key of profiles.conf means, and inheritance. A section
 * [NAME] defines or overrides profile NAME; [NAME/PROVIDER] is NAME for one
 * provider; "inherit = OTHER" starts from another profile. The built-in
 * profiles are src/profiles.builtin.conf, tokenized at build time
 * (profile_builtin_ini); the user's profiles.conf is tokenized by ini.c when -p is
 * given, and both are applied by the same code here. See credrun(1), PROFILES. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ini.h"
#include "pathexpand.h"
#include "profile.h"
#include "profile_keys.h"
#include "util.h"

#define MAX_INHERIT 8

/* Free s unless it is a string of the resolved built-in profiles. */
static void str_free(char *s)
{
    if (!profile_str_static(s))
        free(s);
}

void profile_set_str(char **field, const char *value)
{
    str_free(*field);
    *field = value ? xstrdup(value) : NULL;
}

/* "none" clears an optional value. */
static const char *or_none(const char *v)
{
    return strcmp(v, "none") == 0 ? NULL : v;
}

static int bad_value(struct cr_err *err, const char *key, const char *what)
{
    cr_fail(err, CR_ERR_PROFILES_CONF, "%s: %s", key, what);
    return -1;
}

/* A pointer must be "/..." and may hold {provider}. */
int profile_set_pointer(char **field, const char *key, const char *v, bool optional, struct cr_err *err)
{
    if (optional && strcmp(v, "none") == 0) {
        profile_set_str(field, NULL);
        return 0;
    }
    if (v[0] != '/')
        return bad_value(err, key, "give a JSON pointer starting with '/' (RFC 6901)");
    if (!utf8_valid(v))
        return bad_value(err, key, "the JSON pointer is not valid UTF-8: retype it");
    profile_set_str(field, v);
    return 0;
}

int profile_parse_unit(const char *v, enum expiry_unit *u)
{
    if (strcmp(v, "s") == 0)
        *u = EXPIRY_UNIT_S;
    else if (strcmp(v, "ms") == 0)
        *u = EXPIRY_UNIT_MS;
    else if (strcmp(v, "iso8601") == 0 || strcmp(v, "rfc3339") == 0)
        *u = EXPIRY_UNIT_RFC3339;
    else if (strcmp(v, "jwt") == 0)
        *u = EXPIRY_UNIT_JWT;
    else
        return -1;
    return 0;
}

bool profile_member_name_ok(const char *v)
{
    if (!*v)
        return false;
    for (const char *p = v; *p; p++)
        if (!ini_name_char((unsigned char)*p) && *p != ':')
            return false;
    return true;
}

/* request = json | form | json:NAME */
int profile_parse_request(const char *v, enum oauth_body *body, const char **param)
{
    *param = NULL;
    if (strcmp(v, "json") == 0)
        *body = OAUTH_BODY_JSON;
    else if (strcmp(v, "form") == 0)
        *body = OAUTH_BODY_FORM;
    else if (strncmp(v, "json:", 5) == 0 && profile_member_name_ok(v + 5)) {
        *body = OAUTH_BODY_JSON_NAMED;
        *param = v + 5;
    } else
        return -1;
    return 0;
}

/* A lock template must name a place: absolute, or from {file}, {dir} or {realdir}. */
static bool lock_path_ok(const char *t)
{
    return t[0] == '/' || strncmp(t, "{file}", 6) == 0 || strncmp(t, "{dir}", 5) == 0 || strncmp(t, "{realdir}", 9) == 0;
}

/* lock = refresh|write mkdir|fcntl|flock PATH [stale=N] [optional] [nonblock] into *out
 * (its path newly allocated). */
static int parse_lock(const char *v, struct profile_lock *out, struct cr_err *err)
{
    char *copy = xstrdup(v), *save = NULL;
    char *role = strtok_r(copy, " \t", &save), *kind = strtok_r(NULL, " \t", &save),
         *path = strtok_r(NULL, " \t", &save);
    struct profile_lock l = {.stale_s = 0};
    int rc = -1;
    if (!role || !kind || !path) {
        bad_value(err, "lock", "give refresh|write mkdir|fcntl|flock PATH [stale=SECONDS] [optional] [nonblock]");
        goto out;
    }
    if (strcmp(role, "refresh") == 0)
        l.write = false;
    else if (strcmp(role, "write") == 0)
        l.write = true;
    else {
        bad_value(err, "lock", "the first word is refresh or write");
        goto out;
    }
    if (strcmp(kind, "mkdir") == 0) {
        l.kind = APPLOCK_MKDIR;
        l.stale_s = 10;
    } else if (strcmp(kind, "fcntl") == 0) {
        l.kind = APPLOCK_FCNTL;
    } else if (strcmp(kind, "flock") == 0) {
        l.kind = APPLOCK_FLOCK;
    } else {
        bad_value(err, "lock", "the kind is mkdir (a lock directory), fcntl (a record lock) or flock");
        goto out;
    }
    if (!lock_path_ok(path)) {
        bad_value(err, "lock", "the path is absolute or starts with {file}, {dir} or {realdir}");
        goto out;
    }
    for (char *w; (w = strtok_r(NULL, " \t", &save));) {
        long n;
        if (strncmp(w, "stale=", 6) == 0 && l.kind == APPLOCK_MKDIR && parse_long(w + 6, 1, 86400, &n) == 0) {
            l.stale_s = (int)n;
        } else if (strcmp(w, "optional") == 0) {
            l.optional = true;
        } else if (strcmp(w, "nonblock") == 0 && l.kind == APPLOCK_FLOCK) {
            l.nonblock = true;
        } else {
            bad_value(err, "lock", "after the path only stale=SECONDS (mkdir), nonblock (flock) and optional may follow");
            goto out;
        }
    }
    l.path = xstrdup(path);
    *out = l;
    rc = 0;
out:
    free(copy);
    return rc;
}

/* lock = none | a lock line: parsed, and kept as written */
static int add_lock(struct profile *p, const char *v, struct cr_err *err)
{
    if (strcmp(v, "none") == 0)
        return 0;
    profile_parse_locks(p);
    struct profile_lock l;
    if (parse_lock(v, &l, err) != 0)
        return -1;
    size_t same = 0;
    for (size_t i = 0; i < p->n_locks; i++)
        same += p->locks[i].write == l.write;
    if (same >= APPLOCK_MAX) {
        free(l.path);
        cr_fail(err, CR_ERR_PROFILES_CONF, "lock: at most %d refresh and %d write locks", APPLOCK_MAX, APPLOCK_MAX);
        return -1;
    }
    p->locks[p->n_locks++] = l;
    p->lock_lines[p->n_lock_lines++] = xstrdup(v);
    return 0;
}

void profile_parse_locks(struct profile *p)
{
    for (size_t i = p->n_locks; i < p->n_lock_lines; i++) {
        struct cr_err err;
        if (parse_lock(p->lock_lines[i], &p->locks[p->n_locks], &err) == 0) /* checked when they were added */
            p->n_locks++;
    }
}


/* The lists a section's first line of a kind replaces. */
enum key_list { LIST_NONE = 0, LIST_FILES = 1, LIST_LOCKS = 2, LIST_STORES = 4 };

void profile_clear_lists(struct profile *p, unsigned lists)
{
    if (lists & LIST_FILES) {
        for (size_t i = 0; i < p->n_files; i++)
            str_free(p->files[i]);
        p->n_files = 0;
    }
    if (lists & LIST_LOCKS) {
        for (size_t i = 0; i < p->n_locks; i++)
            free(p->locks[i].path);
        p->n_locks = 0;
        for (size_t i = 0; i < p->n_lock_lines; i++)
            str_free(p->lock_lines[i]);
        p->n_lock_lines = 0;
    }
    if (lists & LIST_STORES) {
        for (size_t i = 0; i < p->n_store; i++) {
            str_free(p->store[i].member);
            str_free(p->store[i].pointer);
        }
        p->n_store = 0;
    }
}

/* file = RULE | none */
static int add_file(struct profile *p, bool trusted, const char *v, struct cr_err *err)
{
    if (strcmp(v, "none") == 0)
        return 0;
    if (p->n_files == PROFILE_MAX_FILES)
        return bad_value(err, "file", "at most 4 candidates");
    if (!trusted) {
        char *x;
        if (pathexpand(v, &x, err) != 0) {
            cr_wrap(err, "file");
            return -1;
        }
        free(x);
    }
    p->files[p->n_files++] = xstrdup(v);
    return 0;
}

/* store = MEMBER POINTER | none */
static int add_store(struct profile *p, const char *v, struct cr_err *err)
{
    if (strcmp(v, "none") == 0)
        return 0;
    const char *sp = strpbrk(v, " \t");
    const char *ptr = sp ? sp + strspn(sp, " \t") : NULL;
    char *member = sp ? xasprintf("%.*s", (int)(sp - v), v) : NULL;
    int rc = 0;
    if (!member || !profile_member_name_ok(member) || !ptr || ptr[0] != '/' || strpbrk(ptr, " \t") || !utf8_valid(ptr))
        rc = bad_value(err, "store", "give MEMBER POINTER: the answer's member and where it goes");
    else if (p->n_store == CREDS_MAX_EXTRA)
        rc = bad_value(err, "store", "at most 4 store lines");
    else {
        p->store[p->n_store].member = member;
        p->store[p->n_store++].pointer = xstrdup(ptr);
        member = NULL;
    }
    free(member);
    return rc;
}

#define AT(field) offsetof(struct profile, field), sizeof(((struct profile *)0)->field), #field
#define NO_FIELD 0, 0, ""
/* Sorted by name, for bsearch. */
const struct profile_key profile_keys[] = {
    {"access", KEY_POINTER, AT(access), 0, NULL},
    {"client-id", KEY_TEXT, AT(client_id), 0, NULL},
    {"client-unlocked", KEY_YESNO, AT(client_unlocked), 0, NULL},
    {"client-window", KEY_SECONDS, AT(client_window), 0, NULL},
    {"codec", KEY_CODEC, AT(codec), 0, NULL},
    {"env", KEY_ENV, AT(env), 0, NULL},
    {"exec-only", KEY_YESNO, AT(exec_only), 0, NULL},
    {"expiry", KEY_OPTIONAL, AT(expiry), 0, NULL},
    {"expiry-unit", KEY_UNIT, AT(unit), 0, NULL},
    {"file", KEY_FILE, NO_FIELD, LIST_FILES, NULL},
    {"inherit", KEY_INHERIT, NO_FIELD, 0, NULL},
    {"last-refresh", KEY_OPTIONAL, AT(last_refresh), 0, NULL},
    {"lock", KEY_LOCK, NO_FIELD, LIST_LOCKS, NULL},
    {"login-hint", KEY_TEXT, AT(login_hint), 0, NULL},
    {"min-validity", KEY_SECONDS, AT(min_validity), 0, NULL},
    {"provider", KEY_MEMBER, AT(provider), 0, "give a provider name"},
    {"refresh", KEY_POINTER, AT(refresh), 0, NULL},
    {"request", KEY_REQUEST, AT(body), 0, NULL},
    {"response-access", KEY_MEMBER, AT(answer_access), 0, "give the answer's member name"},
    {"response-expires-at", KEY_MEMBER, AT(answer_expires_at), 0, "give the answer's member name"},
    {"response-expires-in", KEY_MEMBER, AT(answer_expires_in), 0, "give the answer's member name"},
    {"response-refresh", KEY_MEMBER, AT(answer_refresh), 0, "give the answer's member name"},
    {"response-scope", KEY_MEMBER, AT(answer_scope), 0, "give the answer's member name"},
    {"scopes", KEY_OPTIONAL, AT(scopes), 0, NULL},
    {"store", KEY_STORE, NO_FIELD, LIST_STORES, NULL},
    {"token-url", KEY_URL, AT(token_url), 0, NULL},
    {"token-url-base", KEY_OPTIONAL, AT(base_url), 0, NULL},
    {"token-url-path", KEY_TEXT, AT(token_url_path), 0, NULL},
};

const size_t profile_n_keys = sizeof profile_keys / sizeof *profile_keys;

static int key_cmp(const void *name, const void *k)
{
    return strcmp(name, ((const struct profile_key *)k)->name);
}

/* What a section has done so far. */
struct apply_state {
    unsigned started; /* the lists it has started anew (enum key_list) */
    bool trusted;     /* the built-in profiles: their URLs and rules are checked by the unit tests */
};

/* Apply one key = value to p. 0, or -1 with err (CR_ERR_PROFILES_CONF). */
static int apply_entry(struct profile *p, struct apply_state *st, const char *key, const char *v, struct cr_err *err)
{
    const struct profile_key *k = bsearch(key, profile_keys, profile_n_keys, sizeof *profile_keys, key_cmp);
    if (!k) {
        if (is_plain_word(key)) /* a typo; never quote what may be a pasted secret */
            cr_fail(err, CR_ERR_PROFILES_CONF, "unknown key '%s'", key);
        else
            cr_fail(err, CR_ERR_PROFILES_CONF, "unknown key");
        return -1;
    }
    if (k->list & ~st->started) { /* its first line replaces the inherited list */
        profile_clear_lists(p, k->list);
        st->started |= k->list;
    }
    char **field = (char **)((char *)p + k->off);
    switch (k->kind) {
    case KEY_INHERIT:
        return ini_section_name_ok(v) ? 0 : bad_value(err, key, "give a profile name");
    case KEY_FILE:
        return add_file(p, st->trusted, v, err);
    case KEY_CODEC:
        if (strcmp(v, "json") == 0)
            p->codec = PROFILE_CODEC_JSON;
        else if (strcmp(v, "transit") == 0)
            p->codec = PROFILE_CODEC_TRANSIT;
        else
            return bad_value(err, key, "json or transit");
        return 0;
    case KEY_POINTER:
    case KEY_OPTIONAL:
        return profile_set_pointer(field, key, v, k->kind == KEY_OPTIONAL, err);
    case KEY_UNIT:
        return profile_parse_unit(v, &p->unit) == 0 ? 0 : bad_value(err, key, "s, ms, iso8601 or jwt");
    case KEY_URL: {
        bool lo;
        if (!st->trusted && or_none(v) && oauth_check_url(v, &lo, err) != CR_OK) {
            err->status = CR_ERR_PROFILES_CONF;
            cr_wrap(err, "%s", key);
            return -1;
        }
        profile_set_str(field, or_none(v));
        return 0;
    }
    case KEY_TEXT:
        profile_set_str(field, or_none(v));
        return 0;
    case KEY_REQUEST: {
        const char *param;
        if (profile_parse_request(v, &p->body, &param) != 0)
            return bad_value(err, key, "json, form or json:NAME");
        profile_set_str(&p->refresh_param, param);
        return 0;
    }
    case KEY_MEMBER:
        if (strcmp(v, "none") != 0 && !profile_member_name_ok(v))
            return bad_value(err, key, k->what);
        profile_set_str(field, or_none(v));
        return 0;
    case KEY_ENV:
        if (strcmp(v, "none") != 0 && (!*v || strchr(v, '=') || strpbrk(v, " \t")))
            return bad_value(err, key, "give a variable name, or none");
        profile_set_str(field, or_none(v));
        return 0;
    case KEY_YESNO:
        if (strcmp(v, "yes") != 0 && strcmp(v, "no") != 0)
            return bad_value(err, key, "yes or no");
        *(bool *)((char *)p + k->off) = strcmp(v, "yes") == 0;
        return 0;
    case KEY_STORE:
        return add_store(p, v, err);
    case KEY_SECONDS: {
        long n = 0;
        if (strcmp(v, "none") != 0 && parse_long(v, 1, 366L * 86400, &n) != 0)
            return bad_value(err, key, "give whole SECONDS, or none");
        *(long *)((char *)p + k->off) = n;
        return 0;
    }
    case KEY_LOCK:
        return add_lock(p, v, err);
    }
    return -1;
}

/* Apply every entry of section s of ini to p. */
static enum cr_status apply_section(struct profile *p, const struct ini_section *s, const struct ini *ini,
                                    struct cr_err *err)
{
    struct apply_state st = {.trusted = ini == profile_builtin_ini()};
    for (size_t i = 0; i < s->n; i++) {
        if (apply_entry(p, &st, s->e[i].key, s->e[i].value, err) != 0) {
            err->status = CR_ERR_PROFILES_CONF;
            return cr_wrap(err, "%s:%d", ini->origin, s->e[i].line);
        }
    }
    return CR_OK;
}

static const char *section_inherit(const struct ini_section *s)
{
    for (size_t i = s ? s->n : 0; i-- > 0;)
        if (strcmp(s->e[i].key, "inherit") == 0)
            return s->e[i].value;
    return NULL;
}

/* Build profile name into p: its parent first (inherit, or NAME for
 * NAME/PROVIDER), then the built-in section, then the user's. */
static enum cr_status build(const struct ini *us, const char *conf, const char *name, int depth, struct profile *p,
                            struct cr_err *err)
{
    const struct ini *bi = profile_builtin_ini();
    const struct ini_section *b = ini_find(bi, name), *u = ini_find(us, name);
    if (!b && !u) {
        return cr_fail(err, CR_ERR_USAGE, "unknown profile '%s' (built in: %s; others are defined in %s)",
                       is_plain_word(name) ? name : "...", profile_builtin_names, conf);
    }
    const char *parent = u ? section_inherit(u) : NULL;
    if (!parent)
        parent = section_inherit(b);
    char *prefix = NULL;
    if (!parent && strchr(name, '/'))
        parent = prefix = xasprintf("%.*s", (int)(strchr(name, '/') - name), name);
    enum cr_status st = CR_OK;
    if (parent) {
        if (depth >= MAX_INHERIT || strcmp(parent, name) == 0) {
            st = cr_fail(err, CR_ERR_PROFILES_CONF, "%s:%d: profile [%s] inherits in a circle (or more than %d deep)",
                         u ? us->origin : bi->origin, u ? u->line : b->line, is_plain_word(name) ? name : "...",
                         MAX_INHERIT);
        } else {
            st = build(us, conf, parent, depth + 1, p, err);
        }
    }
    free(prefix);
    if (!parent) { /* a profile of its own: what [json] says unless told otherwise */
        p->codec = PROFILE_CODEC_JSON;
        p->unit = EXPIRY_UNIT_S;
        p->body = OAUTH_BODY_JSON;
    }
    if (st == CR_OK && b)
        st = apply_section(p, b, bi, err);
    if (st == CR_OK && u)
        st = apply_section(p, u, us, err);
    return st;
}

static bool uses_provider(const struct profile *p)
{
    const char *ptrs[] = {p->access, p->refresh, p->expiry, p->scopes, p->last_refresh, p->base_url};
    for (size_t i = 0; i < sizeof ptrs / sizeof *ptrs; i++)
        if (ptrs[i] && strstr(ptrs[i], "{provider}"))
            return true;
    return false;
}

static void list_providers(const struct ini *bi, const struct ini *us, const char *name, const char *dflt, char *buf,
                           size_t len)
{
    size_t n = (size_t)snprintf(buf, len, "%s", dflt ? dflt : "");
    size_t nl = strlen(name);
    const struct ini *both[] = {bi, us};
    for (size_t k = 0; k < 2; k++)
        for (size_t i = 0; both[k] && i < both[k]->n && n < len; i++) {
            const char *s = both[k]->s[i].name;
            if (strncmp(s, name, nl) == 0 && s[nl] == '/')
                n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? ", " : "", s + nl + 1);
        }
}

/* Build profile name into p (zeroed): from the resolved tables when there
 * is no profiles.conf and they hold it, else from the sections. */
static enum cr_status build_top(const struct profile_tables *resolved, const struct ini *us, const char *conf,
                                const char *name, struct profile *p, struct cr_err *err)
{
    /* memcmp, not strcmp: jansson binds it anyway, so the fast path binds
     * one libc symbol fewer. */
    size_t n = strlen(name);
    for (size_t i = 0; resolved && !us && i < resolved->n; i++) {
        const char *rn = resolved->pool + resolved->profiles[i].name;
        if (strlen(rn) == n && memcmp(rn, name, n) == 0) {
            profile_unpack(resolved, &resolved->profiles[i], p);
            return CR_OK;
        }
    }
    return build(us, conf, name, 0, p, err);
}

enum cr_status profile_resolve(const char *user_text, const char *origin, const char *name, const char *provider,
                               struct profile **out, struct cr_err *err)
{
    return profile_resolve_in(NULL, user_text, origin, name, provider, out, err);
}

enum cr_status profile_resolve_in(const struct profile_tables *resolved, const char *user_text, const char *origin,
                                  const char *name, const char *provider, struct profile **out, struct cr_err *err)
{
    *out = NULL;
    struct ini user, *us = NULL;
    const char *conf = origin ? origin : "profiles.conf";
    bool named = name != NULL; /* PROFILE_DEFAULT is a good name */
    if (!name)
        name = PROFILE_DEFAULT;
    enum cr_status st = CR_OK;
    if (user_text) {
        st = ini_parse(user_text, conf, &user, err);
        if (st == CR_OK)
            us = &user;
        /* Check every section, used or not, so a mistake shows at once. */
        for (size_t i = 0; st == CR_OK && i < us->n; i++) {
            struct profile scratch = {0};
            st = apply_section(&scratch, &us->s[i], us, err);
            profile_clear(&scratch);
        }
    }
    struct profile *p = xcalloc(1, sizeof *p);
    if (st == CR_OK && named && !ini_section_name_ok(name))
        st = cr_fail(err, CR_ERR_USAGE, "bad profile name '%s'", name);
    if (st == CR_OK)
        st = build_top(resolved, us, conf, name, p, err);
    if (st == CR_OK && provider) {
        if (!profile_member_name_ok(provider) || strchr(provider, ':')) {
            st = cr_fail(err, CR_ERR_USAGE, "bad provider name '%s'", provider);
        } else if (!uses_provider(p)) {
            st = cr_fail(err, CR_ERR_USAGE, "profile %s has no providers: --provider is for profiles like eca", name);
        } else if (!p->provider || strcmp(provider, p->provider) != 0) {
            char *sub = xasprintf("%s/%s", name, provider);
            if (ini_find(profile_builtin_ini(), sub) || ini_find(us, sub)) {
                profile_free(p);
                p = xcalloc(1, sizeof *p);
                st = build_top(resolved, us, conf, sub, p, err);
                name = NULL;
            } else {
                char known[256];
                list_providers(profile_builtin_ini(), us, name, p->provider, known, sizeof known);
                st = cr_fail(err, CR_ERR_USAGE, "profile %s knows no provider '%s' (known: %s); define [%s] in %s", name,
                             provider, known, sub, conf);
            }
            if (st == CR_OK)
                p->name = sub;
            else
                free(sub);
        }
        if (st == CR_OK)
            profile_set_str(&p->provider, provider);
    }
    if (st == CR_OK && !p->name)
        p->name = xstrdup(name);
    ini_free(us);
    if (st != CR_OK) {
        profile_free(p);
        return st;
    }
    *out = p;
    return CR_OK;
}

#define STR(field) {offsetof(struct profile, field), #field}
const struct profile_str_field profile_str_fields[] = {
    STR(name),          STR(provider),       STR(access),        STR(refresh),        STR(expiry),
    STR(scopes),        STR(last_refresh),   STR(base_url),      STR(token_url),      STR(token_url_path),
    STR(client_id),     STR(refresh_param),  STR(answer_access), STR(answer_refresh), STR(answer_expires_in),
    STR(answer_expires_at), STR(answer_scope), STR(env),         STR(login_hint),
};
const size_t profile_n_str_fields = sizeof profile_str_fields / sizeof *profile_str_fields;

/* Free what p holds, not p itself. */
void profile_clear(struct profile *p)
{
    for (size_t i = 0; i < profile_n_str_fields; i++) {
        char **field = (char **)((char *)p + profile_str_fields[i].off);
        str_free(*field);
        *field = NULL;
    }
    profile_clear_lists(p, LIST_FILES | LIST_LOCKS | LIST_STORES);
    for (size_t i = 0; i < p->n_owned; i++)
        free(p->owned[i]);
    free(p->owned);
    p->owned = NULL;
    p->n_owned = 0;
}

void profile_free(struct profile *p)
{
    if (p) {
        profile_clear(p);
        free(p);
    }
}
