/* SPDX-License-Identifier: MIT */
/* Profiles: the built-in ones are text in profiles.conf's own format, parsed
 * by the same code as the user's file. A section [NAME] defines or overrides
 * profile NAME; [NAME/PROVIDER] is NAME for one provider; "inherit = OTHER"
 * starts from another profile. See credrun(1), PROFILES. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "profile.h"
#include "util.h"

#define MAX_INHERIT 8
#define BUILTIN_ORIGIN "built-in profiles"
#define CONF_MAX_SIZE (1024 * 1024)

/* The built-in profiles. Researched from each tool's source; see
 * credrun(1) PROFILES. */
const char profile_builtin_text[] =
    "# Claude Code 2.1.x: refreshes under proper-lockfile directory locks\n"
    "[claude]\n"
    "file = ${CLAUDE_SECURESTORAGE_CONFIG_DIR:-${CLAUDE_CONFIG_DIR:-~/.claude}}/.credentials.json\n"
    "codec = json\n"
    "access = /claudeAiOauth/accessToken\n"
    "refresh = /claudeAiOauth/refreshToken\n"
    "expiry = /claudeAiOauth/expiresAt\n"
    "expiry-unit = ms\n"
    "scopes = /claudeAiOauth/scopes\n"
    "token-url = https://platform.claude.com/v1/oauth/token\n"
    "client-id = 9d1c250a-e61b-44d9-88ed-5944d1962f5e\n"
    "request = json\n"
    "env = CLAUDE_CODE_OAUTH_TOKEN\n"
    "login-hint = claude /login\n"
    "client-window = 300\n"
    "lock = refresh mkdir {dir}/.oauth_refresh.lock stale=60\n"
    "lock = refresh mkdir {realdir}.lock stale=60 optional\n"
    "lock = write mkdir {dir}/.storage-write.lock stale=15\n"
    "\n"
    "# ECA's global cache: Transit JSON, one entry per provider under :auth;\n"
    "# ECA locks it with Java's FileChannel.lock (fcntl) on db.transit.json.lock\n"
    "[eca]\n"
    "file = ${XDG_CACHE_HOME:-~/.cache}/eca/db.transit.json\n"
    "codec = transit\n"
    "provider = anthropic\n"
    "access = /~:auth/{provider}/~:api-key\n"
    "refresh = /~:auth/{provider}/~:refresh-token\n"
    "expiry = /~:auth/{provider}/~:expires-at\n"
    "expiry-unit = s\n"
    "token-url = https://platform.claude.com/v1/oauth/token\n"
    "client-id = 9d1c250a-e61b-44d9-88ed-5944d1962f5e\n"
    "request = json\n"
    "env = none\n"
    "login-hint = /login in ECA\n"
    "exec-only = yes\n"
    "client-window = 60\n"
    "lock = refresh fcntl {file}.lock\n"
    "\n"
    "[eca/openai]\n"
    "token-url = https://auth.openai.com/oauth/token\n"
    "client-id = app_EMoamEEZ73f0CkXaXp7hrann\n"
    "\n"
    "# OpenAI Codex CLI: expiry from the access token's JWT, last_refresh set;\n"
    "# Codex flocks auth.lock, then auth.json.lock (LOCK_NB), only to write\n"
    "[codex]\n"
    "file = ${CODEX_HOME:-~/.codex}/auth.json\n"
    "codec = json\n"
    "access = /tokens/access_token\n"
    "refresh = /tokens/refresh_token\n"
    "expiry-unit = jwt\n"
    "last-refresh = /last_refresh\n"
    "store = id_token /tokens/id_token\n"
    "token-url = https://auth.openai.com/oauth/token\n"
    "client-id = app_EMoamEEZ73f0CkXaXp7hrann\n"
    "request = json\n"
    "env = none\n"
    "login-hint = codex login\n"
    "client-window = 300 unlocked\n"
    "min-validity = 900\n"
    "lock = refresh flock {dir}/auth.lock\n"
    "lock = refresh flock {dir}/auth.json.lock nonblock\n"
    "\n"
    "# AgentWorkforce relay / relayfile cloud session\n"
    "[relay]\n"
    "file = ~/.agentworkforce/relay/cloud-auth.json\n"
    "file = ~/.relayfile/cloud-credentials.json\n"
    "codec = json\n"
    "access = /accessToken\n"
    "refresh = /refreshToken\n"
    "expiry = /accessTokenExpiresAt\n"
    "expiry-unit = iso8601\n"
    "token-url-base = /apiUrl\n"
    "token-url-path = api/v1/auth/token/refresh\n"
    "token-url = https://agentrelay.com/cloud/api/v1/auth/token/refresh\n"
    "client-id = none\n"
    "request = json:refreshToken\n"
    "response-access = accessToken\n"
    "response-refresh = refreshToken\n"
    "response-expires-at = accessTokenExpiresAt\n"
    "store = refreshTokenExpiresAt /refreshTokenExpiresAt\n"
    "store = apiUrl /apiUrl\n"
    "env = none\n"
    "login-hint = agent-relay cloud login\n"
    "lock = refresh mkdir {file}.lock stale=30\n"
    "\n"
    "# Any JSON file: give --credentials, --access-field, --refresh-field,\n"
    "# --expiry-field and --token-url\n"
    "[json]\n"
    "codec = json\n"
    "expiry-unit = s\n"
    "client-id = none\n"
    "request = json\n"
    "env = none\n"
    "lock = none\n";

