#!/usr/bin/env python3
"""Benchmark: what a remote costs per write, in one run.

Times the same `statebox task set` three ways, interleaved round by round
so machine noise hits all alike:

  local    the git store on a local repository (no remote)
  remote   --remote origin: commit locally, push to a bare repository
           served by `git daemon` on 127.0.0.1 (loopback)
  api      --github OWNER/REPO against the tests' Contents API server
           (examples/github_test_server.rs) on 127.0.0.1

and counts the API server's requests per write (target: 2, one read and
one write).

usage: bench/remote.py [--rounds N] [--target-dir DIR]
Needs `cargo build --release --bin statebox --example github_test_server`.
Prints median milliseconds per write and ratios against local.
"""
import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

TOKEN = "bench-token"
REPO = "acme/releases"
RELEASE = "4.19.1"


def git(cwd, *args):
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def new_repo(path):
    os.makedirs(path)
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.name", "Bench")
    git(path, "config", "user.email", "bench@example.com")
    git(path, "commit", "-q", "--allow-empty", "-m", "initial")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port):
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.02)
    sys.exit(f"nothing listening on port {port}")


def timed(cmd, env):
    start = time.perf_counter()
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if out.returncode != 0:
        sys.exit(f"{cmd} failed ({out.returncode}): {out.stderr}")
    return elapsed * 1000


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--target-dir", default=os.environ.get("CARGO_TARGET_DIR", os.path.join(here, "..", "target")))
    args = parser.parse_args()
    statebox = os.path.join(args.target_dir, "release", "statebox")
    server_bin = os.path.join(args.target_dir, "release", "examples", "github_test_server")
    for binary in (statebox, server_bin):
        if not os.path.exists(binary):
            sys.exit(f"{binary} missing: cargo build --release --bin statebox --example github_test_server")

    with tempfile.TemporaryDirectory() as root:
        served = os.path.join(root, "served")
        os.makedirs(served)
        bare = os.path.join(served, "remote.git")
        git(root, "init", "-q", "--bare", "-b", "main", bare)
        api_bare = os.path.join(root, "api.git")
        seed = os.path.join(root, "seed")
        new_repo(seed)
        git(seed, "branch", "record")
        git(root, "clone", "-q", "--bare", seed, api_bare)
        local = os.path.join(root, "local")
        new_repo(local)
        clone = os.path.join(root, "clone")
        new_repo(clone)

        port = free_port()
        daemon_bin = os.path.join(git(root, "--exec-path"), "git-daemon")
        daemon = subprocess.Popen([daemon_bin, "--reuseaddr", "--export-all", "--enable=receive-pack",
                                   "--listen=127.0.0.1", f"--port={port}", f"--base-path={served}", served],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        server = subprocess.Popen([server_bin, api_bare, REPO, TOKEN], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        try:
            wait_listening(port)
            git(clone, "remote", "add", "origin", f"git://127.0.0.1:{port}/remote.git")
            api_url = server.stdout.readline().strip()
            env = {k: v for k, v in os.environ.items() if not k.startswith("STATEBOX_")}
            api_env = dict(env, GITHUB_TOKEN=TOKEN, GITHUB_API_URL=api_url)
            ways = {
                "local": ([statebox, "--repo", local], env),
                "remote": ([statebox, "--repo", clone, "--remote", "origin"], env),
                "api": ([statebox, "--github", REPO], api_env),
            }
            times = {name: [] for name in ways}
            for i in range(args.rounds + 1):
                status = "Pass" if i % 2 == 0 else "Fail"
                for name, (base, way_env) in ways.items():
                    ms = timed(base + ["task", "set", "-r", RELEASE, "take-ownership", "--status", status], way_env)
                    if i > 0:  # the first round creates the file and warms caches
                        times[name].append(ms)
            server.stdin.close()
            requests, gets, puts = map(int, server.stdout.readline().split())
            server.wait(timeout=10)
        finally:
            daemon.kill()
            daemon.wait()
            if server.poll() is None:
                server.kill()

    writes = args.rounds + 1
    print(f"{args.rounds} rounds, median ms per write (one run):")
    medians = {name: statistics.median(t) for name, t in times.items()}
    for name, median in medians.items():
        print(f"  {name:7} {median:8.1f} ms   x{median / medians['local']:.2f} of local")
    print(f"API server: {requests} requests for {writes} writes = {requests / writes:.2f} per write "
          f"({gets} GET, {puts} PUT; target 2)")


if __name__ == "__main__":
    main()
