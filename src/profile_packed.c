/* SPDX-License-Identifier: MIT */
/* The built-in profiles resolved at build time, as the run uses them:
 * written into a struct profile, their strings shared. See profile_keys.h. */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "profile.h"
#include "profile_keys.h"

bool profile_str_static(const char *s)
{
    return (uintptr_t)s - (uintptr_t)profile_resolved.pool < profile_resolved.pool_size;
}

void profile_unpack(const struct profile_tables *t, const struct profile_packed *r, struct profile *p)
{
    for (uint32_t i = r->first; i < r->first + r->n; i++) {
        const struct profile_write *w = &t->writes[i];
        char *at = (char *)p + w->off;
        if (w->size == 0) {
            const char *s = t->pool + w->value;
            memcpy(at, &s, sizeof s);
        } else if (w->size == 1) {
            *(uint8_t *)at = (uint8_t)w->value;
        } else if (w->size == 2) {
            *(uint16_t *)at = (uint16_t)w->value;
        } else if (w->size == 4) {
            *(uint32_t *)at = w->value;
        } else {
            *(uint64_t *)at = w->value;
        }
    }
}