static void profile_clear(struct profile *p);

/* ---- INI text ------------------------------------------------------------ */

struct ini_entry {
    const char *key, *value;
    int line;
};

struct ini_section {
    const char *name;
    int line;
    struct ini_entry *e;
    size_t n, cap;
};

struct ini {
    char *buf; /* the text, cut into strings in place */
    const char *origin;
    struct ini_section *s;
    size_t n, cap;
};

static void ini_free(struct ini *ini)
{
    for (size_t i = 0; i < ini->n; i++)
        free(ini->s[i].e);
    free(ini->s);
    free(ini->buf);
    memset(ini, 0, sizeof *ini);
}

static bool name_char(int ch)
{
    return isalnum(ch) || ch == '-' || ch == '_' || ch == '.';
}

/* True for NAME or NAME/PROVIDER of name characters. */
static bool valid_section_name(const char *s)
{
    const char *slash = strchr(s, '/');
    if (slash && strchr(slash + 1, '/'))
        return false;
    size_t part = 0;
    for (const char *p = s;; p++) {
        if (*p == '/' || !*p) {
            if (part == 0)
                return false;
            if (!*p)
                return true;
            part = 0;
        } else if (!name_char((unsigned char)*p)) {
            return false;
        } else {
            part++;
        }
    }
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    char *e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
        *--e = '\0';
    return s;
}

static const struct ini_section *ini_find(const struct ini *ini, const char *name)
{
    for (size_t i = 0; ini && i < ini->n; i++)
        if (strcmp(ini->s[i].name, name) == 0)
            return &ini->s[i];
    return NULL;
}

/* Is section name NAME or NAME/PROVIDER of base only (NULL: every one)? */
static bool section_wanted(const char *name, const char *only)
{
    if (!only)
        return true;
    size_t n = strlen(only);
    return strncmp(name, only, n) == 0 && (name[n] == '\0' || name[n] == '/');
}

/* Parse text into sections of key = value entries. With only set, the
 * entries of other sections are skipped unread (the run-time cost of the
 * built-in text on every invocation). */
