//! Every bad input: a clear error that names the thing, a documented exit
//! code, and nothing on the branch changes.

use crate::support::*;

const REL: &str = "4.19.1";
const PATH: &str = "_releases/4.19/statebox/4.19.1.yaml";

/// A repo whose record branch already holds a valid state for REL.
fn seeded() -> tempfile::TempDir {
    let repo = new_repo();
    ok(
        repo.path(),
        &[
            "task",
            "set",
            "-r",
            REL,
            "take-ownership",
            "--status",
            "Pass",
        ],
    );
    repo
}

/// Runs a failing command and checks the branch did not move.
fn rejected(repo: &std::path::Path, args: &[&str], code: i32) -> String {
    let before = tip(repo, "record");
    let err = fails(repo, args, code);
    assert_eq!(
        tip(repo, "record"),
        before,
        "branch moved after a rejected {args:?}"
    );
    err
}

#[test]
fn malformed_releases_are_rejected() {
    let repo = seeded();
    for bad in [
        "4.19",
        "4.19.1.2",
        "../../etc",
        "4.19.x",
        "v4.19.1",
        "4.19.01",
    ] {
        let err = rejected(
            repo.path(),
            &["task", "set", "-r", bad, "drop-bugs", "--status", "Pass"],
            4,
        );
        assert!(
            err.contains(&format!("invalid release '{bad}'")) && err.contains("X.Y.Z"),
            "{err}"
        );
    }
}

#[test]
fn unknown_task_and_invalid_status() {
    let repo = seeded();
    let err = rejected(
        repo.path(),
        &[
            "task",
            "set",
            "-r",
            REL,
            "take-ownershp",
            "--status",
            "Pass",
        ],
        4,
    );
    assert!(
        err.contains("unknown task 'take-ownershp'") && err.contains("take-ownership"),
        "{err}"
    );
    let err = rejected(
        repo.path(),
        &[
            "task",
            "set",
            "-r",
            REL,
            "take-ownership",
            "--status",
            "Done",
        ],
        4,
    );
    assert!(
        err.contains("invalid status 'Done'") && err.contains("In Progress"),
        "{err}"
    );
    let err = rejected(
        repo.path(),
        &["task", "set", "-r", REL, "take-ownership"],
        4,
    );
    assert!(err.contains("--status"), "{err}");
    let err = fails(repo.path(), &["task", "get", "-r", REL, "drop-bugs"], 3);
    assert!(err.contains("no task 'drop-bugs'"), "{err}");
    let err = fails(repo.path(), &["show", "-r", "4.19.2"], 3);
    assert!(err.contains("release 4.19.2 has no state"), "{err}");
}

#[test]
fn empty_and_too_long_issue_text() {
    let repo = seeded();
    let err = rejected(repo.path(), &["issue", "add", "-r", REL, "   "], 4);
    assert!(err.contains("issue text is empty"), "{err}");
    let long = "x".repeat(1001);
    let err = rejected(repo.path(), &["issue", "add", "-r", REL, &long], 4);
    assert!(
        err.contains("1001 characters") && err.contains("1000"),
        "{err}"
    );
    let err = rejected(
        repo.path(),
        &["issue", "resolve", "-r", REL, "nothing like this"],
        3,
    );
    assert!(
        err.contains("no unresolved issue matches 'nothing like this'"),
        "{err}"
    );
}

#[test]
fn bad_metadata_pairs() {
    let repo = seeded();
    let err = rejected(repo.path(), &["meta", "set", "-r", REL, "jira_ticket"], 4);
    assert!(
        err.contains("'jira_ticket' is not KEY=TEXT or KEY:=JSON"),
        "{err}"
    );
    let err = rejected(
        repo.path(),
        &["meta", "set", "-r", REL, "advisory_ids..rpm=1"],
        4,
    );
    assert!(err.contains("not a metadata key"), "{err}");
    let err = rejected(repo.path(), &["meta", "set", "-r", REL, "x:=[unclosed"], 4);
    assert!(err.contains("value of x"), "{err}");
}

