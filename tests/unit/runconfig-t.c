/* SPDX-License-Identifier: MIT */
/* Unit tests for config_resolve(): what was typed merged with the profile
 * (fields, locks, files, variables, the endpoint rule), the command line's
 * precedence over the profile and of the profile over the defaults, and the
 * conflicts between options. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "profile.h"
#include "runconfig.h"
#include "tap.h"

static struct cr_err err;
#define why err.msg

/* Parse argv and resolve it into o (to be freed with config_free, also on
 * failure); returns the first failure. */
static enum cr_status parse(struct run_config *o, char **argv)
{
    int argc = 0;
    while (argv[argc])
        argc++;
    struct cli c;
    memset(o, 0, sizeof *o);
    enum cr_status st = cli_parse(argc, argv, &c, &err);
    return st != CR_OK ? st : config_resolve(&c, o, &err);
}

/* Conflicts and precedence, without any file. */
static void precedence_and_conflicts(void)
{
    struct run_config o;
    char *a1[] = {"credrun", "--credentials", "/nonexistent/c.json", "-m", "60", "--http-timeout", "5",
                  "--token-url", "https://t.example/x", "--client-id", "cid", "--lock-file", "/tmp/l", "true", NULL};
    is_int(parse(&o, a1), CR_OK, "options over the default profile resolve");
    ok(o.min_validity == 60 && o.http_timeout == 5, "-m and --http-timeout win over the defaults");
    is_str(o.token_url, "https://t.example/x", "--token-url wins over the profile's");
    is_str(o.client_id, "cid", "--client-id wins over the profile's");
    is_str(o.lock_file, "/tmp/l", "--lock-file wins over FILE.credrun.lock");
    ok(o.command && strcmp(o.command[0], "true") == 0, "COMMAND is what follows the options");
    config_free(&o);

    char *a2[] = {"credrun", "--credentials", "/nonexistent/c.json", "true", NULL};
    is_int(parse(&o, a2), CR_OK, "the default profile resolves");
    is_str(o.token_url, "https://platform.claude.com/v1/oauth/token", "the profile gives the token URL");
    is_str(o.lock_file, "/nonexistent/c.json" LOCK_SUFFIX, "the lock file is beside the credentials");
    config_free(&o);

    char *a3[] = {"credrun", "--credentials", "/nonexistent/c.json", "--no-env", "true", NULL};
    is_int(parse(&o, a3), CR_OK, "--no-env resolves");
    ok(o.env_name == NULL, "--no-env exports nothing");
    config_free(&o);

    char *a4[] = {"credrun", "--credentials", "/nonexistent/c.json", "--supervise", "true", NULL};
    is_int(parse(&o, a4), CR_OK, "--supervise resolves");
    ok(o.env_name == NULL && o.unexported_env && strcmp(o.unexported_env, "CLAUDE_CODE_OAUTH_TOKEN") == 0,
       "--supervise exports nothing and names the variable it leaves alone");
    config_free(&o);

    char *a5[] = {"credrun", "--credentials", "/nonexistent/c.json", "--supervise", "--env", "X", "true", NULL};
    is_int(parse(&o, a5), CR_OK, "--supervise --env resolves");
    ok(o.env_name && strcmp(o.env_name, "X") == 0 && !o.unexported_env, "--env with --supervise exports a snapshot");
    config_free(&o);

    char *a6[] = {"credrun", "--credentials", "/nonexistent/c.json", "--supervise", NULL};
    is_int(parse(&o, a6), CR_OK, "a sidecar resolves");
    ok(o.scope == RUN_SCOPE_REFRESH && !o.command, "a sidecar holds the lock only around refreshes");
    config_free(&o);

    struct {
        char *argv[8];
        const char *want;
    } bad[] = {
        {{"credrun", "--env", "X", "--no-env", "true"}, "exclude each other"},
        {{"credrun", "--refresh", "true"}, "--refresh runs no command"},
        {{"credrun", "--supervise", "--refresh"}, "exclude each other"},
        {{"credrun", "--no-kill-on-exit", "true"}, "needs --supervise"},
        {{"credrun"}, "no COMMAND given"},
        {{"credrun", "-m", "soon", "true"}, "invalid --min-validity"},
        {{"credrun", "--lock-scope", "x", "true"}, "invalid --lock-scope"},
        {{"credrun", "--bogus", "true"}, "unknown option '--bogus'"},
        {{"credrun", "--token-url", "http://example.com/t", "true"}, "https"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        enum cr_status st = parse(&o, bad[i].argv);
        ok(st == CR_ERR_USAGE && strstr(why, bad[i].want), "a conflict is a usage error: %s", why);
        config_free(&o);
    }
}

/* The default profile over a credentials file in a linked directory: fields,
 * variable, defaults, login hint and the expanded application locks. */
static void claude_files(const char *tmp, const char *dir, const char *link, char *creds)
{
    struct run_config o;
    char *argv1[] = {"credrun", "--credentials", creds, "--refresh", NULL};
    is_int(parse(&o, argv1), CR_OK, "the default profile parses");
    ok(o.owner && o.fields && strcmp(o.fields->access, "/claudeAiOauth/accessToken") == 0, "its fields are the profile's");
    is_str(o.env_name, "CLAUDE_CODE_OAUTH_TOKEN", "its env var is set");
    size_t n_refresh, n_write;
    const struct applock_spec *refresh_locks = config_app_locks(&o, false, &n_refresh);
    const struct applock_spec *write_locks = config_app_locks(&o, true, &n_write);
    is_int(n_refresh, 2, "two refresh locks are expanded");
    char want[900];
    snprintf(want, sizeof want, "%.300s/.oauth_refresh.lock", link);
    is_str(refresh_locks[0].path, want, "{dir} is the credentials' directory");
    snprintf(want, sizeof want, "%.300s.lock", dir);
    is_str(refresh_locks[1].path, want, "{realdir} has its links resolved");
    ok(refresh_locks[1].optional && refresh_locks[1].stale_s == 10, "and is optional, stale after 10 s");
    is_int(n_write, 1, "one write lock");
    snprintf(want, sizeof want, "%.300s/.storage-write.lock", link);
    is_str(write_locks[0].path, want, "the storage write lock");
    ok(o.refresh_only && o.scope == RUN_SCOPE_COMMAND && o.min_validity == DEFAULT_MIN_VALIDITY, "the defaults fill the rest");
    is_str(o.login_hint, "claude /login", "the login hint is the profile's");
    config_free(&o);

    /* A .credentials.json that links elsewhere (a dotfile manager): Claude
     * Code still locks in its config directory, where the link is. */
    char elsewhere[700], linked[700];
    snprintf(elsewhere, sizeof elsewhere, "%.300s/.credentials.json", dir);
    fclose(fopen(elsewhere, "w"));
    snprintf(linked, sizeof linked, "%.300s/.credentials.json", tmp);
    if (symlink(elsewhere, linked) != 0) {
        ok(0, "cannot make a symbolic link in %s", tmp);
        return;
    }
    char *argv1b[] = {"credrun", "--credentials", linked, "--refresh", NULL};
    is_int(parse(&o, argv1b), CR_OK, "a linked credentials file parses");
    is_str(o.credentials, elsewhere, "the file credrun writes is the link's target");
    snprintf(want, sizeof want, "%.300s/.oauth_refresh.lock", tmp);
    refresh_locks = config_app_locks(&o, false, &n_refresh);
    is_str(refresh_locks[0].path, want, "the application's lock stays beside the link");
    config_free(&o);
    unlink(linked);
    unlink(elsewhere);

}

/* The other built-in profiles: eca, json and relay, with their overrides. */
static void other_profiles(const char *tmp, char *creds)
{
    struct run_config o;
    char want[900];
    setenv("XDG_CACHE_HOME", tmp, 1);
    char *argv2[] = {"credrun", "-p", "eca", "--provider", "openai", "--env", "T", "true", NULL};
    is_int(parse(&o, argv2), CR_OK, "eca with a provider parses");
    snprintf(want, sizeof want, "%.200s/eca/db.transit.json", tmp);
    is_str(o.credentials, want, "its file follows $XDG_CACHE_HOME");
    is_str(o.fields->access, "/~:auth/openai/~:api-key", "{provider} is filled in");
    ok(o.format == &creds_format_transit, "the Transit format is used");
    is_str(o.env_name, "T", "--env wins over the profile's none");
    snprintf(want, sizeof want, "%.200s/eca/db.transit.json.lock", tmp);
    size_t n_refresh, n_write;
    const struct applock_spec *refresh_locks = config_app_locks(&o, false, &n_refresh);
    ok(n_refresh == 1 && refresh_locks[0].kind == APPLOCK_FCNTL && strcmp(refresh_locks[0].path, want) == 0,
       "the fcntl lock is db.transit.json.lock");
    config_free(&o);
    char *argv2b[] = {"credrun", "-p", "eca", "--supervise", "true", NULL};
    is_int(parse(&o, argv2b), CR_ERR_USAGE, "eca may not be supervised");
    ok(strstr(why, "--supervise") && strstr(why, "overwritten"), "and the reason is given: %s", why);
    config_free(&o);

    char *argv3[] = {"credrun", "-p", "json", "--credentials", creds, "--access-field", "/a/b", "--refresh-field",
                     "/r", "--expiry-field", "/e", "--token-url", "https://t.example/", "--request", "form", "true",
                     NULL};
    is_int(parse(&o, argv3), CR_OK, "json with fields parses");
    ok(o.fields->unit == EXPIRY_UNIT_S && strcmp(o.fields->expiry, "/e") == 0, "--expiry-field defaults to seconds");
    ok(o.body == OAUTH_BODY_FORM && o.client_id == NULL && o.env_name == NULL, "form, no client id, no env");
    config_app_locks(&o, false, &n_refresh);
    config_app_locks(&o, true, &n_write);
    ok(n_refresh == 0 && n_write == 0, "no application locks");
    config_free(&o);
    char *argv4[] = {"credrun", "-p", "json", "--credentials", creds, "--access-field", "/a", "--refresh-field",
                     "/r", "--token-url", "https://t.example/", "--request", "json:rt", "true", NULL};
    is_int(parse(&o, argv4), CR_OK, "json without an expiry field parses");
    is_int(o.fields->unit, EXPIRY_UNIT_JWT, "the expiry then comes from the JWT");
    ok(o.body == OAUTH_BODY_JSON_NAMED && strcmp(o.shape->refresh_param, "rt") == 0, "json:NAME names it");
    config_free(&o);

    char *argv5[] = {"credrun", "-p", "relay", "--credentials", creds, "true", NULL};
    is_int(parse(&o, argv5), CR_OK, "relay parses");
    struct tokens t = {.base_url = "http://127.0.0.1:9/cloud/"};
    char *url;
    bool lo;
    is_int(config_token_url(&o, &t, &url, &lo, &err), CR_OK, "the file's apiUrl gives the token URL");
    is_str(url, "http://127.0.0.1:9/cloud/api/v1/auth/token/refresh", "joined with the profile's path");
    ok(lo, "loopback is noticed");
    free(url);
    t.base_url = "http://example.com";
    is_int(config_token_url(&o, &t, &url, &lo, &err), CR_ERR_BASE_URL, "an apiUrl on plain http is refused");
    ok(strstr(why, "/apiUrl") != NULL, "naming the field: %s", why);
    t.base_url = NULL;
    is_int(config_token_url(&o, &t, &url, &lo, &err), CR_OK, "without apiUrl");
    is_str(url, "https://agentrelay.com/cloud/api/v1/auth/token/refresh", "the profile's default is used");
    free(url);
    config_free(&o);
    char *argv6[] = {"credrun", "-p", "relay", "--credentials", creds, "--token-url", "https://x.example/t", "true",
                     NULL};
    is_int(parse(&o, argv6), CR_OK, "relay with --token-url parses");
    ok(o.fields->base_url == NULL, "--token-url wins over the file's apiUrl");
    config_free(&o);

}

/* Token pointers that overlap are refused before anything else: 64 from
 * the command line, 78 from profiles.conf; no built-in profile has any. */
static void overlapping_pointers(const char *tmp)
{
    struct run_config o;
    static const struct {
        const char *access, *refresh, *expiry;
        enum cr_status want;
    } cases[] = {
        {"/a", "/a/b", NULL, CR_ERR_USAGE},      {"/a/b", "/a", NULL, CR_ERR_USAGE},
        {"/a", "/a", NULL, CR_ERR_USAGE},        {"/t/a", "/t/r", "/t/a/x", CR_ERR_USAGE},
        {"/t/a", "/t/r", "/t", CR_ERR_USAGE},    {"/x~0", "/x~", NULL, CR_ERR_USAGE},
        {"/a", "/ab", "/a~1b", CR_OK},           {"/t/a", "/t/r", "/t/e", CR_OK},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *argv[16] = {"credrun", "-p", "json", "--credentials", "/nonexistent/c", "--token-url",
                          "https://t.example/", "--access-field", (char *)cases[i].access, "--refresh-field",
                          (char *)cases[i].refresh};
        int n = 11;
        if (cases[i].expiry) {
            argv[n++] = "--expiry-field";
            argv[n++] = (char *)cases[i].expiry;
        }
        argv[n++] = "true";
        argv[n] = NULL;
        enum cr_status st = parse(&o, argv);
        is_int(st, cases[i].want, "--access-field %s --refresh-field %s --expiry-field %s: %s", cases[i].access,
               cases[i].refresh, cases[i].expiry ? cases[i].expiry : "(none)",
               st == CR_OK ? "taken" : why);
        if (cases[i].want != CR_OK)
            ok(strstr(why, cases[i].access) && strstr(why, "give pointers to different places"),
               "the message names the pointers and what to do");
        config_free(&o);
    }
    char *argv1[] = {"credrun", "-p", "claude", "--refresh-field", "/claudeAiOauth/scopes/0", "true", NULL};
    is_int(parse(&o, argv1), CR_ERR_USAGE, "a --refresh-field inside the profile's scopes is a usage error");
    ok(strstr(why, "profile claude's scopes = /claudeAiOauth/scopes") != NULL, "naming the profile's key: %s", why);
    config_free(&o);

    char conf[600];
    snprintf(conf, sizeof conf, "%.200s/credrun", tmp);
    mkdir(conf, 0700);
    snprintf(conf, sizeof conf, "%.200s/credrun/profiles.conf", tmp);
    FILE *f = fopen(conf, "w");
    fputs("[mine]\ncodec = json\nfile = /nonexistent/c\naccess = /t/a\nrefresh = /t\n"
          "token-url = https://t.example/\n",
          f);
    fclose(f);
    char *argv2[] = {"credrun", "-p", "mine", "true", NULL};
    is_int(parse(&o, argv2), CR_ERR_PROFILES_CONF, "overlapping pointers in profiles.conf are a configuration error");
    ok(strncmp(why, conf, strlen(conf)) == 0 && strstr(why, "profile [mine]: access = /t/a and refresh = /t overlap"),
       "naming the file, the profile and its keys: %s", why);
    config_free(&o);

    /* Every built-in profile (and provider) is free of overlaps. A run
     * checks built-in pointers only when a profiles.conf exists (it may
     * redefine them), so give it one that defines nothing. */
    f = fopen(conf, "w");
    fputs("# no profiles of its own\n", f);
    fclose(f);
    char names[512];
    snprintf(names, sizeof names, "%s, eca/openai", profile_builtin_names);
    for (char *save = NULL, *name = strtok_r(names, ", ", &save); name; name = strtok_r(NULL, ", ", &save)) {
        char *slash = strchr(name, '/');
        if (slash)
            *slash = '\0';
        char *argv3[] = {"credrun", "-p", name, "--provider", slash ? slash + 1 : "", "--credentials",
                         "/nonexistent/c", "--token-url", "https://t.example/", "true", NULL};
        if (!slash)
            memmove(&argv3[3], &argv3[5], 6 * sizeof *argv3);
        enum cr_status st = parse(&o, argv3);
        bool json = strcmp(name, "json") == 0; /* it names no pointers */
        ok(json ? st == CR_ERR_USAGE && strstr(why, "give --access-field") : st == CR_OK,
           "built-in %s%s%s: no pointers overlap (%s)", name, slash ? "/" : "", slash ? slash + 1 : "",
           st == CR_OK ? "taken" : why);
        config_free(&o);
    }
    unlink(conf);
}

int main(void)
{
    char tmp[] = "/tmp/runconfig-t.XXXXXX";
    if (tap_scratch_home(tmp) != 0)
        return 1;
    precedence_and_conflicts();
    overlapping_pointers(tmp);

    /* Options: overrides, locks, token URL, supervise. */
    char dir[600], creds[700], link[700];
    snprintf(dir, sizeof dir, "%.200s/real", tmp);
    mkdir(dir, 0700);
    snprintf(link, sizeof link, "%.200s/cfg", tmp);
    if (symlink(dir, link) != 0)
        return 1;
    snprintf(creds, sizeof creds, "%.300s/.credentials.json", link);
    claude_files(tmp, dir, link, creds);
    other_profiles(tmp, creds);
    struct run_config o;
    /* The relay profile takes its legacy file only when that is the one there. */
    char *argv7[] = {"credrun", "-p", "relay", "true", NULL};
    char legacy[700];
    snprintf(legacy, sizeof legacy, "%.200s/.relayfile", tmp);
    mkdir(legacy, 0700);
    snprintf(legacy, sizeof legacy, "%.200s/.relayfile/cloud-credentials.json", tmp);
    fclose(fopen(legacy, "w"));
    is_int(parse(&o, argv7), CR_OK, "relay without --credentials parses");
    is_str(o.credentials, legacy, "the legacy file is used when only it exists");
    config_free(&o);

    /* -m against the application's own refresh window (client-window). */
    char *w1[] = {"credrun", "-p", "codex", "true", NULL};
    is_int(parse(&o, w1), CR_OK, "codex resolves");
    ok(o.min_validity >= 600 && o.min_validity >= 2 * o.client_window, "codex's default -m (%ld) is far above its window",
       o.min_validity);
    ok(o.warning == NULL, "and warns of nothing");
    config_free(&o);
    char *w2[] = {"credrun", "-p", "codex", "-m", "300", "true", NULL};
    is_int(parse(&o, w2), CR_OK, "codex -m 300 resolves");
    ok(o.warning && strstr(o.warning, "codex") && strstr(o.warning, "300 s") && strstr(o.warning, "race"),
       "-m 300 with codex warns that it races itself: %s", o.warning ? o.warning : "(none)");
    config_free(&o);
    char *w3[] = {"credrun", "-p", "codex", "-m", "301", "--supervise", "true", NULL};
    is_int(parse(&o, w3), CR_OK, "codex -m 301 resolves");
    ok(o.warning == NULL, "-m 301 with codex warns of nothing");
    config_free(&o);
    char *w4[] = {"credrun", "-m", "200", "true", NULL};
    is_int(parse(&o, w4), CR_OK, "claude -m 200 resolves");
    ok(o.warning == NULL, "claude given its token in the environment never refreshes by itself: no warning");
    config_free(&o);
    char *w5[] = {"credrun", "-m", "200", "--supervise", "true", NULL};
    is_int(parse(&o, w5), CR_OK, "claude --supervise -m 200 resolves");
    ok(o.warning && strstr(o.warning, "claude") && strstr(o.warning, "--supervise") && !strstr(o.warning, "race"),
       "claude --supervise -m 200 says claude refreshes first: %s", o.warning ? o.warning : "(none)");
    config_free(&o);
    char *w6[] = {"credrun", "-m", "200", "--no-env", "true", NULL};
    is_int(parse(&o, w6), CR_OK, "claude --no-env -m 200 resolves");
    ok(o.warning != NULL, "claude reading the file itself (--no-env) is warned too");
    config_free(&o);

    char *argv8[] = {"credrun", "-p", "codex", "--provider", "x", "true", NULL};
    is_int(parse(&o, argv8), CR_ERR_USAGE, "a bad --provider is a usage error");
    config_free(&o);
    char *argv9[] = {"credrun", "-p", "json", "--access-field", "/a", "--refresh-field", "/r", "--token-url",
                     "https://t.example/", "true", NULL};
    is_int(parse(&o, argv9), CR_ERR_USAGE, "json without --credentials is a usage error");
    config_free(&o);

    unlink(legacy);
    snprintf(legacy, sizeof legacy, "%.200s/.relayfile", tmp);
    rmdir(legacy);
    unlink(link);
    rmdir(dir);
    rmdir(tmp);
    return tap_done();
}
