#!/usr/bin/env python3
"""Benchmark: every performance figure of statebox beside its anchor, in one run.

Builds its inputs itself, then measures, interleaved where it matters so
machine noise hits statebox and its anchor alike:

  task-set  `statebox task set` on a 150-release, 5,000-commit branch, beside
            the process floor (`statebox --version`), git plumbing doing the
            same commit, and the original's logic in Python with PyYAML
  ingest    `statebox ingest` of a dense log (realistic job output, 25% of
            lines are status lines) and of a sparse one, beside `grep -c`
  log       `statebox log -r R` on a 50,000-commit branch of 1,500 releases,
            beside `git log -- PATH`: time to the first entry, total time, RSS
  status    `statebox status` on 1,500 and 15,000 releases: time and RSS
            (flat memory means the 15k/1.5k RSS ratio stays near 1)
  merge     bench/merge_driver.py's per-file ratio against `git merge-file`

Every figure is printed as a ratio to its anchor; nothing here is a pass/fail
threshold (the goals are in issue 14 and the README's "Benchmarks").

usage: bench/perf.py [--only SECTION,...] [--statebox PATH] [--dense-mb 210] [--sparse-mb 1024]
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ingest as ingest_bench  # noqa: E402
import task_set  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SECTIONS = ("task-set", "ingest", "log", "status", "merge")


def run_measured(cmd, stdin=None, cwd=None, first_line=False):
    """Runs `cmd`; returns (seconds, first-line seconds or None, peak RSS in MiB).

    The peak RSS is GNU time's report of `cmd` itself: the rusage of a child
    that Python forks counts the pages of this (large) Python process it
    held before exec, which made every command look like 124 MiB."""
    with tempfile.NamedTemporaryFile("r") as report:
        elapsed, first = run_timed(["/usr/bin/time", "-f", "%M", "-o", report.name] + cmd, stdin, cwd, first_line)
        peak_kib = int(report.read().split()[-1])
    return elapsed, first, peak_kib / 1024


def run_timed(cmd, stdin, cwd, first_line):
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdin=stdin, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    first = None
    if first_line:
        proc.stdout.readline()
        first = time.perf_counter() - start
    for _ in iter(lambda: proc.stdout.read(1 << 16), b""):
        pass
    code = proc.wait()
    elapsed = time.perf_counter() - start
    if code != 0:
        sys.exit(f"failed ({code}): {' '.join(cmd)}")
    return elapsed, first


def median_of(rounds, fn):
    return statistics.median(fn() for _ in range(rounds))


def section_task_set(statebox, rounds, tmp):
    repo = os.path.join(tmp, "task-set.git")
    task_set.build_repo(repo)
    runs = {"floor": [], "statebox": [], "plumbing": [], "python": []}
    for n in range(rounds):
        release = task_set.release_name(n % task_set.RELEASES)
        for name, fn in (("floor", lambda: subprocess.run([statebox, "--version"], capture_output=True, check=True)),
                         ("statebox", lambda: task_set.run_statebox(statebox, repo, release, n)),
                         ("plumbing", lambda: task_set.run_plumbing(repo, release, n)),
                         ("python", lambda: task_set.run_python(repo, release, n))):
            start = time.perf_counter()
            fn()
            runs[name].append((time.perf_counter() - start) * 1000)
    med = {k: statistics.median(v) for k, v in runs.items()}
    print(f"task-set  statebox {med['statebox']:.2f} ms   floor {med['floor']:.2f} ms   "
          f"plumbing {med['plumbing']:.2f} ms   python {med['python']:.2f} ms   ({rounds} rounds, medians)")
    print(f"task-set  ratio statebox/floor {med['statebox'] / med['floor']:.2f}x (goal <= 1.5)   "
          f"plumbing/statebox {med['plumbing'] / med['statebox']:.1f}x   python/statebox {med['python'] / med['statebox']:.1f}x")


def ingest_one(statebox, tmp, label, log, rounds):
    repo = os.path.join(tmp, f"ingest-{label}.git")
    subprocess.run(["git", "init", "-q", "--bare", repo], check=True)
    subprocess.run(["cat", log], stdout=subprocess.DEVNULL, check=True)
    grep, sb, rss = [], [], []
    for _ in range(rounds):
        grep.append(run_measured(["grep", "-c", "status is changed to", log])[0])
        with open(log, "rb") as f:
            t, _, r = run_measured([statebox, "--repo", repo, "ingest", "-r", "4.19.1"], stdin=f)
        sb.append(t)
        rss.append(r)
    mib = os.path.getsize(log) / 2**20
    g, s = statistics.median(grep), statistics.median(sb)
    print(f"ingest    {label:<6} {mib:6.0f} MiB: statebox {s:.2f} s ({mib / s:.0f} MiB/s)   grep -c {g:.2f} s   "
          f"ratio statebox/grep {s / g:.2f}x (goal <= 2)   RSS {max(rss):.1f} MiB (goal < 64)")


def section_ingest(statebox, rounds, tmp, dense_mb, sparse_mb):
    dense = os.path.join(tmp, "dense.log")
    status_lines = ingest_bench.generate(dense, dense_mb, status_every=4)  # 25% status lines
    print(f"ingest    dense log: {status_lines} status lines", file=sys.stderr)
    ingest_one(statebox, tmp, "dense", dense, rounds)
    os.unlink(dense)
    sparse = os.path.join(tmp, "sparse.log")
    ingest_bench.generate(sparse, sparse_mb)
    ingest_one(statebox, tmp, "sparse", sparse, rounds)
    os.unlink(sparse)


def release_of(i, count):
    """Release names spread over y-streams like a real branch: 4.x.z and 5.x.z."""
    major, rest = (4, i) if i < count * 2 // 3 else (5, i - count * 2 // 3)
    return f"{major}.{rest % 30}.{rest // 30}"


def fast_import_releases(repo, count, commits):
    """A bare repo whose record branch holds `count` releases and `commits` commits."""
    subprocess.run(["git", "init", "-q", "--bare", repo], check=True)
    proc = subprocess.Popen(["git", "fast-import", "--quiet"], cwd=repo, stdin=subprocess.PIPE)
    when = 1750000000
    for c in range(commits):
        release = release_of(c % count, count)
        state = task_set.state_for(release, c)
        data = task_set.dump(state).encode()
        msg = f"Update task: {release} stage-testing {c}".encode()
        out = [b"commit refs/heads/record\n",
               f"committer bench <bench@example.com> {when + c} +0000\n".encode(),
               b"data %d\n%s\n" % (len(msg), msg),
               f"M 100644 inline {task_set.path_of(release)}\n".encode(),
               b"data %d\n%s\n" % (len(data), data)]
        proc.stdin.write(b"".join(out))
    proc.stdin.close()
    if proc.wait() != 0:
        sys.exit("git fast-import failed")


def section_log(statebox, rounds, tmp):
    repo = os.path.join(tmp, "log.git")
    count, commits = 1500, 50_000
    fast_import_releases(repo, count, commits)
    release = release_of(7, count)
    path = task_set.path_of(release)
    sb = [run_measured([statebox, "--repo", repo, "log", "-r", release], first_line=True) for _ in range(rounds)]
    git = [run_measured(["git", "log", "--format=%H %an %s", "record", "--", path], cwd=repo, first_line=True)
           for _ in range(rounds)]
    t_sb, f_sb, r_sb = (statistics.median(x[i] for x in sb) for i in range(3))
    t_git, f_git, r_git = (statistics.median(x[i] for x in git) for i in range(3))
    print(f"log       {commits} commits, {count} releases: statebox {t_sb:.2f} s (first entry {f_sb * 1000:.0f} ms, "
          f"RSS {r_sb:.0f} MiB)   git log -- PATH {t_git:.2f} s (first {f_git * 1000:.0f} ms, RSS {r_git:.0f} MiB)")
    print(f"log       ratio time statebox/git {t_sb / t_git:.2f}x (goal <= 1)   RSS statebox/git {r_sb / r_git:.2f}x (goal < 1)")


def section_status(statebox, rounds, tmp):
    figures = {}
    for count in (1500, 15_000):
        repo = os.path.join(tmp, f"status-{count}.git")
        fast_import_releases(repo, count, count)
        runs = [run_measured([statebox, "--repo", repo, "status"]) for _ in range(rounds)]
        figures[count] = (statistics.median(r[0] for r in runs), max(r[2] for r in runs))
        print(f"status    {count:>6} releases: {figures[count][0]:.2f} s, RSS {figures[count][1]:.0f} MiB")
    (t1, r1), (t2, r2) = figures[1500], figures[15_000]
    print(f"status    15k/1.5k: time {t2 / t1:.1f}x, RSS {r2 / r1:.2f}x (goals: 15k under 1 s, RSS flat)")


def section_merge(statebox):
    driver = os.path.join(os.path.dirname(statebox), "statebox-merge-driver")
    out = subprocess.run([sys.executable, os.path.join(HERE, "merge_driver.py"), "--cases", "150",
                          "--statebox", driver if os.path.exists(driver) else statebox],
                         capture_output=True, text=True)
    ratio = [l for l in out.stdout.splitlines() if l.startswith("median time ratio statebox/git")]
    rows = [l for l in out.stdout.splitlines() if l.startswith(("statebox ", "git "))]
    for line in rows:
        print(f"merge     {line}")
    print(f"merge     {ratio[0] if ratio else 'no ratio: ' + out.stdout[-400:] + out.stderr[-400:]} (goal <= 1)")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--statebox", default=os.path.join(HERE, "..", "target", "release", "statebox"))
    ap.add_argument("--only", default=",".join(SECTIONS), help="comma-separated sections: " + ", ".join(SECTIONS))
    ap.add_argument("--rounds", type=int, default=5, help="repetitions of each timed command (task-set: x8)")
    ap.add_argument("--dense-mb", type=int, default=210)
    ap.add_argument("--sparse-mb", type=int, default=1024)
    args = ap.parse_args()
    statebox = os.path.abspath(args.statebox)
    if not os.access(statebox, os.X_OK):
        sys.exit(f"{statebox}: not built (cargo build --release)")
    wanted = args.only.split(",")
    unknown = set(wanted) - set(SECTIONS)
    if unknown:
        sys.exit(f"unknown section(s): {', '.join(sorted(unknown))}")
    with tempfile.TemporaryDirectory() as tmp:
        if "task-set" in wanted:
            section_task_set(statebox, args.rounds * 8, tmp)
        if "ingest" in wanted:
            section_ingest(statebox, args.rounds, tmp, args.dense_mb, args.sparse_mb)
        if "log" in wanted:
            section_log(statebox, args.rounds, tmp)
        if "status" in wanted:
            section_status(statebox, args.rounds, tmp)
        if "merge" in wanted:
            section_merge(statebox)


if __name__ == "__main__":
    main()
