/* SPDX-License-Identifier: MIT */
/* The mount that holds a path, from mountinfo, and its filesystem's kind.
 *
 * A FUSE filesystem that does not implement the lock operations gets the
 * kernel's own flock, which is local to the client (linux fs/fuse/file.c:
 * fc->no_lock): sshfs (SFTP has no locks), s3fs, rclone, gcsfuse and the
 * other object-store mounts. Those are refused. A FUSE type not listed here
 * is taken as network (credrun waits for the view to settle, and does not
 * refuse what it cannot judge) and reported as a guess. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netfs.h"
#include "util.h"

/* The lists below end with "". Arrays of names, not of pointers: a table
 * of pointers is relocated each time credrun is loaded. */
#define FSTYPE_MAX 32

/* Kernel network and cluster filesystems whose flock the server (or the
 * cluster's lock manager) decides. nfs, cifs, lustre, ocfs2 and gfs2 also
 * depend on their options: see classify_opts. */
static const char network_types[][FSTYPE_MAX] = {
    "nfs", "nfs4", "ceph", "cifs", "smb3", "smbfs", "lustre", "gpfs", "beegfs", "afs", "ocfs2",
    "gfs2", "orangefs", "pvfs2", "glusterfs", "wekafs", "panfs", "ncpfs", "coda", "",
};

/* Network filesystems credrun expects to share locks but cannot judge from
 * the type alone: taken as network, reported as a guess. 9p's locks reach
 * the server only as far as the server implements them; virtiofs shares
 * flock only when virtiofsd runs with -o flock (or --posix-lock). */
static const char guessed_network_types[][FSTYPE_MAX] = {"9p", "virtiofs", ""};

/* FUSE filesystems that implement flock across clients. */
static const char fuse_network_types[][FSTYPE_MAX] = {
    "fuse.glusterfs", "fuse.ceph-fuse", "fuse.ceph", "fuse.juicefs", "fuse.mfs", "fuse.lizardfs", "",
};

/* FUSE filesystems without lock operations whose data lives elsewhere:
 * flock is local to this client. */
static const char fuse_lock_local_types[][FSTYPE_MAX] = {
    "fuse.sshfs", "fuse.s3fs", "fuse.rclone", "fuse.gcsfuse", "fuse.goofys", "fuse.mountpoint-s3",
    "fuse.blobfuse", "fuse.blobfuse2", "fuse.geesefs", "fuse.ossfs", "fuse.cosfs", "fuse.davfs",
    "fuse.gvfsd-fuse", "fuse.curlftpfs", "fuse.afpfs", "fuse.seadrive", "fuse.onedriver", "davfs", "",
};

/* FUSE filesystems over local storage on this one machine: the kernel's
 * local flock is the right one. */
static const char fuse_local_types[][FSTYPE_MAX] = {
    "fuseblk", "fuse.portal", "fuse.lxcfs", "fuse.bindfs", "fuse.encfs", "fuse.gocryptfs", "fuse.cryfs",
    "fuse.securefs", "fuse.squashfuse", "fuse.fuse-overlayfs", "fuse.snapfuse", "",
};

static int in_list(const char (*list)[FSTYPE_MAX], const char *s)
{
    for (; (*list)[0]; list++)
        if (strcmp(*list, s) == 0)
            return 1;
    return 0;
}

/* Does the comma-separated option list opts hold the option name, alone or
 * as name=value? With value, only name=value matches. */
static int has_opt(const char *opts, const char *name, const char *value)
{
    size_t nlen = strlen(name);
    const char *p = opts ? opts : "";
    while (*p) {
        size_t len = strcspn(p, ",");
        if (len >= nlen && strncmp(p, name, nlen) == 0) {
            if (!value && (len == nlen || p[nlen] == '='))
                return 1;
            if (value && p[nlen] == '=' && len - nlen - 1 == strlen(value) &&
                strncmp(p + nlen + 1, value, len - nlen - 1) == 0)
                return 1;
        }
        p += len;
        if (*p == ',')
            p++;
    }
    return 0;
}

