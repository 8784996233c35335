/* SPDX-License-Identifier: MIT */
/* /proc/locks and /proc/PID/cmdline, read without taking any lock. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "proclocks.h"
#include "util.h"

#define PROCLOCKS_MAX (4L * 1024 * 1024)

/* One line of /proc/locks: "ID: [-> ]KIND MODE ACCESS PID MAJ:MIN:INO START END".
 * True when it is a held flock on major:minor:ino; its PID into *pid. */
static bool line_matches(const char *line, unsigned major, unsigned minor, unsigned long long ino, long *pid)
{
    char kind[16], mode[16], access[16], arrow[4];
    long p;
    unsigned maj, min;
    unsigned long long i;
    /* A waiter has "->" after the ID: never a holder. */
    if (sscanf(line, "%*d: %3s", arrow) == 1 && strcmp(arrow, "->") == 0)
        return false;
    if (sscanf(line, "%*d: %15s %15s %15s %ld %x:%x:%llu", kind, mode, access, &p, &maj, &min, &i) != 7)
        return false;
    if (strcmp(kind, "FLOCK") != 0 || maj != major || min != minor || i != ino)
        return false;
    *pid = p > 0 ? p : 0;
    return true;
}

bool proclocks_find(const char *text, unsigned major, unsigned minor, unsigned long long ino, long *pid)
{
    *pid = 0;
    for (const char *line = text; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t n = end ? (size_t)(end - line) : strlen(line);
        char buf[256];
        if (n < sizeof buf) {
            memcpy(buf, line, n);
            buf[n] = '\0';
            if (line_matches(buf, major, minor, ino, pid))
                return true;
        }
        line = end ? end + 1 : NULL;
    }
    return false;
}

/* The whole of a /proc file (its size is unknown to stat), NUL-terminated,
 * newly allocated; NULL when it cannot be read. *n gets its length. */
static char *read_proc(const char *path, long max, size_t *n)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return NULL;
    size_t cap = 4096, len = 0;
    char *buf = xmalloc(cap);
    for (;;) {
        if (len + 1 >= cap) {
            if ((long)cap >= max)
                break;
            cap *= 2;
            buf = xrealloc(buf, cap);
        }
        ssize_t r = read(fd, buf + len, cap - len - 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            free(buf);
            close(fd);
            return NULL;
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    close(fd);
    buf[len] = '\0';
    *n = len;
    return buf;
}

bool proclocks_holder(dev_t dev, ino_t ino, long *pid)
{
    size_t n;
    *pid = 0;
    char *text = read_proc(PROCLOCKS_PATH, PROCLOCKS_MAX, &n);
    if (!text)
        return false;
    bool held = proclocks_find(text, major(dev), minor(dev), (unsigned long long)ino, pid);
    free(text);
    return held;
}

void proc_command_format(const char *raw, size_t n, char *buf, size_t len)
{
    while (n > 0 && (raw[n - 1] == '\0' || raw[n - 1] == '\n'))
        n--;
    size_t i = 0;
    for (; i < n && i < len - 1; i++) {
        unsigned char c = (unsigned char)raw[i];
        buf[i] = c == '\0' ? ' ' : (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    buf[i] = '\0';
    if (i < n && len > 4)
        memcpy(buf + len - 4, "...", 4);
}

void proc_command(long pid, char *buf, size_t len)
{
    buf[0] = '\0';
    if (pid <= 0)
        return;
    char path[64];
    size_t n = 0;
    snprintf(path, sizeof path, "/proc/%ld/cmdline", pid);
    char *raw = read_proc(path, 64 * 1024, &n);
    if (!raw || n == 0) {
        free(raw);
        snprintf(path, sizeof path, "/proc/%ld/comm", pid);
        raw = read_proc(path, 4096, &n);
    }
    if (raw)
        proc_command_format(raw, n, buf, len);
    free(raw);
}
