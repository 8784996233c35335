/* SPDX-License-Identifier: MIT */
/* Small helpers: allocation that dies on exhaustion, secret wiping, paths. */
#ifndef CREDRUN_UTIL_H
#define CREDRUN_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Allocate or die with exit 71; never return NULL. */
void *xmalloc(size_t n) __attribute__((__malloc__, __returns_nonnull__));
void *xcalloc(size_t n, size_t size) __attribute__((__malloc__, __returns_nonnull__));
void *xrealloc(void *p, size_t n) __attribute__((__returns_nonnull__));
char *xstrdup(const char *s) __attribute__((__nonnull__, __malloc__, __returns_nonnull__));
char *xasprintf(const char *fmt, ...) __attribute__((__format__(printf, 1, 2), __malloc__, __returns_nonnull__));

/* Overwrite a NUL-terminated secret with zeros and free it; NULL is fine. */
void secret_free(char *s);
/* Overwrite n bytes and free them; NULL is fine. */
void secret_free_n(void *p, size_t n);

/* path followed by suffix (newly allocated), without printf's cost. */
char *path_with_suffix(const char *path, const char *suffix) __attribute__((__nonnull__, __malloc__, __returns_nonnull__));
/* The directory part of path ("." when none), newly allocated. */
char *path_dirname(const char *path) __attribute__((__nonnull__));
/* The last component of path, pointing into path. */
const char *path_basename(const char *path) __attribute__((__nonnull__));

/* If path is a symbolic link, follow it (and links to links, up to 8) and
 * return the final path, newly allocated; otherwise a copy of path. Costs one
 * readlink(2) when path is not a link. */
char *path_follow_links(const char *path) __attribute__((__nonnull__));

/* True when s may be quoted in a message although it came from a file or an
 * answer: a word of a fixed vocabulary (a profiles.conf key or profile
 * name, an OAuth error code), 1 to 40 lower-case ASCII letters and '_', '-',
 * '.', '/', starting with a letter. A token (digits, capitals) never
 * passes. */
bool is_plain_word(const char *s) __attribute__((__nonnull__));

/* A letter or digit of ASCII: isalnum(3) in the C locale credrun runs in,
 * without the locale table's lookup (and its symbol binding). */
static inline bool ascii_alnum(int ch)
{
    return (ch >= '0' && ch <= '9') || ((unsigned)ch | 0x20) - 'a' < 26;
}

/* Parse a non-negative integer that fits in a long; 0 on success, -1 on junk. */
int parse_long(const char *s, long min, long max, long *out) __attribute__((__nonnull__));
/* Parse a non-negative decimal number of seconds ("2", "0.5"); 0 or -1. */
int parse_seconds(const char *s, double *out) __attribute__((__nonnull__));

/* "a directory", "a FIFO", "a device", ...: what mode says a file is, for
 * messages. */
const char *file_kind(mode_t mode);

/* True when s is valid UTF-8 (no overlong forms, surrogates or values past
 * U+10FFFF), as jansson requires of every key and string. */
bool utf8_valid(const char *s) __attribute__((__nonnull__));

#endif
