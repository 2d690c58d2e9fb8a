#!/usr/bin/env python3
"""Benchmark: merge-driver time against file size (issue 10.18).

Builds a base state with N issues, then two sides that each add N issues of
their own, resolve a tenth of the base's and change a task, for N from 2k to
160k issues per side, and times `statebox-merge-driver %O %A %B %P` on each
(best of --repeat runs, process start included), with its peak RSS. A merge
that is linear in file size shows a flat time per issue.

usage: bench/merge_scaling.py [--driver PATH] [--sizes 2000,4000,...] [--repeat R]
"""
import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
RELEASE = "4.19.36"
PATH = f"_releases/4.19/statebox/{RELEASE}.yaml"


def issue(text, resolved=False):
    lines = [f"- issue: {text}", "  reported_at: '2026-06-25T14:00:00Z'",
             f"  resolved: {'true' if resolved else 'false'}",
             "  resolution: " + ("retried" if resolved else "null"),
             "  blocker: false", "  related_tasks: []"]
    if resolved:
        lines.append("  resolved_at: '2026-06-27T00:00:00Z'")
    return "\n".join(lines) + "\n"


def state(updated_at, status, issues):
    return (
        "schema_version: '1.0'\n"
        f"release: {RELEASE}\n"
        "created_at: '2026-06-25T13:00:13Z'\n"
        f"updated_at: '{updated_at}'\n"
        "metadata:\n  jira_ticket: ART-21268\n"
        "tasks:\n- name: take-ownership\n"
        f"  status: {status}\n  started_at: null\n  completed_at: null\n  result: null\n"
        "issues:\n" + "".join(issues)
    )


def case(n):
    base = [issue(f"base issue {i}") for i in range(n)]
    def side(name, updated_at, status, offset):
        issues = list(base)
        for i in range(offset, n, 10):
            issues[i] = issue(f"base issue {i}", resolved=True)
        issues += [issue(f"{name} issue {i}") for i in range(n)]
        return state(updated_at, status, issues)
    return (state("2026-06-25T15:00:00Z", "Not Started", base),
            side("ours", "2026-06-26T10:00:00Z", "In Progress", 0),
            side("theirs", "2026-06-26T11:00:00Z", "Pass", 5))


def run(driver, files, outdir):
    """Seconds for one merge into a fresh copy of ours."""
    base, ours, theirs = files
    target = os.path.join(outdir, "A")
    with open(ours) as src, open(target, "w") as dst:
        dst.write(src.read())
    start = time.perf_counter()
    proc = subprocess.Popen([driver, base, target, theirs, PATH], stderr=subprocess.PIPE)
    _, stderr = proc.communicate()
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"driver failed ({proc.returncode}): {stderr.decode()}")
    return elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = os.path.join(ROOT, "target", "release", "statebox-merge-driver")
    if not os.path.exists(default):
        default = os.path.join(ROOT, "target", "debug", "statebox-merge-driver")
    parser.add_argument("--driver", default=default)
    parser.add_argument("--sizes", default="2000,5000,10000,20000,40000,80000,160000")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"driver: {args.driver}")
    print(f"{'issues/side':>12} {'file MB':>8} {'best s':>8} {'us/issue':>9} {'peak RSS MB':>12}")
    with tempfile.TemporaryDirectory() as tmp:
        for n in map(int, args.sizes.split(",")):
            files = []
            for name, text in zip("OAB", case(n)):
                path = os.path.join(tmp, name + ".in")
                with open(path, "w") as f:
                    f.write(text)
                files.append(path)
            size = os.path.getsize(files[1]) / 1e6
            before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            best = min(run(args.driver, files, tmp) for _ in range(args.repeat))
            peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            rss = f"{peak / 1024:.0f}" if peak > before else "<=prev"
            print(f"{n:>12} {size:>8.1f} {best:>8.3f} {best / (2 * n) * 1e6:>9.2f} {rss:>12}",
                  flush=True)


if __name__ == "__main__":
    main()
