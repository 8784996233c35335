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
const struct profile_tables profile_resolved = {.pool = ""};

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

/* The writes, one initialiser a line, and how many. */
static FILE *writes;
static size_t n_writes;

/* A write of string v (not NULL) to field (a member designator). */
static void put_str(const char *field, const char *v)
{
    fprintf(writes, "    {STR(%s), %zu},\n", field, pool_add(v));
    n_writes++;
}

/* A write of integer v to field; 0 is every field's start. */
static void put_int(const char *field, unsigned long long v)
{
    if (v) {
        fprintf(writes, "    {INT(%s), %lluu},\n", field, v);
        n_writes++;
    }
}

static unsigned long long scalar(const void *at, size_t size)
{
    switch (size) {
    case 1:
        return *(const uint8_t *)at;
    case 2:
        return *(const uint16_t *)at;
    case 4:
        return *(const uint32_t *)at;
    default:
        return *(const uint64_t *)at;
    }
}

static bool is_str_field(size_t off)
{
    for (size_t i = 0; i < profile_n_str_fields; i++)
        if (profile_str_fields[i].off == off)
            return true;
    return false;
}

/* The writes that make p (its name, its section's, at name_at in the pool). */
static void put_profile(const struct profile *p)
{
    char f[64];
    for (size_t i = 0; i < profile_n_str_fields; i++) {
        const char *v = *(char *const *)((const char *)p + profile_str_fields[i].off);
        if (v)
            put_str(profile_str_fields[i].field, v);
    }
    for (size_t i = 0; i < profile_n_keys; i++) {
        const struct profile_key *k = &profile_keys[i];
        if (k->field[0] && !is_str_field(k->off))
            put_int(k->field, scalar((const char *)p + k->off, k->size));
    }
    /* The lists; the locks as their lines, parsed when a refresh needs them
     * (profile_parse_locks). */
    for (size_t i = 0; i < p->n_files; i++) {
        snprintf(f, sizeof f, "files[%zu]", i);
        put_str(f, p->files[i]);
    }
    put_int("n_files", p->n_files);
    for (size_t i = 0; i < p->n_store; i++) {
        snprintf(f, sizeof f, "store[%zu].member", i);
        put_str(f, p->store[i].member);
        snprintf(f, sizeof f, "store[%zu].pointer", i);
        put_str(f, p->store[i].pointer);
    }
    put_int("n_store", p->n_store);
    for (size_t i = 0; i < p->n_lock_lines; i++) {
        snprintf(f, sizeof f, "lock_lines[%zu]", i);
        put_str(f, p->lock_lines[i]);
    }
    put_int("n_lock_lines", p->n_lock_lines);
}

int main(void)
{
    char *body = NULL, *heads = NULL;
    size_t body_len = 0, heads_len = 0;
    writes = open_memstream(&body, &body_len);
    FILE *h = open_memstream(&heads, &heads_len);
    if (!writes || !h)
        return 1;
    for (size_t i = 0; i < profile_builtin_ini()->n; i++) {
        struct profile *p;
        struct cr_err err;
        if (profile_resolve(NULL, NULL, profile_builtin_ini()->s[i].name, NULL, &p, &err) != CR_OK) {
            fprintf(stderr, "profiles-gen: [%s]: %s\n", profile_builtin_ini()->s[i].name, err.msg);
            return 1;
        }
        size_t first = n_writes;
        fprintf(writes, "    /* [%s] */\n", p->name);
        put_profile(p);
        fprintf(h, "    {%zu, %zu, %zu},\n", pool_add(p->name), first, n_writes - first);
        profile_free(p);
    }
    if (fclose(writes) != 0 || fclose(h) != 0)
        return 1;
    printf("/* Generated from src/profiles.builtin.conf by src/profiles_gen.c: do not edit. */\n"
           "#include \"config.h\"\n\n#include <stddef.h>\n\n#include \"profile.h\"\n#include \"profile_keys.h\"\n\n"
           "_Static_assert(sizeof(struct profile) <= UINT16_MAX, \"struct profile_write's offsets are 16 bits\");\n\n"
           "static const char pool[%zu] =\n", pool_len);
    for (size_t at = 0; at < pool_len; at += strlen(pool + at) + 1) {
        fputs("    \"", stdout);
        for (const char *c = pool + at; *c; c++) {
            if (*c == '"' || *c == '\\')
                putchar('\\');
            putchar(*c);
        }
        fputs(at + strlen(pool + at) + 1 < pool_len ? "\\0\"\n" : "\";\n", stdout);
    }
    printf("\n#define STR(field) offsetof(struct profile, field), 0\n"
           "#define INT(field) offsetof(struct profile, field), sizeof(((struct profile *)0)->field)\n\n"
           "static const struct profile_write writes[] = {\n%s};\n\n"
           "static const struct profile_packed profiles[] = {\n%s};\n\n"
           "const struct profile_tables profile_resolved = {pool, sizeof pool, writes, profiles, %zu};\n",
           body, heads, profile_builtin_ini()->n);
    free(body);
    free(heads);
    free(pool);
    return ferror(stdout) ? 1 : 0;
}
