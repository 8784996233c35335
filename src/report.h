/* SPDX-License-Identifier: MIT */
/* credrun --status: how a login stands, gathered without sending a request
 * or taking or waiting for any lock, and told as text or one JSON document.
 * Gathering reads through the other modules (the credentials codec, the
 * shared state, /proc/locks); deciding and formatting are pure. */
#ifndef CREDRUN_REPORT_H
#define CREDRUN_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "applock.h"
#include "runconfig.h"
#include "status.h"

#define REPORT_COMMAND_MAX 256
#define REPORT_APP_LOCKS (2 * APPLOCK_MAX)

/* --status's exit statuses besides those a run has (66, 65, 78). */
#define REPORT_EXIT_FRESH 0
#define REPORT_EXIT_DUE 1
#define REPORT_EXIT_BLOCKED 75 /* due, but a cooldown holds the request back */
#define REPORT_EXIT_LOGIN 77   /* quarantined, or no refresh token and the access token expired */

/* What --status found. Strings point into the run's configuration or the
 * state held here; nothing in it is a secret. */
struct report {
    int64_t now_ms;
    const char *file;
    const char *profile;
    const char *login_hint;
    long min_validity;
    /* credrun's own lock */
    const char *lock_path;
    bool lock_exists;
    bool lock_held;
    long holder_pid;                         /* 0 when unknown */
    char holder_command[REPORT_COMMAND_MAX]; /* "" when unknown */
    /* the application's lock directories and files that are present */
    struct {
        const char *path;
        int64_t age_s;
    } app_locks[REPORT_APP_LOCKS];
    size_t n_app_locks;
    /* the tokens */
    bool access_present;
    int64_t expires_ms; /* EXPIRY_UNKNOWN when the file states none */
    bool refresh_present;
    bool refresh_due;
    /* the shared state */
    bool cooling;           /* a cooldown is running (for some endpoint) */
    bool cooldown_blocks;   /* ... and it holds back this run's endpoint */
    char reason[32];
    char endpoint[1024];    /* the endpoint it holds back, "" for every endpoint */
    int64_t until_ms;
    bool quarantined;       /* the file's refresh token is quarantined */
    int64_t quarantine_since_ms;
    char quarantine_error[64];
};

/* Gather the report for rc into r: read the credentials file, the state
 * file, the lock files' status and /proc/locks; take no lock, send nothing.
 * CR_OK, or what a run would fail with (CR_ERR_CREDS_MISSING,
 * CR_ERR_CREDS_MALFORMED, CR_ERR_UNSAFE_FILE) with err saying what to do. */
enum cr_status report_gather(const struct run_config *rc, struct report *r, struct cr_err *err)
    __attribute__((__nonnull__));

/* The exit status r calls for (REPORT_EXIT_*). Pure. */
int report_exit(const struct report *r) __attribute__((__nonnull__));

/* r as one JSON document (the keys in credrun(1)), newly allocated, ending
 * in a newline. Pure. */
char *report_json(const struct report *r) __attribute__((__nonnull__, __returns_nonnull__));

/* r as lines of text for a person, newly allocated. Pure. */
char *report_text(const struct report *r) __attribute__((__nonnull__, __returns_nonnull__));

/* --status: gather, print to stdout (JSON with rc->status_json), and return
 * the exit status; an error is printed once to stderr, with a run's exit
 * status. */
int report_run(const struct run_config *rc) __attribute__((__nonnull__));

#endif
