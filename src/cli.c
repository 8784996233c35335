/* SPDX-License-Identifier: MIT */
/* Command-line options. getopt_long with a leading '+' stops at COMMAND. */
#include "config.h"

#include <getopt.h>
#include <limits.h>
#include <pwd.h>
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
    {"verbose", no_argument, NULL, 'v'},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

static void usage(FILE *out)
{
    fputs("Usage:\n"
          "  credrun [OPTIONS] [--] COMMAND [ARG...]   refresh if needed, export the token, exec COMMAND\n"
          "  credrun [OPTIONS] --refresh               refresh if needed and run nothing\n"
          "  credrun [OPTIONS] --supervise [--] COMMAND [ARG...]\n"
          "                                            run COMMAND and keep the file fresh until it exits\n"
          "  credrun [OPTIONS] --supervise             keep the file fresh until SIGTERM (sidecar)\n"
          "\n"
          "Take the credential lock beside an OAuth credentials file, refresh the access\n"
          "token only if it expires soon (never spending a refresh token twice), write the\n"
          "file back atomically, and run COMMAND with the token in its environment.\n"
          "\n"
          "Options:\n"
          "  -p, --profile NAME        the tool whose file it is: claude (default), eca, codex,\n"
          "                            relay, json, or one defined in profiles.conf\n"
          "      --provider NAME       the login to use in a file that holds several (eca:\n"
          "                            anthropic (default), openai)\n"
          "      --credentials FILE    credentials file (default: the profile's, for claude\n"
          "                            ${CLAUDE_CONFIG_DIR:-~/.claude}/.credentials.json)\n"
          "      --token-url URL       token endpoint (default: the profile's, for claude\n"
          "                            " DEFAULT_TOKEN_URL ")\n"
          "      --client-id ID        OAuth client id (default: the profile's)\n"
          "      --cacert FILE         CA bundle to verify the endpoint with\n"
          "  -m, --min-validity SECS   refresh when the token expires within SECS (default 600)\n"
          "      --force               refresh even if the token is still valid\n"
          "      --env NAME            variable that receives the access token (default:\n"
          "                            " DEFAULT_ENV " for claude, none for the others)\n"
          "      --no-env              export no token; COMMAND reads the file itself\n"
          "      --lock-scope SCOPE    command (default): hold the lock until COMMAND exits;\n"
          "                            refresh: only around the check and refresh\n"
          "      --lock-file PATH      lock file (default FILE" LOCK_SUFFIX ")\n"
          "  -n, --nonblock            fail (exit 75) rather than wait for the lock\n"
          "  -w, --timeout SECS        fail (exit 75) if the lock is not had within SECS\n"
          "  -E, --conflict-exit-code N  exit status when the lock is busy (default 75)\n"
          "      --http-timeout SECS   bound for the whole refresh request (default 30)\n"
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
          "  -v, --verbose             say what is done\n"
          "  -q, --quiet               print errors only\n"
          "  -h, --help                show this help and exit\n"
          "  -V, --version             show the version and exit\n"
          "\n"
          "Exit status: COMMAND's once it runs; 64 usage, 65 malformed credentials,\n"
          "66 no credentials, 69 endpoint unavailable, 73 cannot write credentials,\n"
          "75 lock busy or rate limited, 76 bad token response, 77 log in again,\n"
          "78 request refused or profiles.conf malformed, 126/127 COMMAND not\n"
          "executable/not found.\n"
          "See credrun(1).\n",
          out);
}

static enum cr_status bad(const char *fmt, const char *arg)
{
    char msg[512];
    snprintf(msg, sizeof msg, fmt, arg);
    log_error("%s", msg);
    fputs("Try 'credrun --help' for more information.\n", stderr);
    return CR_ERR_USAGE;
}

enum cr_status cli_parse(int argc, char **argv, struct options *o, bool *done)
{
    memset(o, 0, sizeof *o);
    *done = false;
    o->token_url = DEFAULT_TOKEN_URL;
    o->client_id = DEFAULT_CLIENT_ID;
    o->env_name = DEFAULT_ENV;
    o->min_validity = DEFAULT_MIN_VALIDITY;
    o->http_timeout = DEFAULT_HTTP_TIMEOUT;
    o->wait_timeout = -1;
    o->conflict_exit = -1;
    o->scope = SCOPE_COMMAND;
    o->format = &creds_format_json;
    o->fields = &creds_fields_claude;
    o->body = OAUTH_BODY_JSON;
    const char *credentials = NULL, *lock_file = NULL;
    bool env_given = false, no_env = false;
    struct profile_select sel = {0};
    int verbosity = LOG_NORMAL;
    long l;

