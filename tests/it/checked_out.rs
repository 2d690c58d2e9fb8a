//! Writing while the record branch is checked out in a work tree: the
//! write moves that work tree's HEAD, so its index and file follow (the
//! work tree stays clean, nothing for the next `git commit` to revert),
//! and a file with the user's own changes there is never overwritten.

use crate::support::*;
use std::path::Path;

const REL: &str = "4.19.1";
const PATH: &str = "_releases/4.19/statebox/4.19.1.yaml";

/// `task set -r REL TASK --status Pass`, as arguments.
fn pass(task: &str) -> [&str; 7] {
    ["task", "set", "-r", REL, task, "--status", "Pass"]
}

fn set_task(repo: &Path, task: &str) -> std::process::Output {
    statebox(repo, &pass(task))
}

fn assert_clean_and_current(tree: &Path) {
    assert_eq!(git(tree, &["status", "--porcelain"]), "", "work tree clean");
    let on_branch = git(tree, &["show", &format!("HEAD:{PATH}")]);
    let in_tree = std::fs::read_to_string(tree.join(PATH)).unwrap();
    assert_eq!(in_tree.trim_end(), on_branch, "the file is the branch's");
}

#[test]
fn a_checked_out_record_branch_follows_the_write() {
    let repo = new_repo();
    let r = repo.path();
    ok(r, &["init", "-r", REL]);
    git(r, &["checkout", "-q", "record"]);
    assert!(set_task(r, "take-ownership").status.success());
    assert_clean_and_current(r);
    assert!(
        std::fs::read_to_string(r.join(PATH))
            .unwrap()
            .contains("name: take-ownership")
    );
    // A linked work tree on the branch follows too, from a write made in
    // the main one (now back on main).
    git(r, &["checkout", "-q", "main"]);
    let linked = tempfile::tempdir().unwrap();
    let tree = linked.path().join("wt");
    git(
        r,
        &["worktree", "add", "-q", tree.to_str().unwrap(), "record"],
    );
    assert!(set_task(r, "stage-testing").status.success());
    assert_clean_and_current(&tree);
    assert!(
        std::fs::read_to_string(tree.join(PATH))
            .unwrap()
            .contains("name: stage-testing")
    );
}

#[test]
fn the_users_changes_in_the_checked_out_file_are_never_overwritten() {
    let repo = new_repo();
    let r = repo.path();
    ok(r, &["init", "-r", REL]);
    git(r, &["checkout", "-q", "record"]);
    let file = r.join(PATH);
    let mine = format!("{}# my note\n", std::fs::read_to_string(&file).unwrap());
    for staged in [false, true] {
        std::fs::write(&file, &mine).unwrap();
        if staged {
            git(r, &["add", PATH]);
        }
        let before = tip(r, "record");
        let err = fails(
            r,
            &[
                "task",
                "set",
                "-r",
                REL,
                "take-ownership",
                "--status",
                "Pass",
            ],
            10,
        );
        assert!(
            err.contains("branch 'record' is checked out in")
                && err.contains(PATH)
                && err.contains("uncommitted changes"),
            "staged {staged}: {err}"
        );
        assert_eq!(tip(r, "record"), before, "nothing was written");
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            mine,
            "the user's change stays"
        );
    }
}

/// `sync` moves the branch too: a fast-forward and a replay of local
/// commits both bring a checked-out work tree along, and neither touches
/// a file with the user's changes there.
#[test]
fn sync_brings_a_checked_out_record_branch_along() {
    let root = tempfile::tempdir().unwrap();
    let bare = bare_remote(root.path());
    let (a, b) = (clone_of(&bare), clone_of(&bare));
    let (a, b) = (a.path(), b.path());
    ok(a, &["--remote", "origin", "init", "-r", REL]);
    ok(b, &["pull", "origin"]);
    git(b, &["checkout", "-q", "record"]);

    // Fast-forward: b has nothing of its own.
    ok(
        a,
        &[&["--remote", "origin"][..], &pass("take-ownership")].concat(),
    );
    ok(b, &["pull", "origin"]);
    assert_clean_and_current(b);
    assert!(
        std::fs::read_to_string(b.join(PATH))
            .unwrap()
            .contains("take-ownership")
    );

    // Replay: both moved; b's own commit goes on top of a's.
    ok(
        a,
        &[&["--remote", "origin"][..], &pass("stage-testing")].concat(),
    );
    ok(b, &["issue", "add", "-r", REL, "from b"]);
    ok(b, &["sync", "origin"]);
    assert_clean_and_current(b);
    let file = std::fs::read_to_string(b.join(PATH)).unwrap();
    assert!(
        file.contains("stage-testing") && file.contains("from b"),
        "{file}"
    );

    // The user's change in the file: the branch stays, and so does it.
    ok(
        a,
        &["--remote", "origin", "issue", "add", "-r", REL, "from a"],
    );
    let mine = format!("{file}# my note\n");
    std::fs::write(b.join(PATH), &mine).unwrap();
    let before = tip(b, "record");
    let err = fails(b, &["pull", "origin"], 10);
    assert!(
        err.contains("branch 'record' is checked out in") && err.contains(PATH),
        "{err}"
    );
    assert_eq!(
        tip(b, "record"),
        before,
        "the branch moved under the user's change"
    );
    assert_eq!(std::fs::read_to_string(b.join(PATH)).unwrap(), mine);
}