/* The options that make a network filesystem's flock local or absent;
 * NETFS_NETWORK when none applies. */
static enum netfs_kind classify_opts(const char *fstype, const char *opts, const char **why)
{
    if (strcmp(fstype, "nfs") == 0 || strcmp(fstype, "nfs4") == 0) {
        if (has_opt(opts, "local_lock", "flock") || has_opt(opts, "local_lock", "all")) {
            *why = "NFS mounted with local_lock=flock or local_lock=all (or nolock): flock is local to this client";
            return NETFS_LOCK_LOCAL;
        }
        *why = "NFS: flock is sent to the server as a whole-file lock";
        return NETFS_NETWORK;
    }
    if (strcmp(fstype, "cifs") == 0 || strcmp(fstype, "smb3") == 0 || strcmp(fstype, "smbfs") == 0) {
        if (has_opt(opts, "nobrl", NULL)) {
            *why = "SMB mounted with nobrl: locks are local to this client";
            return NETFS_LOCK_LOCAL;
        }
        *why = "SMB: locks are sent to the server (Linux 5.5 or later for flock)";
        return NETFS_NETWORK;
    }
    if (strcmp(fstype, "lustre") == 0) {
        if (has_opt(opts, "flock", NULL)) {
            *why = "Lustre mounted with flock: flock is coherent across clients";
            return NETFS_NETWORK;
        }
        *why = has_opt(opts, "localflock", NULL) ? "Lustre mounted with localflock: flock is local to this client"
                                                 : "Lustre mounted without -o flock: it has no flock";
        return NETFS_LOCK_LOCAL;
    }
    if ((strcmp(fstype, "ocfs2") == 0 || strcmp(fstype, "gfs2") == 0) && has_opt(opts, "localflocks", NULL)) {
        *why = "cluster filesystem mounted with localflocks: flock is local to this node";
        return NETFS_LOCK_LOCAL;
    }
    *why = "network filesystem: flock is decided at the server, reads may lag other clients";
    return NETFS_NETWORK;
}

enum netfs_kind netfs_classify(const char *fstype, const char *super_opts, int *guessed, const char **why)
{
    *guessed = 0;
    if (in_list(network_types, fstype))
        return classify_opts(fstype, super_opts, why);
    if (in_list(fuse_network_types, fstype)) {
        *why = "FUSE network filesystem with its own locks: flock is decided at the server, reads may lag";
        return NETFS_NETWORK;
    }
    if (in_list(fuse_lock_local_types, fstype)) {
        *why = "FUSE filesystem without lock support: its flock is local to this client";
        return NETFS_LOCK_LOCAL;
    }
    if (in_list(fuse_local_types, fstype)) {
        *why = "FUSE filesystem over local storage";
        return NETFS_LOCAL;
    }
    if (in_list(guessed_network_types, fstype)) {
        *guessed = 1;
        *why = "shared filesystem whose locks depend on its server: taken as network, untested";
        return NETFS_NETWORK;
    }
    if (strcmp(fstype, "fuse") == 0 || strncmp(fstype, "fuse.", 5) == 0) {
        *guessed = 1;
        *why = "FUSE filesystem credrun does not know: taken as network, its locks unverified";
        return NETFS_NETWORK;
    }
    *why = "local filesystem";
    return NETFS_LOCAL;
}

/* Undo mountinfo's octal escapes (\040 space, \011 tab, \012 newline,
 * \134 backslash) in place; a backslash not followed by three octal digits
 * stays as it is. */
static void unescape(char *s)
{
    char *out = s;
    for (char *p = s; *p; p++) {
        if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' && p[3] >= '0' &&
            p[3] <= '7') {
            *out++ = (char)(((p[1] - '0') << 6) | ((p[2] - '0') << 3) | (p[3] - '0'));
            p += 3;
        } else {
            *out++ = *p;
        }
    }
    *out = '\0';
}

