/* SPDX-License-Identifier: MIT */
/* ${VAR:-default} and ~ in location rules; see pathexpand.h. */
#include "config.h"

#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pathexpand.h"
#include "util.h"

#define MAX_DEPTH 8

static const char *home_dir(void)
{
    const char *home = getenv("HOME");
    if (!home || !*home) {
        struct passwd *pw = getpwuid(getuid());
        home = pw && pw->pw_dir ? pw->pw_dir : "/";
    }
    return home;
}

#define PATH_GUESS 256 /* most expanded rules fit: one allocation */

struct sbuf {
    char *s;
    size_t n, cap;
};

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        b->cap = (b->n + n + 1) * 2;
        b->s = xrealloc(b->s, b->cap);
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = '\0';
}

/* The close brace of the ${NAME:-default} whose default starts at d, or
 * NULL. */
static const char *default_end(const char *d, const char *end)
{
    int level = 1;
    for (const char *c = d; c < end; c++) {
        if (c[0] == '$' && c + 1 < end && c[1] == '{') {
            level++;
            c++;
        } else if (*c == '}' && --level == 0) {
            return c;
        }
    }
    return NULL;
}

/* Expand [s, end) into b: a ~ at its start is home, ${...} as in
 * pathexpand. 0, or -1 with err. */
static int expand(struct sbuf *b, const char *s, const char *end, int depth, struct cr_err *err)
{
    if (depth > MAX_DEPTH) {
        cr_fail(err, CR_ERR_PROFILES_CONF, "defaults nest too deep");
        return -1;
    }
    const char *p = s;
    if (p < end && *p == '~' && (p + 1 == end || p[1] == '/')) {
        const char *h = home_dir();
        sb_add(b, h, strlen(h));
        p++;
    }
    while (p < end) {
        if (p[0] != '$' || p + 1 >= end || p[1] != '{') {
            const char *q = p + 1;
            while (q < end && *q != '$')
                q++;
            sb_add(b, p, (size_t)(q - p));
            p = q;
            continue;
        }
        const char *name = p + 2, *q = name;
        while (q < end && (ascii_alnum((unsigned char)*q) || *q == '_'))
            q++;
        if (q == name || q >= end || (*q != '}' && !(*q == ':' && q + 1 < end && q[1] == '-'))) {
            cr_fail(err, CR_ERR_PROFILES_CONF, "malformed ${...}: use ${NAME} or ${NAME:-default}");
            return -1;
        }
        char var[128];
        if ((size_t)(q - name) >= sizeof var) {
            cr_fail(err, CR_ERR_PROFILES_CONF, "variable name too long");
            return -1;
        }
        memcpy(var, name, (size_t)(q - name));
        var[q - name] = '\0';
        const char *val = getenv(var);
        if (*q == '}') {
            if (val)
                sb_add(b, val, strlen(val));
            p = q + 1;
            continue;
        }
        const char *c = default_end(q + 2, end);
        if (!c) {
            cr_fail(err, CR_ERR_PROFILES_CONF, "unclosed ${");
            return -1;
        }
        if (val && *val)
            sb_add(b, val, strlen(val));
        else if (expand(b, q + 2, c, depth + 1, err) != 0)
            return -1;
        p = c + 1;
    }
    return 0;
}

int pathexpand(const char *rule, char **out, struct cr_err *err)
{
    struct sbuf b = {.s = xmalloc(PATH_GUESS), .cap = PATH_GUESS};
    b.s[0] = '\0';
    if (expand(&b, rule, rule + strlen(rule), 0, err) != 0) {
        free(b.s);
        *out = NULL;
        return -1;
    }
    *out = b.s;
    return 0;
}

char *pathexpand_conf(void)
{
    char *path;
    struct cr_err err;
    if (pathexpand("${XDG_CONFIG_HOME:-~/.config}/credrun/profiles.conf", &path, &err) != 0)
        abort(); /* a constant rule */
    return path;
}