static enum cr_status ini_parse(const char *text, const char *origin, const char *only, struct ini *ini, struct cr_err *err)
{
    bool skipping = false;
    memset(ini, 0, sizeof *ini);
    ini->buf = xstrdup(text);
    ini->origin = origin;
    struct ini_section *cur = NULL;
    int line = 0;
    for (char *p = ini->buf, *next; p; p = next) {
        line++;
        next = strchr(p, '\n');
        if (next)
            *next++ = '\0';
        if (skipping && *p != '[')
            continue;
        char *l = trim(p);
        if (!*l || *l == '#' || *l == ';')
            continue;
        if (*l == '[') {
            char *close = strchr(l, ']');
            if (!close || *trim(close + 1)) {
                return cr_fail(err, CR_ERR_PROFILES_CONF, "%s:%d: a section header is [NAME] alone on its line", origin, line);
            }
            *close = '\0';
            char *name = trim(l + 1);
            if (!valid_section_name(name)) {
                return cr_fail(err, CR_ERR_PROFILES_CONF, "%s:%d: bad profile name: use letters, digits, '-', '_', '.' (and one '/' "
                         "before a provider)", origin, line);
            }
            skipping = !section_wanted(name, only);
            if (skipping)
                continue;
            const struct ini_section *dup = ini_find(ini, name);
            if (dup) {
                return cr_fail(err, CR_ERR_PROFILES_CONF, "%s:%d: profile [%s] is already defined at line %d", origin, line,
                         is_plain_word(name) ? name : "...", dup->line);
            }
            if (ini->n == ini->cap) {
                ini->cap = ini->cap ? 2 * ini->cap : 8;
                ini->s = xrealloc(ini->s, ini->cap * sizeof *ini->s);
            }
            cur = &ini->s[ini->n++];
            memset(cur, 0, sizeof *cur);
            cur->name = name;
            cur->line = line;
            continue;
        }
        char *eq = strchr(l, '=');
        if (!eq) {
            return cr_fail(err, CR_ERR_PROFILES_CONF, "%s:%d: expected KEY = VALUE or [NAME]", origin, line);
        }
        if (!cur) {
            return cr_fail(err, CR_ERR_PROFILES_CONF, "%s:%d: KEY = VALUE before any [NAME] section", origin, line);
        }
        *eq = '\0';
        if (cur->n == cur->cap) {
            cur->cap = cur->cap ? 2 * cur->cap : 16;
            cur->e = xrealloc(cur->e, cur->cap * sizeof *cur->e);
        }
        cur->e[cur->n++] = (struct ini_entry){.key = trim(l), .value = trim(eq + 1), .line = line};
    }
    return CR_OK;
}

/* ---- profile values -------------------------------------------------------- */

