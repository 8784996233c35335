/* SPDX-License-Identifier: MIT */
/* Unit tests for netfs: mountinfo parsing (escapes, optional fields), the
 * longest mount point that holds a path, and each filesystem's kind. */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "netfs.h"
#include "status.h"
#include "tap.h"

static const char mountinfo[] =
    "22 1 253:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw,errors=remount-ro\n"
    "23 22 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw\n"
    "30 22 0:40 / /mnt/gv rw,relatime shared:20 master:3 - fuse.glusterfs localhost:gv0 "
    "rw,user_id=0,group_id=0,default_permissions,allow_other,max_read=131072\n"
    "31 22 0:41 / /mnt/gv2 rw,relatime - fuse.glusterfs localhost:gv0 rw,user_id=0\n"
    "32 22 0:42 / /mnt/my\\040share rw,relatime - nfs4 srv:/export\\040x rw,vers=4.2,local_lock=none\n"
    "33 22 0:43 / /mnt/nolock rw - nfs srv:/e rw,vers=3,nolock,local_lock=all\n"
    "34 22 0:44 / /home/u/remote rw - fuse.sshfs u@h:/home/u rw,user_id=1000\n"
    "35 22 0:45 / /mnt/stack rw - tmpfs tmpfs rw\n"
    "36 22 0:46 / /mnt/stack rw - ceph 10.0.0.1:/ rw,name=admin\n"
    "37 22 0:47 /sub /mnt/back\\134slash rw - cifs //s/x rw,nobrl\n"
    "not a mountinfo line\n"
    "38 22 0:48 / /mnt/tab\\011x rw - fuse.somethingnew src rw\n";

static char *write_mountinfo(const char *dir)
{
    static char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/mountinfo", dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return NULL;
    fputs(mountinfo, f);
    fclose(f);
    return path;
}

/* The kind netfs_find reports for dir in the sample, or -1 on error; its mount point in mp. */
static int kind_of(const char *mi, const char *dir, char *mp, size_t n)
{
    struct netfs_mount m;
    struct cr_err err;
    cr_clear(&err);
    if (netfs_find(mi, dir, &m, &err) != CR_OK)
        return -1;
    snprintf(mp, n, "%s", m.mount_point);
    return (int)m.kind;
}

static void test_parse(void)
{
    char line[] = "32 22 0:42 / /mnt/my\\040share rw,relatime shared:7 master:1 - nfs4 srv:/export\\040x "
                  "rw,vers=4.2\n";
    struct netfs_entry e;
    is_int(netfs_parse_line(line, &e), 0, "a mountinfo line with optional fields parses");
    is_str(e.mount_point, "/mnt/my share", "\\040 in a mount point is a space");
    is_str(e.fstype, "nfs4", "the type follows the lone -");
    is_str(e.source, "srv:/export x", "the source is unescaped too");
    is_str(e.super_opts, "rw,vers=4.2", "the superblock options are the last field, without the newline");

    char tab[] = "1 0 0:1 / /a\\011b\\012c\\134d rw - tmpfs t rw";
    is_int(netfs_parse_line(tab, &e), 0, "escaped tab, newline and backslash parse");
    is_str(e.mount_point, "/a\tb\nc\\d", "\\011, \\012 and \\134 are unescaped");

    char odd[] = "1 0 0:1 / /a\\x\\09 rw - tmpfs t rw";
    is_int(netfs_parse_line(odd, &e), 0, "a backslash without three octal digits parses");
    is_str(e.mount_point, "/a\\x\\09", "and stays as it is");

    char nosep[] = "1 0 0:1 / /a rw tmpfs t rw";
    is_int(netfs_parse_line(nosep, &e), -1, "a line without the - separator is refused");
    char shortl[] = "1 0 0:1 /";
    is_int(netfs_parse_line(shortl, &e), -1, "a short line is refused");
    char empty[] = "";
    is_int(netfs_parse_line(empty, &e), -1, "an empty line is refused");
    char nofs[] = "1 0 0:1 / /a rw -";
    is_int(netfs_parse_line(nofs, &e), -1, "a line without a type after - is refused");
    char noopts[] = "1 0 0:1 / /a rw - tmpfs t";
    is_int(netfs_parse_line(noopts, &e), 0, "a line without superblock options parses");
    is_str(e.super_opts, "", "its options are empty");
}

