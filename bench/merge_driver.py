#!/usr/bin/env python3
"""Benchmark: the statebox merge driver against line-based merges.

Generates three-way cases from the real state files in
../shared/fixtures/statebox (a base cut back from a real file, then two
sides that each apply a few real operations: task progress with output,
issues added, re-added and resolved, metadata and advisory ids set), each
side stamping its own write time, and merges every case with:

  statebox   `statebox merge-driver %O %A %B %P` (the release binary if
             built, else debug, as reported)
  git        `git merge-file -p ours base theirs`
  mergiraf   `mergiraf merge base ours theirs` when a mergiraf binary is
             given (--mergiraf) or found on PATH

The expected result of each case is computed here, independently, from the
merge rules in DESIGN.md ("Merge driver"), and written with PyYAML exactly as
the record branch's files are. For every tool it counts conflicts, wrong
merges (clean, but not the expected state: a semantic comparison of the
parsed YAML for the line-based tools; byte equality with the canonical file
for statebox) and times one merge per file, process start included.

usage: bench/merge_driver.py [--cases N] [--seed S] [--statebox PATH] [--mergiraf PATH]
"""
import argparse
import copy
import datetime as dt
import glob
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
FIXTURES = os.path.join(ROOT, "..", "shared", "fixtures", "statebox", "_releases")

CATALOG = ["create-test-report", "take-ownership", "update-bug-list", "image-consistency-check",
           "analyze-candidate-build", "analyze-promoted-build", "check-greenwave-cvp-tests",
           "check-cve-tracker-bug", "push-to-cdn-staging", "stage-testing", "image-signed-check",
           "drop-bugs", "change-advisory-status"]
ISSUE_TEXTS = ["Prow job image-consistency-check failed, retrying",
               "Advisory 169043 is blocked by a missing CVE tracker bug",
               "Greenwave CVP test failed for ose-cli",
               "Stage push for rhcos advisory timed out",
               "Blocking bug OCPBUGS-61234 still ON_QA"]


# --- PyYAML, exactly as the record branch writes it -------------------------

class Dumper(yaml.SafeDumper):
    pass


Dumper.add_representer(str, lambda d, s: d.represent_scalar(
    "tag:yaml.org,2002:str", s, style="|" if "\n" in s else None))


def dump(state):
    return yaml.dump(state, Dumper=Dumper, default_flow_style=False, sort_keys=False,
                     allow_unicode=True)


# --- the merge rules, implemented independently of the Rust code -------------

def parse_time(text):
    try:
        at = dt.datetime.fromisoformat(str(text).strip())
    except ValueError:
        return None
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.timezone.utc)
    return at


def time_key(text):
    """Unparsable sorts first; equal instants fall back to the text."""
    at = parse_time(text)
    return (at is not None, at or dt.datetime.min.replace(tzinfo=dt.timezone.utc), str(text))


MISSING = object()


def same(a, b):
    if a is MISSING or b is MISSING:
        return a is b
    return a == b


def one_sided(base, ours, theirs):
    """(True, value) when at most one side changed it."""
    if same(ours, theirs) or same(base, theirs):
        return True, ours
    if same(base, ours):
        return True, theirs
    return False, None


def later_side(ours, theirs):
    a, b = time_key(ours["updated_at"]), time_key(theirs["updated_at"])
    if a != b:
        return "ours" if a > b else "theirs"
    return "ours" if dump(ours).encode() > dump(theirs).encode() else "theirs"


def merged_keys(base, ours, theirs, later):
    order = list(base)
    earlier_keys, later_keys = (theirs, ours) if later == "ours" else (ours, theirs)
    for k in list(earlier_keys) + list(later_keys):
        if k not in order:
            order.append(k)
    return order


def keyed(items, identity):
    seen, out = {}, {}
    for item in items:
        ident = identity(item)
        n = seen.get(ident, 0)
        seen[ident] = n + 1
        out[(ident, n)] = item
    return out


def merge_entities(base, ours, theirs, later, identity, winner):
    b, o, t = keyed(base, identity), keyed(ours, identity), keyed(theirs, identity)
    out = []
    for key in merged_keys(b, o, t, later):
        bv, ov, tv = b.get(key, MISSING), o.get(key, MISSING), t.get(key, MISSING)
        done, value = one_sided(bv, ov, tv)
        if not done:
            if ov is not MISSING and tv is not MISSING:
                value = ov if winner(ov, tv) == "ours" else tv
            else:
                value = tv if ov is MISSING else ov
        if value is not MISSING:
            out.append(value)
    return out


def issue_winner(later):
    def pick(o, t):
        def rank(i):
            at = parse_time(i["resolved_at"]) if i.get("resolved_at") else None
            return (bool(i["resolved"]), at is not None, at or dt.datetime.min.replace(tzinfo=dt.timezone.utc))
        if rank(o) != rank(t):
            return "ours" if rank(o) > rank(t) else "theirs"
        return later
    return pick


