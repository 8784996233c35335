/* SPDX-License-Identifier: MIT */
/* What went wrong, as a status every function returns, and the one table
 * that maps it to credrun's exit status (sysexits.h). */
#ifndef CREDRUN_STATUS_H
#define CREDRUN_STATUS_H

enum cr_status {
    CR_OK = 0,
    CR_ERR_USAGE,           /* 64: bad options */
    CR_ERR_CREDS_MALFORMED, /* 65: credentials file does not parse or has wrong types */
    CR_ERR_CANNOT_PLACE,    /* 65: the new tokens could not be stored in the file as it is (checked before spending) */
    CR_ERR_EXPIRY_UNIT,     /* 65: the file's expiry is not in the configured --expiry-unit */
    CR_ERR_CREDS_MISSING,   /* 66: credentials file missing */
    CR_ERR_NOT_REGULAR,     /* 66: a file credrun reads is a FIFO, device or directory */
    CR_ERR_UNREACHABLE,     /* 69: endpoint unreachable, 5xx, redirect */
    CR_ERR_INTERNAL,        /* 70: a bug or an impossible state */
    CR_ERR_OS,              /* 71: a system call failed (cannot load libcurl, fork) */
    CR_ERR_CANT_WRITE,      /* 73: cannot write the credentials or the lock file */
    CR_ERR_LOCK_BUSY,       /* 75 (or -E): lock held elsewhere and -n/-w said not to wait */
    CR_ERR_RATE_LIMITED,    /* 75: endpoint asked us to wait */
    CR_ERR_IN_FLIGHT,       /* 75 (never -E): another client's refresh of this token did not reach us in time */
    CR_ERR_BAD_RESPONSE,    /* 76: token response unusable */
    CR_ERR_REJECTED,        /* 77: refresh token rejected or absent: log in again */
    CR_ERR_ALREADY_SENT,    /* 77: the token was sent before (spent marker) and its answer never arrived */
    CR_ERR_REQUEST_REFUSED, /* 78: the endpoint refused our request (invalid_client, other 4xx) */
    CR_ERR_PROFILES_CONF,   /* 78: profiles.conf cannot be read or is malformed */
    CR_ERR_BASE_URL,        /* 78: the file's own base URL gives a token URL credrun refuses */
    CR_ERR_FS_UNSUPPORTED,  /* 78: the credentials are on a filesystem whose flock is local to one client */
    CR_ERR_UNKNOWN_EXPIRY,  /* 78: no way to know when the access token expires: every run would refresh */
    CR_ERR_UNSAFE_FILE,     /* 78: credentials or state file anyone could have written */
    CR_ERR_EXEC,            /* 126: COMMAND found but not executable */
    CR_ERR_NOT_FOUND,       /* 127: COMMAND not found */
    CR_STATUS_COUNT
};

/* The one error type: a status and a message formed where the failure is
 * found, printed once by main() (or supervise's loop) as "credrun: MSG".
 * The message never holds a secret and says what to do next. */
#define CR_ERR_MSG_MAX 1024
struct cr_err {
    enum cr_status status;
    char msg[CR_ERR_MSG_MAX]; /* without the "credrun: " prefix; "" when none */
};

/* Set e to st with a printf-formed message; returns st. A message longer
 * than CR_ERR_MSG_MAX - 1 bytes is cut at a UTF-8 boundary and ends in "...". */
enum cr_status cr_fail(struct cr_err *e, enum cr_status st, const char *fmt, ...)
    __attribute__((__nonnull__(1, 3), __format__(printf, 3, 4)));

/* Put "CONTEXT: " (printf-formed) before e's message, keeping its status;
 * returns that status. */
enum cr_status cr_wrap(struct cr_err *e, const char *fmt, ...) __attribute__((__nonnull__(1, 2), __format__(printf, 2, 3)));

/* Append "; MORE" (printf-formed) to e's message, keeping its status;
 * returns that status. */
enum cr_status cr_append(struct cr_err *e, const char *fmt, ...) __attribute__((__nonnull__(1, 2), __format__(printf, 2, 3)));

/* Reset e to CR_OK with an empty message. */
void cr_clear(struct cr_err *e) __attribute__((__nonnull__));

/* The exit status for a status; conflict_exit replaces 75 for CR_ERR_LOCK_BUSY only. */
int status_exit_code(enum cr_status st, int conflict_exit);

#endif
