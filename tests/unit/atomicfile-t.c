/* SPDX-License-Identifier: MIT */
/* Unit tests for reading and atomically replacing a file, by the public
 * contract: the whole file is read, a missing one is CR_ERR_CREDS_MISSING,
 * prepare reserves a 0600 temp file beside the target, commit replaces the
 * target keeping its mode, abort leaves nothing behind, and stale temp
 * files are removed. */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomicfile.h"
#include "tap.h"
#include "util.h"

static struct cr_err err;
static char dir[] = "/tmp/atomicfile-t.XXXXXX";

/* How many entries the directory holds besides . and .. */
static int entries(void)
{
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    if (d)
        closedir(d);
    return n;
}

static void put(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    chmod(path, mode);
}

int main(void)
{
    if (!mkdtemp(dir))
        return 1;
    char target[256], missing[256];
    snprintf(target, sizeof target, "%s/creds.json", dir);
    snprintf(missing, sizeof missing, "%s/none.json", dir);
    put(target, "{\"a\":1}\n", 0640);

    char *buf = NULL;
    size_t len = 0;
    struct stat sb;
    is_int(file_read(target, &buf, &len, &sb, &err), CR_OK, "file_read reads the file");
    ok(buf && len == 8 && strcmp(buf, "{\"a\":1}\n") == 0 && buf[len] == '\0', "whole, NUL-terminated");
    ok(S_ISREG(sb.st_mode) && sb.st_size == 8, "and gives its status");
    secret_free_n(buf, len);
    buf = NULL;
    is_int(file_read(missing, &buf, &len, &sb, &err), CR_ERR_CREDS_MISSING, "a missing file is CR_ERR_CREDS_MISSING");
    ok(strstr(err.msg, "none.json") != NULL, "naming it: %s", err.msg);

    struct atomic_file a;
    stat(target, &sb);
    is_int(atomic_prepare(&a, target, &sb, 4096, &err), CR_OK, "prepare reserves a temp file");
    is_int(entries(), 2, "beside the target");
    char tmp[512];
    snprintf(tmp, sizeof tmp, "%s/%s", a.dir, a.tmpname);
    struct stat tsb = {0};
    int lrc = lstat(tmp, &tsb);
    ok(lrc == 0 && (tsb.st_mode & 0077) == 0, "the temp file is private while written (%o)",
       (unsigned)(tsb.st_mode & 0777));
    ok(strstr(a.tmpname, ATOMIC_TMP_TAG) != NULL, "and named with %s", ATOMIC_TMP_TAG);
    char *rescue = NULL;
    is_int(atomic_commit(&a, "{\"a\":2}\n", 8, &rescue, &err), CR_OK, "commit replaces the target");
    ok(rescue == NULL, "with no rescue file");
    atomic_abort(&a);
    is_int(file_read(target, &buf, &len, &sb, &err), CR_OK, "the new content is read back");
    is_str(buf, "{\"a\":2}\n", "whole");
    secret_free_n(buf, len);
    is_int(sb.st_mode & 0777, 0640, "the target keeps its mode");
    is_int(entries(), 1, "no temp file is left");

    stat(target, &sb);
    is_int(atomic_prepare(&a, target, &sb, 16, &err), CR_OK, "prepared again");
    atomic_abort(&a);
    is_int(entries(), 1, "abort removes the temp file");
    is_int(file_read(target, &buf, &len, &sb, &err), CR_OK, "and the target is untouched");
    is_str(buf, "{\"a\":2}\n", "old content kept");
    secret_free_n(buf, len);

    char stale[512];
    snprintf(stale, sizeof stale, "%s/.creds.json" ATOMIC_TMP_TAG "abc123", dir);
    put(stale, "half", 0600);
    atomic_remove_stale(target);
    ok(access(stale, F_OK) != 0, "a crashed run's temp file is removed");
    is_int(entries(), 1, "and nothing else");

    unlink(target);
    rmdir(dir);
    return tap_done();
}
