//! A write acknowledged offline that the remote's newer state refuses (here a
//! second blocker for the same task) is never dropped: sync exits 11, names
//! the operation, and keeps the commit under `refs/statebox/rejected/`, where
//! `sync --list-rejected` finds it. Real clones, a real `git daemon`.

use crate::support::git_daemon::ServedRemote as Remote;
use crate::support::*;
use std::path::Path;
use std::process::Output;

const REL: &str = "4.19.1";
const REJECTED: i32 = 11;
const UNREACHABLE: i32 = 7;

/// statebox with `--repo`, so it also runs on the bare remote.
fn run(repo: &Path, args: &[&str]) -> Output {
    let mut all = vec!["--repo", repo.to_str().unwrap()];
    all.extend_from_slice(args);
    statebox(repo, &all)
}

fn code(out: &Output, expected: i32, what: &str) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(expected),
        "{what}: stdout {} stderr {stderr}",
        String::from_utf8_lossy(&out.stdout)
    );
    stderr
}

fn blocker(repo: &Path, text: &str) -> Output {
    run(
        repo,
        &[
            "--remote",
            "origin",
            "issue",
            "add",
            "-r",
            REL,
            text,
            "--blocker",
            "--task",
            "stage-testing",
        ],
    )
}

/// Clones a and b share release REL; then a writes a blocker while the
/// remote is down (kept locally, exit 7) and b, online, another blocker for
/// the same task. Returns a's offline commit.
fn conflicting_offline_write(remote: &mut Remote, a: &Path, b: &Path) -> String {
    let init = run(a, &["--remote", "origin", "init", "-r", REL]);
    code(&init, 0, "init");
    code(&run(b, &["pull", "origin"]), 0, "pull");
    remote.daemon.stop();
    code(
        &blocker(a, "offline: registry outage"),
        UNREACHABLE,
        "offline blocker",
    );
    let offline = tip(a, "record").unwrap();
    remote.daemon.resume();
    code(&blocker(b, "online: signing broken"), 0, "online blocker");
    offline
}

