//! `statebox status` on a branch with damaged entries: each one named on
//! stderr with why, every other release still shown, exit 5.

use crate::support::*;
use std::path::Path;
use std::process::Output;

/// A state file that stops parsing at its line 4.
const BROKEN: &[u8] =
    b"release: 4.19.2\ntasks:\n  - name: stage-testing\n    status: Pass: again\n";

fn seed(repo: &Path, releases: &[&str]) {
    for release in releases {
        ok(
            repo,
            &[
                "task",
                "set",
                "-r",
                release,
                "stage-testing",
                "--status",
                "Pass",
            ],
        );
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn releases_in(json: &str) -> Vec<String> {
    let value: serde_json::Value = serde_json::from_str(json).unwrap();
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["release"].as_str().unwrap().to_owned())
        .collect()
}

/// Runs `status` (human, then --json) and requires exit 5 from both.
fn damaged_status(repo: &Path, store: &[&str]) -> (Output, Output) {
    let human = statebox(repo, &[&["status"], store].concat());
    let json = statebox(repo, &[&["status", "--json"], store].concat());
    for out in [&human, &json] {
        assert_eq!(
            out.status.code(),
            Some(5),
            "stdout {} stderr {}",
            text(&out.stdout),
            text(&out.stderr)
        );
        assert!(
            !text(&out.stderr).contains("nothing was written"),
            "a read writes nothing: {}",
            text(&out.stderr)
        );
    }
    (human, json)
}

#[test]
fn status_names_each_damaged_entry_of_a_git_branch_and_shows_the_rest() {
    let repo = new_repo();
    let r = repo.path();
    seed(r, &["4.19.1", "4.20.1"]);
    commit_raw(r, "_releases/4.19/statebox/4.19.2.yaml", BROKEN);
    // A folder where 4.20.2's state file would be.
    commit_raw(
        r,
        "_releases/4.20/statebox/4.20.2.yaml/note",
        b"not a state\n",
    );
    let before = tip(r, "record");
    let (human, json) = damaged_status(r, &[]);
    assert_eq!(tip(r, "record"), before, "a read moved the branch");

    let table = text(&human.stdout);
    assert!(table.starts_with("RELEASE"), "{table}");
    for good in ["4.19.1", "4.20.1"] {
        assert!(
            table.contains(&format!("\n{good} ")),
            "{good} missing: {table}"
        );
    }
    assert_eq!(releases_in(&text(&json.stdout)), ["4.19.1", "4.20.1"]);

    for out in [&human, &json] {
        let err = text(&out.stderr);
        assert!(
            err.contains("_releases/4.19/statebox/4.19.2.yaml: invalid YAML at line 4,"),
            "{err}"
        );
        assert!(
            err.contains("_releases/4.20/statebox/4.20.2.yaml: is not a file"),
            "{err}"
        );
        assert!(err.contains("2 state file(s)"), "{err}");
    }
}

#[test]
fn status_names_a_folder_and_a_broken_file_in_a_dir_store() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let store = ["--dir", d];
    for release in ["4.19.1", "4.20.1"] {
        ok(dir.path(), &[&["init", "-r", release][..], &store].concat());
    }
    let folder = dir.path().join("_releases/4.20/statebox/4.20.2.yaml");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(
        dir.path().join("_releases/4.19/statebox/4.19.2.yaml"),
        BROKEN,
    )
    .unwrap();

    let (human, json) = damaged_status(dir.path(), &store);
    let table = text(&human.stdout);
    assert!(
        table.contains("\n4.19.1 ") && table.contains("\n4.20.1 "),
        "{table}"
    );
    assert_eq!(releases_in(&text(&json.stdout)), ["4.19.1", "4.20.1"]);
    let err = text(&human.stderr);
    assert!(
        err.contains("_releases/4.20/statebox/4.20.2.yaml: is a folder, not a file"),
        "{err}"
    );
    assert!(
        err.contains("_releases/4.19/statebox/4.19.2.yaml: invalid YAML at line 4,"),
        "{err}"
    );
}

/// Only the damaged release's own reads fail; the message is the read's.
#[test]
fn status_damage_reads_other_than_status_name_the_file_without_claiming_a_write() {
    let repo = new_repo();
    let r = repo.path();
    seed(r, &["4.19.1"]);
    commit_raw(r, "_releases/4.19/statebox/4.19.2.yaml", BROKEN);
    let err = fails(r, &["show", "-r", "4.19.2"], 5);
    assert!(err.contains("4.19.2.yaml: invalid YAML"), "{err}");
    assert!(!err.contains("nothing was written"), "{err}");
    ok(r, &["show", "-r", "4.19.1"]);
    // A write still says that it wrote nothing.
    let err = fails(r, &["issue", "add", "-r", "4.19.2", "x"], 5);
    assert!(err.contains("nothing was written"), "{err}");
}
