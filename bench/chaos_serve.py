#!/usr/bin/env python3
"""Chaos run of `statebox serve`: kill it at random, lose nothing.

`statebox serve` runs on a clone whose `--remote origin` is a bare
repository behind `git daemon` on 127.0.0.1, restarted by a supervisor loop
the moment it dies (as the kubelet restarts a container). Eight clients
write for DURATION seconds, four through MCP (raw JSON-RPC over streamable
HTTP: `statebox_set_task` and `oar_add_issue`), four through the JSON API
(`PUT .../tasks/{task}`, `POST .../issues`), every write under its own
idempotency key, retried with that key until it is acknowledged. Meanwhile
the server is SIGKILLed at random intervals, and once SIGSTOPped for 10 s.

At the end, on the remote: every acknowledged write is there exactly once
(its key's trailer on one commit, its unique result or issue text on one
commit), nothing is there twice, `git fsck --strict` is clean. Recovery
time (kill -> first successful request of any client) is measured for each
kill and plotted (histogram and timeline) under bench/results/; the
recovery runs until a request sent after the kill succeeds.

Usage: bench/chaos_serve.py [--duration 180] [--statebox BIN]
Plots need matplotlib: installed into target/chaos-venv on first use.
"""

import argparse
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
RELEASE = "4.19.1"
CLIENTS = 8
REQUEST_TIMEOUT = 5.0
RETRY_PAUSE = 0.1
TASKS = [
    "take-ownership",
    "check-cve-tracker-bug",
    "push-to-cdn-staging",
    "image-consistency-check",
    "stage-testing",
    "image-signed-check",
    "change-advisory-status",
    "check-greenwave-cvp-tests",
]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def git(*args, cwd=None):
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout


def pick_binary(given):
    candidates = [Path(given)] if given else [
        ROOT / "target" / "release" / "statebox",
        ROOT / "target" / "debug" / "statebox",
    ]
    for binary in candidates:
        if not binary.exists():
            continue
        help_text = subprocess.run(
            [binary, "task", "set", "--help"], capture_output=True, text=True
        ).stdout
        if "--idempotency-key" in help_text:
            return binary
        print(f"{binary} has no --idempotency-key; skipping it", file=sys.stderr)
    sys.exit("no statebox binary with idempotency keys: cargo build --release")


class Server:
    """The supervisor: starts `statebox serve`, restarts it when it dies."""

    def __init__(self, binary, clone, port, log):
        self.command = [
            str(binary), "--repo", str(clone), "--remote", "origin",
            "serve", "--listen", f"127.0.0.1:{port}",
        ]
        self.log = log
        self.process = None
        self.lock = threading.Lock()
        self.running = True
        self.starts = 0
        self.thread = threading.Thread(target=self.supervise, daemon=True)

    def start(self):
        self.thread.start()

    def supervise(self):
        while self.running:
            with self.lock:
                self.process = subprocess.Popen(
                    self.command, stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL, stderr=self.log,
                    env={**os.environ, "STATEBOX_LOG": "warn"},
                )
                self.starts += 1
            self.process.wait()

    def signal(self, sig):
        with self.lock:
            if self.process and self.process.poll() is None:
                self.process.send_signal(sig)

    def stop(self):
        self.running = False
        self.signal(signal.SIGCONT)
        self.signal(signal.SIGKILL)
        self.thread.join(timeout=10)


class Client(threading.Thread):
    """Writes until the deadline; each write retried under its key until
    acknowledged. `via` is "mcp" or "api"."""

    def __init__(self, number, via, port, deadline, successes):
        super().__init__(daemon=True)
        self.number, self.via, self.port = number, via, port
        self.deadline, self.successes = deadline, successes
        self.acked = []  # (key, kind, text)
        self.attempts = 0
        self.refusals = []  # answers that are not "retry later"

    def post(self, method, path, body, headers):
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", method=method,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", **headers},
        )
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT) as answer:
            return json.loads(answer.read())

    def mcp(self, tool, arguments):
        answer = self.post("POST", "/mcp", {
            "jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": tool, "arguments": arguments},
        }, {"Accept": "application/json, text/event-stream"})
        result = answer.get("result")
        if result is None or result.get("isError"):
            raise RuntimeError(f"{tool}: {answer}")
        if tool.startswith("oar_"):
            text = json.loads(result["content"][0]["text"])
            if not text.get("success"):
                raise RuntimeError(f"{tool}: {text}")
        return result

    def write(self, n, key):
        task = TASKS[(self.number + n) % len(TASKS)]
        text = f"chaos client {self.number} write {n} {key}"
        if n % 2 == 0:  # a task with a result unique to this write
            kind = "task"
            if self.via == "mcp":
                self.mcp("statebox_set_task", {
                    "release": RELEASE, "task": task, "status": "In Progress",
                    "result": text, "idempotency_key": key,
                })
            else:
                self.post("PUT", f"/api/releases/{RELEASE}/tasks/{task}",
                          {"status": "In Progress", "result": text},
                          {"Idempotency-Key": key})
        else:  # an issue with a text unique to this write
            kind = "issue"
            if self.via == "mcp":
                self.mcp("oar_add_issue", {
                    "release": RELEASE, "issue": text, "blocker": False,
                    "idempotency_key": key,
                })
            else:
                self.post("POST", f"/api/releases/{RELEASE}/issues",
                          {"issue": text}, {"Idempotency-Key": key})
        return kind, text

    def run(self):
        n = 0
        while time.monotonic() < self.deadline:
            key = f"c{self.number}-w{n}-{uuid.uuid4().hex[:12]}"
            while True:
                self.attempts += 1
                sent = time.monotonic()
                try:
                    kind, text = self.write(n, key)
                except urllib.error.HTTPError as e:
                    body = e.read().decode(errors="replace")
                    if e.code < 500:
                        self.refusals.append(f"{key}: {e.code} {body}")
                        break
                except (OSError, RuntimeError, ValueError):
                    pass  # killed, stopped, restarting: retry, same key
                else:
                    self.successes.append((sent, time.monotonic()))
                    self.acked.append((key, kind, text))
                    break
                time.sleep(RETRY_PAUSE)
            n += 1