/* The next space-separated field of *p, NUL-terminated in place; NULL at the end. */
static char *next_field(char **p)
{
    char *s = *p;
    if (!s || !*s)
        return NULL;
    char *sp = strchr(s, ' ');
    if (sp) {
        *sp = '\0';
        *p = sp + 1;
    } else {
        *p = s + strlen(s);
    }
    return s;
}

int netfs_parse_line(char *line, struct netfs_entry *e)
{
    line[strcspn(line, "\n")] = '\0';
    char *p = line, *f[6];
    /* mount ID, parent ID, major:minor, root, mount point, mount options */
    for (int i = 0; i < 6; i++)
        if (!(f[i] = next_field(&p)))
            return -1;
    /* optional fields ("shared:1", "master:2"), up to the lone "-" */
    char *s;
    while ((s = next_field(&p)) && strcmp(s, "-") != 0)
        ;
    if (!s)
        return -1;
    char *fstype = next_field(&p), *source = next_field(&p), *opts = next_field(&p);
    if (!fstype || !source || f[4][0] != '/')
        return -1;
    unescape(f[4]);
    unescape(fstype);
    unescape(source);
    if (opts)
        unescape(opts);
    e->mount_point = f[4];
    e->fstype = fstype;
    e->source = source;
    e->super_opts = opts ? opts : "";
    return 0;
}

size_t netfs_holds(const char *mp, const char *path)
{
    if (strcmp(mp, "/") == 0)
        return path[0] == '/' ? 1 : 0;
    size_t len = strlen(mp);
    if (len == 0 || strncmp(mp, path, len) != 0)
        return 0;
    return path[len] == '/' || path[len] == '\0' ? len : 0;
}

/* Copy s into dst of size n, cut to fit. */
static void copy_cut(char *dst, size_t n, const char *s)
{
    snprintf(dst, n, "%s", s);
}

enum cr_status netfs_find(const char *mountinfo_path, const char *dir, struct netfs_mount *out, struct cr_err *err)
{
    FILE *f = fopen(mountinfo_path, "re");
    if (!f)
        return cr_fail(err, CR_ERR_OS, "cannot read %s: %s; is /proc mounted?", mountinfo_path, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    size_t best = 0;
    while (getline(&line, &cap, f) >= 0) {
        struct netfs_entry e;
        if (netfs_parse_line(line, &e) != 0)
            continue;
        size_t len = netfs_holds(e.mount_point, dir);
        /* >=: of two mounts on one point, the later one hides the earlier */
        if (len == 0 || len < best)
            continue;
        best = len;
        copy_cut(out->mount_point, sizeof out->mount_point, e.mount_point);
        copy_cut(out->fstype, sizeof out->fstype, e.fstype);
        copy_cut(out->source, sizeof out->source, e.source);
        out->kind = netfs_classify(e.fstype, e.super_opts, &out->guessed, &out->why);
    }
    int read_err = ferror(f) ? errno : 0;
    free(line);
    fclose(f);
    if (read_err)
        return cr_fail(err, CR_ERR_OS, "cannot read %s: %s", mountinfo_path, strerror(read_err));
    if (best == 0)
        return cr_fail(err, CR_ERR_OS, "%s lists no mount that holds %s", mountinfo_path, dir);
    return CR_OK;
}

enum cr_status netfs_find_for_file(const char *mountinfo_path, const char *file, struct netfs_mount *out,
                                   struct cr_err *err)
{
    char *dir = path_dirname(file);
    char *real = realpath(dir, NULL);
    if (!real) {
        int e = errno;
        cr_fail(err, CR_ERR_OS, "cannot resolve the directory %s: %s", dir, strerror(e));
        free(dir);
        return err->status;
    }
    free(dir);
    enum cr_status st = netfs_find(mountinfo_path, real, out, err);
    free(real);
    return st;
}

const char *netfs_kind_name(enum netfs_kind kind)
{
    switch (kind) {
    case NETFS_LOCAL:
        return "local";
    case NETFS_NETWORK:
        return "network";
    case NETFS_LOCK_LOCAL:
        return "flock local to one client";
    }
    return "unknown";
}
