#!/usr/bin/env python3
"""Benchmark: writes through `--remote` while other machines push too.

1, 4 and 8 writers, each its own clone, write `issue add` through
`--remote origin` to one bare repository served by `git daemon` on
127.0.0.1, as fast as they can for --seconds each. Every write that loses
the push race fetches, replays and pushes again. Prints per writer count,
from one run: write latency p50 / p99 / max, writes per second, the exit
codes seen, and whether every acknowledged write is on the remote exactly
once (git fsck --strict on the remote too).

usage: bench/remote_contention.py [--statebox PATH] [--seconds S]
"""
import argparse
import collections
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from remote import free_port, git, new_repo, wait_listening  # noqa: E402

RELEASE = "4.19.1"
PATH = "_releases/4.19/statebox/4.19.1.yaml"


def writer(statebox, clone, name, until, env, latencies, codes, acknowledged):
    n = 0
    while time.monotonic() < until:
        text = f"{name} write {n}"
        started = time.perf_counter()
        out = subprocess.run([statebox, "--repo", clone, "--remote", "origin", "issue", "add",
                              "-r", RELEASE, text], env=env, capture_output=True, text=True)
        elapsed = (time.perf_counter() - started) * 1000
        codes[out.returncode] += 1
        if out.returncode == 0:
            latencies.append(elapsed)
            acknowledged.append(text)
        n += 1


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def run(statebox, writers, seconds, env):
    with tempfile.TemporaryDirectory() as root:
        served = os.path.join(root, "served")
        os.makedirs(served)
        bare = os.path.join(served, "remote.git")
        git(root, "init", "-q", "--bare", "-b", "main", bare)
        port = free_port()
        daemon_bin = os.path.join(git(root, "--exec-path"), "git-daemon")
        daemon = subprocess.Popen([daemon_bin, "--reuseaddr", "--export-all", "--enable=receive-pack",
                                   "--listen=127.0.0.1", f"--port={port}", f"--base-path={served}", served],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_listening(port)
            clones = []
            for w in range(writers):
                clone = os.path.join(root, f"clone{w}")
                new_repo(clone)
                git(clone, "remote", "add", "origin", f"git://127.0.0.1:{port}/remote.git")
                clones.append(clone)
            seed = subprocess.run([statebox, "--repo", clones[0], "--remote", "origin", "init", "-r", RELEASE],
                                  env=env, capture_output=True, text=True)
            if seed.returncode != 0:
                sys.exit(f"init failed: {seed.stderr}")
            latencies, codes, acknowledged = [], collections.Counter(), []
            until = time.monotonic() + seconds
            threads = [threading.Thread(target=writer, args=(statebox, clone, f"w{w}", until, env,
                                                            latencies, codes, acknowledged))
                       for w, clone in enumerate(clones)]
            started = time.monotonic()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            wall = time.monotonic() - started
            on_remote = git(bare, "show", f"record:{PATH}")
            missing = [t for t in acknowledged if f"issue: {t}\n" not in on_remote]
            doubled = [t for t in acknowledged if on_remote.count(f"issue: {t}\n") > 1]
            fsck = subprocess.run(["git", "fsck", "--strict"], cwd=bare, capture_output=True)
        finally:
            daemon.kill()
            daemon.wait()
    shown = ", ".join(f"exit {code}: {count}" for code, count in sorted(codes.items()))
    if latencies:
        print(f"{writers} writer(s): {len(latencies)} writes in {wall:.0f} s ({len(latencies) / wall:.1f}/s)  "
              f"p50 {statistics.median(latencies):.0f} ms  p99 {percentile(latencies, 0.99):.0f} ms  "
              f"max {max(latencies):.0f} ms  [{shown}]  on the remote: {len(acknowledged) - len(missing)}"
              f"/{len(acknowledged)}, doubled {len(doubled)}, fsck {'clean' if fsck.returncode == 0 else 'FAILED'}")
    else:
        print(f"{writers} writer(s): no write succeeded [{shown}]")


def main():
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser = argparse.ArgumentParser()
    parser.add_argument("--statebox", default=os.path.join(here, "target", "release", "statebox"))
    parser.add_argument("--seconds", type=float, default=30)
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith("STATEBOX_")}
    for writers in (1, 4, 8):
        run(args.statebox, writers, args.seconds, env)


if __name__ == "__main__":
    main()
