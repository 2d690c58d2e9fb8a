//! Reading what is on the store, whatever is there: branch names checked as
//! git checks them; a branch or folder that does not exist named as such;
//! a fresh clone, whose record branch is only `origin/record`, read as is;
//! and reads through a remote that fetch first.

use crate::support::git_daemon::ServedRemote;
use crate::support::*;
use std::process::Command;

/// Names git itself takes as branch names that statebox refuses, because
/// git reads them as something else (`@` is HEAD) or they are full refs.
const STRICTER_THAN_GIT: &[&str] = &["@", "refs/heads/x", "refs/x", "refs/heads/record"];

/// Every name is judged as `git check-ref-format --branch` judges it, except
/// the few above, which git accepts and statebox refuses: usage error, exit
/// 2, naming the branch; nothing is written.
#[test]
fn branch_names_are_checked_as_git_checks_them() {
    let names = [
        "record",
        "a/b",
        "release/4.19",
        "ä",
        "x@",
        "@x",
        "a/@/b",
        "a.lock.b",
        "HEAD/x",
        "x/HEAD",
        "refs",
        "a..b",
        "x.lock",
        "foo.lock/bar",
        ".x",
        "x/.y",
        "a b",
        "a~b",
        "a^b",
        "a:b",
        "a?b",
        "a*b",
        "a[b",
        "a\\b",
        "a@{b",
        "@{-1}",
        "-x",
        "-",
        "HEAD",
        "x/",
        "x//y",
        "/x",
        "x.",
        "x/..",
        "..",
        ".",
        "",
        "a\tb",
        "a\u{7f}b",
        "@",
        "refs/heads/x",
        "refs/x",
        "refs/heads/record",
    ];
    let outside_any_repo = tempfile::tempdir().unwrap();
    let repo = new_repo();
    for name in names {
        let git_accepts = Command::new("git")
            .args(["check-ref-format", "--branch", name])
            .current_dir(outside_any_repo.path())
            .output()
            .unwrap()
            .status
            .success();
        let branch = format!("--branch={name}");
        let out = statebox(
            repo.path(),
            &[
                &branch,
                "task",
                "set",
                "-r",
                "4.19.1",
                "create-test-report",
                "--status",
                "Pass",
            ],
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        let refused = out.status.code() == Some(2);
        let stricter = STRICTER_THAN_GIT.contains(&name);
        assert_eq!(
            refused,
            !git_accepts || stricter,
            "{name:?}: git accepts: {git_accepts}, statebox: {:?} {stderr}",
            out.status.code()
        );
        if refused {
            assert!(
                stderr.contains(&format!("invalid branch name '{}'", shown(name))),
                "{name:?}: {stderr}"
            );
        }
        if stricter {
            assert!(git_accepts, "{name:?} is refused by git too: not stricter");
        }
    }
    let refs = git(repo.path(), &["for-each-ref", "--format=%(refname)"]);
    let valid: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| statebox::branch::validate(n).is_ok())
        .collect();
    let written: Vec<&str> = refs
        .lines()
        .filter_map(|r| r.strip_prefix("refs/heads/"))
        .filter(|b| *b != "main")
        .collect();
    let mut expected = valid.clone();
    expected.sort();
    let mut written = written;
    written.sort();
    assert_eq!(written, expected, "only valid branches were written");
}

