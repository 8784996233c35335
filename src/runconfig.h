/* SPDX-License-Identifier: MIT */
/* The run's configuration: the command line (src/cli.h) merged with the
 * profile (src/profile.h) once, by config_resolve(), into one struct that
 * everything below reads and nothing changes. This header includes neither
 * cli.h nor profile.h: refresh, supervise and the command runner see only
 * the resolved values. */
#ifndef CREDRUN_RUNCONFIG_H
#define CREDRUN_RUNCONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "applock.h"
#include "creds.h"
#include "oauth.h"
#include "status.h"

#define DEFAULT_MIN_VALIDITY 600
#define DEFAULT_HTTP_TIMEOUT 30
#define DEFAULT_SETTLE 1.5      /* s: a network filesystem's view is re-read after this (issue 18) */
#define DEFAULT_MARKER_WAIT 10  /* s: the wait bound for a spent marker's successor, without -w */
#define LOCK_SUFFIX ".credrun.lock"

struct cli;     /* src/cli.h */
struct profile; /* src/profile.h */

enum run_scope { RUN_SCOPE_COMMAND, RUN_SCOPE_REFRESH };

struct run_config {
    const char *profile_name; /* the profile used, e.g. "claude" or "eca/openai" */
    /* Files. */
    char *credentials; /* the file, symlinks followed (owned) */
    char *lock_file;   /* owned */
    /* The endpoint rule: token_url, unless fields->base_url is set and the
     * file holds one; then that base URL plus token_url_path. */
    const char *token_url;
    bool token_url_checked;  /* --token-url, checked at start; a profile's was checked when parsed */
    bool token_url_loopback; /* when token_url_checked */
    const char *token_url_path; /* "" when none */
    const char *client_id;      /* NULL: none is sent */
    const char *cacert;
    /* The request and the answer. */
    const struct creds_format *format;
    const struct creds_fields *fields;
    enum oauth_body body;
    const struct oauth_shape *shape;
    long http_timeout;
    /* When to refresh and how long to wait. */
    long min_validity;
    double wait_timeout; /* -w; < 0 when not given */
    bool nonblock;
    bool force;
    double settle; /* --settle: on a network filesystem, re-read after this many seconds before spending */
    /* What runs. */
    bool refresh_only;
    bool supervise;
    bool no_kill_on_exit;
    bool status;      /* --status: report, send nothing, take no lock */
    bool status_json; /* --json */
    const char *env_name;       /* the variable that receives the token; NULL: none */
    const char *unexported_env; /* --supervise: the profile's variable, left unset (NULL: none) */
    const char *login_hint;     /* what to run to log in again, e.g. "claude /login" */
    enum run_scope scope;
    bool lock_inherited; /* COMMAND is exec'd holding the lock: its descriptor is opened without close-on-exec */
    int conflict_exit; /* -E; < 0 when not given */
    char **command;    /* NULL-terminated, NULL with --refresh or a sidecar --supervise */
    /* The application's own locks (config_app_locks): held around the
     * re-read and refresh, and around the write. */
    struct run_app_locks *app_locks;
    /* The application's own refresh window, from the profile (0: unknown). */
    long client_window;
    /* One warning about this configuration, for main to print once (owned,
     * NULL when none): -m lets the file fall into the application's window. */
    char *warning;
    /* Owns the strings above point into; only config_free() touches it. */
    struct profile *owner;
};

/* Merge what was typed with the profile it names (PROFILE_DEFAULT when none)
 * into *rc: the command line wins over the profile, the profile over the
 * defaults. Reads profiles.conf only when -p was given. Returns CR_OK, or
 * with err saying what to fix: CR_ERR_USAGE for options that do not fit the
 * profile, CR_ERR_PROFILES_CONF for a malformed profiles.conf. *rc is to be
 * freed with config_free() in both cases. */
enum cr_status config_resolve(const struct cli *c, struct run_config *rc, struct cr_err *err) __attribute__((__nonnull__));

/* The application's own locks of one kind (write: held around the write;
 * else around the re-read and refresh), their paths expanded for the
 * credentials file as named (links not followed) when first asked for: only
 * a refresh needs them. Returns the specs (owned by rc) and their number in *n. */
const struct applock_spec *config_app_locks(const struct run_config *rc, bool write, size_t *n)
    __attribute__((__nonnull__));

/* The token endpoint for a refresh of the file whose tokens are t (the
 * endpoint rule above), newly allocated in *url; *loopback as
 * oauth_check_url says. CR_ERR_BASE_URL when the file's URL is refused. */
enum cr_status config_token_url(const struct run_config *rc, const struct tokens *t, char **url, bool *loopback,
                                struct cr_err *err) __attribute__((__nonnull__));

void config_free(struct run_config *rc);

#endif