def merge_maps(base, ours, theirs, later):
    out = {}
    for key in merged_keys(base, ours, theirs, later):
        bv, ov, tv = base.get(key, MISSING), ours.get(key, MISSING), theirs.get(key, MISSING)
        done, value = one_sided(bv, ov, tv)
        if not done:
            if isinstance(ov, dict) and isinstance(tv, dict):
                value = merge_maps(bv if isinstance(bv, dict) else {}, ov, tv, later)
            elif ov is not MISSING and tv is not MISSING:
                if (ov is None) != (tv is None):
                    value = tv if ov is None else ov
                else:
                    value = ov if later == "ours" else tv
            else:
                value = tv if ov is MISSING else ov
        if value is not MISSING:
            out[key] = value
    return out


def expected_merge(base, ours, theirs):
    done, whole = one_sided(base, ours, theirs)
    if done:
        return whole
    later = later_side(ours, theirs)
    merged = copy.deepcopy(ours if later == "ours" else theirs)
    for field in ("release", "created_at", "updated_at"):
        done, value = one_sided(base[field], ours[field], theirs[field])
        if done:
            merged[field] = value
        elif field == "created_at":
            merged[field] = min(ours[field], theirs[field], key=time_key)
    merged["metadata"] = merge_maps(base["metadata"], ours["metadata"], theirs["metadata"], later)
    merged["tasks"] = merge_entities(base["tasks"], ours["tasks"], theirs["tasks"], later,
                                     lambda t: t["name"], lambda o, t: later)
    merged["issues"] = merge_entities(base["issues"], ours["issues"], theirs["issues"], later,
                                      lambda i: i["issue"].strip().lower(), issue_winner(later))
    return merged


# --- cases -------------------------------------------------------------------

def stamp(at):
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def cut_back(rng, full):
    """A base: the real file as it was some time before."""
    base = copy.deepcopy(full)
    base["tasks"] = base["tasks"][: rng.randint(0, len(base["tasks"]))]
    for task in base["tasks"]:
        if rng.random() < 0.2:
            task.update(status="In Progress", completed_at=None)
    base["issues"] = base["issues"][: rng.randint(0, len(base["issues"]))]
    for key in ("shipment_mr", "jira_ticket"):
        if rng.random() < 0.3:
            base["metadata"][key] = None
    return base


def operate(rng, state, at):
    """One real operation at time `at`, as the CLI would do it."""
    now = stamp(at)
    kind = rng.choice(["task", "task", "task", "issue", "resolve", "meta", "advisory"])
    if kind == "task":
        name = rng.choice(CATALOG)
        task = next((t for t in state["tasks"] if t["name"] == name), None)
        if task is None:
            task = {"name": name, "status": "Not Started", "started_at": None,
                    "completed_at": None, "result": None}
            state["tasks"].append(task)
        if task["status"] != "In Progress":
            task.update(status="In Progress", started_at=now, completed_at=None)
        else:
            status = rng.choice(["Pass", "Pass", "Fail"])
            title = " ".join(w.capitalize() for w in name.split("-"))
            lines = [f"{now}: INFO: step {k} of [{title}]" for k in range(rng.randint(1, 6))]
            lines.append(f"{now}: INFO: task [{title}] status is changed to [{status}]")
            task.update(status=status, completed_at=now, result="\n".join(lines))
    elif kind == "issue":
        text = rng.choice(ISSUE_TEXTS)
        state["issues"].append({"issue": text, "reported_at": now, "resolved": False,
                                "resolution": None, "blocker": rng.random() < 0.5,
                                "related_tasks": [rng.choice(CATALOG)] if rng.random() < 0.5 else []})
    elif kind == "resolve":
        open_issues = [i for i in state["issues"] if not i["resolved"]]
        if open_issues:
            issue = rng.choice(open_issues)
            issue.update(resolved=True, resolution=f"fixed, see run at {now}", resolved_at=now)
    elif kind == "meta":
        key = rng.choice(["jira_ticket", "shipment_mr", "release_date"])
        state["metadata"][key] = f"{key}-{rng.randint(1, 99)}"
    else:
        group = rng.choice(["advisory_ids", "candidate_builds"])
        sub = rng.choice(["rpm", "rhcos", "metadata", "x86_64", "aarch64"])
        state["metadata"].setdefault(group, {})[sub] = rng.randint(160000, 170000)
    state["updated_at"] = now


def side(rng, base, start):
    state = copy.deepcopy(base)
    at = start
    for _ in range(rng.randint(1, 5)):
        at += dt.timedelta(minutes=rng.randint(1, 40))
        operate(rng, state, at)
    return state


def make_cases(rng, count):
    fulls = []
    for path in sorted(glob.glob(os.path.join(FIXTURES, "*", "statebox", "*.yaml"))):
        with open(path, encoding="utf-8") as f:
            fulls.append((os.path.relpath(path, os.path.dirname(FIXTURES)), yaml.safe_load(f)))
    cases = []
    for n in range(count):
        rel, full = fulls[n % len(fulls)]
        base = cut_back(rng, full)
        start = parse_time(base["updated_at"])
        ours = side(rng, base, start)
        theirs = side(rng, base, start)
        if rng.random() < 0.1:
            # Two writes in the same second: the content tie-break decides.
            theirs["updated_at"] = ours["updated_at"]
        cases.append((rel, base, ours, theirs))
    return cases


