/* SPDX-License-Identifier: MIT */
/* What the libFuzzer targets share: a check that turns an oracle mismatch
 * into a crash libFuzzer reports (and keeps the input of), a NUL-terminated
 * copy of the input, and, for the round-trip targets, a structural
 * comparison of two parsed documents that skips the places credrun writes.
 *
 * The comparison works on parsed trees (jansson values), so a real written
 * differently, a duplicate key or an out-of-range integer is judged after
 * the same decoder saw both sides. Maps are compared in order: the output
 * must hold every pair of the input in the same order with equal values;
 * only a pair on a token pointer's path (the token itself, or a map created
 * to hold it) may be new, and only at the end. Transit maps
 * (["^ ", k, v, ...] and ["~#cmap", [k, v, ...]]) count as maps too. */
#ifndef CREDRUN_FUZZ_H
#define CREDRUN_FUZZ_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_UNUSED __attribute__((unused))

/* An oracle mismatch: say what, then abort so libFuzzer keeps the input. */
#define FUZZ_CHECK(cond, ...)                                                                                          \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            fprintf(stderr, "\nFUZZ ORACLE MISMATCH at %s:%d: %s\n  ", __FILE__, __LINE__, #cond);                     \
            fprintf(stderr, __VA_ARGS__);                                                                              \
            fprintf(stderr, "\n");                                                                                     \
            abort();                                                                                                   \
        }                                                                                                              \
    } while (0)

