/* SPDX-License-Identifier: MIT */
/* Unit tests for the JSON pointer helpers: RFC 6901 token decoding, the
 * walk, space-separated words as an array, and dumping with or without a
 * final newline. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "jsonptr.h"
#include "tap.h"
#include "util.h"

static json_t *object_child(json_t *node, const char *key, size_t keylen)
{
    return json_is_object(node) ? json_object_getn(node, key, keylen) : NULL;
}

static char *tok(const char *s)
{
    return jsonptr_token(s, s + strlen(s));
}

int main(void)
{
    jsonptr_wipe_on_free();
    jsonptr_wipe_on_free(); /* idempotent */

    char *t = tok("a~1b~0c");
    is_str(t, "a/b~c", "~1 is '/' and ~0 is '~' (RFC 6901)");
    free(t);
    t = tok("~x~");
    is_str(t, "~x~", "any other '~' stands for itself");
    free(t);
    t = tok("");
    is_str(t, "", "an empty token");
    free(t);

    json_error_t je;
    json_t *root = json_loads("{\"a\":{\"b/c\":{\"d~e\":\"x\"}},\"\":1}", 0, &je);
    ok(root != NULL, "a document");
    ok(jsonptr_get(root, "", object_child) == root, "\"\" is the root itself");
    json_t *n = jsonptr_get(root, "/a/b~1c/d~0e", object_child);
    ok(json_is_string(n) && strcmp(json_string_value(n), "x") == 0, "escaped tokens walk the tree");
    ok(jsonptr_get(root, "/a/nope", object_child) == NULL, "a missing member is NULL");
    ok(jsonptr_get(root, "/a/b~1c/d~0e/deeper", object_child) == NULL, "below a string is NULL");
    ok(json_is_integer(jsonptr_get(root, "/", object_child)), "\"/\" is the member named \"\"");

    json_t *w = jsonptr_words("user:inference  user:profile", NULL);
    ok(json_is_array(w) && json_array_size(w) == 2, "space-separated words are an array");
    is_str(json_string_value(json_array_get(w, 1)), "user:profile", "in order");
    json_decref(w);

    char *out = NULL;
    size_t len = 0;
    struct cr_err err;
    json_t *small = json_pack("{s:i}", "k", 1);
    is_int(jsonptr_dump(small, JSON_COMPACT, true, &out, &len, &err), CR_OK, "dump");
    ok(out && len == strlen(out) && strcmp(out, "{\"k\":1}\n") == 0, "with the final newline asked for: %s", out);
    secret_free_n(out, len);
    is_int(jsonptr_dump(small, JSON_COMPACT, false, &out, &len, &err), CR_OK, "dump without");
    ok(out && strcmp(out, "{\"k\":1}") == 0, "and without it");
    secret_free_n(out, len);
    json_decref(small);
    json_decref(root);
    return tap_done();
}
