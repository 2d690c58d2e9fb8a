//! Derived files through real rebases, merges and cherry-picks: with
//! `statebox install` in place, a branch that edits YAML above secrets and
//! touches state files replays over a main that moved and re-laid out
//! files without stopping, and the final `.secrets.baseline` is what
//! `detect-secrets scan --baseline` gives on the final tree, audit flags
//! kept. Needs detect-secrets 1.5 (`pip install detect-secrets==1.5.0`).

use crate::support::*;
use serde_json::Value as Json;
use statebox::merge::baseline::Baseline;
use std::path::Path;
use std::process::Command;

const REL: &str = "4.19.1";

fn detect_secrets() -> &'static str {
    let found = Command::new("detect-secrets").arg("--version").output();
    assert!(
        found.is_ok_and(|o| o.status.success()),
        "detect-secrets is missing: pip install detect-secrets==1.5.0"
    );
    "detect-secrets"
}

/// Secrets built at run time so scanners of this source stay quiet.
fn secret(n: usize) -> String {
    let hex: String = (0..40)
        .map(|i| b"0123456789abcdef"[(i * 7 + n * 13) % 16] as char)
        .collect();
    format!("{hex}{n:02}")
}

fn yaml_with_secrets(prefix_lines: usize, first: usize) -> String {
    let mut text: String = (0..prefix_lines)
        .map(|i| format!("note_{i}: plain value {i}\n"))
        .collect();
    for n in first..first + 3 {
        text.push_str(&format!(
            "service_{n}:\n  api_key: \"{}\"\n  region: eu-west-{n}\n",
            secret(n)
        ));
    }
    text
}

/// Refreshes the baseline the way a pre-commit hook does (detect-secrets
/// scans tracked files only, so stage first), then commits all.
fn commit_all(repo: &Path, message: &str) {
    git(repo, &["add", "-A"]);
    let out = Command::new(detect_secrets())
        .args(["scan", "--no-verify", "--baseline", ".secrets.baseline"])
        .current_dir(repo)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    git(repo, &["add", "-A"]);
    git(repo, &["commit", "-q", "-m", message]);
}

