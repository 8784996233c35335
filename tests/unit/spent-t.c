/* SPDX-License-Identifier: MIT */
/* Unit tests for spent: the marker directory's rules, O_EXCL records, ages
 * on the filesystem's clock, removal, classification and pruning. */
#include "config.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sha256.h"
#include "spent.h"
#include "status.h"
#include "tap.h"

static char tmp[128], creds[256], sdpath[512];

/* Set the mtime of the marker for token to now - age seconds. */
static int age_marker(const char *token, double age)
{
    char name[SHA256_HEX], path[PATH_MAX];
    spent_name(token, name);
    snprintf(path, sizeof path, "%s/%s", sdpath, name);
    struct timespec t[2];
    clock_gettime(CLOCK_REALTIME, &t[0]);
    t[0].tv_sec -= (time_t)age;
    t[1] = t[0];
    return utimensat(AT_FDCWD, path, t, AT_SYMLINK_NOFOLLOW);
}

static int marker_exists(const char *token)
{
    char name[SHA256_HEX], path[PATH_MAX];
    struct stat st;
    spent_name(token, name);
    snprintf(path, sizeof path, "%s/%s", sdpath, name);
    return lstat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0600;
}

static void rm_tree(void)
{
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", sdpath);
    if (system(cmd) != 0)
        printf("# could not remove %s\n", sdpath);
}

static void test_names(void)
{
    char name[SHA256_HEX];
    spent_name("abc", name);
    is_str(name, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "a marker is named by SHA-256 in hex");
    char *p = spent_dir_path("/x/.credentials.json");
    is_str(p, "/x/.credentials.json.credrun.spent", "the directory sits beside the credentials");
    free(p);
}