#[test]
fn unparseable_yaml_on_the_branch_names_file_and_line() {
    let repo = seeded();
    let good = show(repo.path(), &format!("record:{PATH}"));
    let broken = good.replacen("  status: Pass\n", "  status: Pass: again\n", 1);
    assert_ne!(broken, good);
    commit_raw(repo.path(), PATH, broken.as_bytes());
    let line = broken
        .lines()
        .position(|l| l.contains("Pass: again"))
        .unwrap()
        + 1;
    for args in [
        vec!["task", "set", "-r", REL, "drop-bugs", "--status", "Pass"],
        vec!["show", "-r", REL],
        vec!["status"],
    ] {
        let err = rejected(repo.path(), &args, 5);
        assert!(err.contains(PATH) && err.contains("invalid YAML"), "{err}");
        assert!(err.contains(&format!("line {line},")), "{err}");
    }
}

#[test]
fn a_state_of_the_wrong_shape_is_named() {
    let repo = seeded();
    let good = show(repo.path(), &format!("record:{PATH}"));
    commit_raw(
        repo.path(),
        PATH,
        good.replace("status: Pass", "status: 7").as_bytes(),
    );
    let err = rejected(repo.path(), &["issue", "add", "-r", REL, "x"], 5);
    assert!(
        err.contains(PATH) && err.contains("tasks[0].status"),
        "{err}"
    );
    commit_raw(repo.path(), PATH, b"\xff\xfe not utf-8");
    let err = rejected(repo.path(), &["issue", "add", "-r", REL, "x"], 5);
    assert!(err.contains("not UTF-8"), "{err}");
    commit_raw(
        repo.path(),
        PATH,
        good.replace("release: 4.19.1", "release: 4.19.2")
            .as_bytes(),
    );
    let err = rejected(repo.path(), &["issue", "add", "-r", REL, "x"], 5);
    assert!(err.contains("holds release '4.19.2'"), "{err}");
}

#[test]
fn binary_and_non_utf8_result_files() {
    let repo = seeded();
    let r = repo.path();
    let binary = r.join("core.bin");
    std::fs::write(&binary, b"ELF\x00\x01\x02binary").unwrap();
    let err = rejected(
        r,
        &[
            "task",
            "set",
            "-r",
            REL,
            "drop-bugs",
            "--status",
            "Pass",
            "--result-file",
            binary.to_str().unwrap(),
        ],
        4,
    );
    assert!(
        err.contains("core.bin") && err.contains("looks binary"),
        "{err}"
    );
    let missing = r.join("missing.log");
    let err = rejected(
        r,
        &[
            "task",
            "set",
            "-r",
            REL,
            "drop-bugs",
            "--status",
            "Pass",
            "--result-file",
            missing.to_str().unwrap(),
        ],
        4,
    );
    assert!(err.contains("missing.log"), "{err}");

    let latin1 = r.join("latin1.log");
    std::fs::write(&latin1, b"caf\xe9 ok\n").unwrap();
    let out = statebox(
        r,
        &[
            "task",
            "set",
            "-r",
            REL,
            "drop-bugs",
            "--status",
            "Pass",
            "--result-file",
            latin1.to_str().unwrap(),
        ],
    );
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not valid UTF-8"));
    let task: serde_json::Value =
        serde_json::from_str(&ok(r, &["task", "get", "-r", REL, "drop-bugs", "--json"])).unwrap();
    assert_eq!(task["result"], "caf\u{fffd} ok\n");
}

