/* SPDX-License-Identifier: MIT */
/* The round-trip targets' first step, as the refresh path takes it: before
 * a refresh token is spent, refresh.c's check_before_spending() calls
 * creds_check_store() on the file as loaded. The contract (creds.h, issue
 * 11 item 1) the targets hold it to:
 *   - it passes: the store of the real answer MUST then succeed and read
 *     back (the target checks that);
 *   - it refuses: with CR_ERR_CANNOT_PLACE and a message naming one of the
 *     pointers, and it wrote nothing: the document serializes byte for byte
 *     as before and the tokens read are unchanged (nothing was spent, so
 *     nothing may be stored either). */
#ifndef CREDRUN_FUZZ_STORE_H
#define CREDRUN_FUZZ_STORE_H

#include "creds.h"
#include "fuzz.h"
#include "util.h"

/* ---- the module's API, in one place --------------------------------------- */

static enum cr_status fuzz_check_store_call(const struct creds *c, struct cr_err *err)
{
    return creds_check_store(c, err);
}

/* c's document as its format writes it (free it). */
static char *fuzz_dump(const struct creds *c, size_t *len)
{
    struct cr_err err;
    char *out = NULL;
    enum cr_status st = c->format->dump(c->doc, &out, len, &err);
    FUZZ_CHECK(st == CR_OK, "a document that loaded does not serialize (status %d): %s", (int)st, err.msg);
    return out;
}

/* ---- the oracle ----------------------------------------------------------- */

static bool fuzz_same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Run the pre-spend check on c (as loaded, before creds_update). True when
 * it passed; false when it refused as the contract says (else abort), with
 * *err saying why. ptrs (n, NULL ones skipped) are the pointers the message
 * may name. */
static FUZZ_UNUSED bool fuzz_check_store(const struct creds *c, const char *const *ptrs, size_t n, struct cr_err *err_out)
{
    size_t len0, len1;
    char *before = fuzz_dump(c, &len0);
    struct tokens t0 = c->t;
    struct cr_err err;
    cr_clear(&err);
    enum cr_status st = fuzz_check_store_call(c, &err);
    char *after = fuzz_dump(c, &len1);
    FUZZ_CHECK(len0 == len1 && memcmp(before, after, len0) == 0,
               "the pre-spend check changed the document (status %d): before %.*s, after %.*s", (int)st, (int)len0,
               before, (int)len1, after);
    FUZZ_CHECK(fuzz_same_str(t0.access, c->t.access) && fuzz_same_str(t0.refresh, c->t.refresh) &&
                   t0.expires_ms == c->t.expires_ms && fuzz_same_str(t0.scope, c->t.scope),
               "the pre-spend check changed the tokens read");
    secret_free_n(before, len0);
    secret_free_n(after, len1);
    if (st == CR_OK)
        return true;
    FUZZ_CHECK(st == CR_ERR_CANNOT_PLACE && err.status == st, "the pre-spend check failed with status %d: %s",
               (int)st, err.msg);
    bool named = false;
    for (size_t i = 0; i < n && !named; i++)
        named = ptrs[i] && strstr(err.msg, ptrs[i]);
    FUZZ_CHECK(named, "the pre-spend check's refusal names no pointer: %s", err.msg);
    *err_out = err;
    return false;
}

/* A refusal err saying that ptr names nothing in the file: the oracle's own
 * reader must find nothing at path in the input tree in either. */
static FUZZ_UNUSED void fuzz_check_names_nothing(const struct cr_err *err, json_t *in, const char *ptr,
                                                 const struct fuzz_path *path, bool transit)
{
    static const char says[] = " names nothing in the file";
    size_t n = strlen(ptr);
    if (strncmp(err->msg, ptr, n) == 0 && strncmp(err->msg + n, says, sizeof says - 1) == 0)
        FUZZ_CHECK(!fuzz_get(in, path, transit), "refused: '%s', but the file holds a value there", err->msg);
}

#endif
