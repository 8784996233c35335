/* SPDX-License-Identifier: MIT */
/* Command-line options. getopt_long with a leading '+' stops at COMMAND. */
#include "config.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "log.h"
#include "profile.h"
#include "util.h"

enum {
    OPT_CREDENTIALS = CHAR_MAX + 1,
    OPT_TOKEN_URL,
    OPT_CLIENT_ID,
    OPT_CACERT,
    OPT_FORCE,
    OPT_ENV,
    OPT_NO_ENV,
    OPT_LOCK_SCOPE,
    OPT_LOCK_FILE,
    OPT_HTTP_TIMEOUT,
    OPT_REFRESH,
    OPT_PROVIDER,
    OPT_ACCESS_FIELD,
    OPT_REFRESH_FIELD,
    OPT_EXPIRY_FIELD,
    OPT_EXPIRY_UNIT,
    OPT_REQUEST,
    OPT_SUPERVISE,
    OPT_NO_KILL_ON_EXIT,
    OPT_SETTLE,
    OPT_STATUS,
    OPT_JSON,
};

static const struct option longopts[] = {
    {"credentials", required_argument, NULL, OPT_CREDENTIALS},
    {"token-url", required_argument, NULL, OPT_TOKEN_URL},
    {"client-id", required_argument, NULL, OPT_CLIENT_ID},
    {"cacert", required_argument, NULL, OPT_CACERT},
    {"min-validity", required_argument, NULL, 'm'},
    {"force", no_argument, NULL, OPT_FORCE},
    {"env", required_argument, NULL, OPT_ENV},
    {"no-env", no_argument, NULL, OPT_NO_ENV},
    {"lock-scope", required_argument, NULL, OPT_LOCK_SCOPE},
    {"lock-file", required_argument, NULL, OPT_LOCK_FILE},
    {"nonblock", no_argument, NULL, 'n'},
    {"nb", no_argument, NULL, 'n'},
    {"timeout", required_argument, NULL, 'w'},
    {"wait", required_argument, NULL, 'w'},
    {"conflict-exit-code", required_argument, NULL, 'E'},
    {"http-timeout", required_argument, NULL, OPT_HTTP_TIMEOUT},
    {"settle", required_argument, NULL, OPT_SETTLE},
    {"refresh", no_argument, NULL, OPT_REFRESH},
    {"profile", required_argument, NULL, 'p'},
    {"provider", required_argument, NULL, OPT_PROVIDER},
    {"access-field", required_argument, NULL, OPT_ACCESS_FIELD},
    {"refresh-field", required_argument, NULL, OPT_REFRESH_FIELD},
    {"expiry-field", required_argument, NULL, OPT_EXPIRY_FIELD},
    {"expiry-unit", required_argument, NULL, OPT_EXPIRY_UNIT},
    {"request", required_argument, NULL, OPT_REQUEST},
    {"supervise", no_argument, NULL, OPT_SUPERVISE},
    {"no-kill-on-exit", no_argument, NULL, OPT_NO_KILL_ON_EXIT},
    {"status", no_argument, NULL, OPT_STATUS},
    {"json", no_argument, NULL, OPT_JSON},
    {"verbose", no_argument, NULL, 'v'},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

/* To standard output through printf: naming stdout (or stderr) in credrun
 * costs every run a symbol lookup at startup. */
static void usage(void)
{
    printf("%s", "Usage:\n"
          "  credrun [OPTIONS] [--] COMMAND [ARG...]   refresh if needed, export the token, exec COMMAND\n"
          "  credrun [OPTIONS] --refresh               refresh if needed and run nothing\n"
          "  credrun [OPTIONS] --supervise [--] COMMAND [ARG...]\n"
          "                                            run COMMAND and keep the file fresh until it exits\n"
          "  credrun [OPTIONS] --supervise             keep the file fresh until SIGTERM (sidecar)\n"
          "  credrun [OPTIONS] --status [--json]       say how the login stands; no request, no lock\n"
          "\n"
          "Take the credential lock beside an OAuth credentials file, refresh the access\n"
          "token only if it expires soon (never spending a refresh token twice), write the\n"
          "file back atomically, and run COMMAND with the token in its environment.\n"
          "\n"
          "Options:\n"
          "  -p, --profile NAME        the tool whose file it is (default " PROFILE_DEFAULT "): one\n"
          "                            built in (below) or defined in profiles.conf\n"
          "      --provider NAME       the login to use in a file that holds several (eca:\n"
          "                            anthropic (default), openai)\n"
          "      --credentials FILE    credentials file (default: the profile's, for claude\n"
          "                            ${CLAUDE_CONFIG_DIR:-~/.claude}/.credentials.json)\n"
          "      --token-url URL       token endpoint (default: the profile's, for claude\n"
          "                            https://platform.claude.com/v1/oauth/token)\n"
          "      --client-id ID        OAuth client id (default: the profile's)\n"
          "      --cacert FILE         CA bundle to verify the endpoint with\n"
          "  -m, --min-validity SECS   refresh when the token expires within SECS (default 600; codex 900)\n"
          "      --force               refresh even if the token is still valid\n"
          "      --env NAME            variable that receives the access token (default:\n"
          "                            CLAUDE_CODE_OAUTH_TOKEN for claude, none for the others)\n"
          "      --no-env              export no token; COMMAND reads the file itself\n"
          "      --lock-scope SCOPE    command (default): hold the lock until COMMAND exits;\n"
          "                            refresh: only around the check and refresh\n"
          "      --lock-file PATH      lock file (default FILE.credrun.lock)\n"
          "  -n, --nonblock            fail (exit 75) rather than wait for the lock\n"
          "  -w, --timeout SECS        fail (exit 75) if the lock is not had within SECS\n"
          "  -E, --conflict-exit-code N  exit status when the lock is busy (default 75)\n"
          "      --http-timeout SECS   bound for the whole refresh request (default 30)\n"
          "      --settle SECS         on a network filesystem, re-read the file after SECS\n"
          "                            before spending its refresh token (default 1.5; 0: off)\n"
          "      --refresh             refresh if needed and exit; no COMMAND\n"
          "      --access-field PTR    JSON pointer (RFC 6901) to the access token\n"
          "      --refresh-field PTR   JSON pointer to the refresh token\n"
          "      --expiry-field PTR    JSON pointer to the access token's expiry\n"
          "      --expiry-unit UNIT    s, ms, iso8601, or jwt (the token's own exp claim)\n"
          "      --request KIND        json or form (OAuth), or json:NAME ({\"NAME\": token})\n"
          "      --supervise           stay as COMMAND's parent, refresh before each expiry,\n"
          "                            forward signals; exports nothing unless --env is given\n"
          "      --no-kill-on-exit     with --supervise: COMMAND is not sent SIGTERM when\n"
          "                            credrun dies\n"
          "      --status              report the file, its locks and who holds them, the token's\n"
          "                            expiry, any cooldown or quarantine; exit 0 fresh, 1 refresh\n"
          "                            due, 75 due but cooling down, 77 log in again\n"
          "      --json                with --status: one JSON document on stdout\n"
          "  -v, --verbose             say what is done\n"
          "  -q, --quiet               print errors only\n"
          "  -h, --help                show this help and exit\n"
          "  -V, --version             show the version and exit\n"
          "\n");
    printf("Built-in profiles: %s.\n\n", profile_builtin_names);
    printf("%s", "Exit status: COMMAND's once it runs; 64 usage, 65 malformed credentials,\n"
          "66 no credentials, 69 endpoint unavailable, 73 cannot write credentials,\n"
          "75 lock busy, rate limited or another host's refresh in flight, 76 bad token\n"
          "response, 77 log in again, 78 request refused, profiles.conf malformed, a\n"
          "file anyone may write or an unsupported filesystem, 126/127 COMMAND not\n"
          "executable/not found.\n"
          "See credrun(1).\n");
}

void cli_usage_hint(void)
{
    static const char hint[] = "Try 'credrun --help' for more information.\n";
    ssize_t w = write(STDERR_FILENO, hint, sizeof hint - 1); /* not stderr: see usage */
    (void)w;
}

/* The conflicts between options, one rule a line. */
static enum cr_status check(const struct cli *c, struct cr_err *err)
{
    if (c->credentials && !*c->credentials)
        return cr_fail(err, CR_ERR_USAGE, "--credentials needs a file name, not an empty string");
    if (c->lock_file && !*c->lock_file)
        return cr_fail(err, CR_ERR_USAGE, "--lock-file needs a file name, not an empty string");
    if (c->env && c->no_env)
        return cr_fail(err, CR_ERR_USAGE, "--env and --no-env exclude each other");
    if (c->json && !c->status)
        return cr_fail(err, CR_ERR_USAGE, "--json needs --status");
    if (c->status && (c->refresh_only || c->supervise || c->command))
        return cr_fail(err, CR_ERR_USAGE, "--status runs nothing and refreshes nothing: drop %s",
                       c->command ? c->command[0] : c->refresh_only ? "--refresh" : "--supervise");
    if (c->refresh_only && c->command)
        return cr_fail(err, CR_ERR_USAGE, "--refresh runs no command, but '%s' was given", c->command[0]);
    if (c->supervise && c->refresh_only)
        return cr_fail(err, CR_ERR_USAGE, "--supervise and --refresh exclude each other");
    if (c->no_kill_on_exit && !c->supervise)
        return cr_fail(err, CR_ERR_USAGE, "--no-kill-on-exit needs --supervise");
    if (!c->refresh_only && !c->command && !c->supervise && !c->status)
        return cr_fail(err, CR_ERR_USAGE, "no COMMAND given (use --refresh to refresh without running one)");
    return CR_OK;
}

/* A portable environment variable name: [A-Za-z_][A-Za-z0-9_]*. */
static bool env_name_ok(const char *s)
{
    if (!*s || (*s >= '0' && *s <= '9'))
        return false;
    for (; *s; s++)
        if (!(*s == '_' || (*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
            return false;
    return true;
}

/* Options that take a number or a keyword: parse optarg into c. */
static enum cr_status parse_value(int opt, const char *arg, struct cli *c, struct cr_err *err)
{
    long l;
    switch (opt) {
    case 'm':
        if (parse_long(arg, 0, 366L * 86400, &c->min_validity) != 0)
            return cr_fail(err, CR_ERR_USAGE, "invalid --min-validity '%s': give whole seconds", arg);
        return CR_OK;
    case 'w':
        if (parse_seconds(arg, &c->wait_timeout) != 0)
            return cr_fail(err, CR_ERR_USAGE, "invalid --timeout '%s': give seconds", arg);
        return CR_OK;
    case 'E':
        if (parse_long(arg, 0, 255, &l) != 0)
            return cr_fail(err, CR_ERR_USAGE, "invalid --conflict-exit-code '%s': give 0 to 255", arg);
        c->conflict_exit = (int)l;
        return CR_OK;
    case OPT_HTTP_TIMEOUT:
        if (parse_long(arg, 1, 3600, &c->http_timeout) != 0)
            return cr_fail(err, CR_ERR_USAGE, "invalid --http-timeout '%s': give 1 to 3600 seconds", arg);
        return CR_OK;
    case OPT_SETTLE:
        if (parse_seconds(arg, &c->settle) != 0 || c->settle > 60)
            return cr_fail(err, CR_ERR_USAGE, "invalid --settle '%s': give 0 to 60 seconds", arg);
        return CR_OK;
    case OPT_ENV:
        if (!env_name_ok(arg))
            return cr_fail(err, CR_ERR_USAGE,
                           "invalid --env name '%s': give a variable name (letters, digits and _, not starting "
                           "with a digit)",
                           arg);
        c->env = arg;
        return CR_OK;
    case OPT_LOCK_SCOPE:
        c->scope_given = true;
        if (strcmp(arg, "command") == 0)
            c->scope_refresh = false;
        else if (strcmp(arg, "refresh") == 0)
            c->scope_refresh = true;
        else
            return cr_fail(err, CR_ERR_USAGE, "invalid --lock-scope '%s': use command or refresh", arg);
        return CR_OK;
    default:
        return cr_fail(err, CR_ERR_INTERNAL, "option %d has no parser", opt);
    }
}

/* Where a string option's value goes, or NULL for the others. */
static const char **string_slot(int opt, struct cli *c)
{
    switch (opt) {
    case OPT_CREDENTIALS: return &c->credentials;
    case OPT_TOKEN_URL: return &c->token_url;
    case OPT_CLIENT_ID: return &c->client_id;
    case OPT_CACERT: return &c->cacert;
    case OPT_LOCK_FILE: return &c->lock_file;
    case 'p': return &c->profile;
    case OPT_PROVIDER: return &c->provider;
    case OPT_ACCESS_FIELD: return &c->access_field;
    case OPT_REFRESH_FIELD: return &c->refresh_field;
    case OPT_EXPIRY_FIELD: return &c->expiry_field;
    case OPT_EXPIRY_UNIT: return &c->expiry_unit;
    case OPT_REQUEST: return &c->request;
    default: return NULL;
    }
}

/* Where a flag goes, or NULL for the others. */
static bool *flag_slot(int opt, struct cli *c)
{
    switch (opt) {
    case OPT_FORCE: return &c->force;
    case OPT_NO_ENV: return &c->no_env;
    case 'n': return &c->nonblock;
    case OPT_REFRESH: return &c->refresh_only;
    case OPT_SUPERVISE: return &c->supervise;
    case OPT_NO_KILL_ON_EXIT: return &c->no_kill_on_exit;
    case OPT_STATUS: return &c->status;
    case OPT_JSON: return &c->json;
    default: return NULL;
    }
}

/* One option that is neither a string nor a flag. */
static enum cr_status parse_other(int opt, char **argv, struct cli *c, struct cr_err *err)
{
    switch (opt) {
    case 'v':
        c->verbosity = LOG_VERBOSE;
        return CR_OK;
    case 'q':
        c->verbosity = LOG_QUIET;
        return CR_OK;
    case 'h':
        usage();
        c->done = true;
        return CR_OK;
    case 'V':
        printf("%s %s\n", PACKAGE_NAME, PACKAGE_VERSION);
        c->done = true;
        return CR_OK;
    case ':':
        return cr_fail(err, CR_ERR_USAGE, "option '%s' needs an argument", argv[optind - 1]);
    case '?':
        if (optopt && optopt < CHAR_MAX)
            return cr_fail(err, CR_ERR_USAGE, "unknown option '-%c'", (char)optopt);
        return cr_fail(err, CR_ERR_USAGE, "unknown option '%s'", argv[optind - 1]);
    default:
        return parse_value(opt, optarg, c, err);
    }
}

enum cr_status cli_parse(int argc, char **argv, struct cli *c, struct cr_err *err)
{
    memset(c, 0, sizeof *c);
    c->min_validity = c->http_timeout = -1;
    c->wait_timeout = c->settle = -1;
    c->conflict_exit = -1;
    c->verbosity = LOG_NORMAL;
    cr_clear(err);
    /* No opterr = 0: the option string's leading ':' keeps getopt quiet. */
    optind = 1;
    int opt;
    while ((opt = getopt_long(argc, argv, "+:p:m:nw:E:vqhV", longopts, NULL)) != -1) {
        const char **s = string_slot(opt, c);
        bool *b = flag_slot(opt, c);
        if (s)
            *s = optarg;
        else if (b)
            *b = true;
        else if (parse_other(opt, argv, c, err) != CR_OK)
            return err->status;
        if (c->done)
            return CR_OK;
    }
    if (optind < argc)
        c->command = argv + optind;
    return check(c, err);
}
