#!/usr/bin/env python3
"""Benchmark: one `task set` end to end on a big record branch.

Builds a repository whose record branch holds 150 releases and 5,000
commits (git fast-import), then times the same update done three ways,
interleaved in one run so machine noise hits all alike:

  statebox   the release binary: `statebox task set ...`
  plumbing   shelling out to git: cat-file, hash-object, mktree x3,
             commit-tree, update-ref (compare-and-swap), with the new file
             content prepared by sed-like string replacement
  python     the original's logic locally: PyYAML load, change, dump,
             then the same plumbing calls to commit

usage: bench/task_set.py [--rounds N] [--statebox PATH]
Prints median milliseconds per update and ratios.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

import yaml

RELEASES = 150
COMMITS = 5000
TASKS = ["take-ownership", "check-cve-tracker-bug", "push-to-cdn-staging", "stage-testing",
         "image-consistency-check", "analyze-candidate-build", "image-signed-check"]


class Dumper(yaml.SafeDumper):
    pass


Dumper.add_representer(str, lambda d, s: d.represent_scalar(
    "tag:yaml.org,2002:str", s, style="|" if "\n" in s else None))


def dump(state):
    return yaml.dump(state, Dumper=Dumper, default_flow_style=False, sort_keys=False, allow_unicode=True)


def release_name(i):
    return f"4.{10 + i % 12}.{i // 12 + 1}"


def path_of(release):
    major_minor = ".".join(release.split(".")[:2])
    return f"_releases/{major_minor}/statebox/{release}.yaml"


def state_for(release, n):
    tasks = []
    for k, name in enumerate(TASKS[: 3 + n % 5]):
        lines = "\n".join(f"2026-06-25T13:{m:02d}:00Z: INFO: step {m} of {name} for {release}" for m in range(25))
        tasks.append({"name": name, "status": "Pass", "started_at": "2026-06-25T13:00:00Z",
                      "completed_at": "2026-06-25T13:24:00Z", "result": lines})
    return {"schema_version": "1.0", "release": release, "created_at": "2026-06-25T13:00:00Z",
            "updated_at": f"2026-06-25T14:{n % 60:02d}:00Z",
            "metadata": {"jira_ticket": "ART-1", "advisory_ids": {"rpm": 1, "rhcos": 2}, "release_date": "2026-Jul-01",
                         "candidate_builds": {}, "shipment_mr": None},
            "tasks": tasks,
            "issues": [{"issue": f"issue {n}", "reported_at": "2026-06-25T13:00:00Z", "resolved": False,
                        "resolution": None, "blocker": False, "related_tasks": []}]}


def build_repo(repo):
    subprocess.run(["git", "init", "-q", "--bare", repo], check=True)
    feed = []
    mark_time = 1750000000
    for c in range(COMMITS):
        release = release_name(c % RELEASES)
        data = dump(state_for(release, c)).encode()
        feed.append(b"commit refs/heads/record\n")
        feed.append(f"committer bench <bench@example.com> {mark_time + c} +0000\n".encode())
        msg = f"Update task: {release} {c}".encode()
        feed.append(b"data %d\n%s\n" % (len(msg), msg))
        feed.append(f"M 100644 inline {path_of(release)}\n".encode())
        feed.append(b"data %d\n%s\n" % (len(data), data))
    subprocess.run(["git", "fast-import", "--quiet"], input=b"".join(feed), cwd=repo, check=True)
    subprocess.run(["git", "repack", "-adq"], cwd=repo, check=True)


def git(repo, *args, data=None):
    return subprocess.run(["git", *args], cwd=repo, input=data, capture_output=True, check=True).stdout


def plumbing_commit(repo, path, content, message):
    """Writes `content` at `path` on record with git plumbing, CAS on the ref."""
    old = git(repo, "rev-parse", "refs/heads/record").strip().decode()
    blob = git(repo, "hash-object", "-w", "--stdin", data=content).strip().decode()
    parts = path.split("/")
    # Rebuild the trees bottom-up: statebox dir, the stream dir, _releases, root.
    trees = [f"{old}^{{tree}}"]
    for depth in range(1, len(parts)):
        trees.append(f"{old}:{'/'.join(parts[:depth])}")
    new_id, new_type, name = blob, "blob", parts[-1]
    for depth in range(len(parts) - 1, -1, -1):
        listing = git(repo, "ls-tree", trees[depth]).decode().splitlines()
        entries = [l for l in listing if l.split("\t", 1)[1] != name]
        mode = "100644" if new_type == "blob" else "040000"
        entries.append(f"{mode} {new_type} {new_id}\t{name}")
        new_id = git(repo, "mktree", data=("\n".join(entries) + "\n").encode()).strip().decode()
        new_type, name = "tree", parts[depth - 1] if depth else None
    commit = git(repo, "commit-tree", new_id, "-p", old, "-m", message).strip().decode()
    git(repo, "update-ref", "refs/heads/record", commit, old)


def run_statebox(binary, repo, release, n):
    subprocess.run([binary, "--repo", repo, "task", "set", "-r", release, "drop-bugs", "--status",
                    "Pass" if n % 2 else "Fail"], check=True, capture_output=True)


def run_plumbing(repo, release, n):
    path = path_of(release)
    text = git(repo, "cat-file", "blob", f"refs/heads/record:{path}").decode()
    status = "Pass" if n % 2 else "Fail"
    text = text.replace("updated_at: '", f"updated_at: '2026-07-0{1 + n % 9}T00:00:00Z'\nx_bench_{n}: '", 1)
    plumbing_commit(repo, path, text.encode(), f"Update task: {status}")


def run_python(repo, release, n):
    path = path_of(release)
    state = yaml.safe_load(git(repo, "cat-file", "blob", f"refs/heads/record:{path}"))
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    task = next((t for t in state["tasks"] if t["name"] == "drop-bugs"), None)
    if task is None:
        task = {"name": "drop-bugs", "status": "Not Started", "started_at": None, "completed_at": None, "result": None}
        state["tasks"].append(task)
    task["status"] = "Pass" if n % 2 else "Fail"
    task["completed_at"] = now
    task["started_at"] = task["started_at"] or now
    state["updated_at"] = now
    plumbing_commit(repo, path, dump(state).encode(), "Update task: drop-bugs")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--statebox", default=os.path.join(os.path.dirname(__file__), "..", "target", "release", "statebox"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        repo = os.path.join(tmp, "record.git")
        t0 = time.perf_counter()
        build_repo(repo)
        print(f"setup: {RELEASES} releases, {COMMITS} commits in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
        runs = {"statebox": [], "plumbing": [], "python": []}
        for n in range(args.rounds):
            release = release_name(n % RELEASES)
            for name, fn in (("statebox", lambda: run_statebox(args.statebox, repo, release, n)),
                             ("plumbing", lambda: run_plumbing(repo, release, n)),
                             ("python", lambda: run_python(repo, release, n))):
                start = time.perf_counter()
                fn()
                runs[name].append((time.perf_counter() - start) * 1000)
        med = {k: statistics.median(v) for k, v in runs.items()}
        for k, v in med.items():
            print(f"{k:<9} median {v:7.2f} ms/update  (p90 {sorted(runs[k])[int(len(runs[k]) * 0.9)]:.2f} ms, {len(runs[k])} runs)")
        print(f"ratio plumbing/statebox: {med['plumbing'] / med['statebox']:.1f}x   "
              f"python/statebox: {med['python'] / med['statebox']:.1f}x")
        commits = git(repo, "rev-list", "--count", "refs/heads/record").decode().strip()
        print(f"branch now has {commits} commits", file=sys.stderr)


if __name__ == "__main__":
    main()