/// statebox on the work tree's `_releases/` (the directory store).
fn in_tree(repo: &Path, args: &[&str]) -> String {
    let out = Command::new(statebox_bin())
        .arg("--dir")
        .arg(repo)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn set_task(repo: &Path, task: &str, status: &str) {
    in_tree(repo, &["task", "set", "-r", REL, task, "--status", status]);
}

/// Marks findings as audited, as a person running `detect-secrets audit` would.
fn audit(repo: &Path, file: &str, is_secret: bool) {
    let path = repo.join(".secrets.baseline");
    let mut baseline = Baseline::parse(&std::fs::read_to_string(&path).unwrap()).unwrap();
    for finding in baseline.results.get_mut(file).unwrap() {
        finding.is_secret = Some(is_secret);
    }
    std::fs::write(&path, baseline.to_string()).unwrap();
}

/// main with secrets in two files, a state file and the driver installed;
/// a 15-commit feature branch; main then moves on and re-lays out files.
fn diverged() -> tempfile::TempDir {
    let repo = new_repo();
    let r = repo.path();
    std::fs::create_dir_all(r.join("config")).unwrap();
    std::fs::write(r.join("config/a.yaml"), yaml_with_secrets(2, 0)).unwrap();
    std::fs::write(r.join("config/b.yaml"), yaml_with_secrets(1, 10)).unwrap();
    git(r, &["add", "-A"]);
    let out = Command::new(detect_secrets())
        .args(["scan", "--no-verify"])
        .current_dir(r)
        .output()
        .unwrap();
    std::fs::write(r.join(".secrets.baseline"), &out.stdout).unwrap();
    set_task(r, "take-ownership", "Pass");
    ok(r, &["install"]);
    commit_all(r, "base");

    git(r, &["checkout", "-q", "-b", "feature"]);
    for i in 0..15 {
        let a = std::fs::read_to_string(r.join("config/a.yaml")).unwrap();
        std::fs::write(
            r.join("config/a.yaml"),
            format!("feature_{i}: added above the findings\n{a}"),
        )
        .unwrap();
        if i % 3 == 0 {
            set_task(
                r,
                "stage-testing",
                if i % 2 == 0 { "In Progress" } else { "Pass" },
            );
        }
        if i == 7 {
            audit(r, "config/a.yaml", false);
        }
        commit_all(r, &format!("feature {i}"));
    }

    git(r, &["checkout", "-q", "main"]);
    let b = std::fs::read_to_string(r.join("config/b.yaml")).unwrap();
    std::fs::create_dir_all(r.join("config/moved")).unwrap();
    std::fs::write(
        r.join("config/moved/b.yaml"),
        format!("header: moved\nowner: team\n{b}"),
    )
    .unwrap();
    std::fs::remove_file(r.join("config/b.yaml")).unwrap();
    // Main adds at the end of a.yaml (far from the feature's edits at the top).
    let a = std::fs::read_to_string(r.join("config/a.yaml")).unwrap();
    std::fs::write(
        r.join("config/a.yaml"),
        format!("{a}main_tail: line from main\n"),
    )
    .unwrap();
    set_task(r, "drop-bugs", "Fail");
    commit_all(r, "main re-lays out files");
    set_task(r, "image-signed-check", "Pass");
    commit_all(r, "main moves on");
    repo
}

/// Where two baselines differ, for a readable failure.
fn differences(a: &Json, b: &Json) -> Vec<String> {
    let mut out = Vec::new();
    for key in ["version", "plugins_used", "filters_used"] {
        if a[key] != b[key] {
            out.push(format!("{key}: {} vs {}", a[key], b[key]));
        }
    }
    let files = |j: &Json| {
        j["results"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect::<Vec<_>>()
    };
    let (fa, fb) = (files(a), files(b));
    for file in fa.iter().chain(fb.iter()) {
        if a["results"][file] != b["results"][file] {
            out.push(format!(
                "{file}: {} vs {}",
                a["results"][file], b["results"][file]
            ));
        }
    }
    out.dedup();
    out
}

/// The committed baseline, checked against what `detect-secrets scan
/// --baseline` makes of it on the same tree: equal apart from
/// `generated_at`. Returns it without `generated_at`.
fn assert_committed_baseline_is_fresh(repo: &Path) -> Json {
    assert_eq!(
        git(repo, &["status", "--porcelain", "--untracked-files=no"]),
        "",
        "work tree clean"
    );
    let committed = git(repo, &["show", "HEAD:.secrets.baseline"]);
    let out = Command::new(detect_secrets())
        .args(["scan", "--no-verify", "--baseline", ".secrets.baseline"])
        .current_dir(repo)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let fresh = std::fs::read_to_string(repo.join(".secrets.baseline")).unwrap();
    git(repo, &["checkout", "--", ".secrets.baseline"]);
    let without_time = |text: &str| {
        let mut json: Json = serde_json::from_str(text).unwrap();
        json.as_object_mut().unwrap().remove("generated_at");
        json
    };
    let (committed, fresh) = (without_time(&committed), without_time(&fresh));
    assert!(
        committed == fresh,
        "stale baseline: {:#?}",
        differences(&committed, &fresh)
    );
    committed
}

/// After the feature's 15 lines above them, a.yaml's findings moved down
/// and kept the feature's audit; b.yaml's findings followed its move.
fn assert_findings_relocated(json: &Json) {
    let a = json["results"]["config/a.yaml"].as_array().unwrap();
    assert_eq!(a.len(), 6, "{json}");
    assert!(
        a.iter().all(|f| f["is_secret"] == false),
        "audit flags kept: {json}"
    );
    let lines: Vec<u64> = a
        .iter()
        .map(|f| f["line_number"].as_u64().unwrap())
        .collect();
    assert!(
        lines.iter().all(|&l| l > 15),
        "findings below the 15 added lines: {lines:?}"
    );
    assert!(json["results"]["config/moved/b.yaml"].is_array(), "{json}");
    assert!(json["results"].get("config/b.yaml").is_none(), "{json}");
}

fn assert_state_merged(repo: &Path) {
    let state: Json = serde_json::from_str(&in_tree(repo, &["show", "-r", REL, "--json"])).unwrap();
    let tasks: Vec<&str> = state["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    for task in [
        "take-ownership",
        "stage-testing",
        "drop-bugs",
        "image-signed-check",
    ] {
        assert!(tasks.contains(&task), "{task} missing from {tasks:?}");
    }
}

/// Runs a git command that must finish without stopping for conflicts.
fn completes(repo: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(args)
        .current_dir(repo)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?} stopped: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn rebase_completes_and_leaves_a_fresh_baseline() {
    let repo = diverged();
    let r = repo.path();
    git(r, &["checkout", "-q", "feature"]);
    completes(r, &["rebase", "main"]);
    assert_eq!(
        git(r, &["log", "-1", "--format=%s"]),
        "Regenerate derived files: .secrets.baseline"
    );
    assert_findings_relocated(&assert_committed_baseline_is_fresh(r));
    assert_state_merged(r);
}

#[test]
fn merge_completes_and_leaves_a_fresh_baseline() {
    let repo = diverged();
    let r = repo.path();
    git(r, &["checkout", "-q", "feature"]);
    completes(r, &["merge", "-q", "--no-edit", "main"]);
    assert_findings_relocated(&assert_committed_baseline_is_fresh(r));
    assert_state_merged(r);
}

#[test]
fn cherry_pick_completes_and_leaves_a_fresh_baseline() {
    let repo = diverged();
    let r = repo.path();
    // A last feature commit that applies anywhere: a new file with secrets
    // and a state change, both of which also changed on main.
    git(r, &["checkout", "-q", "feature"]);
    std::fs::write(r.join("config/c.yaml"), yaml_with_secrets(4, 20)).unwrap();
    set_task(r, "analyze-candidate-build", "Pass");
    commit_all(r, "feature adds c.yaml");
    git(r, &["checkout", "-q", "main"]);
    completes(r, &["cherry-pick", "feature"]);
    assert_eq!(
        git(r, &["log", "-1", "--format=%s"]),
        "Regenerate derived files: .secrets.baseline"
    );
    let baseline = assert_committed_baseline_is_fresh(r);
    assert!(
        baseline["results"]["config/c.yaml"].is_array(),
        "{baseline}"
    );
    let state: Json = serde_json::from_str(&in_tree(r, &["show", "-r", REL, "--json"])).unwrap();
    let names: Vec<&str> = state["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"analyze-candidate-build") && names.contains(&"image-signed-check"),
        "{names:?}"
    );
}

#[test]
fn a_baseline_flag_set_differently_on_both_sides_is_a_named_conflict() {
    let repo = diverged();
    let r = repo.path();
    audit(r, "config/a.yaml", true);
    commit_all(r, "main says a.yaml holds real secrets");
    git(r, &["checkout", "-q", "feature"]);
    let out = Command::new("git")
        .args(["merge", "--no-edit", "main"])
        .current_dir(r)
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "both sides set is_secret differently: the merge must stop"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("config/a.yaml") && stderr.contains("is_secret"),
        "{stderr}"
    );
}

/// A tracked `.secrets.baseline` that is a symlink is never written
/// through; a regular one is rewritten in place and keeps its mode, and so
/// does a state file that `fmt` rewrites.
#[test]
fn regen_and_fmt_never_write_through_symlinks_and_keep_modes() {
    use std::os::unix::fs::PermissionsExt;
    let repo = new_repo();
    let r = repo.path();
    std::fs::write(r.join("a.yaml"), yaml_with_secrets(0, 0)).unwrap();
    git(r, &["add", "-A"]);
    let scan = Command::new(detect_secrets())
        .args(["scan", "--no-verify"])
        .current_dir(r)
        .output()
        .unwrap();
    let outside = tempfile::tempdir().unwrap();
    let target = outside.path().join("elsewhere");
    std::fs::write(&target, &scan.stdout).unwrap();
    std::os::unix::fs::symlink(&target, r.join(".secrets.baseline")).unwrap();
    git(r, &["add", "-A"]);
    git(r, &["commit", "-q", "-m", "baseline as a link"]);
    // Findings move: a regeneration would rewrite the baseline.
    let moved = format!("top: 1\n{}", yaml_with_secrets(0, 0));
    std::fs::write(r.join("a.yaml"), &moved).unwrap();
    let err = fails(r, &["regen"], 10);
    assert!(
        err.contains(".secrets.baseline") && err.contains("symbolic link"),
        "{err}"
    );
    assert_eq!(std::fs::read(&target).unwrap(), scan.stdout);

    std::fs::remove_file(r.join(".secrets.baseline")).unwrap();
    std::fs::write(r.join(".secrets.baseline"), &scan.stdout).unwrap();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    for (shift, wanted) in [(1, 0o644), (2, 0o664)] {
        let file = r.join(".secrets.baseline");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(wanted)).unwrap();
        // Each round moves the findings further down.
        let above = "above: 1\n".repeat(shift);
        std::fs::write(r.join("a.yaml"), format!("{above}{moved}")).unwrap();
        let out = ok(r, &["regen"]);
        assert!(out.contains("regenerated .secrets.baseline"), "{out}");
        assert_eq!(mode(&file), wanted);

        let state = r.join("state.yaml");
        let canonical =
            statebox::model::State::new(&REL.parse().unwrap(), "2026-06-25T13:00:13Z").to_yaml();
        std::fs::write(&state, canonical.replace("tasks: []", "tasks:   []")).unwrap();
        std::fs::set_permissions(&state, std::fs::Permissions::from_mode(wanted)).unwrap();
        ok(r, &["fmt", state.to_str().unwrap()]);
        assert_eq!(std::fs::read_to_string(&state).unwrap(), canonical);
        assert_eq!(mode(&state), wanted);
    }
}
