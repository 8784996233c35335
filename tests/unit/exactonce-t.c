/* SPDX-License-Identifier: MIT */
/* Unit tests for exactonce's pure part: which answers keep a spent marker
 * (the token may have been rotated) and which remove it (it was not). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exactonce.h"
#include "status.h"
#include "tap.h"

static struct state_answer answer(long http_status, bool maybe_spent)
{
    struct state_answer a;
    memset(&a, 0, sizeof a);
    a.http_status = http_status;
    a.maybe_spent = maybe_spent;
    return a;
}

int main(void)
{
    struct state_answer a = answer(200, false);
    ok(exactonce_keep_marker(&a, CR_OK, true), "a stored successor keeps the marker");
    ok(exactonce_keep_marker(&a, CR_ERR_CANT_WRITE, true), "so does one saved in the rescue file");
    ok(exactonce_keep_marker(&a, CR_ERR_BAD_RESPONSE, true), "and a rotation whose access token was unusable");
    ok(!exactonce_keep_marker(&a, CR_OK, false), "a 2xx that kept the same refresh token (no rotation) removes it");
    ok(!exactonce_keep_marker(&a, CR_ERR_BAD_RESPONSE, false), "a 2xx that brought no refresh token removes it");
    a = answer(400, false);
    ok(exactonce_keep_marker(&a, CR_ERR_REJECTED, false), "invalid_grant keeps it");
    ok(!exactonce_keep_marker(&a, CR_ERR_REQUEST_REFUSED, false), "another 4xx removes it");
    a = answer(401, false);
    ok(exactonce_keep_marker(&a, CR_ERR_REJECTED, false), "a 401 dead-token answer (Codex's reuse) keeps it");
    a = answer(429, false);
    ok(!exactonce_keep_marker(&a, CR_ERR_RATE_LIMITED, false), "429 removes it");
    a = answer(503, false);
    ok(!exactonce_keep_marker(&a, CR_ERR_UNREACHABLE, false), "5xx removes it");
    a = answer(302, false);
    ok(!exactonce_keep_marker(&a, CR_ERR_UNREACHABLE, false), "a redirect removes it");
    a = answer(0, false);
    ok(!exactonce_keep_marker(&a, CR_ERR_UNREACHABLE, false), "no connection removes it");
    a = answer(0, true);
    ok(exactonce_keep_marker(&a, CR_ERR_UNREACHABLE, false), "sent without an answer keeps it");
    a = answer(200, true);
    ok(exactonce_keep_marker(&a, CR_ERR_BAD_RESPONSE, false), "an answer cut off after sending keeps it");

    is_int(status_exit_code(CR_ERR_IN_FLIGHT, -1), 75, "a refresh in flight elsewhere is 75");
    is_int(status_exit_code(CR_ERR_IN_FLIGHT, 3), 75, "which -E does not replace");
    is_int(status_exit_code(CR_ERR_ALREADY_SENT, -1), 77, "a token already sent is 77");
    is_int(status_exit_code(CR_ERR_FS_UNSUPPORTED, -1), 78, "a lock-local filesystem is 78");

    /* exactonce_read: a plain read, and a missing file with no lock file fails at once */
    char dir[] = "/tmp/exactonce-t.XXXXXX";
    ok(mkdtemp(dir) != NULL, "a scratch directory");
    char path[64], lock[80];
    snprintf(path, sizeof path, "%s/c.json", dir);
    snprintf(lock, sizeof lock, "%s.credrun.lock", path);
    FILE *f = fopen(path, "w");
    fputs("{\"a\":1}", f);
    fclose(f);
    char *buf = NULL;
    size_t len = 0;
    struct stat sb;
    struct cr_err err;
    is_int(exactonce_read(path, lock, &buf, &len, &sb, &err), CR_OK, "an existing file is read");
    is_str(buf, "{\"a\":1}", "whole");
    free(buf);
    unlink(path);
    is_int(exactonce_read(path, lock, &buf, &len, &sb, &err), CR_ERR_CREDS_MISSING, "a missing file is 66");
    rmdir(dir);
    return tap_done();
}
