//! Repository content is untrusted: a state file, a config store or a
//! derived-file rule that is a YAML bomb (nested aliases) or nests without
//! end is refused with an error naming it, on every read path, in bounded
//! memory and stack, and the merge driver calls it a conflict (exit 1),
//! never a driver failure (> 128).

use crate::support::{fails, git, new_repo, ok, statebox_bin};
use statebox::config_store::{ConfigStore, ConfigStoreError};
use std::process::Command;

const REL: &str = "4.19.1";
const PATH: &str = "_releases/4.19/statebox/4.19.1.yaml";

/// The classic 637-byte "billion laughs": nine levels of nine aliases,
/// 10^9 strings once expanded.
fn billion_laughs() -> String {
    let mut text = String::from(
        "lol: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    for (prev, name) in "abcdefgh".chars().zip("bcdefghi".chars()) {
        let refs = vec![format!("*{prev}"); 9].join(",");
        text.push_str(&format!("lol{name}: &{name} [{refs}]\n"));
    }
    text
}

/// 50,000 levels of `- - - ...`.
fn deep_nesting() -> String {
    format!("{}x\n", "- ".repeat(50_000))
}

/// A repository whose record branch holds `content` at the state file's
/// path, committed with git itself.
fn branch_with(content: &str) -> tempfile::TempDir {
    let repo = new_repo();
    ok(repo.path(), &["init", "-r", REL]);
    let dir = repo.path();
    git(dir, &["worktree", "add", "-q", "record-tree", "record"]);
    let tree = dir.join("record-tree");
    std::fs::write(tree.join(PATH), content).unwrap();
    git(&tree, &["commit", "-q", "-am", "hand edit"]);
    git(dir, &["worktree", "remove", "--force", "record-tree"]);
    repo
}

#[test]
fn a_billion_laughs_state_file_is_refused_naming_it() {
    let bomb = billion_laughs();
    assert!(bomb.len() <= 640, "{}", bomb.len());
    let repo = branch_with(&bomb);
    let before = git(repo.path(), &["rev-parse", "record"]);
    for args in [
        vec!["show", "-r", REL],
        vec!["status"],
        vec!["task", "set", "-r", REL, "drop-bugs", "--status", "Pass"],
    ] {
        let err = fails(repo.path(), &args, 5);
        assert!(
            err.contains(PATH) && err.contains("aliases expand"),
            "{args:?}: {err}"
        );
    }
    assert_eq!(git(repo.path(), &["rev-parse", "record"]), before);
}

#[test]
fn deep_nesting_on_the_branch_is_refused_naming_it() {
    let repo = branch_with(&deep_nesting());
    let before = git(repo.path(), &["rev-parse", "record"]);
    for args in [
        vec!["show", "-r", REL],
        vec!["status"],
        vec!["task", "set", "-r", REL, "drop-bugs", "--status", "Pass"],
    ] {
        let err = fails(repo.path(), &args, 5);
        assert!(
            err.contains(PATH) && err.contains("nest deeper"),
            "{args:?}: {err}"
        );
    }
    assert_eq!(git(repo.path(), &["rev-parse", "record"]), before);
}

/// Both merge-driver programs, run as git runs them, with `hostile` as
/// theirs: exit 1 (a conflict), git's text merge left in ours.
#[test]
fn the_merge_driver_calls_a_hostile_side_a_conflict() {
    let good = statebox::model::State::new(&REL.parse().unwrap(), "2026-06-25T13:00:00Z").to_yaml();
    let dir = tempfile::tempdir().unwrap();
    for (hostile, says) in [
        (billion_laughs(), "aliases expand"),
        (deep_nesting(), "nest deeper"),
    ] {
        for program in [
            vec![statebox_bin().into_os_string(), "merge-driver".into()],
            vec![env!("CARGO_BIN_EXE_statebox-merge-driver").into()],
        ] {
            for (name, text) in [("O", &good), ("A", &good), ("B", &hostile)] {
                std::fs::write(dir.path().join(name), text).unwrap();
            }
            let out = Command::new(&program[0])
                .args(&program[1..])
                .args(["O", "A", "B", PATH])
                .current_dir(dir.path())
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{program:?}: {stderr}");
            assert!(stderr.contains(says), "{stderr}");
            // git's text merge, which here takes theirs whole, is left.
            let left = std::fs::read_to_string(dir.path().join("A")).unwrap();
            assert_eq!(left, hostile);
        }
    }
}

#[test]
fn a_hostile_config_store_or_rules_file_is_refused() {
    for hostile in [billion_laughs(), deep_nesting()] {
        let err = ConfigStore::parse(hostile.as_bytes()).unwrap_err();
        assert!(matches!(err, ConfigStoreError::InvalidContent(_)), "{err}");
        assert!(err.to_string().contains("at line "), "{err}");

        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(".statebox")).unwrap();
        std::fs::write(dir.path().join(".statebox/derived.yaml"), &hostile).unwrap();
        let err = statebox::worktree::derived::load_rules(dir.path()).unwrap_err();
        assert!(err.to_string().contains(".statebox/derived.yaml"), "{err}");
    }
}
