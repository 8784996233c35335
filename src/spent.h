/* SPDX-License-Identifier: MIT */
/* Spent-token markers (issue 18): before a refresh token is sent, and under
 * the credential lock, credrun creates <credentials>.credrun.spent/HASH with
 * O_CREAT|O_EXCL, HASH being the token's SHA-256 in hex (never the token).
 * The create is decided by the filesystem's server, so on a network
 * filesystem exactly one client on any host gets to send a given token; the
 * others find the marker and wait for its successor (a young marker) or
 * refuse (an old one: the answer was lost, or the file is a restored backup).
 * Ages are measured against the filesystem's clock: the mtime of a file
 * touched in that directory, never this machine's clock alone. */
#ifndef CREDRUN_SPENT_H
#define CREDRUN_SPENT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <time.h>

#include "sha256.h"
#include "status.h"

#define SPENT_SUFFIX ".credrun.spent"
#define SPENT_CLOCK_NAME ".clock"           /* touched to read the filesystem's clock */
#define SPENT_PRUNE_AGE_S (30.0 * 86400.0) /* markers older than 30 days are pruned */
#define SPENT_PRUNED_NAME ".pruned"        /* its mtime: when the markers were last pruned */
#define SPENT_PRUNE_EVERY_S 86400.0        /* spent_prune_daily prunes at most this often */

/* The marker directory, opened once (O_DIRECTORY|O_NOFOLLOW); markers are
 * reached through fd, so nothing that replaces the path later is followed. */
struct spent_dir {
    int fd;            /* -1 when closed */
    char *path;        /* <credentials>.credrun.spent, owned */
    struct stat owner; /* the directory's status: root gives the files it makes in it to its owner */
};

enum spent_outcome {
    SPENT_CREATED, /* this process made the marker: it may send the token */
    SPENT_EXISTS,  /* another refresh (here or on any host) already has */
};

/* What a marker's age says, against a bound (the wait bound plus the HTTP
 * timeout). */
enum spent_class {
    SPENT_IN_FLIGHT, /* younger than the bound: wait for its successor */
    SPENT_OLD,       /* older: the answer was lost or the file restored; send nothing (77) */
};

struct spent_mark {
    enum spent_outcome outcome;
    char name[SHA256_HEX]; /* the marker's file name */
    double age_s;          /* SPENT_EXISTS: its age on the filesystem's clock (negative: from the future) */
    char owner[128];       /* SPENT_EXISTS: "host pid N" of its maker when readable, else "" */
};

/* <credentials>.credrun.spent, newly allocated. */
char *spent_dir_path(const char *credentials) __attribute__((__nonnull__, __malloc__, __returns_nonnull__));

/* The marker name for a refresh token: its SHA-256 in lower-case hex. */
void spent_name(const char *refresh_token, char name[SHA256_HEX]) __attribute__((__nonnull__));

/* Open the marker directory of credentials, creating it 0700 when missing
 * (owned, when root runs for another user, by creds' owner and group; creds
 * may be NULL). An existing one must be a real directory owned by this user
 * or creds' owner and writable by no one else. Markers and the clock file
 * root makes in it are given to the directory's owner and group
 * (fileown_give). On CR_OK sd is open: close it
 * with spent_close. CR_ERR_CANT_WRITE (73) otherwise, with a message saying
 * the token was not spent and what to fix. */
enum cr_status spent_open(struct spent_dir *sd, const char *credentials, const struct stat *creds, struct cr_err *err)
    __attribute__((__nonnull__(1, 2, 4)));

/* Close sd; harmless on a closed one. */
void spent_close(struct spent_dir *sd) __attribute__((__nonnull__));

/* Record that refresh_token is about to be sent: create its marker with
 * O_CREAT|O_EXCL|O_NOFOLLOW, 0600, holding "host pid N". On CR_OK, m says
 * SPENT_CREATED, or SPENT_EXISTS with the marker's age. CR_ERR_CANT_WRITE
 * (73) when the marker can neither be made nor found: exit before spending. */
enum cr_status spent_record(struct spent_dir *sd, const char *refresh_token, struct spent_mark *m, struct cr_err *err)
    __attribute__((__nonnull__));

/* Remove refresh_token's marker: the refresh ended in an outcome that did
 * not rotate the token (no connection, 429, 5xx, a 4xx but invalid_grant).
 * A marker already gone is fine. CR_ERR_CANT_WRITE when it stays: warn, as
 * the next run will take the token for spent. */
enum cr_status spent_remove(struct spent_dir *sd, const char *refresh_token, struct cr_err *err)
    __attribute__((__nonnull__));

/* The "host pid N" line of the marker called name into buf (len bytes),
 * "" when it cannot be read. For messages only. */
void spent_owner(struct spent_dir *sd, const char *name, char *buf, size_t len) __attribute__((__nonnull__));

/* spent_remove for the marker called name (spent_name's result). */
enum cr_status spent_unmark(struct spent_dir *sd, const char *name, struct cr_err *err) __attribute__((__nonnull__));

/* The filesystem's clock: touch SPENT_CLOCK_NAME in sd (created 0600 when
 * missing) and read back its mtime, which the server sets on a network
 * filesystem. CR_ERR_CANT_WRITE when it cannot be touched. */
enum cr_status spent_now(struct spent_dir *sd, struct timespec *now, struct cr_err *err) __attribute__((__nonnull__));

/* Is refresh_token's marker there and, if so, how old is it on the
 * filesystem's clock? For re-checking while waiting: a marker removed by a
 * refresh that failed harmlessly can be recorded again. */
enum cr_status spent_age(struct spent_dir *sd, const char *refresh_token, bool *exists, double *age_s,
                         struct cr_err *err) __attribute__((__nonnull__));

/* Classify a marker's age against bound_s. A marker from the future (the
 * maker's clock ahead) counts as in flight: waiting is safe, sending is not.
 * Pure. */
enum spent_class spent_classify(double age_s, double bound_s);

/* Remove markers (names of 64 hex digits only) older than max_age_s
 * (SPENT_PRUNE_AGE_S) on the filesystem's clock; call under the credential
 * lock. Puts how many went in *removed. A marker that cannot be removed is
 * skipped; CR_ERR_OS only when the directory cannot be read or the clock
 * not taken: a warning, never a reason to stop. */
enum cr_status spent_prune(struct spent_dir *sd, double max_age_s, unsigned *removed, struct cr_err *err)
    __attribute__((__nonnull__));

/* spent_prune with SPENT_PRUNE_AGE_S, unless SPENT_PRUNED_NAME says it ran
 * less than SPENT_PRUNE_EVERY_S ago on the filesystem's clock (each marker
 * is a stat, a round trip on a network filesystem); then *ran is false and
 * nothing is listed. Same returns as spent_prune. */
enum cr_status spent_prune_daily(struct spent_dir *sd, unsigned *removed, bool *ran, struct cr_err *err)
    __attribute__((__nonnull__));

#endif
