/* SPDX-License-Identifier: MIT */
/* Which filesystem holds a path, from /proc/self/mountinfo, and what that
 * means for credrun's locks and reads: local, a network filesystem whose
 * flock is decided at the server (its reads may lag another client's write:
 * wait for the view to settle), or one whose flock is local to one client
 * (refuse, instead of locking nothing). Read only on the refresh path. */
#ifndef CREDRUN_NETFS_H
#define CREDRUN_NETFS_H

#include <limits.h>
#include <stddef.h>

#include "status.h"

#define NETFS_MOUNTINFO "/proc/self/mountinfo"

enum netfs_kind {
    NETFS_LOCAL,      /* one kernel sees every writer: locks and reads are exact */
    NETFS_NETWORK,    /* flock across clients; a read may lag another client */
    NETFS_LOCK_LOCAL, /* flock is local to this client (or absent): refuse */
};

/* One line of mountinfo, unescaped (\040 and other octal escapes), fields
 * pointing into the line it was parsed from. */
struct netfs_entry {
    const char *mount_point; /* where it is mounted, absolute */
    const char *fstype;      /* "ext4", "nfs4", "fuse.glusterfs" */
    const char *source;      /* "localhost:vol", "/dev/vda1", "none" */
    const char *super_opts;  /* "rw,vers=4.2,local_lock=none" */
};

/* What netfs_find reports about the mount that holds a path. */
struct netfs_mount {
    enum netfs_kind kind;
    int guessed;              /* 1: a FUSE type credrun does not know, taken as network */
    const char *why;          /* static text: why kind is what it is, never NULL */
    char mount_point[PATH_MAX];
    char fstype[64];          /* cut to fit */
    char source[256];         /* cut to fit; for messages only */
};

/* Parse one line of mountinfo in place (it is modified: fields are cut and
 * unescaped). Returns 0 and fills e, or -1 for a line that does not parse. */
int netfs_parse_line(char *line, struct netfs_entry *e) __attribute__((__nonnull__));

/* Classify a filesystem type with its superblock options (which decide for
 * nfs local_lock=, cifs nobrl, lustre flock, ocfs2/gfs2 localflocks); NULL
 * options are taken as empty. Sets *guessed (0 or 1) and *why (static text,
 * never NULL). Pure. */
enum netfs_kind netfs_classify(const char *fstype, const char *super_opts, int *guessed, const char **why)
    __attribute__((__nonnull__(1, 3, 4)));

/* Is mount point mp a prefix, by whole components, of the absolute path
 * path? ("/" holds everything; "/mnt/a" holds "/mnt/a/b", not "/mnt/ab".)
 * Returns the length of mp that matched, or 0 when it does not hold path. */
size_t netfs_holds(const char *mp, const char *path) __attribute__((__nonnull__));

/* Find the mount that holds the absolute, already resolved directory dir in
 * the mountinfo file at mountinfo_path (NETFS_MOUNTINFO; another file for
 * tests): the longest mount point that holds it, the last one listed when a
 * mount point is mounted over. Fills out. Returns CR_OK, or CR_ERR_OS when
 * the file cannot be read or lists no mount holding dir. */
enum cr_status netfs_find(const char *mountinfo_path, const char *dir, struct netfs_mount *out, struct cr_err *err)
    __attribute__((__nonnull__));

/* netfs_find for the directory that holds file (which need not exist): the
 * directory is resolved with realpath(3) first. CR_ERR_OS when it cannot be. */
enum cr_status netfs_find_for_file(const char *mountinfo_path, const char *file, struct netfs_mount *out,
                                   struct cr_err *err) __attribute__((__nonnull__));

/* A short phrase for a kind: "local", "network", "flock local to one client". */
const char *netfs_kind_name(enum netfs_kind kind);

#endif