# --- running the tools ---------------------------------------------------------

def find_statebox(given):
    if given:
        return given, "given"
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    built = [(os.path.getmtime(p), p, profile)
             for profile in ("release", "debug")
             for p in [os.path.join(target, profile, "statebox")] if os.path.exists(p)]
    if not built:
        sys.exit("no statebox binary: cargo build --release (or pass --statebox)")
    # The newest build: a stale release binary would measure old code.
    _, path, profile = max(built)
    return path, profile


def timed(cmd, cwd):
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True)
    return proc, (time.perf_counter() - start) * 1000


def run_case(work, tools, rel, texts, expected_text, expected):
    results = {}
    for tool, argv in tools.items():
        for name, text in zip(("O", "A", "B"), texts):
            with open(os.path.join(work, name), "w", encoding="utf-8") as f:
                f.write(text)
        if tool == "statebox":
            # What `statebox install` configures: the dedicated driver
            # program beside statebox, else `statebox merge-driver`.
            dedicated = os.path.join(os.path.dirname(argv), "statebox-merge-driver")
            command = [dedicated] if os.path.exists(dedicated) else [argv, "merge-driver"]
            proc, ms = timed(command + ["O", "A", "B", rel], work)
            with open(os.path.join(work, "A"), encoding="utf-8") as f:
                out = f.read()
        elif tool == "git":
            proc, ms = timed(["git", "merge-file", "-p", "A", "O", "B"], work)
            out = proc.stdout.decode()
        else:
            proc, ms = timed([argv, "merge", "O", "A", "B", "-p", rel, "-o", "OUT"], work)
            out = open(os.path.join(work, "OUT"), encoding="utf-8").read() \
                if os.path.exists(os.path.join(work, "OUT")) else ""
            if os.path.exists(os.path.join(work, "OUT")):
                os.remove(os.path.join(work, "OUT"))
        if proc.returncode != 0 or "<<<<<<<" in out:
            verdict = "conflict"
        elif tool == "statebox":
            verdict = "right" if out == expected_text else "wrong"
        else:
            try:
                verdict = "right" if yaml.safe_load(out) == expected else "wrong"
            except yaml.YAMLError:
                verdict = "wrong"
        results[tool] = (verdict, ms)
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", type=int, default=300)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--statebox")
    ap.add_argument("--mergiraf")
    args = ap.parse_args()
    if not os.path.isdir(FIXTURES):
        sys.exit(f"fixtures not found at {FIXTURES}")

    statebox, profile = find_statebox(args.statebox)
    tools = {"statebox": statebox, "git": "git"}
    mergiraf = args.mergiraf or shutil.which("mergiraf")
    if mergiraf:
        tools["mergiraf"] = mergiraf
    print(f"statebox: {statebox} ({profile} build)")
    print(f"mergiraf: {mergiraf or 'not available, skipped'}")

    rng = random.Random(args.seed)
    cases = make_cases(rng, args.cases)
    tally = {tool: {"right": 0, "wrong": 0, "conflict": 0, "ms": []} for tool in tools}
    git_conflicts = {tool: {"right": 0, "wrong": 0, "conflict": 0} for tool in tools}
    wrong_examples = []
    with tempfile.TemporaryDirectory() as work:
        for rel, base, ours, theirs in cases:
            expected = expected_merge(base, ours, theirs)
            expected_text = dump(expected)
            texts = (dump(base), dump(ours), dump(theirs))
            results = run_case(work, tools, rel, texts, expected_text, expected)
            for tool, (verdict, ms) in results.items():
                tally[tool][verdict] += 1
                tally[tool]["ms"].append(ms)
                if results["git"][0] == "conflict":
                    git_conflicts[tool][verdict] += 1
                if tool == "statebox" and verdict != "right" and len(wrong_examples) < 3:
                    wrong_examples.append(rel)

    n = len(cases)
    print(f"\n{n} three-way cases from {FIXTURES}")
    print(f"{'tool':<10} {'right':>6} {'wrong':>6} {'conflict':>9} {'median ms':>10} {'p95 ms':>8}"
          f"   on the {git_conflicts['git']['conflict']} cases git conflicts on: right/wrong/conflict")
    for tool, t in tally.items():
        ms = sorted(t["ms"])
        p95 = ms[int(0.95 * (len(ms) - 1))]
        g = git_conflicts[tool]
        print(f"{tool:<10} {t['right']:>6} {t['wrong']:>6} {t['conflict']:>9} "
              f"{statistics.median(ms):>10.2f} {p95:>8.2f}   {g['right']}/{g['wrong']}/{g['conflict']}")
    base_ms = statistics.median(tally["git"]["ms"])
    for tool in tools:
        if tool != "git":
            print(f"median time ratio {tool}/git: {statistics.median(tally[tool]['ms']) / base_ms:.2f}")
    if wrong_examples:
        print(f"statebox cases not right (first few): {wrong_examples}")
    return 1 if tally["statebox"]["wrong"] or tally["statebox"]["conflict"] else 0


if __name__ == "__main__":
    sys.exit(main())
