#!/usr/bin/env python3
"""Benchmark: scanning a large log with `statebox ingest` into a git store.

Generates a realistic log (mostly ordinary lines, a few thousand status
lines, e-mails and timestamps everywhere) and, in one run, times:

  grep       `grep -c 'status is changed to'` on the file: the speed floor
  statebox   `statebox ingest -r X < file` writing to a real git repo
  python     the original's per-output logic: split the output per task,
             regex timestamps, e-mail masking, last-line status

and reports throughput, ratios and statebox's peak RSS.

usage: bench/ingest.py [--mb 1024] [--statebox PATH]
"""
import argparse
import os
import re
import resource
import subprocess
import sys
import tempfile
import time

TASKS = ["Take Ownership", "Check CVE Tracker Bug", "Push to CDN Staging", "Stage Testing",
         "Image Consistency Check", "Image Signed Check", "Drop Bugs"]


def generate(path, megabytes, status_every=3_000):
    """Writes the log; one line in `status_every` is a status line (the
    default gives a few thousand in 1 GB; 4 gives a dense log). Returns how
    many status lines it wrote."""
    target = megabytes * 1024 * 1024
    ordinary = [
        "INFO: checking push job status for advisory 169043 ...",
        "INFO: push job for target <cdn_stage> is COMPLETE",
        "INFO: QA Owner of advisory 169043 is updated to someone@example.com",
        "DEBUG: GET https://errata.example.com/api/v1/erratum/169043 200 (0.31s)",
        "INFO: Found 858 images to check, scanning quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:314fe5cf32cbc22f8e400b211d530beeb027ac3d3cd5479ef953b74cf0c4676b",
        "WARNING: retrying request to https://jira.example.com/rest/api/2/issue/ART-21268 (attempt 2)",
    ]
    written, n, task = 0, 0, 0
    with open(path, "w") as f:
        chunk = []
        while written < target:
            second = n % 86400
            ts = f"2026-06-25T{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}Z"
            if n % status_every == 0:
                name = TASKS[task % len(TASKS)]
                status = "In Progress" if task % 2 == 0 else ("Fail" if task % 10 == 3 else "Pass")
                if status != "In Progress":
                    name = TASKS[(task - 1) % len(TASKS)]
                line = f"{ts}: INFO: task [{name}] status is changed to [{status}]\n"
                task += 1
            else:
                line = f"{ts}: {ordinary[n % len(ordinary)]}\n"
            chunk.append(line)
            written += len(line)
            n += 1
            if len(chunk) >= 10_000:
                f.write("".join(chunk))
                chunk = []
        f.write("".join(chunk))
    return task


# The original's per-output logic (oar's StateBox helpers), applied to each
# task's output as the Python tool did.
STATUS = re.compile(r"task \[([^\]]+)\] status is changed to \[([^\]]+)\]")
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})")
EMAIL = re.compile(r"[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\.[a-zA-Z]{2,}")


def decide(text):
    """The original's handling of one task's output."""
    masked = EMAIL.sub("[EMAIL_REDACTED]", text)
    stamps = TIMESTAMP.findall(masked)
    last = masked.strip().splitlines()[-1] if masked.strip() else ""
    if "[Fail]" in last:
        status = "Fail"
    elif "[Pass]" in last:
        status = "Pass"
    elif "[In Progress]" in last:
        status = "In Progress"
    else:
        status = "Fail" if ": ERROR:" in masked else "In Progress"
    return status, stamps[:1], stamps[-1:], masked


def python_original(path):
    """Every task window (In Progress line to final line) is one output."""
    decided = []
    current = []
    active = None
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = STATUS.search(line)
            if m and m.group(2) == "In Progress":
                active = m.group(1)
                current = [line]
                continue
            if active is not None:
                current.append(line)
            if m and active is not None:
                decided.append((active, decide("".join(current))[:3]))
                active = None
    return decided


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=1024)
    parser.add_argument("--statebox", default=os.path.join(os.path.dirname(__file__), "..", "target", "release", "statebox"))
    args = parser.parse_args()
    statebox = os.path.abspath(args.statebox)
    with tempfile.TemporaryDirectory() as tmp:
        log = os.path.join(tmp, "big.log")
        t, transitions = timed(lambda: generate(log, args.mb))
        size = os.path.getsize(log)
        print(f"generated {size / 2**20:.0f} MiB with {transitions} status lines in {t:.1f}s", file=sys.stderr)
        repo = os.path.join(tmp, "repo")
        subprocess.run(["git", "init", "-q", "--bare", repo], check=True)

        # Warm the page cache so every contender reads from memory.
        subprocess.run(["cat", log], stdout=subprocess.DEVNULL, check=True)
        t_grep, count = timed(lambda: subprocess.run(["grep", "-c", "status is changed to", log],
                                                     capture_output=True, check=True).stdout.strip())
        with open(log, "rb") as f:
            t_sb, _ = timed(lambda: subprocess.run([statebox, "--repo", repo, "ingest", "-r", "4.19.1"],
                                                   stdin=f, check=True, capture_output=True))
        rss_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        t_py, _ = timed(lambda: python_original(log))
        commits = subprocess.run(["git", "rev-list", "--count", "record"], cwd=repo, capture_output=True,
                                 text=True).stdout.strip()
        mib = size / 2**20
        for name, t in (("grep -c", t_grep), ("statebox", t_sb), ("python", t_py)):
            print(f"{name:<9} {t:7.2f} s  {mib / t:8.1f} MiB/s")
        print(f"statebox speed vs grep: {t_grep / t_sb:.2f}x   vs python: {t_py / t_sb:.1f}x")
        print(f"peak RSS of the largest child (statebox or grep): {rss_kib / 1024:.1f} MiB")
        print(f"status lines (grep): {count.decode()}, commits written: {commits}")


if __name__ == "__main__":
    main()