#[test]
fn a_50_mb_result_is_kept_bounded() {
    let repo = seeded();
    let r = repo.path();
    let big = r.join("big.log");
    let mut text = String::from("2026-06-25T10:00:00Z: INFO: start\n");
    let line =
        "2026-06-25T10:30:00Z: INFO: a line of ordinary output that repeats for a long while\n";
    while text.len() < 50 * 1024 * 1024 {
        text.push_str(line);
    }
    text.push_str("2026-06-25T11:00:00Z: INFO: task [Drop Bugs] status is changed to [Pass]\n");
    std::fs::write(&big, &text).unwrap();
    let out = statebox(
        r,
        &[
            "task",
            "set",
            "-r",
            REL,
            "drop-bugs",
            "--result-file",
            big.to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let file = show(r, &format!("record:{PATH}"));
    assert!(
        file.len() < 100 * 1024,
        "state file is {} bytes",
        file.len()
    );
    let task: serde_json::Value =
        serde_json::from_str(&ok(r, &["task", "get", "-r", REL, "drop-bugs", "--json"])).unwrap();
    assert_eq!(task["status"], "Pass");
    assert_eq!(task["started_at"], "2026-06-25T10:00:00Z");
    assert_eq!(task["completed_at"], "2026-06-25T11:00:00Z");
    assert!(
        task["result"]
            .as_str()
            .unwrap()
            .contains("bytes omitted ...]")
    );
}

#[test]
fn a_repository_without_the_branch_gets_it_on_first_write() {
    let repo = new_repo();
    assert!(tip(repo.path(), "record").is_none());
    // Before it exists, reads say so: a mistyped --branch looks the same.
    let err = fails(repo.path(), &["show", "-r", REL], 3);
    assert!(
        err.contains("branch 'record'") && err.contains("does not exist"),
        "{err}"
    );
    assert!(fails(repo.path(), &["status"], 3).contains("does not exist"));
    ok(repo.path(), &["issue", "add", "-r", REL, "first"]);
    let parents = git(repo.path(), &["rev-list", "--parents", "-n", "1", "record"]);
    assert_eq!(
        parents.split(' ').count(),
        1,
        "the branch starts with a root commit"
    );
}

#[test]
fn a_bare_repository_works() {
    let dir = tempfile::tempdir().unwrap();
    git(dir.path(), &["init", "-q", "--bare"]);
    ok(
        dir.path(),
        &[
            "task",
            "set",
            "-r",
            REL,
            "stage-testing",
            "--status",
            "Pass",
        ],
    );
    let file = show(dir.path(), &format!("record:{PATH}"));
    assert!(file.contains("name: stage-testing"));
}

#[test]
fn not_a_repository() {
    let dir = tempfile::tempdir().unwrap();
    let err = fails(dir.path(), &["status"], 10);
    assert!(err.contains("cannot open a git repository at"), "{err}");
}

#[test]
fn a_repository_mid_rebase_is_left_untouched() {
    let repo = new_repo();
    let r = repo.path();
    git(r, &["checkout", "-q", "-b", "feature"]);
    std::fs::write(r.join("README"), "feature change\n").unwrap();
    git(r, &["commit", "-q", "-am", "feature"]);
    git(r, &["checkout", "-q", "main"]);
    std::fs::write(r.join("README"), "main change\n").unwrap();
    git(r, &["commit", "-q", "-am", "main"]);
    git(r, &["checkout", "-q", "feature"]);
    let out = std::process::Command::new("git")
        .args(["rebase", "main"])
        .current_dir(r)
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "the rebase should stop on a conflict"
    );
    let snapshot = |r: &std::path::Path| {
        (
            std::fs::read(r.join("README")).unwrap(),
            std::fs::read(r.join(".git/index")).unwrap(),
            git(r, &["status", "--porcelain"]),
        )
    };
    let before = snapshot(r);
    ok(
        r,
        &[
            "task",
            "set",
            "-r",
            REL,
            "stage-testing",
            "--status",
            "Pass",
        ],
    );
    ok(r, &["issue", "add", "-r", REL, "written during a rebase"]);
    assert_eq!(snapshot(r), before, "work tree, index and status unchanged");
    assert!(r.join(".git/rebase-merge").exists(), "still mid-rebase");
    assert!(show(r, &format!("record:{PATH}")).contains("written during a rebase"));
}

/// A broken repository is reported in libgit2's words, naming the ref,
/// without git2's internal error class and code (the store trait carries
/// git errors as text; they are not part of statebox's interface).
#[test]
fn a_corrupt_branch_ref_is_named_in_plain_words() {
    let repo = seeded();
    let gitdir = std::path::PathBuf::from(git(repo.path(), &["rev-parse", "--absolute-git-dir"]));
    std::fs::write(gitdir.join("refs/heads/record"), "not an object id\n").unwrap();
    let err = fails(repo.path(), &["show", "-r", REL], 10);
    assert!(err.contains("refs/heads/record"), "names the ref: {err}");
    assert!(!err.contains("class="), "no git2 internals: {err}");
}