def chaos(server, start, deadline, kills, stop_at):
    """SIGKILLs every 2 to 10 s; once, SIGSTOP for 10 s."""
    stopped = False
    while True:
        time.sleep(random.uniform(2, 10))
        now = time.monotonic()
        if now > deadline - 3:
            return
        if not stopped and now - start > stop_at:
            stopped = True
            server.signal(signal.SIGSTOP)
            kills.append(("stop", time.monotonic()))
            time.sleep(10)
            server.signal(signal.SIGCONT)
            continue
        server.signal(signal.SIGKILL)
        kills.append(("kill", time.monotonic()))


def recovery_times(kills, successes):
    """Per kill: until the first request sent after it succeeded (one sent
    before may still read an answer the dead process had written)."""
    times = []
    for kind, at in kills:
        done = [d for sent, d in successes if sent > at]
        if done:
            times.append((kind, at, min(done) - at))
    return times


def percentile(values, p):
    values = sorted(values)
    if not values:
        return float("nan")
    rank = max(0, min(len(values) - 1, round(p / 100 * len(values) + 0.5) - 1))
    return values[rank]


def check_remote(bare, acked):
    log = git("log", "--format=%H%x00%B%x01", "record", cwd=bare)
    trailers, texts = {}, {}
    commits = 0
    for entry in log.split("\x01"):
        if not entry.strip():
            continue
        commits += 1
        _, message = entry.strip("\n").split("\x00", 1)
        for line in message.splitlines():
            if line.startswith("Statebox-Idempotency-Key: "):
                key = line.split(": ", 1)[1]
                trailers[key] = trailers.get(key, 0) + 1
            if line.startswith("Statebox-Op: "):
                op = json.loads(line.split(": ", 1)[1])
                text = op.get("result") or op.get("text")
                if text and text.startswith("chaos client"):
                    texts[text] = texts.get(text, 0) + 1
    on_remote = sum(1 for key, _, text in acked
                    if trailers.get(key) == 1 and texts.get(text) == 1)
    lost = [key for key, _, _ in acked if key not in trailers]
    duplicated = sorted(
        {k for k, c in trailers.items() if c > 1}
        | {t for t, c in texts.items() if c > 1}
    )
    fsck = subprocess.run(["git", "fsck", "--strict", "--no-dangling"],
                          cwd=bare, capture_output=True, text=True)
    return commits, on_remote, lost, duplicated, fsck


