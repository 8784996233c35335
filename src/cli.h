/* SPDX-License-Identifier: MIT */
/* Command-line options: parsed once into struct options. */
#ifndef CREDRUN_CLI_H
#define CREDRUN_CLI_H

#include <stdbool.h>

#include "applock.h"
#include "creds.h"
#include "oauth.h"
#include "status.h"

#define DEFAULT_TOKEN_URL "https://platform.claude.com/v1/oauth/token"
#define DEFAULT_CLIENT_ID "9d1c250a-e61b-44d9-88ed-5944d1962f5e"
#define DEFAULT_ENV "CLAUDE_CODE_OAUTH_TOKEN"
#define DEFAULT_MIN_VALIDITY 600
#define DEFAULT_HTTP_TIMEOUT 30
#define LOCK_SUFFIX ".credrun.lock"

enum lock_scope { SCOPE_COMMAND, SCOPE_REFRESH };

struct profile; /* src/profile.h */

struct options {
    char *credentials; /* the file, symlinks followed (owned) */
    char *lock_file;   /* owned */
    const char *token_url;
    bool token_url_loopback;
    const char *client_id;
    const char *cacert;
    const char *env_name; /* NULL with --no-env */
    long min_validity;
    long http_timeout;
    double wait_timeout; /* -w; < 0 when not given */
    bool nonblock;
    bool force;
    bool refresh_only;
    bool supervise;       /* --supervise: stay the parent and keep the file fresh */
    bool no_kill_on_exit; /* --no-kill-on-exit: the child survives credrun's death */
    bool env_given;       /* --env NAME was given explicitly */
    const char *unexported_env; /* --supervise: the profile's variable, left unset (NULL: none) */
    enum lock_scope scope;
    int conflict_exit; /* -E; < 0 when not given */
    const struct creds_format *format;
    const struct creds_fields *fields;
    enum oauth_body body;
    char **command; /* NULL-terminated, NULL with --refresh or a sidecar --supervise */
    /* The application's own locks, paths expanded from the profile: held
     * around the re-read and refresh, and around the write. */
    struct applock_spec refresh_locks[APPLOCK_MAX];
    size_t n_refresh_locks;
    struct applock_spec write_locks[APPLOCK_MAX];
    size_t n_write_locks;
    /* The profile (-p) the above came from; owns the strings the options
     * point into (src/profile.h). */
    struct profile *profile;
};

/* Parse argv into o. Returns CR_OK, or CR_ERR_USAGE after printing the
 * problem. *done is set when --help or --version was handled: exit 0. */
enum cr_status cli_parse(int argc, char **argv, struct options *o, bool *done) __attribute__((__nonnull__));

void options_free(struct options *o);

#endif
