/* SPDX-License-Identifier: MIT */
/* Unit tests for profiles: the built-in ones (and that their generated tables
 * are src/profiles.builtin.conf), profiles.conf's keys and their errors,
 * inheritance and provider sections. Location rules: pathexpand-t.c. The merge with the command
 * line is tested in runconfig-t.c. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ini.h"
#include "profile.h"
#include "profile_keys.h"
#include "tap.h"
#include "util.h"

static struct cr_err err;
#define why err.msg

static struct profile *resolve(const char *text, const char *name, const char *provider, enum cr_status want)
{
    struct profile *p = NULL;
    enum cr_status st = profile_resolve(text, "test.conf", name, provider, &p, &err);
    if (st != want)
        printf("# resolve %s: status %d, want %d (%s)\n", name ? name : "(default)", st, want, why);
    return p;
}

/* The text of src/profiles.builtin.conf (newly allocated). */
static char *builtin_conf(void)
{
    FILE *f = fopen(PROFILES_BUILTIN_CONF, "r");
    if (!f)
        return NULL;
    static char buf[64 * 1024];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return xstrdup(buf);
}

/* The generated tables are what the run-time tokenizer makes of the same
 * file: every section, entry, value and line number. */
static void tables_equal_parser(const char *text)
{
    struct ini ini;
    if (!ok(ini_parse(text, "src/profiles.builtin.conf", &ini, &err) == CR_OK, "the built-in file parses: %s", why))
        return;
    is_int(ini.n, profile_builtin_ini()->n, "the tables hold every section of src/profiles.builtin.conf");
    bool same = ini.n == profile_builtin_ini()->n;
    for (size_t i = 0; same && i < ini.n; i++) {
        const struct ini_section *a = &ini.s[i], *b = &profile_builtin_ini()->s[i];
        same = strcmp(a->name, b->name) == 0 && a->line == b->line && a->n == b->n;
        for (size_t k = 0; same && k < a->n; k++)
            same = strcmp(a->e[k].key, b->e[k].key) == 0 && strcmp(a->e[k].value, b->e[k].value) == 0 &&
                   a->e[k].line == b->e[k].line;
        if (!same)
            printf("# section [%s] differs\n", a->name);
    }
    ok(same, "the generated tables equal what ini_parse makes of src/profiles.builtin.conf");
    char names[256] = "";
    for (size_t i = 0; i < ini.n; i++)
        if (!strchr(ini.s[i].name, '/'))
            snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", names[0] ? ", " : "", ini.s[i].name);
    is_str(profile_builtin_names, names, "the one list of built-in names is the file's [NAME] sections");
    ok(strncmp(profile_builtin_names, PROFILE_DEFAULT ",", strlen(PROFILE_DEFAULT) + 1) == 0,
       "the default profile is built in, and named first");
    ini_free(&ini);
}