def plot(times, start, out_dir):
    venv = ROOT / "target" / "chaos-venv"
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "matplotlib"],
                       check=True)
    data = json.dumps([(k, at - start, r) for k, at, r in times])
    script = r'''
import json, sys
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
times = json.loads(sys.argv[1]); out = sys.argv[2]
kills = [r for k, _, r in times if k == "kill"]
fig, ax = plt.subplots(figsize=(7, 4))
ax.hist(kills, bins=20, color="tab:blue")
ax.set_xlabel("recovery time after SIGKILL (s): kill -> first successful request")
ax.set_ylabel("kills"); ax.set_title(f"statebox serve: recovery after {len(kills)} SIGKILLs")
fig.tight_layout(); fig.savefig(out + "/chaos_serve_histogram.png", dpi=110)
fig, ax = plt.subplots(figsize=(9, 4))
for kind, color in (("kill", "tab:blue"), ("stop", "tab:red")):
    xs = [a for k, a, _ in times if k == kind]; ys = [r for k, _, r in times if k == kind]
    ax.scatter(xs, ys, color=color, label="SIGKILL" if kind == "kill" else "SIGSTOP 10 s")
    ax.vlines(xs, 0, ys, color=color, alpha=0.4)
ax.set_xlabel("time into the run (s)"); ax.set_ylabel("recovery (s)")
ax.set_title("statebox serve under chaos: recovery per kill"); ax.legend()
fig.tight_layout(); fig.savefig(out + "/chaos_serve_timeline.png", dpi=110)
'''
    subprocess.run([str(python), "-c", script, data, str(out_dir)], check=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=180)
    parser.add_argument("--statebox", help="binary [target/release, else target/debug]")
    args = parser.parse_args()
    binary = pick_binary(args.statebox)
    RESULTS.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="chaos-serve-"))
    bare = work / "remote.git"
    git("init", "-q", "--bare", "-b", "main", str(bare))
    git("config", "receive.denyNonFastForwards", "true", cwd=bare)
    daemon_port = free_port()
    exec_path = git("--exec-path").strip()
    daemon = subprocess.Popen([
        f"{exec_path}/git-daemon", "--reuseaddr", "--export-all",
        "--enable=receive-pack", "--listen=127.0.0.1", f"--port={daemon_port}",
        f"--base-path={work}", str(work),
    ], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    clone = work / "clone"
    git("init", "-q", "-b", "main", str(clone))
    for key, value in (("user.name", "chaos"), ("user.email", "chaos@example.com")):
        git("config", key, value, cwd=clone)
    git("commit", "-q", "--allow-empty", "-m", "initial", cwd=clone)
    git("remote", "add", "origin", f"git://127.0.0.1:{daemon_port}/remote.git", cwd=clone)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", daemon_port), 0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    subprocess.run([binary, "--repo", clone, "--remote", "origin", "init", "-r", RELEASE],
                   check=True, capture_output=True)

    port = free_port()
    server_log = open(work / "serve.log", "w")
    server = Server(binary, clone, port, server_log)
    server.start()
    successes, kills = [], []
    start = time.monotonic()
    deadline = start + args.duration
    clients = [Client(i, "mcp" if i < CLIENTS // 2 else "api", port, deadline, successes)
               for i in range(CLIENTS)]
    for client in clients:
        client.start()
    chaos_thread = threading.Thread(
        target=chaos, args=(server, start, deadline, kills, args.duration / 2), daemon=True)
    chaos_thread.start()
    for client in clients:
        client.join()
    chaos_thread.join()
    elapsed = time.monotonic() - start
    server.stop()
    daemon.kill()
    daemon.wait()

    acked = [a for c in clients for a in c.acked]
    refusals = [r for c in clients for r in c.refusals]
    attempts = sum(c.attempts for c in clients)
    commits, on_remote, lost, duplicated, fsck = check_remote(bare, acked)
    times = recovery_times(kills, successes)
    kill_times = [r for k, _, r in times if k == "kill"]
    stop_times = [r for k, _, r in times if k == "stop"]
    plot(times, start, RESULTS)
    summary = (
        f"writes acknowledged: {len(acked)}, on the remote exactly once: {on_remote}, "
        f"duplicates: {len(duplicated)}, lost: {len(lost)}, "
        f"kills: {len(kill_times)} (+{len(stop_times)} SIGSTOP 10 s), "
        f"recovery p50 {percentile(kill_times, 50):.3f} s, p99 {percentile(kill_times, 99):.3f} s, "
        f"fsck --strict: {'clean' if fsck.returncode == 0 and not fsck.stdout.strip() else 'NOT clean'}"
    )
    lines = [
        summary,
        "",
        f"binary: {binary}",
        f"run: {elapsed:.0f} s, {CLIENTS} clients ({CLIENTS // 2} MCP JSON-RPC over HTTP, "
        f"{CLIENTS // 2} JSON API), {attempts} requests sent for {len(acked)} writes "
        f"({attempts - len(acked)} retries), {len(acked) / elapsed:.1f} acknowledged writes/s",
        f"server starts: {server.starts}; remote commits: {commits}",
        f"recovery after SIGKILL (s): min {min(kill_times, default=0):.3f}, "
        f"mean {statistics.mean(kill_times) if kill_times else 0:.3f}, "
        f"max {max(kill_times, default=0):.3f}",
        f"recovery after SIGSTOP 10 s (from the stop): "
        + ", ".join(f"{r:.3f} s" for r in stop_times),
        f"refused (4xx) writes: {len(refusals)}",
        *[f"  {r}" for r in refusals[:10]],
        f"lost keys: {lost[:10]}",
        f"duplicated: {duplicated[:10]}",
        f"git fsck --strict: rc {fsck.returncode} {fsck.stdout.strip()} {fsck.stderr.strip()}",
        "plots: chaos_serve_histogram.png, chaos_serve_timeline.png",
    ]
    (RESULTS / "chaos_serve.txt").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"work dir (server log in serve.log): {work}", file=sys.stderr)
    failed = lost or duplicated or refusals or fsck.returncode != 0 or on_remote != len(acked)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
