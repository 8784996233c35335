/* SPDX-License-Identifier: MIT */
/* maxrss: peak resident set size of a command, as the kernel accounts it.
 *
 *   maxrss RUNS COMMAND [ARG...]     prints "MEDIAN MAX" in KiB
 *
 * Each run is forked, exec'd and reaped with wait4(2); ru_maxrss is the
 * largest RSS the process ever had. Linux carries it across execve(2) and
 * folds in the children the process reaped, so `credrun ... -- /bin/true`
 * reports the larger of credrun before its exec and /bin/true after it, and
 * `flock LOCK /bin/true` the larger of flock and its child: one rule for
 * both. The forked child starts as a copy of this small program, so its RSS
 * is a floor (the /bin/true row shows it), as with GNU time(1)'s %M, which
 * Debian does not install by default. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

/* Runs argv once; returns its ru_maxrss in KiB, or -1 if it failed. */
static long run_once(char **argv)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        execvp(argv[0], argv);
        _exit(127);
    }
    int status;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return -1;
    return ru.ru_maxrss;
}

int main(int argc, char **argv)
{
    int runs = argc > 2 ? atoi(argv[1]) : 0;
    if (runs < 1 || runs > 10000) {
        fputs("usage: maxrss RUNS COMMAND [ARG...]\n", stderr);
        return 64;
    }
    long *kib = calloc((size_t)runs, sizeof *kib);
    if (!kib)
        return 71;
    for (int i = 0; i < runs; i++) {
        kib[i] = run_once(argv + 2);
        if (kib[i] < 0) {
            fprintf(stderr, "maxrss: %s failed\n", argv[2]);
            free(kib);
            return 1;
        }
    }
    qsort(kib, (size_t)runs, sizeof *kib, cmp_long);
    printf("%ld %ld\n", kib[(runs - 1) / 2], kib[runs - 1]);
    free(kib);
    return 0;
}