static bool same_str(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* a (from the resolved tables) is b (the run-time path's): every string
 * field and every key's value by the key table, the lists, and the locks
 * their lines parse into. Says what differs. */
static bool profiles_equal(struct profile *a, const struct profile *b)
{
    bool same = true;
    for (size_t i = 0; i < profile_n_str_fields; i++) {
        size_t off = profile_str_fields[i].off;
        const char *x = *(char **)((char *)a + off), *y = *(char *const *)((const char *)b + off);
        if (!same_str(x, y)) {
            printf("# [%s] %s: '%s', not '%s'\n", b->name, profile_str_fields[i].field, x ? x : "(null)", y ? y : "(null)");
            same = false;
        }
    }
    for (size_t i = 0; i < profile_n_keys; i++) {
        const struct profile_key *k = &profile_keys[i];
        bool text = false; /* compared above */
        for (size_t j = 0; j < profile_n_str_fields; j++)
            text = text || profile_str_fields[j].off == k->off;
        if (k->field[0] && !text && memcmp((char *)a + k->off, (const char *)b + k->off, k->size) != 0) {
            printf("# [%s] %s differs\n", b->name, k->field);
            same = false;
        }
    }
    bool lists = a->n_files == b->n_files && a->n_store == b->n_store && a->n_lock_lines == b->n_lock_lines;
    for (size_t i = 0; lists && i < a->n_files; i++)
        lists = same_str(a->files[i], b->files[i]);
    for (size_t i = 0; lists && i < a->n_store; i++)
        lists = same_str(a->store[i].member, b->store[i].member) && same_str(a->store[i].pointer, b->store[i].pointer);
    for (size_t i = 0; lists && i < a->n_lock_lines; i++)
        lists = same_str(a->lock_lines[i], b->lock_lines[i]);
    profile_parse_locks(a);
    lists = lists && a->n_locks == b->n_locks;
    for (size_t i = 0; lists && i < a->n_locks; i++) {
        const struct profile_lock *x = &a->locks[i], *y = &b->locks[i];
        lists = x->write == y->write && x->kind == y->kind && x->stale_s == y->stale_s && x->optional == y->optional &&
                same_str(x->path, y->path);
    }
    if (!lists)
        printf("# [%s]: the files, stores or locks differ\n", b->name);
    return same && lists;
}

/* The profiles resolved at build time (src/profiles_resolved.c) are what
 * the run-time path makes of every built-in section, provider sections
 * and --provider too; their strings are shared, never freed. */
static void resolved_equal_runtime(void)
{
    is_int(profile_resolved.n, profile_builtin_ini()->n, "every built-in section is resolved at build time");
    bool all = profile_resolved.n == profile_builtin_ini()->n;
    for (size_t i = 0; i < profile_builtin_ini()->n; i++) {
        const char *name = profile_builtin_ini()->s[i].name;
        struct profile *a = NULL, *b = NULL;
        if (profile_resolve_in(&profile_resolved, NULL, NULL, name, NULL, &a, &err) != CR_OK ||
            profile_resolve(NULL, NULL, name, NULL, &b, &err) != CR_OK) {
            printf("# [%s]: %s\n", name, why);
            all = false;
        } else {
            all = profiles_equal(a, b) && all;
        }
        profile_free(a);
        profile_free(b);
    }
    ok(all, "the resolved tables equal what the run-time path makes of each section");
    struct profile *a = NULL, *b = NULL;
    profile_resolve_in(&profile_resolved, NULL, NULL, "eca", "openai", &a, &err);
    profile_resolve(NULL, NULL, "eca", "openai", &b, &err);
    ok(a && b && profiles_equal(a, b), "and of eca with --provider openai");
    ok(a && profile_str_static(a->token_url) && b && !profile_str_static(b->token_url),
       "a resolved profile shares the tables' strings");
    if (a)
        profile_set_str(&a->token_url, "https://other.example/"); /* the shared string is not freed */
    profile_free(a);
    profile_free(b);
}

int main(void)
{
    char tmp[] = "/tmp/profile-t.XXXXXX";
    if (tap_scratch_home(tmp) != 0)
        return 1;

    resolved_equal_runtime();

    /* The built-in profiles. */
    struct profile *p = resolve(NULL, NULL, NULL, CR_OK);
    ok(p != NULL, "with no name the default profile resolves");
    if (!p)
        return tap_done();
    is_str(p->name, "claude", "and it is claude");
    is_str(p->access, "/claudeAiOauth/accessToken", "claude: access token pointer");
    is_int(p->unit, EXPIRY_UNIT_MS, "claude: expiresAt in ms");
    is_str(p->env, "CLAUDE_CODE_OAUTH_TOKEN", "claude: exports CLAUDE_CODE_OAUTH_TOKEN");
    is_str(p->token_url, "https://platform.claude.com/v1/oauth/token", "claude: platform.claude.com");
    is_int(p->n_locks, 3, "claude: three locks");
    ok(!p->locks[0].write && p->locks[0].kind == APPLOCK_MKDIR && p->locks[0].stale_s == 10 &&
           strcmp(p->locks[0].path, "{dir}/.oauth_refresh.lock") == 0,
       "claude: the refresh lock directory, stale after 10 s, as Claude Code itself");
    ok(p->locks[1].optional && strcmp(p->locks[1].path, "{realdir}.lock") == 0, "claude: the legacy lock, optional");
    ok(p->locks[2].write && p->locks[2].stale_s == 15, "claude: the write lock, stale after 15 s");
    profile_free(p);

    p = resolve(NULL, "eca", NULL, CR_OK);
    ok(p && p->codec == PROFILE_CODEC_TRANSIT, "eca: Transit");
    is_str(p->provider, "anthropic", "eca: anthropic by default");
    is_str(p->expiry, "/~:auth/{provider}/~:expires-at", "eca: the expiry under :auth");
    ok(p->env == NULL && p->exec_only, "eca: exports nothing, refreshes only before exec");
    ok(p->n_locks == 1 && p->locks[0].kind == APPLOCK_FCNTL && strcmp(p->locks[0].path, "{file}.lock") == 0,
       "eca: an fcntl lock on db.transit.json.lock");
    profile_free(p);
    p = resolve(NULL, "eca", "openai", CR_OK);
    is_str(p ? p->name : NULL, "eca/openai", "--provider openai uses [eca/openai]");
    is_str(p->token_url, "https://auth.openai.com/oauth/token", "with OpenAI's endpoint");
    is_str(p->client_id, "app_EMoamEEZ73f0CkXaXp7hrann", "and client id");
    ok(p->codec == PROFILE_CODEC_TRANSIT && p->n_locks == 1, "inheriting the rest of eca");
    is_str(p->provider, "openai", "{provider} is openai");
    profile_free(p);
    p = resolve(NULL, "eca", "anthropic", CR_OK);
    is_str(p ? p->name : NULL, "eca", "--provider anthropic is eca itself");
    profile_free(p);
    resolve(NULL, "eca", "mistral", CR_ERR_USAGE);
    ok(strstr(why, "anthropic, openai") && strstr(why, "[eca/mistral]"), "an unknown provider lists the known: %s", why);
    resolve(NULL, "codex", "x", CR_ERR_USAGE);
    ok(strstr(why, "no providers") != NULL, "--provider for a profile without providers is refused");
    resolve(NULL, "eca", "a/b", CR_ERR_USAGE);

    p = resolve(NULL, "codex", NULL, CR_OK);
    ok(p && p->unit == EXPIRY_UNIT_JWT && p->expiry == NULL, "codex: expiry from the JWT");
    is_str(p->last_refresh, "/last_refresh", "codex: last_refresh");
    ok(p->n_store == 1 && strcmp(p->store[0].member, "id_token") == 0 &&
           strcmp(p->store[0].pointer, "/tokens/id_token") == 0,
       "codex: a new id_token is stored");
    ok(p->env == NULL && p->n_locks == 2, "codex: no env, Codex's two write locks");
    profile_free(p);

    p = resolve(NULL, "relay", NULL, CR_OK);
    ok(p && p->n_files == 2, "relay: the file and its legacy place");
    ok(p->body == OAUTH_BODY_JSON_NAMED && strcmp(p->refresh_param, "refreshToken") == 0, "relay: {\"refreshToken\"}");
    is_str(p->answer_expires_at, "accessTokenExpiresAt", "relay: answered with an RFC 3339 expiry");
    is_int(p->unit, EXPIRY_UNIT_RFC3339, "relay: stored as RFC 3339");
    ok(p->client_id == NULL, "relay: no client id");
    ok(p->n_locks == 1 && p->locks[0].stale_s == 30, "relay: mkdir lock stale after 30 s");
    profile_free(p);

    p = resolve(NULL, "json", NULL, CR_OK);
    ok(p && p->n_files == 0 && p->access == NULL && p->token_url == NULL, "json: nothing until told");
    profile_free(p);
    resolve(NULL, "nope", NULL, CR_ERR_USAGE);
    ok(strstr(why, "unknown profile 'nope'") && strstr(why, "test.conf"), "an unknown profile says where to define it");

    /* The built-in file passes every check a user's file gets (as one, its
     * URLs and location rules are checked too), and its tables are it. */
    char *text = builtin_conf();
    if (ok(text != NULL, "src/profiles.builtin.conf is readable at %s", PROFILES_BUILTIN_CONF)) {
        p = NULL;
        is_int(profile_resolve(text, "builtin-as-user", "eca", "openai", &p, &err), CR_OK,
               "the built-in profiles pass every check of profiles.conf");
        profile_free(p);
        tables_equal_parser(text);
    }
    free(text);

    /* profiles.conf. */
    static const char conf[] = "# mine\n"
                               "[claude]\n"
                               "token-url = https://proxy.example/token\n"
                               "lock = refresh mkdir {dir}/.oauth_refresh.lock stale=10\n"
                               "\n"
                               "[staging]\n"
                               "inherit = relay\n"
                               "file = /srv/cloud-auth.json\n"
                               "\n"
                               "[gemini]\n"
                               "file = ~/.gemini/oauth_creds.json\n"
                               "access = /access_token\n"
                               "refresh = /refresh_token\n"
                               "expiry = /expiry_date\n"
                               "expiry-unit = ms\n"
                               "token-url = https://oauth2.googleapis.com/token\n"
                               "request = form\n"
                               "env = GEMINI_TOKEN\n"
                               "\n"
                               "[eca/z-ai]\n"
                               "token-url = https://z.example/token\n";
    p = resolve(conf, "claude", NULL, CR_OK);
    is_str(p ? p->token_url : NULL, "https://proxy.example/token", "a [claude] section overrides the built-in");
    ok(p->n_locks == 1 && p->locks[0].stale_s == 10, "its lock lines replace the built-in's");
    is_str(p->access, "/claudeAiOauth/accessToken", "keys it does not set stay");
    profile_free(p);
    p = resolve(conf, "staging", NULL, CR_OK);
    ok(p && p->n_files == 1 && strcmp(p->files[0], "/srv/cloud-auth.json") == 0, "inherit takes another profile");
    is_str(p->refresh_param, "refreshToken", "with all it says");
    profile_free(p);
    p = resolve(conf, "gemini", NULL, CR_OK);
    ok(p && p->body == OAUTH_BODY_FORM && p->codec == PROFILE_CODEC_JSON, "a new profile of its own");
    profile_free(p);
    p = resolve(conf, "eca", "z-ai", CR_OK);
    is_str(p ? p->token_url : NULL, "https://z.example/token", "a user's provider section");
    ok(p->codec == PROFILE_CODEC_TRANSIT, "inherits the built-in eca");
    profile_free(p);

    /* The applications' own refresh windows. */
    p = resolve(NULL, "codex", NULL, CR_OK);
    ok(p && p->client_window == 300 && p->client_unlocked, "codex refreshes by itself, unlocked, inside 300 s");
    ok(p && p->min_validity == 900, "codex's default -m is 900 s: a 5-minute timer (up to 5.5 min apart) keeps it out");
    ok(p && p->n_locks == 2 && p->locks[0].kind == APPLOCK_FLOCK && !p->locks[0].nonblock && !p->locks[0].write &&
           strcmp(p->locks[0].path, "{dir}/auth.lock") == 0 && p->locks[1].kind == APPLOCK_FLOCK && p->locks[1].nonblock &&
           strcmp(p->locks[1].path, "{dir}/auth.json.lock") == 0,
       "codex holds its write locks while refreshing: flock auth.lock, then auth.json.lock with LOCK_NB");
    profile_free(p);
    p = resolve(NULL, "claude", NULL, CR_OK);
    ok(p && p->client_window == 300 && !p->client_unlocked, "claude refreshes by itself, under its lock, inside 300 s");
    profile_free(p);
    p = resolve("[codex]\nclient-window = 120\n", "codex", NULL, CR_OK);
    ok(p && p->client_window == 120 && p->client_unlocked, "profiles.conf sets client-window, client-unlocked stays");
    profile_free(p);
    p = resolve("[mine]\ninherit = codex\nclient-window = none\n", "mine", NULL, CR_OK);
    ok(p && p->client_window == 0, "client-window = none clears it");
    profile_free(p);

    static const struct {
        const char *text, *want;
    } bad[] = {
        {"[x]\nbogus = 1\n", "test.conf:2: unknown key 'bogus'"},
        {"key = 1\n", "test.conf:1: KEY = VALUE before any [NAME] section"},
        {"[x]\naccess\n", "test.conf:2: expected KEY = VALUE"},
        {"[x y]\n", "test.conf:1: bad profile name"},
        {"[x]\n[x]\n", "test.conf:2: profile [x] is already defined at line 1"},
        {"[x]\naccess = a\n", "test.conf:2: access: give a JSON pointer"},
        {"[x]\nexpiry-unit = days\n", "test.conf:2: expiry-unit: s, ms, iso8601 or jwt"},
        {"[x]\ntoken-url = http://example.com/\n", "test.conf:2: token-url: token URL must use https://"},
        {"[x]\nrequest = xml\n", "test.conf:2: request: json, form or json:NAME"},
        {"[x]\nlock = refresh mkdir relative.lock\n", "test.conf:2: lock: the path is absolute"},
        {"[x]\nlock = refresh fcntl {file}.lock stale=3\n", "test.conf:2: lock: after the path"},
        {"[x]\nlock = read mkdir {file}.lock\n", "test.conf:2: lock: the first word"},
        {"[x]\nstore = id_token\n", "test.conf:2: store: give MEMBER POINTER"},
        {"[x]\nfile = ${HOME\n", "test.conf:2: file: malformed ${"},
        {"[a]\ninherit = b\n[b]\ninherit = a\n", "inherits in a circle"},
        {"[x]\nenv = A=B\n", "test.conf:2: env: give a variable name"},
        {"[x]\nlock = refresh mkdir {file}.lock nonblock\n", "test.conf:2: lock: after the path"},
        {"[x]\nlock = refresh lockf {file}.lock\n", "test.conf:2: lock: the kind is mkdir"},
        {"[x]\nmin-validity = 0\n", "test.conf:2: min-validity: give whole SECONDS"},
        {"[x]\nclient-window = soon\n", "test.conf:2: client-window: give whole SECONDS"},
        {"[x]\nclient-window = 300 unlocked\n", "test.conf:2: client-window: give whole SECONDS"},
        {"[x]\nclient-unlocked = maybe\n", "test.conf:2: client-unlocked: yes or no"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        p = NULL;
        const char *name = strncmp(bad[i].text, "[a]", 3) == 0 ? "a" : "claude";
        enum cr_status st = profile_resolve(bad[i].text, "test.conf", name, NULL, &p, &err);
        ok(st == CR_ERR_PROFILES_CONF && strstr(why, bad[i].want), "a malformed profiles.conf is refused with FILE:LINE: %s",
           why);
        profile_free(p);
    }

    rmdir(tmp);
    return tap_done();
}
