//! The deployment's init step (deploy/init-clone.sh): clones or fetches the
//! record repository onto the volume, idempotently, and redoes a clone that
//! a killed run left half-written.

use crate::support::*;
use std::path::Path;
use std::process::Command;

fn init_clone(repo: &Path, url: &Path) -> std::process::Output {
    Command::new("sh")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/init-clone.sh"))
        .env("STATEBOX_REPO", repo)
        .env("STATEBOX_CLONE_URL", url)
        .output()
        .unwrap()
}

/// Every ref and the config, to compare a clone before and after a rerun.
fn refs_and_config(repo: &Path) -> String {
    git(repo, &["for-each-ref", "--format=%(refname) %(objectname)"])
        + &std::fs::read_to_string(repo.join(".git/config")).unwrap()
}

fn remote_with_a_record_branch() -> tempfile::TempDir {
    let origin = new_repo();
    ok(
        origin.path(),
        &[
            "task",
            "set",
            "-r",
            "4.19.1",
            "drop-bugs",
            "--status",
            "Pass",
        ],
    );
    origin
}

#[test]
fn run_twice_on_an_existing_clone_it_changes_nothing() {
    let origin = remote_with_a_record_branch();
    let volume = tempfile::tempdir().unwrap();
    let repo = volume.path().join("repo");
    let first = init_clone(&repo, origin.path());
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert_eq!(tip(&repo, "record"), tip(origin.path(), "record"));
    let before = refs_and_config(&repo);
    let second = init_clone(&repo, origin.path());
    assert!(
        second.status.success(),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    assert_eq!(refs_and_config(&repo), before);
    // statebox reads the clone as its store.
    let shown = ok(&repo, &["show", "-r", "4.19.1", "--json"]);
    assert!(shown.contains("drop-bugs"), "{shown}");
}

#[test]
fn a_rerun_fetches_what_the_remote_gained_and_leaves_the_branch_to_sync() {
    let origin = remote_with_a_record_branch();
    let volume = tempfile::tempdir().unwrap();
    let repo = volume.path().join("repo");
    assert!(init_clone(&repo, origin.path()).status.success());
    ok(
        origin.path(),
        &[
            "task",
            "set",
            "-r",
            "4.19.1",
            "stage-testing",
            "--status",
            "Fail",
        ],
    );
    assert!(init_clone(&repo, origin.path()).status.success());
    let fetched = git(&repo, &["rev-parse", "refs/remotes/origin/record"]);
    assert_eq!(
        Some(fetched.trim().to_owned()),
        tip(origin.path(), "record")
    );
    // The local branch is never moved by the init step: a write an outage
    // kept local stays for `statebox sync` to deliver.
    assert_ne!(tip(&repo, "record"), tip(origin.path(), "record"));
}

#[test]
fn a_clone_left_half_written_by_a_killed_run_is_redone() {
    let origin = remote_with_a_record_branch();
    let volume = tempfile::tempdir().unwrap();
    let repo = volume.path().join("repo");
    // What a kill mid-clone leaves: a .git without the completion mark, and
    // a partial directory beside it.
    std::fs::create_dir_all(repo.join(".git/objects")).unwrap();
    std::fs::write(repo.join(".git/HEAD"), "garbage").unwrap();
    std::fs::create_dir_all(volume.path().join("repo.partial/.git")).unwrap();
    let out = init_clone(&repo, origin.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("unfinished"));
    assert_eq!(tip(&repo, "record"), tip(origin.path(), "record"));
    assert!(!volume.path().join("repo.partial").exists());
    git(&repo, &["fsck", "--strict"]);
}

/// The manifests, Containerfile and unit pass the offline checks of
/// deploy/check.py: kubernetes-validate on what `kubectl kustomize` renders,
/// the team's deployment rules, hadolint, `systemd-analyze verify`.
#[test]
fn deployment_files_pass_their_checks() {
    let tools = [
        "kubectl",
        "kubernetes-validate",
        "hadolint",
        "systemd-analyze",
    ];
    if !tools_present("deployment_files_pass_their_checks", &tools) {
        return;
    }
    let out = Command::new("python3")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/check.py"))
        .arg(statebox_bin())
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && report.contains("deployment checks passed"),
        "{report}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