/* The input as a NUL-terminated string (free it). */
static FUZZ_UNUSED char *fuzz_cstr(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        abort();
    memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/* ---- token paths ---------------------------------------------------------- */

#define FUZZ_MAX_DEPTH 16
#define FUZZ_MAX_PATHS 12

/* A pointer split into its reference tokens (RFC 6901 ~0 ~1; another ~ is
 * itself, as credrun reads pointers). */
struct fuzz_path {
    char tok[FUZZ_MAX_DEPTH][64];
    int n;
};

/* A token strtoul() reads whole (as the codecs step into arrays) but that
 * is not written the one way an index is ("01", "+1", " 1"): the codecs
 * and this file's walk would name the same element differently. */
static FUZZ_UNUSED bool fuzz_odd_index(const char *tok)
{
    char *end, canon[24];
    unsigned long i = strtoul(tok, &end, 10);
    if (end == tok || *end)
        return false;
    snprintf(canon, sizeof canon, "%lu", i);
    return strcmp(canon, tok) != 0;
}

/* Split ptr into p; with transit, each token as the key is written: one
 * that starts with ^ or ` names that string, written "~^x" (the Transit
 * spec escapes such strings, and a bare "^x" key is a cache code), any
 * other is taken as written. False when the oracle cannot judge it: deeper
 * than FUZZ_MAX_DEPTH, a token longer than fits, or an odd index. */
static FUZZ_UNUSED bool fuzz_path_parse(const char *ptr, struct fuzz_path *p, bool transit)
{
    bool fits = true;
    p->n = 0;
    while (*ptr == '/') {
        if (p->n == FUZZ_MAX_DEPTH)
            return false;
        ptr++;
        size_t o = 0;
        while (*ptr && *ptr != '/') {
            char c = *ptr++;
            if (c == '~' && *ptr == '0') {
                c = '~';
                ptr++;
            } else if (c == '~' && *ptr == '1') {
                c = '/';
                ptr++;
            }
            if (o < sizeof p->tok[0] - 1)
                p->tok[p->n][o++] = c;
            else
                fits = false;
        }
        p->tok[p->n][o] = '\0';
        if (transit && (p->tok[p->n][0] == '^' || p->tok[p->n][0] == '`')) {
            if (o < sizeof p->tok[0] - 1)
                memmove(p->tok[p->n] + 1, p->tok[p->n], o + 1);
            else
                fits = false;
            p->tok[p->n][0] = '~';
        }
        if (fuzz_odd_index(p->tok[p->n]))
            fits = false;
        p->n++;
    }
    return fits;
}

/* True when a names b's place or one of its parents (or b a's): a token
 * written there and another at or below it leave no single right answer. */
static FUZZ_UNUSED bool fuzz_path_overlaps(const struct fuzz_path *a, const struct fuzz_path *b)
{
    int n = a->n < b->n ? a->n : b->n;
    for (int i = 0; i < n; i++)
        if (strcmp(a->tok[i], b->tok[i]) != 0)
            return false;
    return true;
}

/* Parse the n pointers ptrs (NULL ones skipped, at most FUZZ_MAX_PATHS)
 * into paths[*count]. False when the oracle cannot judge them: one does
 * not parse (above), or two overlap. Only the pointers credrun was handed
 * by the user can do either; the targets' own field sets never do. */
static FUZZ_UNUSED bool fuzz_paths_parse(const char *const *ptrs, size_t n, bool transit, struct fuzz_path *paths,
                                         int *count)
{
    bool ok = true;
    *count = 0;
    for (size_t i = 0; i < n && *count < FUZZ_MAX_PATHS; i++) {
        if (!ptrs[i])
            continue;
        if (!fuzz_path_parse(ptrs[i], &paths[*count], transit))
            ok = false;
        for (int k = 0; k < *count; k++)
            if (fuzz_path_overlaps(&paths[k], &paths[*count]))
                ok = false;
        (*count)++;
    }
    return ok;
}

/* Where the comparison stands: the tokens from the root to here, and the
 * pointers the store wrote. */
struct fuzz_walk {
    const char *at[FUZZ_MAX_DEPTH + 1];
    int depth;
    const struct fuzz_path *paths[FUZZ_MAX_PATHS];
    int n_paths;
    bool transit;
    char where[512]; /* the current path, for messages */
};

static FUZZ_UNUSED void fuzz_walk_add(struct fuzz_walk *w, const struct fuzz_path *p)
{
    if (w->n_paths < FUZZ_MAX_PATHS)
        w->paths[w->n_paths++] = p;
}

/* 2: the current place is a token pointer itself; 1: a strict prefix of
 * one (a map on the way); 0: neither. */
static FUZZ_UNUSED int fuzz_walk_on_path(const struct fuzz_walk *w)
{
    int best = 0;
    for (int i = 0; i < w->n_paths; i++) {
        const struct fuzz_path *p = w->paths[i];
        if (p->n < w->depth)
            continue;
        int k = 0;
        while (k < w->depth && w->at[k] && strcmp(p->tok[k], w->at[k]) == 0)
            k++;
        if (k < w->depth)
            continue;
        if (p->n == w->depth)
            return 2;
        best = 1;
    }
    return best;
}

static FUZZ_UNUSED void fuzz_where(struct fuzz_walk *w)
{
    size_t o = 0;
    w->where[0] = '\0';
    for (int i = 0; i < w->depth && o < sizeof w->where - 1; i++)
        o += (size_t)snprintf(w->where + o, sizeof w->where - o, "/%s", w->at[i] ? w->at[i] : "<non-string key>");
    if (o >= sizeof w->where)
        o = sizeof w->where - 1;
    if (o == 0)
        snprintf(w->where, sizeof w->where, "(root)");
}

/* ---- comparison ----------------------------------------------------------- */

/* A view of v as an ordered list of pairs: a JSON object, a Transit map
 * (["^ ", k, v...]) or a Transit cmap (["~#cmap", [k, v...]]). */
struct fuzz_map {
    json_t *obj;   /* a JSON object, or NULL */
    json_t *arr;   /* the array holding the pairs, or NULL */
    size_t start;  /* first key's index in arr */
    size_t n;      /* pairs */
};

static FUZZ_UNUSED bool fuzz_as_map(json_t *v, bool transit, struct fuzz_map *m)
{
    memset(m, 0, sizeof *m);
    if (json_is_object(v)) {
        m->obj = v;
        m->n = json_object_size(v);
        return true;
    }
    if (!transit || !json_is_array(v) || json_array_size(v) == 0)
        return false;
    json_t *first = json_array_get(v, 0);
    if (json_is_string(first) && json_string_length(first) == 2 && memcmp(json_string_value(first), "^ ", 2) == 0) {
        m->arr = v;
        m->start = 1;
        m->n = (json_array_size(v) - 1) / 2;
        return json_array_size(v) % 2 == 1;
    }
    if (json_array_size(v) == 2 && json_is_string(first) && strcmp(json_string_value(first), "~#cmap") == 0 &&
        json_is_array(json_array_get(v, 1)) && json_array_size(json_array_get(v, 1)) % 2 == 0) {
        m->arr = json_array_get(v, 1);
        m->start = 0;
        m->n = json_array_size(m->arr) / 2;
        return true;
    }
    return false;
}

/* Pair i of m: its key as a value (a new reference for objects) and value. */
static FUZZ_UNUSED json_t *fuzz_map_key(const struct fuzz_map *m, size_t i, json_t **val)
{
    if (m->obj) {
        /* jansson (2.10+) iterates objects in insertion order */
        size_t k = 0, keylen;
        const char *key;
        json_t *v;
        json_object_keylen_foreach(m->obj, key, keylen, v)
        {
            if (k++ == i) {
                *val = v;
                return json_stringn(key, keylen);
            }
        }
        *val = NULL;
        return NULL;
    }
    *val = json_array_get(m->arr, m->start + 2 * i + 1);
    return json_incref(json_array_get(m->arr, m->start + 2 * i));
}

static FUZZ_UNUSED void fuzz_compare(struct fuzz_walk *w, json_t *in, json_t *out);

/* Compare two maps pair by pair, new pairs only on token paths and at the end. */
static FUZZ_UNUSED void fuzz_compare_maps(struct fuzz_walk *w, const struct fuzz_map *a, const struct fuzz_map *b)
{
    fuzz_where(w);
    FUZZ_CHECK(b->n >= a->n, "at %s: the output map has %zu pairs, the input %zu: a key was lost", w->where, b->n,
               a->n);
    FUZZ_CHECK(w->depth < FUZZ_MAX_DEPTH, "too deep");
    for (size_t i = 0; i < b->n; i++) {
        json_t *va, *vb = NULL;
        json_t *kb = fuzz_map_key(b, i, &vb);
        json_t *ka = i < a->n ? fuzz_map_key(a, i, &va) : NULL;
        w->at[w->depth] = json_is_string(kb) ? json_string_value(kb) : NULL;
        w->depth++;
        if (ka) {
            fuzz_where(w);
            FUZZ_CHECK(json_equal(ka, kb), "at %s: pair %zu has another key in the output: order or key changed",
                       w->where, i);
            fuzz_compare(w, va, vb);
        } else {
            fuzz_where(w);
            FUZZ_CHECK(fuzz_walk_on_path(w) != 0, "at %s: the output has a new key that is not a token's", w->where);
            if (fuzz_walk_on_path(w) == 1) {
                /* a map made to hold a token: it holds token paths only */
                struct fuzz_map empty = {0}, mb;
                fuzz_where(w);
                FUZZ_CHECK(fuzz_as_map(vb, w->transit, &mb), "at %s: a created parent is not a map", w->where);
                fuzz_compare_maps(w, &empty, &mb);
            }
        }
        w->depth--;
        json_decref(ka);
        json_decref(kb);
    }
}

/* in (the input, parsed) against out (the output, parsed): equal except on
 * the token paths, whose values the target checks itself. */
static FUZZ_UNUSED void fuzz_compare(struct fuzz_walk *w, json_t *in, json_t *out)
{
    int on = fuzz_walk_on_path(w);
    if (on == 2)
        return;
    struct fuzz_map ma, mb;
    bool a_map = fuzz_as_map(in, w->transit, &ma), b_map = fuzz_as_map(out, w->transit, &mb);
    if (on == 1 && w->transit && json_is_null(in) && b_map) {
        /* Transit replaces a null on a token's way by a new map */
        struct fuzz_map empty = {0};
        fuzz_compare_maps(w, &empty, &mb);
        return;
    }
    if (a_map && b_map && !ma.obj == !mb.obj && ma.start == mb.start) {
        fuzz_compare_maps(w, &ma, &mb);
        return;
    }
    fuzz_where(w);
    if (json_is_array(in) && json_is_array(out) && !a_map) {
        FUZZ_CHECK(json_array_size(in) == json_array_size(out), "at %s: an array changed length (%zu -> %zu)",
                   w->where, json_array_size(in), json_array_size(out));
        FUZZ_CHECK(w->depth < FUZZ_MAX_DEPTH, "too deep");
        char idx[24];
        for (size_t i = 0; i < json_array_size(in); i++) {
            snprintf(idx, sizeof idx, "%zu", i);
            w->at[w->depth++] = idx;
            fuzz_compare(w, json_array_get(in, i), json_array_get(out, i));
            w->depth--;
        }
        return;
    }
    FUZZ_CHECK(json_equal(in, out), "at %s: a value that is not a token changed", w->where);
}

/* The value at path below root, stepping through JSON objects and arrays
 * and (transit) Transit maps; NULL when absent. */
static FUZZ_UNUSED json_t *fuzz_get(json_t *root, const struct fuzz_path *p, bool transit)
{
    json_t *node = root;
    for (int i = 0; node && i < p->n; i++) {
        struct fuzz_map m;
        if (fuzz_as_map(node, transit, &m)) {
            json_t *found = NULL;
            for (size_t k = 0; k < m.n && !found; k++) {
                json_t *v, *key = fuzz_map_key(&m, k, &v);
                if (json_is_string(key) && json_string_length(key) == strlen(p->tok[i]) &&
                    strcmp(json_string_value(key), p->tok[i]) == 0)
                    found = v;
                json_decref(key);
            }
            node = found;
        } else if (json_is_array(node)) {
            char *end;
            unsigned long k = strtoul(p->tok[i], &end, 10);
            node = *end || end == p->tok[i] ? NULL : json_array_get(node, k);
        } else {
            node = NULL;
        }
    }
    return node;
}

#endif