static void set_str(char **field, const char *value)
{
    free(*field);
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
static int set_pointer(char **field, const char *key, const char *v, bool optional, struct cr_err *err)
{
    if (optional && strcmp(v, "none") == 0) {
        set_str(field, NULL);
        return 0;
    }
    if (v[0] != '/')
        return bad_value(err, key, "give a JSON pointer starting with '/' (RFC 6901)");
    set_str(field, v);
    return 0;
}

static int parse_unit(const char *v, enum expiry_unit *u)
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

static bool member_name_ok(const char *v)
{
    if (!*v)
        return false;
    for (const char *p = v; *p; p++)
        if (!name_char((unsigned char)*p) && *p != ':')
            return false;
    return true;
}

/* request = json | form | json:NAME */
static int parse_request(const char *v, enum oauth_body *body, const char **param)
{
    *param = NULL;
    if (strcmp(v, "json") == 0)
        *body = OAUTH_BODY_JSON;
    else if (strcmp(v, "form") == 0)
        *body = OAUTH_BODY_FORM;
    else if (strncmp(v, "json:", 5) == 0 && member_name_ok(v + 5)) {
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

/* lock = none | refresh|write mkdir|fcntl|flock PATH [stale=N] [optional] [nonblock] */
static int add_lock(struct profile *p, const char *v, struct cr_err *err)
{
    if (strcmp(v, "none") == 0)
        return 0;
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
    size_t same = 0;
    for (size_t i = 0; i < p->n_locks; i++)
        same += p->locks[i].write == l.write;
    if (same >= APPLOCK_MAX) {
        cr_fail(err, CR_ERR_PROFILES_CONF, "lock: at most %d refresh and %d write locks", APPLOCK_MAX, APPLOCK_MAX);
        goto out;
    }
    l.path = xstrdup(path);
    p->locks[p->n_locks++] = l;
    rc = 0;
out:
    free(copy);
    return rc;
}

/* Which lists a section has started anew: its first file, lock or store
 * line replaces the inherited ones. */
struct apply_state {
    bool files, locks, stores;
    bool trusted; /* the built-in text: its URLs and rules are checked by the unit tests */
};

static void clear_locks(struct profile *p)
{
    for (size_t i = 0; i < p->n_locks; i++)
        free(p->locks[i].path);
    p->n_locks = 0;
}

/* The keys that say where the tokens are: 0, 1 when key is not one of them,
 * or -1 with err. */
static int apply_where(struct profile *p, struct apply_state *st, const char *key, const char *v, struct cr_err *err)
{
    if (strcmp(key, "inherit") == 0) {
        if (!valid_section_name(v))
            return bad_value(err, key, "give a profile name");
        return 0; /* resolved by the caller */
    }
    if (strcmp(key, "file") == 0) {
        if (!st->files) {
            for (size_t i = 0; i < p->n_files; i++)
                free(p->files[i]);
            p->n_files = 0;
            st->files = true;
        }
        if (strcmp(v, "none") == 0)
            return 0;
        if (p->n_files == PROFILE_MAX_FILES)
            return bad_value(err, key, "at most 4 candidates");
        char *x;
        if (!st->trusted) {
            if (profile_expand_path(v, &x, err) != 0) {
                cr_wrap(err, "%s", key);
                return -1;
            }
            free(x);
        }
        p->files[p->n_files++] = xstrdup(v);
        return 0;
    }
    if (strcmp(key, "codec") == 0) {
        if (strcmp(v, "json") == 0)
            p->codec = PROFILE_CODEC_JSON;
        else if (strcmp(v, "transit") == 0)
            p->codec = PROFILE_CODEC_TRANSIT;
        else
            return bad_value(err, key, "json or transit");
        return 0;
    }
    if (strcmp(key, "access") == 0)
        return set_pointer(&p->access, key, v, false, err);
    if (strcmp(key, "refresh") == 0)
        return set_pointer(&p->refresh, key, v, false, err);
    if (strcmp(key, "expiry") == 0)
        return set_pointer(&p->expiry, key, v, true, err);
    if (strcmp(key, "scopes") == 0)
        return set_pointer(&p->scopes, key, v, true, err);
    if (strcmp(key, "last-refresh") == 0)
        return set_pointer(&p->last_refresh, key, v, true, err);
    if (strcmp(key, "token-url-base") == 0)
        return set_pointer(&p->base_url, key, v, true, err);
    if (strcmp(key, "expiry-unit") == 0) {
        if (parse_unit(v, &p->unit) != 0)
            return bad_value(err, key, "s, ms, iso8601 or jwt");
        return 0;
    }
    return 1;
}

/* The keys that say how to refresh and what to run: as apply_where. */
static int apply_how(struct profile *p, struct apply_state *st, const char *key, const char *v, struct cr_err *err)
{
    if (strcmp(key, "token-url") == 0) {
        bool lo;
        if (!st->trusted && or_none(v) && oauth_check_url(v, &lo, err) != CR_OK) {
            err->status = CR_ERR_PROFILES_CONF;
            cr_wrap(err, "%s", key);
            return -1;
        }
        set_str(&p->token_url, or_none(v));
        return 0;
    }
    if (strcmp(key, "token-url-path") == 0) {
        set_str(&p->token_url_path, or_none(v));
        return 0;
    }
    if (strcmp(key, "client-id") == 0) {
        set_str(&p->client_id, or_none(v));
        return 0;
    }
    if (strcmp(key, "request") == 0) {
        const char *param;
        if (parse_request(v, &p->body, &param) != 0)
            return bad_value(err, key, "json, form or json:NAME");
        set_str(&p->refresh_param, param);
        return 0;
    }
    static const struct {
        const char *key;
        size_t off;
    } answers[] = {
        {"response-access", offsetof(struct profile, answer_access)},
        {"response-refresh", offsetof(struct profile, answer_refresh)},
        {"response-expires-in", offsetof(struct profile, answer_expires_in)},
        {"response-expires-at", offsetof(struct profile, answer_expires_at)},
        {"response-scope", offsetof(struct profile, answer_scope)},
    };
    for (size_t i = 0; i < sizeof answers / sizeof *answers; i++) {
        if (strcmp(key, answers[i].key) == 0) {
            if (strcmp(v, "none") != 0 && !member_name_ok(v))
                return bad_value(err, key, "give the answer's member name");
            set_str((char **)((char *)p + answers[i].off), or_none(v));
            return 0;
        }
    }
    return 1;
}

/* The keys for what the answer holds and what runs: as apply_where. */
static int apply_store(struct profile *p, struct apply_state *st, const char *key, const char *v, struct cr_err *err)
{
    if (strcmp(key, "store") == 0) {
        if (!st->stores) {
            for (size_t i = 0; i < p->n_store; i++) {
                free(p->store[i].member);
                free(p->store[i].pointer);
            }
            p->n_store = 0;
            st->stores = true;
        }
        if (strcmp(v, "none") == 0)
            return 0;
        const char *sp = strpbrk(v, " \t");
        const char *ptr = sp ? sp + strspn(sp, " \t") : NULL;
        char *member = sp ? xasprintf("%.*s", (int)(sp - v), v) : NULL;
        int rc = 0;
        if (!member || !member_name_ok(member) || !ptr || ptr[0] != '/' || strpbrk(ptr, " \t"))
            rc = bad_value(err, key, "give MEMBER POINTER: the answer's member and where it goes");
        else if (p->n_store == CREDS_MAX_EXTRA)
            rc = bad_value(err, key, "at most 4 store lines");
        else {
            p->store[p->n_store].member = member;
            p->store[p->n_store++].pointer = xstrdup(ptr);
            member = NULL;
        }
        free(member);
        return rc;
    }
    if (strcmp(key, "env") == 0) {
        if (strcmp(v, "none") != 0 && (!*v || strchr(v, '=') || strpbrk(v, " \t")))
            return bad_value(err, key, "give a variable name, or none");
        set_str(&p->env, or_none(v));
        return 0;
    }
    if (strcmp(key, "provider") == 0) {
        if (strcmp(v, "none") != 0 && !member_name_ok(v))
            return bad_value(err, key, "give a provider name");
        set_str(&p->provider, or_none(v));
        return 0;
    }
    if (strcmp(key, "login-hint") == 0) {
        set_str(&p->login_hint, or_none(v));
        return 0;
    }
    if (strcmp(key, "exec-only") == 0) {
        if (strcmp(v, "yes") == 0)
            p->exec_only = true;
        else if (strcmp(v, "no") == 0)
            p->exec_only = false;
        else
            return bad_value(err, key, "yes or no");
        return 0;
    }
    if (strcmp(key, "min-validity") == 0) {
        long n = 0;
        if (strcmp(v, "none") != 0 && parse_long(v, 1, 366L * 86400, &n) != 0)
            return bad_value(err, key, "give SECONDS, the default --min-validity");
        p->min_validity = n;
        return 0;
    }
    if (strcmp(key, "client-window") == 0) {
        /* client-window = none | SECONDS [unlocked] */
        char word[16] = "";
        int used = 0;
        long n = 0;
        if (strcmp(v, "none") == 0) {
            p->client_window = 0;
            p->client_unlocked = false;
            return 0;
        }
        if (sscanf(v, "%15[0-9]%n", word, &used) != 1 || parse_long(word, 1, 86400, &n) != 0 ||
            (v[used] && (!strchr(" \t", v[used]) || strcmp(v + used + strspn(v + used, " \t"), "unlocked") != 0)))
            return bad_value(err, key, "give SECONDS [unlocked]: when the application refreshes by itself");
        p->client_window = n;
        p->client_unlocked = v[used] != 0;
        return 0;
    }
    if (strcmp(key, "lock") == 0) {
        if (!st->locks) {
            clear_locks(p);
            st->locks = true;
        }
        return add_lock(p, v, err);
    }
    return 1;
}

/* Apply one key = value to p. 0, or -1 with err (CR_ERR_PROFILES_CONF). */
static int apply_entry(struct profile *p, struct apply_state *st, const char *key, const char *v, struct cr_err *err)
{
    int rc = apply_where(p, st, key, v, err);
    if (rc == 1)
        rc = apply_how(p, st, key, v, err);
    if (rc == 1)
        rc = apply_store(p, st, key, v, err);
    if (rc == 1) {
        if (is_plain_word(key)) /* a typo; never quote what may be a pasted secret */
            cr_fail(err, CR_ERR_PROFILES_CONF, "unknown key '%s'", key);
        else
            cr_fail(err, CR_ERR_PROFILES_CONF, "unknown key");
        return -1;
    }
    return rc;
}

/* Apply every entry of section s (from origin) to p. */
static enum cr_status apply_section(struct profile *p, const struct ini_section *s, const char *origin, struct cr_err *err)
{
    struct apply_state st = {.trusted = strcmp(origin, BUILTIN_ORIGIN) == 0};
    for (size_t i = 0; i < s->n; i++) {
        if (apply_entry(p, &st, s->e[i].key, s->e[i].value, err) != 0) {
            err->status = CR_ERR_PROFILES_CONF;
            return cr_wrap(err, "%s:%d", origin, s->e[i].line);
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
static enum cr_status build(const struct ini *bi, const struct ini *us, const char *conf, const char *name, int depth,
                            struct profile *p, struct cr_err *err)
{
    const struct ini_section *b = ini_find(bi, name), *u = ini_find(us, name);
    if (!b && !u) {
        return cr_fail(err, CR_ERR_USAGE, "unknown profile '%s' (built in: claude, eca, codex, relay, json; others are defined in %s)",
                 is_plain_word(name) ? name : "...", conf);
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
            st = build(bi, us, conf, parent, depth + 1, p, err);
        }
    }
    free(prefix);
    if (!parent) { /* a profile of its own: what [json] says unless told otherwise */
        p->codec = PROFILE_CODEC_JSON;
        p->unit = EXPIRY_UNIT_S;
        p->body = OAUTH_BODY_JSON;
    }
    if (st == CR_OK && b)
        st = apply_section(p, b, bi->origin, err);
    if (st == CR_OK && u)
        st = apply_section(p, u, us->origin, err);
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

/* The providers that have a NAME/PROVIDER section, for a message. */
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

enum cr_status profile_resolve(const char *user_text, const char *origin, const char *name, const char *provider,
                               struct profile **out, struct cr_err *err)
{
    *out = NULL;
    struct ini bi, us;
    bool have_us = false;
    const char *conf = origin ? origin : "profiles.conf";
    if (!name)
        name = PROFILE_DEFAULT;
    /* Without a profiles.conf (whose sections may inherit from any built-in
     * one), only the named profile's own sections are needed. */
    char *base = user_text ? NULL : xasprintf("%.*s", (int)strcspn(name, "/"), name);
    enum cr_status st = ini_parse(profile_builtin_text, BUILTIN_ORIGIN, base, &bi, err);
    free(base);
    if (st != CR_OK) {
        err->status = CR_ERR_INTERNAL;
        return cr_wrap(err, "the built-in profiles do not parse");
    }
    if (user_text) {
        st = ini_parse(user_text, conf, NULL, &us, err);
        have_us = st == CR_OK;
        /* Check every section, used or not, so a mistake shows at once. */
        for (size_t i = 0; st == CR_OK && i < us.n; i++) {
            struct profile scratch = {0};
            st = apply_section(&scratch, &us.s[i], us.origin, err);
            profile_clear(&scratch);
        }
    }
    struct profile *p = xcalloc(1, sizeof *p);
    if (st == CR_OK && !valid_section_name(name)) {
        st = cr_fail(err, CR_ERR_USAGE, "bad profile name '%s'", name);
    }
    if (st == CR_OK)
        st = build(&bi, have_us ? &us : NULL, conf, name, 0, p, err);
    if (st == CR_OK && provider) {
        if (!member_name_ok(provider) || strchr(provider, ':')) {
            st = cr_fail(err, CR_ERR_USAGE, "bad provider name '%s'", provider);
        } else if (!uses_provider(p)) {
            st = cr_fail(err, CR_ERR_USAGE, "profile %s has no providers: --provider is for profiles like eca", name);
        } else if (!p->provider || strcmp(provider, p->provider) != 0) {
            char *sub = xasprintf("%s/%s", name, provider);
            if (ini_find(&bi, sub) || ini_find(have_us ? &us : NULL, sub)) {
                profile_free(p);
                p = xcalloc(1, sizeof *p);
                st = build(&bi, have_us ? &us : NULL, conf, sub, 0, p, err);
                name = NULL;
            } else {
                char known[256];
                list_providers(&bi, have_us ? &us : NULL, name, p->provider, known, sizeof known);
                st = cr_fail(err, CR_ERR_USAGE, "profile %s knows no provider '%s' (known: %s); define [%s] in %s", name,
                             provider, known, sub, conf);
            }
            if (st == CR_OK)
                p->name = sub;
            else
                free(sub);
        }
        if (st == CR_OK)
            set_str(&p->provider, provider);
    }
    if (st == CR_OK && !p->name)
        p->name = xstrdup(name);
    ini_free(&bi);
    if (have_us || user_text)
        ini_free(&us);
    if (st != CR_OK) {
        profile_free(p);
        return st;
    }
    *out = p;
    return CR_OK;
}

/* ---- paths ----------------------------------------------------------------- */

static const char *home_dir(void)
{
    const char *home = getenv("HOME");
    if (!home || !*home) {
        struct passwd *pw = getpwuid(getuid());
        home = pw && pw->pw_dir ? pw->pw_dir : "/";
    }
    return home;
}

struct sbuf {
    char *s;
    size_t n, cap;
};

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        b->cap = (b->n + n + 1) * 2;
        b->s = xrealloc(b->s, b->cap);
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = '\0';
}

/* Expand [s, end) into b: a ~ at its start is home, ${...} as in
 * profile_expand_path. 0, or -1 with err. */
static int expand(struct sbuf *b, const char *s, const char *end, int depth, struct cr_err *err)
{
    if (depth > 8) {
        cr_fail(err, CR_ERR_PROFILES_CONF, "defaults nest too deep");
        return -1;
    }
    const char *p = s;
    if (p < end && *p == '~' && (p + 1 == end || p[1] == '/')) {
        const char *h = home_dir();
        sb_add(b, h, strlen(h));
        p++;
    }
    while (p < end) {
        if (p[0] != '$' || p + 1 >= end || p[1] != '{') {
            const char *q = p + 1;
            while (q < end && *q != '$')
                q++;
            sb_add(b, p, (size_t)(q - p));
            p = q;
            continue;
        }
        const char *name = p + 2, *q = name;
        while (q < end && (isalnum((unsigned char)*q) || *q == '_'))
            q++;
        if (q == name || q >= end || (*q != '}' && !(*q == ':' && q + 1 < end && q[1] == '-'))) {
            cr_fail(err, CR_ERR_PROFILES_CONF, "malformed ${...}: use ${NAME} or ${NAME:-default}");
            return -1;
        }
        char var[128];
        if ((size_t)(q - name) >= sizeof var) {
            cr_fail(err, CR_ERR_PROFILES_CONF, "variable name too long");
            return -1;
        }
        memcpy(var, name, (size_t)(q - name));
        var[q - name] = '\0';
        const char *val = getenv(var);
        if (*q == '}') {
            if (val)
                sb_add(b, val, strlen(val));
            p = q + 1;
            continue;
        }
        /* ${NAME:-default}: find the matching close brace. */
        const char *d = q + 2, *c = d;
        int level = 1;
        for (; c < end; c++) {
            if (c[0] == '$' && c + 1 < end && c[1] == '{') {
                level++;
                c++;
            } else if (*c == '}' && --level == 0) {
                break;
            }
        }
        if (c >= end) {
            cr_fail(err, CR_ERR_PROFILES_CONF, "unclosed ${");
            return -1;
        }
        if (val && *val)
            sb_add(b, val, strlen(val));
        else if (expand(b, d, c, depth + 1, err) != 0)
            return -1;
        p = c + 1;
    }
    return 0;
}

int profile_expand_path(const char *rule, char **out, struct cr_err *err)
{
    struct sbuf b = {0};
    sb_add(&b, "", 0);
    if (expand(&b, rule, rule + strlen(rule), 0, err) != 0) {
        free(b.s);
        *out = NULL;
        return -1;
    }
    *out = b.s;
    return 0;
}

char *profile_conf_path(void)
{
    char *path;
    struct cr_err err;
    if (profile_expand_path("${XDG_CONFIG_HOME:-~/.config}/credrun/profiles.conf", &path, &err) != 0)
        abort(); /* a constant rule */
    return path;
}

/* ---- applying a profile to the options ------------------------------------ */

static char *own(struct profile *p, char *s)
{
    p->owned = xrealloc(p->owned, (p->n_owned + 1) * sizeof *p->owned);
    p->owned[p->n_owned++] = s;
    return s;
}

/* Replace every {key} in t by val (newly allocated). */
static char *subst(const char *t, const char *key, const char *val)
{
    const char *at = strstr(t, key);
    if (!at)
        return xstrdup(t);
    struct sbuf b = {0};
    size_t kl = strlen(key), vl = strlen(val);
    for (const char *p = t; at; p = at + kl, at = strstr(p, key)) {
        sb_add(&b, p, (size_t)(at - p));
        sb_add(&b, val, vl);
        if (!strstr(at + kl, key))
            sb_add(&b, at + kl, strlen(at + kl));
    }
    return b.s;
}

/* A pointer of p with {provider} filled in, owned by p; NULL stays NULL. */
static const char *pointer_for(struct profile *p, const char *ptr)
{
    if (!ptr)
        return NULL;
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
    FILE *f = fopen(path, "re");
    if (!f) {
        if (errno == ENOENT || errno == ENOTDIR)
            return CR_OK;
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
    if ((sel->access && set_pointer(&p->access, "--access-field", sel->access, false, err) != 0) ||
        (sel->refresh && set_pointer(&p->refresh, "--refresh-field", sel->refresh, false, err) != 0) ||
        (sel->expiry && set_pointer(&p->expiry, "--expiry-field", sel->expiry, false, err) != 0)) {
        err->status = CR_ERR_USAGE;
        return CR_ERR_USAGE;
    }
    if (sel->unit && parse_unit(sel->unit, &p->unit) != 0)
        return cr_fail(err, CR_ERR_USAGE, "invalid --expiry-unit '%s': use s, ms, iso8601 or jwt", sel->unit);
    if (sel->expiry && !sel->unit && p->unit == EXPIRY_UNIT_JWT)
        p->unit = EXPIRY_UNIT_S;
    if (sel->request) {
        const char *param;
        if (parse_request(sel->request, &p->body, &param) != 0)
            return cr_fail(err, CR_ERR_USAGE, "invalid --request '%s': use json, form or json:NAME", sel->request);
        set_str(&p->refresh_param, param);
    }
    if (!p->expiry)
        p->unit = EXPIRY_UNIT_JWT;
    if (p->body == OAUTH_BODY_JSON_NAMED) {
        /* Not OAuth: the answer is taken to use the file's own names. */
        if (!p->answer_access)
            p->answer_access = last_token(p->access);
        if (!p->answer_refresh)
            p->answer_refresh = last_token(p->refresh);
        if (!p->answer_expires_at && p->expiry && p->unit == EXPIRY_UNIT_RFC3339)
            p->answer_expires_at = last_token(p->expiry);
    }
    if (!p->access || !p->refresh)
        return cr_fail(err, CR_ERR_USAGE,
                       "profile %s does not say where the tokens are: give --access-field and --refresh-field "
                       "(JSON pointers such as /accessToken)",
                       p->name);
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

enum cr_status profile_setup(const struct profile_select *sel, struct profile **out, struct cr_err *err)
{
    char *text = NULL, *conf = NULL;
    enum cr_status st = CR_OK;
    *out = NULL;
    if (sel->name) {
        conf = profile_conf_path();
        st = read_conf(conf, &text, err);
    }
    struct profile *p = NULL;
    if (st == CR_OK)
        st = profile_resolve(text, conf, sel->name, sel->provider, &p, err);
    free(text);
    free(conf);
    if (st != CR_OK)
        return st;
    *out = p;
    st = apply_select(p, sel, err);
    if (st == CR_OK)
        fill_views(p, sel->token_url_given);
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
        if (profile_expand_path(p->files[i], &path, &err) != 0)
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

size_t profile_expand_locks(struct profile *p, const char *given, bool write, struct applock_spec *specs, size_t max)
{
    size_t n = 0;
    char *dir = NULL, *realdir = NULL;
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
        char *a = subst(l->path, "{file}", given);
        char *b = subst(a, "{dir}", dir);
        char *c = subst(b, "{realdir}", realdir ? realdir : dir);
        char *path = own(p, subst(c, "{name}", path_basename(given)));
        free(a);
        free(b);
        free(c);
        specs[n++] = (struct applock_spec){.kind = l->kind, .path = path, .stale_s = l->stale_s, .optional = l->optional,
                                             .nonblock = l->nonblock};
    }
    free(dir);
    free(realdir);
    return n;
}

/* Free what p holds, not p itself. */
static void profile_clear(struct profile *p)
{
    char **strs[] = {&p->name,          &p->provider,       &p->access,        &p->refresh,       &p->expiry,
                     &p->scopes,        &p->last_refresh,   &p->base_url,      &p->token_url,     &p->token_url_path,
                     &p->client_id,     &p->refresh_param,  &p->answer_access, &p->answer_refresh, &p->answer_expires_in,
                     &p->answer_expires_at, &p->answer_scope, &p->env,          &p->login_hint};
    for (size_t i = 0; i < sizeof strs / sizeof *strs; i++) {
        free(*strs[i]);
        *strs[i] = NULL;
    }
    for (size_t i = 0; i < p->n_files; i++)
        free(p->files[i]);
    p->n_files = 0;
    for (size_t i = 0; i < p->n_store; i++) {
        free(p->store[i].member);
        free(p->store[i].pointer);
    }
    p->n_store = 0;
    clear_locks(p);
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
