/* SPDX-License-Identifier: MIT */
/* The INI tokenizer of profiles.conf; see ini.h. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "ini.h"
#include "util.h"

void ini_free(struct ini *ini)
{
    if (!ini)
        return;
    for (size_t i = 0; i < ini->n; i++)
        free((void *)ini->s[i].e);
    free((void *)ini->s);
    free(ini->buf);
    memset(ini, 0, sizeof *ini);
}

bool ini_name_char(int ch)
{
    return ascii_alnum(ch) || ch == '-' || ch == '_' || ch == '.';
}

bool ini_section_name_ok(const char *s)
{
    const char *slash = strchr(s, '/');
    if (slash && strchr(slash + 1, '/'))
        return false;
    size_t part = 0;
    for (const char *p = s;; p++) {
        if (*p == '/' || !*p) {
            if (part == 0)
                return false;
            if (!*p)
                return true;
            part = 0;
        } else if (!ini_name_char((unsigned char)*p)) {
            return false;
        } else {
            part++;
        }
    }
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    char *e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
        *--e = '\0';
    return s;
}

const struct ini_section *ini_find(const struct ini *ini, const char *name)
{
    for (size_t i = 0; ini && i < ini->n; i++)
        if (strcmp(ini->s[i].name, name) == 0)
            return &ini->s[i];
    return NULL;
}

/* The parser's growing arrays, which ini then shows read-only. */
struct building {
    struct ini_section *s;
    size_t cap;
    size_t ecap; /* of the last section's entries */
};

static enum cr_status header(struct ini *ini, struct building *b, char *l, int line, struct cr_err *err)
{
    char *close = strchr(l, ']');
    if (!close || *trim(close + 1))
        return cr_fail(err, CR_ERR_PROFILES_CONF, "%s:%d: a section header is [NAME] alone on its line", ini->origin,
                       line);
    *close = '\0';
    char *name = trim(l + 1);
    if (!ini_section_name_ok(name))
        return cr_fail(err, CR_ERR_PROFILES_CONF,
                       "%s:%d: bad profile name: use letters, digits, '-', '_', '.' (and one '/' before a "
                       "provider)",
                       ini->origin, line);
    const struct ini_section *dup = ini_find(ini, name);
    if (dup)
        return cr_fail(err, CR_ERR_PROFILES_CONF, "%s:%d: profile [%s] is already defined at line %d", ini->origin,
                       line, is_plain_word(name) ? name : "...", dup->line);
    if (ini->n == b->cap) {
        b->cap = b->cap ? 2 * b->cap : 8;
        b->s = xrealloc(b->s, b->cap * sizeof *b->s);
        ini->s = b->s;
    }
    b->s[ini->n++] = (struct ini_section){.name = name, .line = line};
    b->ecap = 0;
    return CR_OK;
}

static enum cr_status entry(struct ini *ini, struct building *b, char *l, int line, struct cr_err *err)
{
    char *eq = strchr(l, '=');
    if (!eq)
        return cr_fail(err, CR_ERR_PROFILES_CONF, "%s:%d: expected KEY = VALUE or [NAME]", ini->origin, line);
    if (ini->n == 0)
        return cr_fail(err, CR_ERR_PROFILES_CONF, "%s:%d: KEY = VALUE before any [NAME] section", ini->origin, line);
    *eq = '\0';
    struct ini_section *cur = &b->s[ini->n - 1];
    struct ini_entry *e = (struct ini_entry *)cur->e;
    if (cur->n == b->ecap) {
        b->ecap = b->ecap ? 2 * b->ecap : 16;
        e = xrealloc(e, b->ecap * sizeof *e);
        cur->e = e;
    }
    e[cur->n++] = (struct ini_entry){.key = trim(l), .value = trim(eq + 1), .line = line};
    return CR_OK;
}

enum cr_status ini_parse(const char *text, const char *origin, struct ini *ini, struct cr_err *err)
{
    memset(ini, 0, sizeof *ini);
    ini->buf = xstrdup(text);
    ini->origin = origin;
    struct building b = {0};
    int line = 0;
    for (char *p = ini->buf, *next; p; p = next) {
        line++;
        next = strchr(p, '\n');
        if (next)
            *next++ = '\0';
        char *l = trim(p);
        if (!*l || *l == '#' || *l == ';')
            continue;
        enum cr_status st = *l == '[' ? header(ini, &b, l, line, err) : entry(ini, &b, l, line, err);
        if (st != CR_OK) {
            ini_free(ini);
            return st;
        }
    }
    return CR_OK;
}
