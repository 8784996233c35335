/* SPDX-License-Identifier: MIT */
/* Profiles: everything credrun knows about one tool's credentials, as data.
 * A profile names the file (a location rule with ${VAR:-default} and ~),
 * its codec (JSON or Transit), where the tokens sit (RFC 6901 pointers, with
 * {provider} for files that hold several logins), how the expiry is written,
 * the token endpoint, the request and answer shapes, the variable that
 * receives the token, and the application's own locks. The built-in
 * profiles (claude, eca, codex, relay, json) are written in the same INI
 * format users write in ${XDG_CONFIG_HOME:-~/.config}/credrun/profiles.conf,
 * and parsed by the same code. */
#ifndef CREDRUN_PROFILE_H
#define CREDRUN_PROFILE_H

#include <stdbool.h>
#include <stddef.h>

#include "applock.h"
#include "creds.h"
#include "oauth.h"
#include "status.h"

#define PROFILE_DEFAULT "claude"
#define PROFILE_MAX_FILES 4
#define PROFILE_MAX_LOCKS (2 * APPLOCK_MAX)

enum profile_codec { PROFILE_CODEC_JSON, PROFILE_CODEC_TRANSIT };

/* An application lock as the profile states it: its path is a template with
 * {file} (the credentials file as named, links not followed), {dir} (its directory),
 * {realdir} (that directory with every link resolved) and {name} (the file's
 * name). */
struct profile_lock {
    bool write; /* held around the write only; else around re-read, refresh and write */
    enum applock_kind kind;
    char *path;
    int stale_s;
    bool optional;
    bool nonblock; /* flock: LOCK_NB, retried */
};

struct profile {
    char *name;     /* the section used, e.g. "eca/openai" */
    char *provider; /* what {provider} stands for, or NULL */
    char *files[PROFILE_MAX_FILES];
    size_t n_files;
    enum profile_codec codec;
    char *access, *refresh, *expiry, *scopes, *last_refresh, *base_url;
    enum expiry_unit unit;
    char *token_url;
    char *token_url_path; /* appended to the file's base URL (base_url) */
    char *client_id;      /* NULL: none is sent */
    enum oauth_body body;
    char *refresh_param;
    char *answer_access, *answer_refresh, *answer_expires_in, *answer_expires_at, *answer_scope;
    struct {
        char *member, *pointer;
    } store[CREDS_MAX_EXTRA];
    size_t n_store;
    char *env; /* NULL: export nothing */
    char *login_hint;
    bool exec_only;
    long min_validity;    /* the default --min-validity; 0: DEFAULT_MIN_VALIDITY */
    long client_window;   /* the application refreshes by itself when this many seconds or less remain; 0: unknown */
    bool client_unlocked; /* ...and sends that refresh holding no lock: its processes race each other */
    struct profile_lock locks[PROFILE_MAX_LOCKS];
    size_t n_locks;

    /* What the run's configuration points into, filled by profile_setup. */
    struct creds_fields fields;
    struct oauth_shape shape;
    char **owned;
    size_t n_owned;
};

/* What the command line said about the profile; NULL/false when not given. */
struct profile_select {
    const char *name;     /* -p */
    const char *provider; /* --provider */
    const char *access, *refresh, *expiry, *unit, *request;
    bool token_url_given;
};

/* Where profiles.conf is: ${XDG_CONFIG_HOME:-~/.config}/credrun/profiles.conf
 * (newly allocated). */
char *profile_conf_path(void);

/* Resolve the profile sel names (PROFILE_DEFAULT when none; profiles.conf is
 * read only when sel->name is given: one open(2)) and apply the command
 * line's overrides, filling p->fields and p->shape. *out is newly allocated
 * (profile_free), also on some failures. On failure err says what to fix:
 * CR_ERR_USAGE for bad options or an unknown profile, CR_ERR_PROFILES_CONF
 * for a malformed profiles.conf (the message starts with FILE:LINE). */
enum cr_status profile_setup(const struct profile_select *sel, struct profile **out, struct cr_err *err)
    __attribute__((__nonnull__));

/* The credentials file of p, its location rule expanded: the first
 * candidate that exists, else the first (newly allocated); NULL when the
 * profile names none (json). */
char *profile_file(const struct profile *p) __attribute__((__nonnull__));

/* Expand p's lock templates of one kind (write: held around the write only;
 * else around the re-read and refresh) into specs (at most max; paths owned
 * by p) for the credentials file as the application names it: given, before
 * symbolic links are followed, since the application keeps its locks beside
 * that name (Claude Code in its config directory even when .credentials.json
 * links elsewhere). Returns how many were put in specs. */
size_t profile_expand_locks(struct profile *p, const char *given, bool write, struct applock_spec *specs, size_t max)
    __attribute__((__nonnull__));

/* Expand a location rule: ${NAME}, ${NAME:-default} (empty counts as unset;
 * defaults nest) and a leading ~ (the home directory). Newly allocated in
 * *out; -1 with err on a malformed rule. */
int profile_expand_path(const char *rule, char **out, struct cr_err *err) __attribute__((__nonnull__));

/* Resolve profile name (PROFILE_DEFAULT when NULL) for provider (NULL: the
 * profile's own) from the built-in profiles and user_text, the content of
 * profiles.conf (NULL when there is none; origin names it in messages).
 * Every section of user_text is checked. *out is newly allocated
 * (profile_free). CR_ERR_USAGE for an unknown name or provider,
 * CR_ERR_PROFILES_CONF for a malformed user_text (the message starts with origin:line). */
enum cr_status profile_resolve(const char *user_text, const char *origin, const char *name, const char *provider,
                               struct profile **out, struct cr_err *err) __attribute__((__nonnull__(5, 6)));

/* The built-in profiles, in profiles.conf's format. */
extern const char profile_builtin_text[];

void profile_free(struct profile *p);

#endif
