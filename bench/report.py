#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Print bench/run.sh's one table from the files it left in WORKDIR:
# fresh-N.json (hyperfine rounds), refresh.json, contend.json, results.env.
#
#   report.py WORKDIR
#
# Medians pool the run times of every round; the ratio to flock(1) is that of
# pooled medians, with the lowest and highest per-round ratio beside it, so
# drift from other load on the machine shows instead of hiding.
import glob
import json
import os
import statistics
import sys

GOAL = 0.80
AIM = 0.70


def load(path):
    with open(path) as f:
        return json.load(f)["results"]


def env(work):
    out = {}
    with open(os.path.join(work, "results.env")) as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition("=")
            out[k] = v
    return out


def ms(s):
    return "%.3f ms" % (s * 1000)


def rss(v):
    """'MEDIAN MAX' in KiB to a cell."""
    if not v:
        return "-"
    med = v.split()[0]
    return "%s KiB" % med


def ir(v):
    return "{:,}".format(int(v)) if v and v.isdigit() else "-"


IR_GOAL = 210000  # issue 12


def main():
    work = sys.argv[1]
    e = env(work)
    names = ["flock", "true", "fresh", "fresh_refresh"]
    rounds = []
    for p in sorted(glob.glob(os.path.join(work, "fresh-[0-9]*.json"))):
        by_name = {r["command"]: r for r in load(p)}
        rounds.append([by_name[n] for n in names])
    # rows: 0 flock, 1 /bin/true, 2 credrun command scope, 3 refresh scope
    pooled = [[] for _ in names]
    per_round = [[] for _ in names]
    for res in rounds:
        for i, r in enumerate(res):
            pooled[i].extend(r["times"])
            per_round[i].append(r["median"])
    med = [statistics.median(t) for t in pooled]
    flock = med[0]

    def ratio(i):
        rs = [per_round[i][k] / per_round[0][k] for k in range(len(rounds))]
        return "%.2fx (%.2f-%.2f)" % (med[i] / flock, min(rs), max(rs))

    refresh = load(os.path.join(work, "refresh.json"))[0]
    contend = load(os.path.join(work, "contend.json"))
    n = e.get("contend", "?")

    w = 46
    line = "-" * (w + 66)
    print()
    print("credrun benchmark (%s)" % e.get("system", ""))
    print(line)
    print("%-*s %11s  %-20s %10s  %s" % (w, "", "median", "vs flock(1)", "peak RSS", "instructions"))
    rows = [
        ("flock(1): flock LOCK /bin/true", 0, "rss_flock", "ir_flock"),
        ("/bin/true alone", 1, "rss_true", "ir_true"),
        ("credrun, token fresh, --lock-scope command", 2, "rss_fresh", "ir_fresh"),
        ("credrun, token fresh, --lock-scope refresh", 3, "rss_fresh_refresh", "ir_fresh_refresh"),
    ]
    for name, i, rk, ik in rows:
        print("%-*s %11s  %-20s %10s  %s" % (w, name, ms(med[i]), ratio(i), rss(e.get(rk)), ir(e.get(ik))))
    print("%-*s %11s  %-20s %10s  %s" % (
        w, "credrun --refresh --force (one real refresh)", ms(refresh["median"]),
        "%.2fx" % (refresh["median"] / flock), rss(e.get("rss_refresh")), ir(e.get("ir_refresh"))))
    cloc = {r["command"]: r for r in load(os.path.join(work, "fresh-c.json"))}
    cloc = [cloc["flock"], cloc["fresh"], cloc["fresh_refresh"]]
    print("the same with LC_ALL=C, where flock(1) reads no locale files:")
    for name, r in zip(["flock LOCK /bin/true", "credrun, --lock-scope command", "credrun, --lock-scope refresh"], cloc):
        print("  %-*s %11s  %.2fx" % (w - 2, name, ms(r["median"]), r["median"] / cloc[0]["median"]))
    print(line)
    print("contention: %s concurrent one-second commands (wall time)" % n)
    names = ["flock LOCK sleep 1", "credrun -- sleep 1 (command scope)", "credrun --lock-scope refresh -- sleep 1"]
    base = contend[0]["median"]
    for name, r in zip(names, contend):
        print("  %-*s %11s  %.2fx" % (w - 2, name, "%.2f s" % r["median"], r["median"] / base))
    print(line)
    loops, lruns = int(e["storm_loops"]), int(e["storm_runs"])
    elapsed, grants = float(e["storm_elapsed"]), int(e["storm_grants"])
    total = loops * lruns
    print("refresh-path throughput: %d loops x %d runs of credrun -m 0 --lock-scope refresh -- /bin/true," % (loops, lruns))
    print("  the mock issuing tokens valid for 1 s:")
    print("  %d runs in %.2f s (%.0f runs/s); %d refreshes (mock grants) in %.2f validity windows"
          " = %.2f per window; %d token requests" % (
              total, elapsed, total / elapsed, grants, elapsed, grants / elapsed, int(e["storm_requests"])))
    print(line)
    print("supervising parent, idle CPU: %s" % e.get("supervise", "n/a"))
    print(line)
    print("refresh on a GlusterFS volume (--force --refresh, fuse.glusterfs):")
    print("  %s" % e.get("gluster", "n/a").replace("gluster: ", "", 1))
    print(line)
    worst = max(med[2], med[3]) / flock
    verdict = "met" if worst <= GOAL else "NOT met"
    print("goal: fresh path <= %.2fx flock(1) in both scopes (aim %.2fx): %s (%.2fx, %.2fx)" % (
        GOAL, AIM, verdict, med[2] / flock, med[3] / flock))
    for k in sorted(e):
        if k.startswith("check_"):
            print("check: %s" % e[k])
    if e.get("ir_fixture"):
        print("fast path, instructions until execve: %s (credrun -- /bin/true, bench/fresh-credentials.json as"
              " ~/.claude/.credentials.json, env -i HOME PATH; flock(1) the same way: %s; goal <= %s)" % (
                  ir(e.get("ir_fixture")), ir(e.get("ir_fixture_flock")), ir(str(IR_GOAL))))
    print("peak RSS: median ru_maxrss of 20 runs (5 for the refresh), which spans the exec of /bin/true;")
    print("instructions: valgrind callgrind, user space, until the wrapped command's execve"
          " (/bin/true and the refresh: whole run)")


if __name__ == "__main__":
    main()