fn remote_issues(remote: &Remote) -> Vec<String> {
    let out = run(&remote.bare(), &["show", "-r", REL, "--json"]);
    code(&out, 0, "show on the remote");
    let state: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    state["issues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["issue"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn sync_keeps_a_refused_offline_write_and_says_so() {
    let mut remote = Remote::new();
    let (a, b) = (remote.new_clone(), remote.new_clone());
    let offline = conflicting_offline_write(&mut remote, a.path(), b.path());
    // A second offline write that still applies: it is delivered.
    let task = run(
        a.path(),
        &[
            "task",
            "set",
            "-r",
            REL,
            "create-test-report",
            "--status",
            "Pass",
        ],
    );
    code(&task, 0, "local task write");

    let out = run(a.path(), &["sync", "origin"]);
    let stderr = code(&out, REJECTED, "sync");
    let refname = format!("refs/statebox/rejected/record/{offline}");
    assert!(
        stderr.contains("Add issue: offline: registry outage")
            && stderr.contains("already has an unresolved blocker")
            && stderr.contains("refs/statebox/rejected/record/")
            && stderr.contains("sync --list-rejected"),
        "{stderr}"
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "received: yes, replayed: 1, delivered: 1, rejected: 1"
    );
    // Recoverable: the commit, and with it the operation, is kept.
    assert_eq!(git(a.path(), &["rev-parse", &refname]), offline);
    assert!(git(a.path(), &["show", "-s", &refname]).contains("Statebox-Op: "));
    assert_eq!(
        remote_issues(&remote),
        ["online: signing broken"],
        "the refused blocker was not forced onto the remote"
    );
    let remote_tip = git(&remote.bare(), &["rev-parse", "record"]);
    assert_eq!(tip(a.path(), "record").unwrap(), remote_tip);

    let listed = run(a.path(), &["sync", "--list-rejected", "--json"]);
    code(&listed, 0, "list --json");
    let listed: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(listed[0]["commit"], offline.as_str());
    assert_eq!(listed[0]["ref"], refname.as_str());
    assert_eq!(listed[0]["release"], REL);
    assert!(
        listed[0]["reason"]
            .as_str()
            .unwrap()
            .contains("already has an unresolved blocker: 'online: signing broken'"),
        "{listed}"
    );
    let human = run(a.path(), &["sync", "--list-rejected"]);
    code(&human, 0, "list");
    insta::with_settings!({filters => vec![
        (r"\b[0-9a-f]{40}\b", "[commit]"),
        (r"\b[0-9a-f]{12}\b", "[short]"),
        (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "[time]"),
    ]}, {
        insta::assert_snapshot!(String::from_utf8_lossy(&human.stdout));
    });

    // Reported once: the next sync has nothing left to do; the ref stays
    // until the user deletes it.
    let again = run(a.path(), &["sync", "origin"]);
    code(&again, 0, "second sync");
    git(a.path(), &["update-ref", "-d", &refname]);
    let none = run(a.path(), &["sync", "--list-rejected"]);
    assert_eq!(
        String::from_utf8_lossy(&none.stdout).trim(),
        "no rejected writes for branch 'record'"
    );
}

#[test]
fn a_write_that_delivers_a_refused_offline_write_fails_naming_it() {
    let mut remote = Remote::new();
    let (a, b) = (remote.new_clone(), remote.new_clone());
    let offline = conflicting_offline_write(&mut remote, a.path(), b.path());
    let out = run(
        a.path(),
        &[
            "--remote",
            "origin",
            "task",
            "set",
            "-r",
            REL,
            "create-test-report",
            "--status",
            "Pass",
        ],
    );
    let stderr = code(&out, REJECTED, "online write after the outage");
    assert!(
        stderr.contains("Add issue: offline: registry outage") && stderr.contains(&offline[..12]),
        "{stderr}"
    );
    git(
        a.path(),
        &[
            "rev-parse",
            &format!("refs/statebox/rejected/record/{offline}"),
        ],
    );
    // This write itself is on the remote; the refused one is not.
    let shown = run(
        &remote.bare(),
        &["task", "get", "-r", REL, "create-test-report"],
    );
    assert!(String::from_utf8_lossy(&shown.stdout).contains("Pass"));
    assert_eq!(remote_issues(&remote), ["online: signing broken"]);
}

#[test]
fn list_rejected_needs_no_remote_and_json_needs_it() {
    let repo = new_repo();
    let out = run(repo.path(), &["sync", "--list-rejected"]);
    code(&out, 0, "list without a remote");
    let stderr = code(&run(repo.path(), &["sync", "--json"]), 2, "--json alone");
    assert!(stderr.contains("--list-rejected"), "{stderr}");
}

/// Two clones that used one idempotency key for different changes: the
/// offline one is not dropped on sync but kept, like any refused write.
#[test]
fn an_offline_write_whose_key_the_remote_used_for_another_change_is_kept() {
    let mut remote = Remote::new();
    let (a, b) = (remote.new_clone(), remote.new_clone());
    code(
        &run(a.path(), &["--remote", "origin", "init", "-r", REL]),
        0,
        "init",
    );
    code(&run(b.path(), &["pull", "origin"]), 0, "pull");
    let keyed = |status: &'static str| {
        [
            "--remote",
            "origin",
            "task",
            "set",
            "-r",
            REL,
            "stage-testing",
            "--status",
            status,
            "--idempotency-key",
            "shared-key",
        ]
    };
    remote.daemon.stop();
    code(&run(a.path(), &keyed("Pass")), UNREACHABLE, "offline write");
    let offline = tip(a.path(), "record").unwrap();
    remote.daemon.resume();
    code(&run(b.path(), &keyed("Fail")), 0, "online write, same key");

    let stderr = code(&run(a.path(), &["sync", "origin"]), REJECTED, "sync");
    assert!(
        stderr.contains("idempotency key 'shared-key' was already used"),
        "{stderr}"
    );
    let refname = format!("refs/statebox/rejected/record/{offline}");
    assert_eq!(git(a.path(), &["rev-parse", &refname]), offline, "kept");
    let task = run(
        &remote.bare(),
        &["task", "get", "-r", REL, "stage-testing", "--json"],
    );
    code(&task, 0, "task get on the remote");
    let task: serde_json::Value = serde_json::from_slice(&task.stdout).unwrap();
    assert_eq!(
        task["status"], "Fail",
        "the remote's own write under that key stands"
    );
}