/// A name as error messages show it: control characters escaped.
fn shown(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

const REL: &str = "4.19.1";

#[test]
fn a_branch_or_folder_that_does_not_exist_is_named_not_shown_empty() {
    let repo = new_repo();
    ok(repo.path(), &["init", "-r", REL]);
    let before = tip(repo.path(), "record");
    for read in [
        &["status"][..],
        &["show", "-r", REL],
        &["log", "-r", REL],
        &["task", "get", "-r", REL, "take-ownership"],
        &["issue", "list", "-r", REL],
        &["meta", "get", "-r", REL],
    ] {
        let args = [&["--branch", "nosuch"][..], read].concat();
        let err = fails(repo.path(), &args, 3);
        assert!(
            err.contains("branch 'nosuch'") && err.contains("does not exist"),
            "{args:?}: {err}"
        );
        let missing = repo.path().join("no-such-folder");
        let args = [&["--dir", missing.to_str().unwrap()][..], read].concat();
        let err = fails(repo.path(), &args, 3);
        assert!(
            err.contains("no-such-folder") && err.contains("does not exist"),
            "{args:?}: {err}"
        );
    }
    assert_eq!(tip(repo.path(), "record"), before);
    assert_eq!(tip(repo.path(), "nosuch"), None, "a read creates nothing");
}

/// `git clone` leaves the record branch as `origin/record` only: reads
/// show it, and the first write builds on it rather than starting an
/// unrelated branch that a later sync would have to replay.
#[test]
fn a_fresh_clone_reads_origin_record_and_writes_on_top_of_it() {
    let remote = ServedRemote::new();
    let writer = remote.new_clone();
    ok(writer.path(), &["--remote", "origin", "init", "-r", REL]);
    let fresh = tempfile::tempdir().unwrap();
    git(
        fresh.path(),
        &["clone", "-q", &remote.daemon.url("remote.git"), "clone"],
    );
    let clone = fresh.path().join("clone");
    git(&clone, &["config", "user.name", "T"]);
    git(&clone, &["config", "user.email", "t@example.com"]);
    assert_eq!(
        tip(&clone, "record"),
        None,
        "git clone makes no local record"
    );

    assert!(ok(&clone, &["status"]).contains(REL));
    assert!(ok(&clone, &["show", "-r", REL]).contains(REL));
    assert_eq!(tip(&clone, "record"), None, "reads create no branch");

    let origin = git(&clone, &["rev-parse", "origin/record"]);
    ok(
        &clone,
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
    let parent = git(&clone, &["rev-parse", "record^"]);
    assert_eq!(parent, origin, "the first write starts from origin/record");
    let synced = ok(&clone, &["--remote", "origin", "sync"]);
    assert_eq!(
        git(&remote.bare(), &["rev-parse", "record"]),
        git(&clone, &["rev-parse", "record"]),
        "delivered as a fast-forward: {synced}"
    );
}

/// A read through `--remote` shows what the remote has, fetched first;
/// when the remote cannot be reached it says so and shows the local
/// branch, and no message claims it is synced.
#[test]
fn reads_through_a_remote_fetch_first_and_say_when_they_could_not() {
    let mut remote = ServedRemote::new();
    let a = remote.new_clone();
    let b = remote.new_clone();
    ok(a.path(), &["--remote", "origin", "init", "-r", REL]);
    ok(b.path(), &["--remote", "origin", "status"]);
    ok(
        a.path(),
        &[
            "--remote",
            "origin",
            "task",
            "set",
            "-r",
            REL,
            "take-ownership",
            "--status",
            "Pass",
        ],
    );
    let task = ok(
        b.path(),
        &[
            "--remote",
            "origin",
            "task",
            "get",
            "-r",
            REL,
            "take-ownership",
        ],
    );
    assert!(
        task.contains("Pass"),
        "b sees a's write without a pull: {task}"
    );

    remote.daemon.stop();
    let out = statebox(b.path(), &["--remote", "origin", "status"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stdout.contains(REL), "the local branch is shown: {stdout}");
    assert!(
        stderr.contains("cannot fetch from remote 'origin'"),
        "says the fetch failed: {stderr}"
    );
    assert!(
        !format!("{stdout}{stderr}").contains("synced"),
        "never claims to be synced: {stdout}{stderr}"
    );
}

/// `log` says what each commit changed, read from the file, not from its
/// subject: a commit titled for one task that also rewinds another (as the
/// Python writer's lost updates do) shows both.
#[test]
fn log_says_what_each_commit_changed_from_the_file() {
    let repo = new_repo();
    let r = repo.path();
    let path = "_releases/4.19/statebox/4.19.1.yaml";
    ok(r, &["init", "-r", REL]);
    ok(
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
    );
    let before_pass = git(r, &["show", &format!("record~1:{path}")]);
    ok(
        r,
        &[
            "task",
            "set",
            "-r",
            REL,
            "stage-testing",
            "--status",
            "In Progress",
        ],
    );
    // A stale writer: its copy predates take-ownership's Pass.
    let stale = before_pass.replace("tasks: []", "tasks:\n- name: stage-testing\n  status: Pass\n  started_at: '2026-06-25T13:00:00Z'\n  completed_at: '2026-06-25T14:00:00Z'\n  result: null");
    assert_ne!(stale, before_pass, "the stale copy has the task");
    commit_raw(r, path, format!("{stale}\n").as_bytes());
    let log = ok(r, &["log", "-r", REL]);
    let newest: Vec<&str> = log.lines().take(3).collect();
    assert!(
        newest[1].contains("stage-testing: In Progress → Pass"),
        "{log}"
    );
    assert!(
        newest[2].contains("take-ownership: reset (Pass → Not Started)"),
        "{log}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&ok(r, &["log", "-r", REL, "--json"])).unwrap();
    assert_eq!(json[0]["changes"].as_array().unwrap().len(), 2, "{json}");
    assert_eq!(
        json.as_array().unwrap().last().unwrap()["changes"][0],
        "file created"
    );
}

/// `log` prints as it walks: the newest entries are out before the walk
/// reaches the oldest. Shown without timing: the oldest commit's object is
/// gone, so the walk fails there, and what was printed before is there.
#[test]
fn log_prints_the_newest_entries_before_walking_the_whole_history() {
    let repo = new_repo();
    let r = repo.path();
    for task in [
        "take-ownership",
        "stage-testing",
        "image-consistency-check",
        "drop-bugs",
        "check-cve-tracker-bug",
        "push-to-cdn-staging",
    ] {
        ok(
            r,
            &["task", "set", "-r", "4.19.1", task, "--status", "Pass"],
        );
    }
    let commits: Vec<String> = git(r, &["rev-list", "record"])
        .lines()
        .map(str::to_owned)
        .collect();
    let root = commits.last().unwrap();
    std::fs::remove_file(r.join(format!(".git/objects/{}/{}", &root[..2], &root[2..]))).unwrap();

    let out = statebox(r, &["log", "-r", "4.19.1"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(10), "{stdout}");
    assert!(String::from_utf8_lossy(&out.stderr).contains(root.as_str()));
    for newer in &commits[..2] {
        assert!(
            stdout.contains(&newer[..12]),
            "{} not shown:\n{stdout}",
            &newer[..12]
        );
    }
    assert!(stdout.contains("push-to-cdn-staging"), "{stdout}");
}
