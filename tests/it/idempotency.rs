//! Idempotency keys on the CLI's write commands: a retry with the same key
//! prints the first run's result and writes nothing, also after later
//! writes, from another clone of the same remote, and after the first
//! write was only committed locally; a bad or reused key is refused and
//! leaves the branch alone. (The service's keys are in `service.rs`.)

use crate::support::git_daemon::ServedRemote as Remote;
use crate::support::*;
use std::path::Path;
use std::process::Output;

const REL: &str = "4.19.1";

fn commits(repo: &Path, branch: &str) -> usize {
    git(repo, &["rev-list", "--count", branch]).parse().unwrap()
}

fn key_trailers(repo: &Path, branch: &str, key: &str) -> usize {
    git(repo, &["log", "--format=%B", branch])
        .lines()
        .filter(|l| *l == format!("Statebox-Idempotency-Key: {key}"))
        .count()
}

fn with_key<'a>(args: &[&'a str], key: &'a str) -> Vec<&'a str> {
    let mut all = args.to_vec();
    all.extend(["--idempotency-key", key]);
    all
}

#[test]
fn every_write_command_run_twice_with_one_key_writes_once_and_prints_the_same() {
    let repo = new_repo();
    let dir = repo.path();
    let writes: [&[&str]; 5] = [
        &["init", "-r", REL, "--jira-ticket", "ART-1"],
        &[
            "task",
            "set",
            "-r",
            REL,
            "take-ownership",
            "--status",
            "Pass",
        ],
        &["issue", "add", "-r", REL, "flaky install", "--blocker"],
        &[
            "issue",
            "resolve",
            "-r",
            REL,
            "flaky",
            "--resolution",
            "rerun",
        ],
        &["meta", "set", "-r", REL, "shipment_mr=https://mr/1"],
    ];
    for (n, args) in writes.iter().enumerate() {
        let key = format!("run-{n}");
        let args = with_key(args, &key);
        let first = ok(dir, &args);
        let after_first = commits(dir, "record");
        let again = statebox(dir, &args);
        assert!(again.status.success(), "{args:?}");
        assert_eq!(String::from_utf8(again.stdout).unwrap(), first, "{args:?}");
        assert!(
            String::from_utf8_lossy(&again.stderr).contains("already on the branch"),
            "{args:?}"
        );
        assert_eq!(commits(dir, "record"), after_first, "{args:?} wrote again");
        assert_eq!(key_trailers(dir, "record", &key), 1, "{args:?}");
    }
}

#[test]
fn a_retry_after_later_writes_does_not_undo_them_and_a_new_key_writes() {
    let repo = new_repo();
    let dir = repo.path();
    ok(dir, &["init", "-r", REL]);
    let pass = [
        "task",
        "set",
        "-r",
        REL,
        "take-ownership",
        "--status",
        "Pass",
    ];
    let first = ok(dir, &with_key(&pass, "k-pass"));
    let fail = [
        "task",
        "set",
        "-r",
        REL,
        "take-ownership",
        "--status",
        "Fail",
    ];
    ok(dir, &with_key(&fail, "k-fail"));
    let before = commits(dir, "record");
    // The retry answers with the first result: the later Fail stays.
    assert_eq!(ok(dir, &with_key(&pass, "k-pass")), first);
    assert_eq!(commits(dir, "record"), before);
    let status = ok(dir, &["task", "get", "-r", REL, "take-ownership", "--json"]);
    assert!(status.contains("\"status\": \"Fail\""), "{status}");
    // The same change under a new key is a new write.
    let second = ok(dir, &with_key(&pass, "k-pass-again"));
    assert_ne!(second, first, "a new commit id");
    assert_eq!(commits(dir, "record"), before + 1);
}

#[test]
fn a_bad_or_reused_key_is_refused_and_nothing_changes() {
    let repo = new_repo();
    let dir = repo.path();
    ok(dir, &["init", "-r", REL]);
    let set = [
        "task",
        "set",
        "-r",
        REL,
        "take-ownership",
        "--status",
        "Pass",
    ];
    let token = format!("ghp_{}", "a1B2c3D4e5".repeat(4));
    let long = "k".repeat(129);
    let tip_before = tip(dir, "record");
    for (key, says) in [
        ("", "is empty"),
        ("two words", "holds \\u{20}"),
        ("a\nStatebox-Op: {}", "holds \\u{a}"),
        (long.as_str(), "129 characters long; at most 128"),
        (token.as_str(), "looks like a credential"),
    ] {
        let stderr = fails(dir, &with_key(&set, key), 2);
        assert!(
            stderr.contains("idempotency key") && stderr.contains(says),
            "{key:?}: {stderr}"
        );
        assert!(!stderr.contains(&token[4..]), "the secret is not echoed");
    }
    assert_eq!(tip(dir, "record"), tip_before);
    ok(dir, &with_key(&set, "k-1"));
    let tip_before = tip(dir, "record");
    let other = ["issue", "add", "-r", REL, "something else"];
    let stderr = fails(dir, &with_key(&other, "k-1"), 4);
    assert!(
        stderr.contains("idempotency key 'k-1' was already used by commit")
            && stderr.contains("another change (Update task: take-ownership)"),
        "{stderr}"
    );
    assert_eq!(tip(dir, "record"), tip_before);
}

#[test]
fn a_plain_folder_store_cannot_look_keys_up_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().to_str().unwrap();
    let stderr = fails(
        dir.path(),
        &["--dir", folder, "init", "-r", REL, "--idempotency-key", "k"],
        10,
    );
    assert!(
        stderr.contains("looking up a write by its idempotency key is not supported"),
        "{stderr}"
    );
    assert!(!dir.path().join("_releases").exists(), "nothing written");
}