static void test_holds(void)
{
    is_int(netfs_holds("/", "/anything/at/all"), 1, "/ holds every absolute path");
    is_int(netfs_holds("/mnt/a", "/mnt/a"), 6, "a mount point holds itself");
    is_int(netfs_holds("/mnt/a", "/mnt/a/b/c"), 6, "a mount point holds what is under it");
    is_int(netfs_holds("/mnt/a", "/mnt/ab"), 0, "a mount point does not hold a sibling sharing its prefix");
    is_int(netfs_holds("/mnt/a/b", "/mnt/a"), 0, "a deeper mount point does not hold its parent");
    is_int(netfs_holds("/", "relative"), 0, "a relative path is held by nothing");
}

static void test_classify(void)
{
    int g;
    const char *why;
    static const struct {
        const char *type, *opts;
        enum netfs_kind kind;
        int guessed;
    } cases[] = {
        {"ext4", "rw", NETFS_LOCAL, 0},
        {"xfs", NULL, NETFS_LOCAL, 0},
        {"tmpfs", "rw", NETFS_LOCAL, 0},
        {"overlay", "rw,lowerdir=/a", NETFS_LOCAL, 0},
        {"btrfs", "rw", NETFS_LOCAL, 0},
        {"nfs", "rw,vers=3,local_lock=none", NETFS_NETWORK, 0},
        {"nfs4", "rw,vers=4.1,local_lock=none", NETFS_NETWORK, 0},
        {"nfs4", "rw,local_lock=flock", NETFS_LOCK_LOCAL, 0},
        {"nfs", "rw,nolock,local_lock=all", NETFS_LOCK_LOCAL, 0},
        {"nfs4", "rw,local_lock=posix", NETFS_NETWORK, 0},
        {"ceph", "rw,name=admin", NETFS_NETWORK, 0},
        {"cifs", "rw,vers=3.1.1", NETFS_NETWORK, 0},
        {"cifs", "rw,nobrl,vers=3.0", NETFS_LOCK_LOCAL, 0},
        {"smb3", "rw", NETFS_NETWORK, 0},
        {"fuse.glusterfs", "rw,user_id=0", NETFS_NETWORK, 0},
        {"glusterfs", "rw", NETFS_NETWORK, 0},
        {"fuse.ceph-fuse", "rw", NETFS_NETWORK, 0},
        {"fuse.juicefs", "rw", NETFS_NETWORK, 0},
        {"lustre", "rw,flock", NETFS_NETWORK, 0},
        {"lustre", "rw,localflock", NETFS_LOCK_LOCAL, 0},
        {"lustre", "rw", NETFS_LOCK_LOCAL, 0},
        {"gpfs", "rw", NETFS_NETWORK, 0},
        {"gfs2", "rw,localflocks", NETFS_LOCK_LOCAL, 0},
        {"ocfs2", "rw", NETFS_NETWORK, 0},
        {"fuse.sshfs", "rw,user_id=1000", NETFS_LOCK_LOCAL, 0},
        {"fuse.s3fs", "rw", NETFS_LOCK_LOCAL, 0},
        {"fuse.rclone", "rw", NETFS_LOCK_LOCAL, 0},
        {"fuse.gcsfuse", "rw", NETFS_LOCK_LOCAL, 0},
        {"fuse.mountpoint-s3", "rw", NETFS_LOCK_LOCAL, 0},
        {"fuseblk", "rw", NETFS_LOCAL, 0},
        {"fuse.fuse-overlayfs", "rw", NETFS_LOCAL, 0},
        {"fuse.portal", "rw", NETFS_LOCAL, 0},
        {"9p", "rw,trans=virtio", NETFS_NETWORK, 1},
        {"virtiofs", "rw", NETFS_NETWORK, 1},
        {"fuse.somethingnew", "rw", NETFS_NETWORK, 1},
        {"fuse", "rw", NETFS_NETWORK, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        why = NULL;
        enum netfs_kind k = netfs_classify(cases[i].type, cases[i].opts, &g, &why);
        is_int(k, cases[i].kind, "%s (%s) is %s", cases[i].type, cases[i].opts ? cases[i].opts : "no options",
               netfs_kind_name(cases[i].kind));
        ok(g == cases[i].guessed && why && *why, "%s: %s, with a reason", cases[i].type,
           cases[i].guessed ? "a guess" : "not a guess");
    }
    /* an option's name inside another option's value does not count */
    netfs_classify("cifs", "rw,comment=nobrl-ish,user=nobrl", &g, &why);
    is_int(netfs_classify("cifs", "rw,comment=nobrl-ish,user=nobrl", &g, &why), NETFS_NETWORK,
           "nobrl only as a whole option counts");
    is_int(netfs_classify("nfs4", "rw,local_lock=flocked", &g, &why), NETFS_NETWORK,
           "local_lock= must be flock or all exactly");
}

static void test_find(const char *mi)
{
    char mp[PATH_MAX];
    is_int(kind_of(mi, "/home/u/.claude", mp, sizeof mp), NETFS_LOCAL, "a path under / only is local");
    is_str(mp, "/", "and held by /");
    is_int(kind_of(mi, "/mnt/gv/team/.claude", mp, sizeof mp), NETFS_NETWORK, "a path on the gluster mount is network");
    is_str(mp, "/mnt/gv", "held by the gluster mount");
    is_int(kind_of(mi, "/mnt/gv2", mp, sizeof mp), NETFS_NETWORK, "the mount point itself is held by its mount");
    is_str(mp, "/mnt/gv2", "/mnt/gv2 by /mnt/gv2, not by /mnt/gv");
    is_int(kind_of(mi, "/mnt/gvx/a", mp, sizeof mp), NETFS_LOCAL, "a sibling sharing a prefix is not on the mount");
    is_int(kind_of(mi, "/mnt/my share/c", mp, sizeof mp), NETFS_NETWORK, "a mount point with a space (\\040) is found");
    is_str(mp, "/mnt/my share", "and reported unescaped");
    is_int(kind_of(mi, "/mnt/nolock/x", mp, sizeof mp), NETFS_LOCK_LOCAL, "NFS with nolock is flock local to one client");
    is_int(kind_of(mi, "/home/u/remote/.codex", mp, sizeof mp), NETFS_LOCK_LOCAL, "sshfs is flock local to one client");
    is_int(kind_of(mi, "/mnt/stack/x", mp, sizeof mp), NETFS_NETWORK, "of two mounts on one point, the later one counts");
    is_int(kind_of(mi, "/mnt/back\\slash/x", mp, sizeof mp), NETFS_LOCK_LOCAL, "a backslash (\\134) mount point is found");
    is_int(kind_of(mi, "/mnt/tab\tx", mp, sizeof mp), NETFS_NETWORK, "a line after one that does not parse is still read");

    struct netfs_mount m;
    struct cr_err err;
    cr_clear(&err);
    is_int(netfs_find(mi, "/mnt/gv/a", &m, &err), CR_OK, "netfs_find succeeds");
    is_str(m.fstype, "fuse.glusterfs", "it reports the type");
    is_str(m.source, "localhost:gv0", "and the source");
    is_int(m.guessed, 0, "gluster is not a guess");

    cr_clear(&err);
    is_int(netfs_find("/nonexistent/mountinfo", "/", &m, &err), CR_ERR_OS, "an unreadable mountinfo is a system error");
    ok(strstr(err.msg, "/nonexistent/mountinfo") != NULL, "whose message names the file");

    char empty[PATH_MAX];
    snprintf(empty, sizeof empty, "%s.empty", mi);
    FILE *f = fopen(empty, "w");
    if (f) {
        fputs("23 22 0:21 / /proc rw - proc proc rw\n", f);
        fclose(f);
    }
    cr_clear(&err);
    is_int(netfs_find(empty, "/home", &m, &err), CR_ERR_OS, "a mountinfo with no mount holding the path is an error");
    ok(strstr(err.msg, "no mount that holds /home") != NULL, "which says so");
    unlink(empty);
}

static void test_find_for_file(const char *tmp)
{
    char file[PATH_MAX], link[PATH_MAX];
    struct netfs_mount m;
    struct cr_err err;
    snprintf(file, sizeof file, "%s/d/.credentials.json", tmp);
    snprintf(link, sizeof link, "%s/d", tmp);
    mkdir(link, 0700);
    cr_clear(&err);
    is_int(netfs_find_for_file(NETFS_MOUNTINFO, file, &m, &err), CR_OK,
           "this process's own mountinfo holds a file that does not exist yet");
    ok(netfs_holds(m.mount_point, tmp) > 0, "in a mount whose point holds the temp dir");
    snprintf(file, sizeof file, "%s/missing/x.json", tmp);
    cr_clear(&err);
    is_int(netfs_find_for_file(NETFS_MOUNTINFO, file, &m, &err), CR_ERR_OS, "a directory that does not exist is an error");
    ok(strstr(err.msg, "cannot resolve the directory") != NULL, "that says it cannot resolve it");
    rmdir(link);
}

int main(void)
{
    char tmpl[] = "/tmp/netfs-t.XXXXXX";
    char *tmp = mkdtemp(tmpl);
    if (!tmp) {
        perror("mkdtemp");
        return 1;
    }
    const char *mi = write_mountinfo(tmp);
    ok(mi != NULL, "a sample mountinfo is written");
    test_parse();
    test_holds();
    test_classify();
    if (mi) {
        test_find(mi);
        unlink(mi);
    }
    test_find_for_file(tmp);
    rmdir(tmp);
    return tap_done();
}
