/* SPDX-License-Identifier: MIT */
/* RFC 6901 pointers and wiped jansson buffers, shared by the JSON codecs,
 * and the documents credrun writes itself (state files, --status --json). */
#include "config.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "expiry.h"
#include "jsonptr.h"
#include "util.h"

static void wiping_free(void *p)
{
    if (p) {
        explicit_bzero(p, malloc_usable_size(p));
        free(p);
    }
}

void jsonptr_wipe_on_free(void)
{
    static int done;
    if (!done) {
        json_set_alloc_funcs(malloc, wiping_free);
        /* Seed jansson's hash with one getrandom(2) rather than letting it
         * open, read and close /dev/urandom on every run. */
        size_t seed = 0;
        if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) == (ssize_t)sizeof seed && seed)
            json_object_seed(seed);
        done = 1;
    }
}

/* The token s..end unescaped into tok (room for end - s + 1 bytes). */
static char *token_into(char *tok, const char *s, const char *end)
{
    size_t n = (size_t)(end - s);
    if (!memchr(s, '~', n)) { /* nothing escaped: most tokens */
        memcpy(tok, s, n);
        tok[n] = '\0';
        return tok;
    }
    char *o = tok;
    for (const char *p = s; p < end; p++) {
        if (*p == '~' && p + 1 < end && (p[1] == '0' || p[1] == '1')) {
            *o++ = p[1] == '0' ? '~' : '/';
            p++;
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
    return tok;
}

char *jsonptr_token(const char *s, const char *end)
{
    return token_into(xmalloc((size_t)(end - s) + 1), s, end);
}

json_t *jsonptr_get(json_t *root, const char *ptr, jsonptr_child_fn child)
{
    json_t *node = root;
    const char *p = ptr;
    while (node && *p == '/') {
        const char *end = strchr(p + 1, '/');
        if (!end)
            end = p + strlen(p);
        char small[64]; /* most tokens: no allocation */
        char *tok = (size_t)(end - p) <= sizeof small ? token_into(small, p + 1, end) : jsonptr_token(p + 1, end);
        node = child(node, tok, strlen(tok));
        if (tok != small)
            free(tok);
        p = end;
    }
    return *p ? NULL : node;
}

enum cr_status jsonptr_dump(json_t *root, size_t flags, bool newline, char **out, size_t *outlen, struct cr_err *err)
{
    char *s = json_dumps(root, flags);
    if (!s) {
        return cr_fail(err, CR_ERR_INTERNAL, "cannot serialize the credentials");
    }
    size_t n = strlen(s);
    if (newline) {
        char *s2 = xmalloc(n + 2);
        memcpy(s2, s, n);
        s2[n++] = '\n';
        s2[n] = '\0';
        secret_free(s);
        s = s2;
    }
    *out = s;
    *outlen = n;
    return CR_OK;
}

json_t *jsonptr_words(const char *s, json_t *(*make)(const char *word))
{
    json_t *a = json_array();
    const char *p = s;
    while (*p) {
        while (*p == ' ')
            p++;
        const char *e = p;
        while (*e && *e != ' ')
            e++;
        if (e > p) {
            char *w = xasprintf("%.*s", (int)(e - p), p);
            json_array_append_new(a, make ? make(w) : json_string(w));
            free(w);
        }
        p = e;
    }
    return a;
}

char *jsonptr_document(json_t *root)
{
    char *out;
    size_t len;
    struct cr_err err;
    enum cr_status st = jsonptr_dump(root, JSON_PRESERVE_ORDER | JSON_INDENT(2), true, &out, &len, &err);
    json_decref(root);
    if (st != CR_OK)
        abort();
    return out;
}

json_t *jsonptr_rfc3339(int64_t ms)
{
    char ts[40];
    expiry_format_rfc3339(ms, ts, sizeof ts);
    return json_string(ts);
}