    opterr = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "+:p:m:nw:E:vqhV", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_CREDENTIALS:
            credentials = optarg;
            break;
        case OPT_TOKEN_URL:
            o->token_url = optarg;
            sel.token_url_given = true;
            break;
        case OPT_CLIENT_ID:
            o->client_id = optarg;
            sel.client_id_given = true;
            break;
        case OPT_CACERT:
            o->cacert = optarg;
            break;
        case 'm':
            if (parse_long(optarg, 0, 366L * 86400, &o->min_validity) != 0)
                return bad("invalid --min-validity '%s': give whole seconds", optarg);
            break;
        case OPT_FORCE:
            o->force = true;
            break;
        case OPT_ENV:
            if (!*optarg || strchr(optarg, '='))
                return bad("invalid --env name '%s'", optarg);
            o->env_name = optarg;
            env_given = sel.env_given = true;
            break;
        case OPT_NO_ENV:
            no_env = true;
            break;
        case OPT_LOCK_SCOPE:
            if (strcmp(optarg, "command") == 0)
                o->scope = SCOPE_COMMAND;
            else if (strcmp(optarg, "refresh") == 0)
                o->scope = SCOPE_REFRESH;
            else
                return bad("invalid --lock-scope '%s': use command or refresh", optarg);
            break;
        case OPT_LOCK_FILE:
            lock_file = optarg;
            break;
        case 'n':
            o->nonblock = true;
            break;
        case 'w':
            if (parse_seconds(optarg, &o->wait_timeout) != 0)
                return bad("invalid --timeout '%s': give seconds", optarg);
            break;
        case 'E':
            if (parse_long(optarg, 0, 255, &l) != 0)
                return bad("invalid --conflict-exit-code '%s': give 0 to 255", optarg);
            o->conflict_exit = (int)l;
            break;
        case OPT_HTTP_TIMEOUT:
            if (parse_long(optarg, 1, 3600, &o->http_timeout) != 0)
                return bad("invalid --http-timeout '%s': give 1 to 3600 seconds", optarg);
            break;
        case OPT_REFRESH:
            o->refresh_only = true;
            break;
        case 'p':
            sel.name = optarg;
            break;
        case OPT_PROVIDER:
            sel.provider = optarg;
            break;
        case OPT_ACCESS_FIELD:
            sel.access = optarg;
            break;
        case OPT_REFRESH_FIELD:
            sel.refresh = optarg;
            break;
        case OPT_EXPIRY_FIELD:
            sel.expiry = optarg;
            break;
        case OPT_EXPIRY_UNIT:
            sel.unit = optarg;
            break;
        case OPT_REQUEST:
            sel.request = optarg;
            break;
        case OPT_SUPERVISE:
            o->supervise = true;
            break;
        case OPT_NO_KILL_ON_EXIT:
            o->no_kill_on_exit = true;
            break;
        case 'v':
            verbosity = LOG_VERBOSE;
            break;
        case 'q':
            verbosity = LOG_QUIET;
            break;
        case 'h':
            usage(stdout);
            *done = true;
            return CR_OK;
        case 'V':
            printf("%s %s\n", PACKAGE_NAME, PACKAGE_VERSION);
            *done = true;
            return CR_OK;
        case ':':
            return bad("option '%s' needs an argument", argv[optind - 1]);
        default:
            if (optopt && optopt < CHAR_MAX) {
                char s[3] = {'-', (char)optopt, '\0'};
                return bad("unknown option '%s'", s);
            }
            return bad("unknown option '%s'", argv[optind - 1]);
        }
    }
    log_set_level(verbosity);
    char pwhy[512];
    enum cr_status pst = profile_setup(o, &sel, pwhy, sizeof pwhy);
    if (pst == CR_ERR_USAGE)
        return bad("%s", pwhy);
    if (pst != CR_OK) {
        log_error("%s", pwhy);
        return pst;
    }
    if (env_given && no_env)
        return bad("%s", "--env and --no-env exclude each other");
    if (o->supervise && !env_given)
        o->unexported_env = o->env_name;
    if (no_env)
        o->env_name = NULL;
    o->env_given = env_given;
    /* A supervised command outlives any token exported at its start. */
    if (o->supervise && !env_given)
        o->env_name = NULL;
    if (optind < argc)
        o->command = argv + optind;
    if (o->refresh_only && o->command)
        return bad("--refresh runs no command, but '%s' was given", o->command[0]);
    if (o->supervise && o->refresh_only)
        return bad("%s", "--supervise and --refresh exclude each other");
    if (o->no_kill_on_exit && !o->supervise)
        return bad("%s", "--no-kill-on-exit needs --supervise");
    if (o->supervise && !o->command)
        o->scope = SCOPE_REFRESH; /* a sidecar never holds the lock between refreshes */
    if (o->supervise && profile_check_supervise(o, pwhy, sizeof pwhy) != CR_OK)
        return bad("%s", pwhy);
    if (!o->refresh_only && !o->command && !o->supervise)
        return bad("%s", "no COMMAND given (use --refresh to refresh without running one)");
    char why[256];
    if (oauth_check_url(o->token_url, &o->token_url_loopback, why, sizeof why) != CR_OK)
        return bad("%s", why);

    char *given = credentials ? xstrdup(credentials) : profile_file(o);
    if (!given)
        return bad("profile %s names no credentials file: give --credentials FILE", sel.name ? sel.name : PROFILE_DEFAULT);
    o->credentials = path_follow_links(given);
    o->lock_file = lock_file ? xstrdup(lock_file) : xasprintf("%s%s", o->credentials, LOCK_SUFFIX);
    profile_expand_locks(o, given);
    free(given);
    return CR_OK;
}

void options_free(struct options *o)
{
    free(o->credentials);
    free(o->lock_file);

    o->credentials = o->lock_file = NULL;
    profile_free(o->profile);
    o->profile = NULL;
}