/// A write through the remote `origin`.
fn through_origin(repo: &Path, args: &[&str]) -> Output {
    let mut all = vec!["--remote", "origin"];
    all.extend_from_slice(args);
    statebox(repo, &all)
}

fn stdout_of(out: Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn a_retry_delivers_a_write_that_was_only_kept_locally_and_another_clone_sees_it() {
    let mut remote = Remote::new();
    let a = remote.new_clone();
    let b = remote.new_clone();
    stdout_of(through_origin(a.path(), &["init", "-r", REL]));
    let add = ["issue", "add", "-r", REL, "flaky install"];
    let add = with_key(&add, "k-add");
    remote.daemon.stop();
    let out = through_origin(a.path(), &add);
    assert_eq!(out.status.code(), Some(7), "kept locally");
    remote.daemon.resume();
    // Another machine writes first: delivering the kept commit replays it.
    let set = [
        "task",
        "set",
        "-r",
        REL,
        "take-ownership",
        "--status",
        "Pass",
    ];
    stdout_of(through_origin(b.path(), &set));
    let first = stdout_of(through_origin(a.path(), &add));
    assert_eq!(key_trailers(&remote.bare(), "record", "k-add"), 1);
    // The client retries on the other machine, whose clone lacks the write.
    let before = commits(&remote.bare(), "record");
    let again = stdout_of(through_origin(b.path(), &add));
    assert_eq!(again, first, "the first result, from the other clone");
    assert_eq!(commits(&remote.bare(), "record"), before);
    assert_eq!(key_trailers(&remote.bare(), "record", "k-add"), 1);
    git(&remote.bare(), &["fsck", "--strict", "--no-dangling"]);
}

#[test]
fn replay_drops_a_write_the_remote_already_has_under_its_key() {
    let remote = Remote::new();
    let a = remote.new_clone();
    let b = remote.new_clone();
    stdout_of(through_origin(a.path(), &["init", "-r", REL]));
    stdout_of(through_origin(b.path(), &["pull", "origin"]));
    let set = [
        "task",
        "set",
        "-r",
        REL,
        "take-ownership",
        "--status",
        "Pass",
    ];
    let set = with_key(&set, "k-set");
    // Both clones commit the keyed write locally (no remote), as two
    // replicas that each got one try of the client would; B on top of a
    // write of its own, so its commit differs from A's.
    stdout_of(statebox(a.path(), &set));
    let fail = [
        "task",
        "set",
        "-r",
        REL,
        "take-ownership",
        "--status",
        "Fail",
    ];
    stdout_of(statebox(a.path(), &fail));
    let other = [
        "task",
        "set",
        "-r",
        REL,
        "check-cve-tracker-bug",
        "--status",
        "Pass",
    ];
    stdout_of(statebox(b.path(), &other));
    stdout_of(statebox(b.path(), &set));
    stdout_of(through_origin(a.path(), &["sync", "origin"]));
    let report = stdout_of(through_origin(b.path(), &["sync", "origin"]));
    assert!(report.contains("replayed: 2"), "{report}");
    assert_eq!(key_trailers(&remote.bare(), "record", "k-set"), 1);
    // Replayed without its key, B's Pass would have undone A's later Fail.
    let bare = remote.bare();
    let state = stdout_of(statebox(&bare, &["show", "-r", REL, "--json"]));
    let state: serde_json::Value = serde_json::from_str(&state).unwrap();
    let status = |task: &str| {
        state["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == task)
            .map(|t| t["status"].clone())
    };
    assert_eq!(status("take-ownership"), Some("Fail".into()));
    assert_eq!(status("check-cve-tracker-bug"), Some("Pass".into()));
}

/// A write that lost a race looks its key up again; that second look reads
/// only the commits past the version it already searched, and still finds
/// a key recorded there.
#[test]
fn a_second_lookup_reads_only_the_commits_past_the_searched_version() {
    use statebox::backend::{Backend, CasToken, GitBackend};
    use statebox::catalog::Catalog;
    use statebox::idempotency::{WINDOW, recorded_key};
    use statebox::model::Op;
    use statebox::write::{self, RetryPolicy};
    let repo = new_repo();
    let store = GitBackend::open(repo.path(), "record").unwrap();
    let release = REL.parse().unwrap();
    let key = "k-race".parse().unwrap();
    let write = |op: Op, key| {
        let outcome = write::apply(
            &store,
            &release,
            &op,
            key,
            &Catalog::default(),
            &RetryPolicy::default(),
        )
        .unwrap();
        CasToken(outcome.written.unwrap().0)
    };
    let before = write(
        Op::Init {
            metadata: Default::default(),
        },
        None,
    );
    let keyed = write(
        Op::AddIssue {
            text: "flaky install".into(),
            blocker: false,
            related_tasks: vec![],
        },
        Some(&key),
    );
    let path = "_releases/4.19/statebox/4.19.1.yaml";
    let matches = |message: &str| recorded_key(message).as_ref() == Some(&key);
    let find = |searched: &CasToken| {
        store
            .find_commit(path, WINDOW, &matches, searched)
            .unwrap()
            .map(|found| found.commit)
    };
    assert_eq!(find(&CasToken(None)), keyed.0, "a first look finds it");
    assert_eq!(
        find(&before),
        keyed.0,
        "it is past the version searched before it"
    );
    assert_eq!(
        find(&keyed),
        None,
        "commits up to the searched version are not read again"
    );
}