static void test_open(void)
{
    struct spent_dir sd;
    struct cr_err err;
    struct stat st;
    cr_clear(&err);
    is_int(spent_open(&sd, creds, NULL, &err), CR_OK, "the marker directory is created when missing");
    ok(lstat(sdpath, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0700, "as a directory, mode 0700");
    spent_close(&sd);
    ok(sd.fd == -1 && sd.path == NULL, "spent_close leaves it closed");
    spent_close(&sd);
    cr_clear(&err);
    is_int(spent_open(&sd, creds, NULL, &err), CR_OK, "an existing directory opens");
    spent_close(&sd);

    chmod(sdpath, 0777);
    cr_clear(&err);
    is_int(spent_open(&sd, creds, NULL, &err), CR_ERR_CANT_WRITE, "a directory writable by others is refused (73)");
    ok(strstr(err.msg, "chmod go-w") && strstr(err.msg, "not spent"), "saying what to run: %s", err.msg);
    chmod(sdpath, 0700);
    rm_tree();

    char target[PATH_MAX];
    snprintf(target, sizeof target, "%s/elsewhere", tmp);
    mkdir(target, 0700);
    if (symlink(target, sdpath) != 0)
        printf("# symlink failed\n");
    cr_clear(&err);
    is_int(spent_open(&sd, creds, NULL, &err), CR_ERR_CANT_WRITE, "a symbolic link in its place is refused");
    ok(strstr(err.msg, "not a link") != NULL, "saying it must not be a link: %s", err.msg);
    unlink(sdpath);
    rmdir(target);

    int fd = open(sdpath, O_CREAT | O_WRONLY, 0600);
    close(fd);
    cr_clear(&err);
    is_int(spent_open(&sd, creds, NULL, &err), CR_ERR_CANT_WRITE, "a plain file in its place is refused");
    unlink(sdpath);

    if (geteuid() == 0) {
        struct stat owner = {.st_uid = 65534, .st_gid = 65534};
        cr_clear(&err);
        is_int(spent_open(&sd, creds, &owner, &err), CR_OK, "root makes the directory for another user's credentials");
        ok(lstat(sdpath, &st) == 0 && st.st_uid == 65534 && st.st_gid == 65534, "owned by the credentials' owner");
        spent_close(&sd);
        cr_clear(&err);
        is_int(spent_open(&sd, creds, &owner, &err), CR_OK, "root uses a directory owned by the credentials' owner");
        struct spent_mark m;
        struct timespec now;
        spent_record(&sd, "rt-owned", &m, &err);
        spent_now(&sd, &now, &err);
        char marker[4096], clock[4096];
        snprintf(marker, sizeof marker, "%s/%s", sdpath, m.name);
        snprintf(clock, sizeof clock, "%s/%s", sdpath, SPENT_CLOCK_NAME);
        struct stat cst;
        ok(lstat(marker, &st) == 0 && st.st_uid == 65534 && st.st_gid == 65534 && lstat(clock, &cst) == 0 &&
               cst.st_uid == 65534 && cst.st_gid == 65534,
           "the marker and the clock file root makes there are the owner's too");
        spent_close(&sd);
        cr_clear(&err);
        is_int(spent_open(&sd, creds, NULL, &err), CR_ERR_CANT_WRITE, "but not one owned by a third user");
        ok(strstr(err.msg, "belongs to user 65534") != NULL, "saying whose it is: %s", err.msg);
        rm_tree();
    } else {
        for (int i = 0; i < 6; i++)
            ok(1, "# skip not root: ownership by the credentials' owner not tested");
    }

    char ro[256], rocreds[PATH_MAX];
    snprintf(ro, sizeof ro, "%s/ro", tmp);
    snprintf(rocreds, sizeof rocreds, "%s/creds.json", ro);
    mkdir(ro, 0500);
    if (geteuid() != 0) {
        cr_clear(&err);
        is_int(spent_open(&sd, rocreds, NULL, &err), CR_ERR_CANT_WRITE, "a read-only credentials directory is 73");
        ok(strstr(err.msg, "not spent") != NULL, "before spending: %s", err.msg);
    } else {
        ok(1, "# skip root writes to read-only directories");
        ok(1, "# skip root");
    }
    rmdir(ro);
}

static void test_record(void)
{
    struct spent_dir sd;
    struct spent_mark m;
    struct cr_err err;
    cr_clear(&err);
    if (spent_open(&sd, creds, NULL, &err) != CR_OK) {
        ok(0, "spent_open: %s", err.msg);
        return;
    }
    is_int(spent_record(&sd, "rt-1", &m, &err), CR_OK, "the first record of a token succeeds");
    is_int(m.outcome, SPENT_CREATED, "and creates its marker");
    ok(marker_exists("rt-1"), "a regular file, mode 0600, named by the hash");

    char path[PATH_MAX], buf[256] = "";
    snprintf(path, sizeof path, "%s/%s", sdpath, m.name);
    FILE *f = fopen(path, "r");
    if (f) {
        if (!fgets(buf, sizeof buf, f))
            buf[0] = '\0';
        fclose(f);
    }
    ok(strstr(buf, " pid ") != NULL && strstr(buf, "rt-1") == NULL, "it names its maker, never the token: %s", buf);

    is_int(spent_record(&sd, "rt-1", &m, &err), CR_OK, "a second record of the same token succeeds");
    is_int(m.outcome, SPENT_EXISTS, "and finds the marker there");
    ok(m.age_s > -5 && m.age_s < 5, "just made: age %.3f s", m.age_s);
    ok(strstr(m.owner, " pid ") != NULL, "with its maker: %s", m.owner);
    is_int(spent_classify(m.age_s, 10), SPENT_IN_FLIGHT, "a fresh marker is in flight");

    ok(age_marker("rt-1", 3600) == 0, "the marker is aged an hour");
    is_int(spent_record(&sd, "rt-1", &m, &err), CR_OK, "recording it again");
    ok(m.age_s > 3590 && m.age_s < 3610, "reports an age of an hour: %.1f s", m.age_s);
    is_int(spent_classify(m.age_s, 10 + 30), SPENT_OLD, "and that is old");

    bool exists;
    double age;
    is_int(spent_age(&sd, "rt-1", &exists, &age, &err), CR_OK, "spent_age reads a marker");
    ok(exists && age > 3590, "there, an hour old");
    is_int(spent_age(&sd, "rt-other", &exists, &age, &err), CR_OK, "spent_age of an unknown token");
    ok(!exists, "is not there");

    is_int(spent_remove(&sd, "rt-1", &err), CR_OK, "a marker is removed");
    ok(!marker_exists("rt-1"), "and gone");
    is_int(spent_remove(&sd, "rt-1", &err), CR_OK, "removing it again is fine");
    is_int(spent_record(&sd, "rt-1", &m, &err), CR_OK, "a removed token can be recorded again");
    is_int(m.outcome, SPENT_CREATED, "by a new create");

    /* a planted symbolic link with a marker's name is not followed */
    char name[SHA256_HEX], lnk[PATH_MAX], victim[PATH_MAX];
    spent_name("rt-link", name);
    snprintf(lnk, sizeof lnk, "%s/%s", sdpath, name);
    snprintf(victim, sizeof victim, "%s/victim", tmp);
    if (symlink(victim, lnk) != 0)
        printf("# symlink failed\n");
    is_int(spent_record(&sd, "rt-link", &m, &err), CR_OK, "a link with a marker's name");
    is_int(m.outcome, SPENT_EXISTS, "counts as the marker, never followed");
    ok(access(victim, F_OK) != 0, "nothing is created through it");
    unlink(lnk);

    spent_close(&sd);
}

static void test_race(void)
{
    struct spent_dir sd;
    struct cr_err err;
    cr_clear(&err);
    if (spent_open(&sd, creds, NULL, &err) != CR_OK) {
        ok(0, "spent_open: %s", err.msg);
        return;
    }
    int created = 0, existed = 0, failed = 0;
    for (int round = 0; round < 20; round++) {
        char tok[32];
        snprintf(tok, sizeof tok, "race-%d", round);
        int go[2];
        if (pipe(go) != 0)
            break;
        pid_t kids[3];
        fflush(stdout); /* a child must not print the parent's buffered lines again */
        for (int k = 0; k < 3; k++) {
            kids[k] = fork();
            if (kids[k] == 0) {
                char c;
                close(go[1]);
                if (read(go[0], &c, 1) != 1)
                    _exit(3);
                struct cr_err e2;
                struct spent_mark m2;
                cr_clear(&e2);
                if (spent_record(&sd, tok, &m2, &e2) != CR_OK)
                    _exit(2);
                _exit(m2.outcome == SPENT_CREATED ? 0 : 1);
            }
        }
        close(go[0]);
        if (write(go[1], "ggg", 3) != 3)
            failed++;
        close(go[1]);
        for (int k = 0; k < 3; k++) {
            int st;
            waitpid(kids[k], &st, 0);
            int code = WIFEXITED(st) ? WEXITSTATUS(st) : 9;
            created += code == 0;
            existed += code == 1;
            failed += code > 1;
        }
    }
    is_int(created, 20, "3 processes racing for each of 20 tokens: exactly one creates each marker");
    is_int(existed, 40, "the other two find it");
    is_int(failed, 0, "none fails");
    spent_close(&sd);
}

static void test_prune(void)
{
    struct spent_dir sd;
    struct spent_mark m;
    struct cr_err err;
    rm_tree();
    cr_clear(&err);
    if (spent_open(&sd, creds, NULL, &err) != CR_OK) {
        ok(0, "spent_open: %s", err.msg);
        return;
    }
    spent_record(&sd, "old-1", &m, &err);
    spent_record(&sd, "old-2", &m, &err);
    spent_record(&sd, "young", &m, &err);
    age_marker("old-1", 31 * 86400);
    age_marker("old-2", 40 * 86400);
    age_marker("young", 29 * 86400);
    /* an old file that is not a marker stays */
    char other[PATH_MAX];
    snprintf(other, sizeof other, "%s/notes.txt", sdpath);
    int fd = open(other, O_CREAT | O_WRONLY, 0600);
    close(fd);
    struct timespec t[2] = {{.tv_sec = 1000000000}, {.tv_sec = 1000000000}};
    utimensat(AT_FDCWD, other, t, 0);

    unsigned removed = 99;
    is_int(spent_prune(&sd, SPENT_PRUNE_AGE_S, &removed, &err), CR_OK, "pruning succeeds");
    is_int(removed, 2, "two markers older than 30 days are pruned");
    ok(!marker_exists("old-1") && !marker_exists("old-2"), "they are gone");
    ok(marker_exists("young"), "a 29-day-old marker stays");
    ok(access(other, F_OK) == 0, "a file that is not a marker stays");
    char clk[PATH_MAX];
    snprintf(clk, sizeof clk, "%s/%s", sdpath, SPENT_CLOCK_NAME);
    ok(access(clk, F_OK) == 0, "the clock file stays");
    is_int(spent_prune(&sd, SPENT_PRUNE_AGE_S, &removed, &err), CR_OK, "pruning again");
    is_int(removed, 0, "removes nothing more");
    unlink(other);
    spent_close(&sd);
}

static void test_classify(void)
{
    is_int(spent_classify(0, 40), SPENT_IN_FLIGHT, "age 0 is in flight");
    is_int(spent_classify(39.9, 40), SPENT_IN_FLIGHT, "just under the bound is in flight");
    is_int(spent_classify(40, 40), SPENT_OLD, "the bound itself is old");
    is_int(spent_classify(-3600, 40), SPENT_IN_FLIGHT, "a marker from the future is in flight: wait, never send");
}

static void test_now(void)
{
    struct spent_dir sd;
    struct cr_err err;
    struct timespec fs, local;
    cr_clear(&err);
    if (spent_open(&sd, creds, NULL, &err) != CR_OK) {
        ok(0, "spent_open: %s", err.msg);
        return;
    }
    is_int(spent_now(&sd, &fs, &err), CR_OK, "the filesystem's clock can be read");
    clock_gettime(CLOCK_REALTIME, &local);
    ok(llabs((long long)(local.tv_sec - fs.tv_sec)) <= 2, "on a local filesystem it is this machine's clock");
    spent_close(&sd);
}

int main(void)
{
    /* SPENT_T_DIR: run in another filesystem (tests/85-gluster.bats runs this on GlusterFS) */
    const char *base = getenv("SPENT_T_DIR");
    char tmpl[96];
    snprintf(tmpl, sizeof tmpl, "%s/spent-t.XXXXXX", base && *base && strlen(base) < 64 ? base : "/tmp");
    if (!mkdtemp(tmpl)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(tmp, sizeof tmp, "%s", tmpl);
    snprintf(creds, sizeof creds, "%s/.credentials.json", tmp);
    snprintf(sdpath, sizeof sdpath, "%s%s", creds, SPENT_SUFFIX);
    test_names();
    test_open();
    test_record();
    test_race();
    test_classify();
    test_now();
    test_prune();
    rm_tree();
    rmdir(tmp);
    return tap_done();
}
