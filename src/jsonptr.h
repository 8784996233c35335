/* SPDX-License-Identifier: MIT */
/* What the JSON-based credential codecs share: RFC 6901 pointer tokens, a
 * pointer walk over any notion of "child", and jansson buffers that are
 * wiped when freed (they hold tokens). */
#ifndef CREDRUN_JSONPTR_H
#define CREDRUN_JSONPTR_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "status.h"

/* Make jansson wipe every block it frees; idempotent and cheap. */
void jsonptr_wipe_on_free(void);

/* Decode one reference token [s, end) of a pointer (~1 is '/', ~0 is '~',
 * any other '~' stands for itself) into a new string. */
char *jsonptr_token(const char *s, const char *end) __attribute__((__nonnull__, __malloc__));

/* The child of node named by the token key (keylen bytes), or NULL. */
typedef json_t *(*jsonptr_child_fn)(json_t *node, const char *key, size_t keylen);

/* The node at pointer ptr below root ("" is root itself), or NULL, stepping
 * with child. */
json_t *jsonptr_get(json_t *root, const char *ptr, jsonptr_child_fn child) __attribute__((__nonnull__(2, 3)));

/* A JSON array of the space-separated words of s, each made into a JSON
 * string by make (json_string when NULL). */
json_t *jsonptr_words(const char *s, json_t *(*make)(const char *word)) __attribute__((__nonnull__(1)));

/* Serialize root with jansson flags into a newly allocated *out (wipe it
 * after use), adding a final newline when newline is set. CR_OK, or
 * CR_ERR_INTERNAL with err filled. */
enum cr_status jsonptr_dump(json_t *root, size_t flags, bool newline, char **out, size_t *outlen, struct cr_err *err) __attribute__((__nonnull__(1, 4, 5, 6)));

/* root, which this consumes, as JSON indented by 2 in key order with a final
 * newline: a newly allocated string (a report or a state file, no secret).
 * Aborts when jansson cannot serialize (out of memory). */
char *jsonptr_document(json_t *root) __attribute__((__nonnull__, __returns_nonnull__));

/* A new JSON string holding the instant ms (Unix milliseconds) as RFC 3339 UTC. */
json_t *jsonptr_rfc3339(int64_t ms);

#endif
