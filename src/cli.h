/* SPDX-License-Identifier: MIT */
/* The command line: what was typed, as a plain struct, and the conflicts
 * between options that need no profile to see. Resolving it against the
 * profile is config_resolve()'s job (src/runconfig.h). */
#ifndef CREDRUN_CLI_H
#define CREDRUN_CLI_H

#include <stdbool.h>

#include "status.h"

/* What the command line said; NULL, false or < 0 for what was not given.
 * Strings point into argv. */
struct cli {
    const char *credentials;  /* --credentials */
    const char *lock_file;    /* --lock-file */
    const char *token_url;    /* --token-url */
    const char *client_id;    /* --client-id */
    const char *cacert;       /* --cacert */
    const char *env;          /* --env NAME */
    bool no_env;              /* --no-env */
    long min_validity;        /* -m; < 0 when not given */
    long http_timeout;        /* --http-timeout; < 0 when not given */
    double wait_timeout;      /* -w; < 0 when not given */
    bool nonblock;            /* -n */
    bool force;               /* --force */
    double settle;            /* --settle; < 0 when not given */
    bool refresh_only;        /* --refresh */
    bool supervise;           /* --supervise */
    bool no_kill_on_exit;     /* --no-kill-on-exit */
    bool status;              /* --status */
    bool json;                /* --json */
    bool scope_given;         /* --lock-scope was given */
    bool scope_refresh;       /* --lock-scope refresh (else command) */
    int conflict_exit;        /* -E; < 0 when not given */
    const char *profile;      /* -p */
    const char *provider;     /* --provider */
    const char *access_field, *refresh_field, *expiry_field, *expiry_unit, *request;
    int verbosity;            /* LOG_QUIET, LOG_NORMAL or LOG_VERBOSE */
    char **command;           /* NULL-terminated, NULL when none was given */
    bool done;                /* --help or --version was handled: exit 0 */
};

/* Parse argv into c and check the options against each other. Returns CR_OK,
 * or CR_ERR_USAGE with err saying what to fix. --help and --version print
 * to stdout and set c->done. */
enum cr_status cli_parse(int argc, char **argv, struct cli *c, struct cr_err *err) __attribute__((__nonnull__));

/* Print the hint that follows every usage error ("Try 'credrun --help'"). */
void cli_usage_hint(void);

#endif
