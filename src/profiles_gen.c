/* SPDX-License-Identifier: MIT */
/* Build-time generator: every built-in profile (src/profiles.builtin.conf,
 * as the tables of src/profiles_builtin.c) resolved by the run-time code,
 * inheritance and all, and written as C initialisers of struct profile, so
 * that no run applies their keys. Usage:
 *   src/profiles-gen > src/profiles_resolved.c
 * Generic over the key table (profile_keys, profile_str_fields): a new key
 * needs no change here; a new list kind does. tests/unit/profile-t.c checks
 * the result equals what the run-time path makes. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile.h"
#include "profile_keys.h"

/* This program resolves from the sections alone. */
const struct profile profile_resolved[] = {{.name = NULL}};
const size_t profile_n_resolved = 0;
bool profile_str_static(const char *s)
{
    (void)s;
    return false;
}

/* The pool: every string once, NUL-separated. */
static char *pool;
static size_t pool_len;

static size_t pool_add(const char *s)
{
    for (size_t at = 0; at < pool_len; at += strlen(pool + at) + 1)
        if (strcmp(pool + at, s) == 0)
            return at;
    size_t n = strlen(s) + 1, at = pool_len;
    pool = realloc(pool, pool_len + n);
    if (!pool)
        abort();
    memcpy(pool + at, s, n);
    pool_len += n;
    return at;
}

/* The initialiser of one string: S(offset) or NULL. */
static void put_str(FILE *out, const char *s)
{
    if (s)
        fprintf(out, "S(%zu)", pool_add(s));
    else
        fputs("NULL", out);
}

static long long scalar(const void *at, size_t size)
{
    switch (size) {
    case 1:
        return *(const int8_t *)at;
    case 2:
        return *(const int16_t *)at;
    case 4:
        return *(const int32_t *)at;
    default:
        return *(const int64_t *)at;
    }
}

static bool is_str_field(size_t off)
{
    for (size_t i = 0; i < profile_n_str_fields; i++)
        if (profile_str_fields[i].off == off)
            return true;
    return false;
}

static void put_profile(FILE *out, const struct profile *p)
{
    fputs("    {\n", out);
    for (size_t i = 0; i < profile_n_str_fields; i++) {
        const char *s = *(char *const *)((const char *)p + profile_str_fields[i].off);
        if (s) {
            fprintf(out, "        .%s = ", profile_str_fields[i].field);
            put_str(out, s);
            fputs(",\n", out);
        }
    }
    for (size_t i = 0; i < profile_n_keys; i++) {
        const struct profile_key *k = &profile_keys[i];
        if (k->field && !is_str_field(k->off))
            fprintf(out, "        .%s = %lld,\n", k->field, scalar((const char *)p + k->off, k->size));
    }
    if (p->n_files) {
        fputs("        .files = {", out);
        for (size_t i = 0; i < p->n_files; i++) {
            put_str(out, p->files[i]);
            fputs(", ", out);
        }
        fprintf(out, "},\n        .n_files = %zu,\n", p->n_files);
    }
    if (p->n_store) {
        fputs("        .store = {", out);
        for (size_t i = 0; i < p->n_store; i++) {
            fputs("{", out);
            put_str(out, p->store[i].member);
            fputs(", ", out);
            put_str(out, p->store[i].pointer);
            fputs("}, ", out);
        }
        fprintf(out, "},\n        .n_store = %zu,\n", p->n_store);
    }
    if (p->n_lock_lines) { /* parsed when a refresh needs them: profile_parse_locks */
        fputs("        .lock_lines = {", out);
        for (size_t i = 0; i < p->n_lock_lines; i++) {
            put_str(out, p->lock_lines[i]);
            fputs(", ", out);
        }
        fprintf(out, "},\n        .n_lock_lines = %zu,\n", p->n_lock_lines);
    }
    fputs("    },\n", out);
}

int main(void)
{
    char *body = NULL;
    size_t body_len = 0;
    FILE *b = open_memstream(&body, &body_len);
    if (!b)
        return 1;
    for (size_t i = 0; i < profile_builtin.n; i++) {
        struct profile *p;
        struct cr_err err;
        if (profile_resolve(NULL, NULL, profile_builtin.s[i].name, NULL, &p, &err) != CR_OK) {
            fprintf(stderr, "profiles-gen: [%s]: %s\n", profile_builtin.s[i].name, err.msg);
            return 1;
        }
        put_profile(b, p);
        profile_free(p);
    }
    if (fclose(b) != 0)
        return 1;
    printf("/* Generated from src/profiles.builtin.conf by src/profiles_gen.c: do not edit. */\n"
           "#include \"config.h\"\n\n#include <stdint.h>\n\n#include \"profile.h\"\n#include \"profile_keys.h\"\n\n"
           "static const char pool[%zu] =\n", pool_len ? pool_len : 1);
    for (size_t at = 0; at < pool_len; at += strlen(pool + at) + 1) {
        fputs("    \"", stdout);
        for (const char *c = pool + at; *c; c++) {
            if (*c == '"' || *c == '\\')
                putchar('\\');
            putchar(*c);
        }
        fputs(at + strlen(pool + at) + 1 < pool_len ? "\\0\"\n" : "\";\n", stdout);
    }
    if (!pool_len)
        fputs("    \"\";\n", stdout);
    printf("#define S(at) ((char *)pool + (at))\n\nconst struct profile profile_resolved[] = {\n%s};\n\n"
           "const size_t profile_n_resolved = %zu;\n\n"
           "bool profile_str_static(const char *s)\n{\n"
           "    return (uintptr_t)s - (uintptr_t)pool < sizeof pool;\n}\n",
           body, profile_builtin.n);
    free(body);
    free(pool);
    return ferror(stdout) ? 1 : 0;
}
