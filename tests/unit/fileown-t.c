/* SPDX-License-Identifier: MIT */
/* Unit tests for fileown: modes, trust, the refusal of files anyone may
 * write, and the plain words a message may quote. */
#include "config.h"

#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileown.h"
#include "oauth.h"
#include "status.h"
#include "tap.h"
#include "util.h"

static struct stat with_mode(mode_t mode)
{
    struct stat st;
    memset(&st, 0, sizeof st);
    st.st_mode = mode;
    return st;
}

int main(void)
{
    struct stat d = with_mode(S_IFDIR | 0755);
    is_int(fileown_mode(FILEOWN_LOCK_MODE, &d), 0644, "the lock file is 0644 in an open directory");
    d = with_mode(S_IFDIR | 0750);
    is_int(fileown_mode(FILEOWN_LOCK_MODE, &d), 0640, "0640 when others cannot enter the directory");
    d = with_mode(S_IFDIR | 0700);
    is_int(fileown_mode(FILEOWN_LOCK_MODE, &d), 0600, "0600 in a private directory");
    d = with_mode(S_IFDIR | 0711);
    is_int(fileown_mode(0600, &d), 0600, "never looser than asked");

    struct stat creds = with_mode(S_IFREG | 0600), f = with_mode(S_IFREG | 0600);
    creds.st_uid = geteuid() + 1;
    creds.st_gid = 4242;
    f.st_uid = geteuid();
    ok(fileown_trusted(&f, &creds), "a file of this user is trusted");
    f.st_uid = creds.st_uid;
    ok(fileown_trusted(&f, &creds), "so is one of the credentials' owner");
    f.st_uid = geteuid() + 2;
    f.st_gid = 4242;
    ok(!fileown_trusted(&f, &creds), "a third user's is not, in the credentials' group or not");
    creds.st_mode |= S_IWGRP;
    ok(fileown_trusted(&f, &creds), "unless the group may write the credentials anyway");
    f.st_gid = 4243;
    ok(!fileown_trusted(&f, &creds), "and not from another group");

    struct cr_err err;
    f = with_mode(S_IFREG | 0660);
    ok(fileown_check_mode("state file", "/x/s", &f, &err) == CR_OK, "a group-writable file is accepted");
    f = with_mode(S_IFREG | 0602);
    ok(fileown_check_mode("state file", "/x/s", &f, &err) == CR_ERR_UNSAFE_FILE, "a world-writable one is refused");
    is_str(err.msg, "state file /x/s is writable by anyone, so credrun does not trust it: run chmod o-w /x/s",
           "saying what to run");
    is_int(status_exit_code(CR_ERR_UNSAFE_FILE, -1), 78, "exit 78");

    ok(is_plain_word("invalid_grant"), "an OAuth error code is a plain word");
    ok(is_plain_word("access-pointer") && is_plain_word("eca/openai"), "so are keys and profile names");
    ok(!is_plain_word("rt-SHORTSECRET12"), "a token is not");
    ok(!is_plain_word("a1b2c3d4e5f6"), "nor is hex");
    ok(!is_plain_word("") && !is_plain_word("-x") && !is_plain_word("a b"), "nor an empty, odd or spaced word");
    ok(!is_plain_word("abcdefghijabcdefghijabcdefghijabcdefghija"), "nor one longer than 40");

    struct oauth_response r;
    static const char body[] = "{\"error\":\"rt-SHORTSECRET12\"}";
    enum cr_status st = oauth_parse_response_shaped(400, body, sizeof body - 1, NULL, &r, &err);
    ok(st == CR_ERR_REQUEST_REFUSED && !strstr(err.msg, "SHORTSEC"), "an answer's odd error code is not quoted: %s",
       err.msg);
    oauth_response_free(&r);
    static const char grant[] = "{\"error\":\"invalid_grant\"}";
    st = oauth_parse_response_shaped(400, grant, sizeof grant - 1, NULL, &r, &err);
    ok(st == CR_ERR_REJECTED && strstr(err.msg, "invalid_grant"), "a plain one is: %s", err.msg);
    oauth_response_free(&r);
    return tap_done();
}
