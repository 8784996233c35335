/* SPDX-License-Identifier: MIT */
/* Unit tests for profiles: the built-in ones, location rules, profiles.conf
 * parsing and its errors, overrides, provider sections, lock templates, the
 * token URL from the file, and the supervise rule. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "profile.h"
#include "tap.h"
#include "util.h"

static char why[512];

static struct profile *resolve(const char *text, const char *name, const char *provider, enum cr_status want)
{
    struct profile *p = NULL;
    enum cr_status st = profile_resolve(text, "test.conf", name, provider, &p, why, sizeof why);
    if (st != want)
        printf("# resolve %s: status %d, want %d (%s)\n", name ? name : "(default)", st, want, why);
    return p;
}

static char *expand(const char *rule)
{
    char *out;
    return profile_expand_path(rule, &out, why, sizeof why) == 0 ? out : NULL;
}

/* Parse a command line into o (argv ends with a NULL). */
static enum cr_status parse(struct options *o, char **argv)
{
    int argc = 0;
    while (argv[argc])
        argc++;
    bool done;
    return cli_parse(argc, argv, o, &done);
}

int main(void)
{
    char tmp[] = "/tmp/profile-t.XXXXXX";
    if (!mkdtemp(tmp))
        return 1;
    setenv("HOME", tmp, 1);
    setenv("XDG_CONFIG_HOME", tmp, 1); /* no credrun/profiles.conf there */
    unsetenv("CLAUDE_CONFIG_DIR");
    unsetenv("CLAUDE_SECURESTORAGE_CONFIG_DIR");
    unsetenv("CODEX_HOME");
    unsetenv("XDG_CACHE_HOME");

    /* Location rules. */
    char *s = expand("~/.claude/x");
    ok(s && strncmp(s, tmp, strlen(tmp)) == 0 && strcmp(s + strlen(tmp), "/.claude/x") == 0, "~ is $HOME");
    free(s);
    setenv("CRT_A", "/a", 1);
    setenv("CRT_EMPTY", "", 1);
    unsetenv("CRT_UNSET");
    s = expand("${CRT_A}/f");
    is_str(s, "/a/f", "${NAME} is its value");
    free(s);
    s = expand("${CRT_UNSET:-${CRT_EMPTY:-/d}}/f");
    is_str(s, "/d/f", "unset and empty fall through nested defaults");
    free(s);
    s = expand("${CRT_UNSET:-${CRT_A:-/d}}/f");
    is_str(s, "/a/f", "a nested default that is set wins");
    free(s);
    s = expand("a~b$c");
    is_str(s, "a~b$c", "~ inside and a $ without { are literal");
    free(s);
    ok(expand("${CRT_A") == NULL, "an unclosed ${ is refused: %s", why);
    ok(expand("${-x}") == NULL, "a bad variable name is refused");
    s = profile_conf_path();
    ok(strcmp(s + strlen(tmp), "/credrun/profiles.conf") == 0, "profiles.conf is under $XDG_CONFIG_HOME");
    free(s);

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
    ok(!p->locks[0].write && p->locks[0].kind == APPLOCK_MKDIR && p->locks[0].stale_s == 60 &&
           strcmp(p->locks[0].path, "{dir}/.oauth_refresh.lock") == 0,
       "claude: the refresh lock directory, stale after 60 s");
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
    ok(p->env == NULL && p->n_locks == 0, "codex: no env, no lock");
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

    /* The built-in text passes every check a user's file gets (as one, its
     * URLs and location rules are checked too). */
    p = NULL;
    is_int(profile_resolve(profile_builtin_text, "builtin-as-user", "eca", "openai", &p, why, sizeof why), CR_OK,
           "the built-in profiles pass every check of profiles.conf");
    profile_free(p);

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
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        p = NULL;
        const char *name = strncmp(bad[i].text, "[a]", 3) == 0 ? "a" : "claude";
        enum cr_status st = profile_resolve(bad[i].text, "test.conf", name, NULL, &p, why, sizeof why);
        ok(st == CR_ERR_CONFIG && strstr(why, bad[i].want), "a malformed profiles.conf is refused with FILE:LINE: %s",
           why);
        profile_free(p);
    }

    /* Options: overrides, locks, token URL, supervise. */
    char dir[600], creds[700], link[700];
    snprintf(dir, sizeof dir, "%.200s/real", tmp);
    mkdir(dir, 0700);
    snprintf(link, sizeof link, "%.200s/cfg", tmp);
    if (symlink(dir, link) != 0)
        return 1;
    snprintf(creds, sizeof creds, "%.300s/.credentials.json", link);
    struct options o;
    char *argv1[] = {"credrun", "--credentials", creds, "--refresh", NULL};
    is_int(parse(&o, argv1), CR_OK, "the default profile parses");
    ok(o.profile && o.fields == &o.profile->fields, "its fields are the profile's");
    is_str(o.env_name, "CLAUDE_CODE_OAUTH_TOKEN", "its env var is set");
    is_int(o.n_refresh_locks, 2, "two refresh locks are expanded");
    char want[900];
    snprintf(want, sizeof want, "%.300s/.oauth_refresh.lock", link);
    is_str(o.refresh_locks[0].path, want, "{dir} is the credentials' directory");
    snprintf(want, sizeof want, "%.300s.lock", dir);
    is_str(o.refresh_locks[1].path, want, "{realdir} has its links resolved");
    ok(o.refresh_locks[1].optional && o.refresh_locks[1].stale_s == 60, "and is optional");
    is_int(o.n_write_locks, 1, "one write lock");
    snprintf(want, sizeof want, "%.300s/.storage-write.lock", link);
    is_str(o.write_locks[0].path, want, "the storage write lock");
    is_int(profile_check_supervise(&o, why, sizeof why), CR_OK, "claude may be supervised");
    options_free(&o);

    /* A .credentials.json that links elsewhere (a dotfile manager): Claude
     * Code still locks in its config directory, where the link is. */
    char elsewhere[700], linked[700];
    snprintf(elsewhere, sizeof elsewhere, "%.300s/.credentials.json", dir);
    fclose(fopen(elsewhere, "w"));
    snprintf(linked, sizeof linked, "%.300s/.credentials.json", tmp);
    if (symlink(elsewhere, linked) != 0)
        return 1;
    char *argv1b[] = {"credrun", "--credentials", linked, "--refresh", NULL};
    is_int(parse(&o, argv1b), CR_OK, "a linked credentials file parses");
    is_str(o.credentials, elsewhere, "the file credrun writes is the link's target");
    snprintf(want, sizeof want, "%.300s/.oauth_refresh.lock", tmp);
    is_str(o.refresh_locks[0].path, want, "the application's lock stays beside the link");
    options_free(&o);
    unlink(linked);
    unlink(elsewhere);

    setenv("XDG_CACHE_HOME", tmp, 1);
    char *argv2[] = {"credrun", "-p", "eca", "--provider", "openai", "--env", "T", "true", NULL};
    is_int(parse(&o, argv2), CR_OK, "eca with a provider parses");
    snprintf(want, sizeof want, "%.200s/eca/db.transit.json", tmp);
    is_str(o.credentials, want, "its file follows $XDG_CACHE_HOME");
    is_str(o.fields->access, "/~:auth/openai/~:api-key", "{provider} is filled in");
    ok(o.format == &creds_format_transit, "the Transit format is used");
    is_str(o.env_name, "T", "--env wins over the profile's none");
    snprintf(want, sizeof want, "%.200s/eca/db.transit.json.lock", tmp);
    ok(o.n_refresh_locks == 1 && o.refresh_locks[0].kind == APPLOCK_FCNTL && strcmp(o.refresh_locks[0].path, want) == 0,
       "the fcntl lock is db.transit.json.lock");
    is_int(profile_check_supervise(&o, why, sizeof why), CR_ERR_USAGE, "eca may not be supervised");
    ok(strstr(why, "--supervise") && strstr(why, "overwritten"), "and the reason is given: %s", why);
    options_free(&o);

    char *argv3[] = {"credrun", "-p", "json", "--credentials", creds, "--access-field", "/a/b", "--refresh-field",
                     "/r", "--expiry-field", "/e", "--token-url", "https://t.example/", "--request", "form", "true",
                     NULL};
    is_int(parse(&o, argv3), CR_OK, "json with fields parses");
    ok(o.fields->unit == EXPIRY_UNIT_S && strcmp(o.fields->expiry, "/e") == 0, "--expiry-field defaults to seconds");
    ok(o.body == OAUTH_BODY_FORM && o.client_id == NULL && o.env_name == NULL, "form, no client id, no env");
    ok(o.n_refresh_locks == 0 && o.n_write_locks == 0, "no application locks");
    options_free(&o);
    char *argv4[] = {"credrun", "-p", "json", "--credentials", creds, "--access-field", "/a", "--refresh-field",
                     "/r", "--token-url", "https://t.example/", "--request", "json:rt", "true", NULL};
    is_int(parse(&o, argv4), CR_OK, "json without an expiry field parses");
    is_int(o.fields->unit, EXPIRY_UNIT_JWT, "the expiry then comes from the JWT");
    ok(o.body == OAUTH_BODY_JSON_NAMED && strcmp(profile_shape(&o)->refresh_param, "rt") == 0, "json:NAME names it");
    options_free(&o);

    char *argv5[] = {"credrun", "-p", "relay", "--credentials", creds, "true", NULL};
    is_int(parse(&o, argv5), CR_OK, "relay parses");
    struct tokens t = {.base_url = "http://127.0.0.1:9/cloud/"};
    char *url;
    bool lo;
    is_int(profile_token_url(&o, &t, &url, &lo, why, sizeof why), CR_OK, "the file's apiUrl gives the token URL");
    is_str(url, "http://127.0.0.1:9/cloud/api/v1/auth/token/refresh", "joined with the profile's path");
    ok(lo, "loopback is noticed");
    free(url);
    t.base_url = "http://example.com";
    is_int(profile_token_url(&o, &t, &url, &lo, why, sizeof why), CR_ERR_CONFIG, "an apiUrl on plain http is refused");
    ok(strstr(why, "/apiUrl") != NULL, "naming the field: %s", why);
    t.base_url = NULL;
    is_int(profile_token_url(&o, &t, &url, &lo, why, sizeof why), CR_OK, "without apiUrl");
    is_str(url, "https://agentrelay.com/cloud/api/v1/auth/token/refresh", "the profile's default is used");
    free(url);
    options_free(&o);
    char *argv6[] = {"credrun", "-p", "relay", "--credentials", creds, "--token-url", "https://x.example/t", "true",
                     NULL};
    is_int(parse(&o, argv6), CR_OK, "relay with --token-url parses");
    ok(o.fields->base_url == NULL, "--token-url wins over the file's apiUrl");
    options_free(&o);

    /* The relay profile takes its legacy file only when that is the one there. */
    char *argv7[] = {"credrun", "-p", "relay", "true", NULL};
    char legacy[700];
    snprintf(legacy, sizeof legacy, "%.200s/.relayfile", tmp);
    mkdir(legacy, 0700);
    snprintf(legacy, sizeof legacy, "%.200s/.relayfile/cloud-credentials.json", tmp);
    fclose(fopen(legacy, "w"));
    is_int(parse(&o, argv7), CR_OK, "relay without --credentials parses");
    is_str(o.credentials, legacy, "the legacy file is used when only it exists");
    options_free(&o);

    char *argv8[] = {"credrun", "-p", "codex", "--provider", "x", "true", NULL};
    is_int(parse(&o, argv8), CR_ERR_USAGE, "a bad --provider is a usage error");
    options_free(&o);
    char *argv9[] = {"credrun", "-p", "json", "--access-field", "/a", "--refresh-field", "/r", "--token-url",
                     "https://t.example/", "true", NULL};
    is_int(parse(&o, argv9), CR_ERR_USAGE, "json without --credentials is a usage error");
    options_free(&o);

    unlink(legacy);
    snprintf(legacy, sizeof legacy, "%.200s/.relayfile", tmp);
    rmdir(legacy);
    unlink(link);
    rmdir(dir);
    rmdir(tmp);
    return tap_done();
}
