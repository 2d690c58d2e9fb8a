//! Remote sync against a real `git daemon` on 127.0.0.1: many clones racing
//! through one remote, an outage in the middle of a run of writes, and the
//! explicit pull/push/sync commands.

use crate::support::git_daemon::ServedRemote;
use crate::support::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const REL: &str = "4.19.1";
const UNREACHABLE: i32 = 7;
const PATH: &str = "_releases/4.19/statebox/4.19.1.yaml";

/// The served remote, with a catalog of the tests' task names beside it.
struct Setup {
    remote: ServedRemote,
    catalog: PathBuf,
}

impl Setup {
    fn new(task_names: &[String]) -> Self {
        let remote = ServedRemote::new();
        git(
            &remote.bare(),
            &["config", "receive.denyNonFastForwards", "true"],
        );
        let catalog = remote.root().join("catalog.txt");
        std::fs::write(&catalog, task_names.join("\n")).unwrap();
        Setup { remote, catalog }
    }

    fn run(&self, repo: &Path, args: &[&str]) -> Output {
        Command::new(statebox_bin())
            .arg("--repo")
            .arg(repo)
            .arg("--catalog")
            .arg(&self.catalog)
            .args(args)
            .env_remove("STATEBOX_REMOTE")
            .env_remove("STATEBOX_BRANCH")
            .env_remove("GITHUB_TOKEN")
            .output()
            .unwrap()
    }

    fn write(&self, repo: &Path, args: &[&str]) -> Output {
        let mut all = vec!["--remote", "origin"];
        all.extend_from_slice(args);
        self.run(repo, &all)
    }

    /// The state on the remote, read straight from the bare repository.
    fn remote_state(&self) -> serde_json::Value {
        let out = self.run(&self.remote.bare(), &["show", "-r", REL, "--json"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// Asserts the remote branch is linear, holds exactly `commits`
    /// commits, and the repository is consistent.
    fn check_remote_history(&self, commits: usize) {
        let bare = self.remote.bare();
        assert_eq!(git(&bare, &["rev-list", "--merges", "record"]), "");
        assert_eq!(
            git(&bare, &["rev-list", "--count", "record"]),
            commits.to_string()
        );
        git(&bare, &["fsck", "--strict", "--no-dangling"]);
    }
}

fn ok_out(out: &Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed ({:?}): {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The `j`-th write of writer `w`: a task, an issue or a metadata key.
fn op_args(w: usize, j: usize) -> Vec<String> {
    let r = REL.to_owned();
    match j % 3 {
        0 => vec![
            "task".into(),
            "set".into(),
            "-r".into(),
            r,
            task_name(w, j),
            "--status".into(),
            "Pass".into(),
        ],
        1 => vec![
            "issue".into(),
            "add".into(),
            "-r".into(),
            r,
            issue_text(w, j),
        ],
        _ => vec![
            "meta".into(),
            "set".into(),
            "-r".into(),
            r,
            format!("{}={j}", meta_key(w, j)),
        ],
    }
}

fn task_name(w: usize, j: usize) -> String {
    format!("w{w}-op{j}")
}
fn issue_text(w: usize, j: usize) -> String {
    format!("issue from writer {w} write {j}")
}
fn meta_key(w: usize, j: usize) -> String {
    format!("w{w}_op{j}")
}

fn all_task_names(writers: usize, writes: usize) -> Vec<String> {
    (0..writers)
        .flat_map(|w| (0..writes).map(move |j| task_name(w, j)))
        .collect()
}

/// Every effect of writers `0..writers` x writes `range` is in `state`;
/// returns what is missing.
fn missing_effects(
    state: &serde_json::Value,
    writers: std::ops::Range<usize>,
    writes: std::ops::Range<usize>,
) -> Vec<String> {
    let mut missing = Vec::new();
    for w in writers {
        for j in writes.clone() {
            let present = match j % 3 {
                0 => state["tasks"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|t| t["name"] == task_name(w, j).as_str() && t["status"] == "Pass"),
                1 => {
                    state["issues"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .filter(|i| i["issue"] == issue_text(w, j).as_str())
                        .count()
                        == 1
                }
                // `meta set KEY=VALUE` stores the text typed.
                _ => state["metadata"][meta_key(w, j)] == serde_json::json!(j.to_string()),
            };
            if !present {
                missing.push(format!("writer {w} write {j}"));
            }
        }
    }
    missing
}

#[test]
fn four_clones_racing_through_one_remote_lose_nothing() {
    clones_racing_through(|setup| setup.remote.daemon.url("remote.git"));
}

/// libgit2's local transport moves the remote's ref without
/// compare-and-swap; a push to a path on this machine must be as safe as
/// one through a server.
#[test]
fn four_clones_racing_through_a_local_path_remote_lose_nothing() {
    clones_racing_through(|setup| setup.remote.bare().display().to_string());
}

#[test]
fn four_clones_racing_through_a_file_url_remote_lose_nothing() {
    clones_racing_through(|setup| format!("file://{}", setup.remote.bare().display()));
}

fn clones_racing_through(origin: impl Fn(&Setup) -> String) {
    const CLONES: usize = 4;
    const WRITES: usize = 25;
    let setup = Setup::new(&all_task_names(CLONES, WRITES));
    let clones: Vec<tempfile::TempDir> = (0..CLONES).map(|_| setup.remote.new_clone()).collect();
    for clone in &clones {
        git(
            clone.path(),
            &["remote", "set-url", "origin", &origin(&setup)],
        );
    }
    let failures: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = clones
            .iter()
            .enumerate()
            .map(|(w, clone)| {
                let setup = &setup;
                scope.spawn(move || {
                    let mut failures = Vec::new();
                    for j in 0..WRITES {
                        let args = op_args(w, j);
                        let args: Vec<&str> = args.iter().map(String::as_str).collect();
                        let out = setup.write(clone.path(), &args);
                        if !out.status.success() {
                            failures.push(format!(
                                "{args:?}: {:?} {}",
                                out.status.code(),
                                String::from_utf8_lossy(&out.stderr)
                            ));
                        }
                    }
                    failures
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    assert!(failures.is_empty(), "failed writes: {failures:#?}");
    let missing = missing_effects(&setup.remote_state(), 0..CLONES, 0..WRITES);
    assert!(missing.is_empty(), "not on the remote: {missing:?}");
    // One commit per write: nothing replayed twice, no merge commits.
    setup.check_remote_history(CLONES * WRITES);
    // Only the record branch travels; each clone's own `main` stays home.
    assert_eq!(
        git(
            &setup.remote.bare(),
            &["for-each-ref", "--format=%(refname)"]
        ),
        "refs/heads/record"
    );
}

#[test]
fn writes_during_an_outage_are_kept_and_a_later_sync_delivers_them() {
    const WRITES: usize = 12;
    let mut setup = Setup::new(&all_task_names(2, WRITES));
    let a = setup.remote.new_clone();
    let b = setup.remote.new_clone();
    for j in 0..4 {
        let args = op_args(0, j);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        ok_out(&setup.write(a.path(), &args), "write before the outage");
    }
    setup.remote.daemon.stop();
    for j in 4..8 {
        let args = op_args(0, j);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let before = tip(a.path(), "record").unwrap();
        let out = setup.write(a.path(), &args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(UNREACHABLE), "{stderr}");
        assert!(
            stderr.contains("remote 'origin' is unreachable")
                && stderr.contains("statebox sync")
                && stderr.contains(&format!("{} commit(s) kept locally", j - 3)),
            "{stderr}"
        );
        assert_ne!(
            tip(a.path(), "record").unwrap(),
            before,
            "local commit kept"
        );
    }
    // Still down: sync reports the same outage, loses nothing.
    let out = setup.run(a.path(), &["sync", "origin"]);
    assert_eq!(out.status.code(), Some(UNREACHABLE));
    setup.remote.daemon.resume();
    // Another machine writes first, so the outage commits must be replayed.
    for j in 0..4 {
        let args = op_args(1, j);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        ok_out(&setup.write(b.path(), &args), "other machine's write");
    }
    let report = ok_out(&setup.run(a.path(), &["sync", "origin"]), "sync");
    assert!(report.contains("replayed: 4, delivered: 4"), "{report}");
    // The next write of machine A goes straight through.
    for j in 8..WRITES {
        let args = op_args(0, j);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        ok_out(&setup.write(a.path(), &args), "write after the outage");
    }
    let state = setup.remote_state();
    let mut missing = missing_effects(&state, 0..1, 0..WRITES);
    missing.extend(missing_effects(&state, 1..2, 0..4));
    assert!(missing.is_empty(), "not on the remote: {missing:?}");
    setup.check_remote_history(WRITES + 4);
    // Both clones converge on the remote's branch.
    ok_out(&setup.run(b.path(), &["pull", "origin"]), "pull");
    let remote_tip = git(&setup.remote.bare(), &["rev-parse", "record"]);
    assert_eq!(tip(a.path(), "record").unwrap(), remote_tip);
    assert_eq!(tip(b.path(), "record").unwrap(), remote_tip);
}

#[test]
fn push_refuses_when_the_remote_moved_and_sync_resolves_it() {
    let setup = Setup::new(&all_task_names(2, 3));
    let a = setup.remote.new_clone();
    let b = setup.remote.new_clone();
    ok_out(
        &setup.write(
            a.path(),
            &op_args(0, 0).iter().map(String::as_str).collect::<Vec<_>>(),
        ),
        "a",
    );
    // b writes without --remote: a local commit only.
    ok_out(
        &setup.run(
            b.path(),
            &op_args(1, 0).iter().map(String::as_str).collect::<Vec<_>>(),
        ),
        "b local",
    );
    let out = setup.run(b.path(), &["push", "origin"]);
    assert_eq!(out.status.code(), Some(10));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("push rejected") && stderr.contains("statebox sync"),
        "{stderr}"
    );
    let report = ok_out(&setup.run(b.path(), &["sync", "origin"]), "sync");
    assert!(
        report.contains("received: yes, replayed: 1, delivered: 1"),
        "{report}"
    );
    assert!(missing_effects(&setup.remote_state(), 0..2, 0..1).is_empty());
    setup.check_remote_history(2);
    // Nothing left: a second sync is a no-op.
    let again = ok_out(&setup.run(b.path(), &["sync", "origin"]), "sync again");
    assert!(
        again.contains("received: nothing new, replayed: 0, delivered: 0"),
        "{again}"
    );
}

#[test]
fn a_local_commit_without_an_operation_trailer_is_not_replayed() {
    let setup = Setup::new(&all_task_names(2, 3));
    let a = setup.remote.new_clone();
    let b = setup.remote.new_clone();
    ok_out(
        &setup.write(
            a.path(),
            &op_args(0, 0).iter().map(String::as_str).collect::<Vec<_>>(),
        ),
        "a",
    );
    ok_out(&setup.run(b.path(), &["pull", "origin"]), "pull");
    ok_out(
        &setup.write(
            a.path(),
            &op_args(0, 1).iter().map(String::as_str).collect::<Vec<_>>(),
        ),
        "a",
    );
    // A hand-made commit on b's record branch: a file, no operation.
    let tree = git(b.path(), &["rev-parse", "record^{tree}"]);
    let parent = git(b.path(), &["rev-parse", "record"]);
    let commit = git(
        b.path(),
        &["commit-tree", &tree, "-p", &parent, "-m", "hand edit"],
    );
    git(b.path(), &["update-ref", "refs/heads/record", &commit]);
    let out = setup.run(b.path(), &["sync", "origin"]);
    assert_eq!(out.status.code(), Some(10));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&commit) && stderr.contains("no valid Statebox-Op trailer"),
        "{stderr}"
    );
    assert_eq!(
        tip(b.path(), "record").unwrap(),
        commit,
        "branch left as it was"
    );
}

#[test]
fn an_unknown_remote_is_named_in_the_error() {
    let setup = Setup::new(&all_task_names(1, 1));
    let a = setup.remote.new_clone();
    let out = setup.run(
        a.path(),
        &[
            "--remote", "nowhere", "task", "set", "-r", REL, "w0-op0", "--status", "Pass",
        ],
    );
    assert_eq!(out.status.code(), Some(10));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("remote 'nowhere': not configured"),
        "{stderr}"
    );
    assert_eq!(tip(a.path(), "record"), None, "nothing written");
}

#[test]
fn sync_with_an_empty_remote_and_nothing_local_does_nothing() {
    let setup = Setup::new(&all_task_names(1, 1));
    let a = setup.remote.new_clone();
    for command in ["pull", "push", "sync"] {
        let out = ok_out(&setup.run(a.path(), &[command, "origin"]), command);
        assert!(
            out.contains("received: nothing new, replayed: 0, delivered: 0"),
            "{command}: {out}"
        );
    }
    assert_eq!(tip(a.path(), "record"), None);
    assert_eq!(git(&setup.remote.bare(), &["for-each-ref"]), "");
}

/// A writer killed inside a fetch leaves git's lock files in its clone
/// (the remote-tracking ref's, and `shallow.lock`, which libgit2 takes on
/// every fetch) and statebox's note of that writer. The next write sees
/// from the note that their holder is dead, removes them and delivers; a
/// lock file without such a note is some git's, and stays.
#[test]
fn a_fetch_killed_inside_leaves_nothing_in_the_next_writes_way() {
    let setup = Setup::new(&all_task_names(1, 1));
    let a = setup.remote.new_clone();
    let git_dir = a.path().join(".git");
    ok_out(
        &setup.write(a.path(), &["issue", "add", "-r", REL, "first"]),
        "first",
    );
    let leftovers = [
        git_dir.join("shallow.lock"),
        git_dir.join("refs/remotes/origin/record.lock"),
    ];
    for file in &leftovers {
        std::fs::write(file, "").unwrap();
    }
    let note = git_dir.join("statebox/locks/refs/remotes/origin/record");
    std::fs::write(&note, "pid 4194303 since 2026-12-03T10:00:00Z").unwrap();
    ok_out(
        &setup.write(a.path(), &["issue", "add", "-r", REL, "second"]),
        "second",
    );
    for file in &leftovers {
        assert!(!file.exists(), "{} left in place", file.display());
    }
    assert!(
        setup.remote_state()["issues"]
            .to_string()
            .contains("second")
    );

    // No note: a git process holds it, or crashed; statebox leaves it be.
    std::fs::write(&leftovers[0], "").unwrap();
    let b = setup.remote.new_clone();
    ok_out(
        &setup.write(b.path(), &["issue", "add", "-r", REL, "third"]),
        "b",
    );
    let out = setup.run(a.path(), &["pull", "origin"]);
    assert!(!out.status.success(), "a fetch took a held shallow.lock");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("shallow.lock"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        leftovers[0].exists(),
        "a lock without a dead holder's note was removed"
    );
}

/// A remote where another machine always pushes first: its pre-receive
/// hook lands a rival write (statebox itself, straight into the bare
/// repository) while each push of ours is being received, so every push
/// loses its compare-and-swap and every round fetches and replays again.
/// With a 3 s budget the write gives up with exit 6, names the remote and
/// the commits it keeps, keeps them locally, and a quieter `sync`
/// delivers them.
#[test]
fn a_remote_that_others_always_win_ends_in_remote_busy_and_sync_delivers() {
    use std::os::unix::fs::PermissionsExt;
    let setup = Setup::new(&all_task_names(1, 1));
    let a = setup.remote.new_clone();
    ok_out(&setup.write(a.path(), &["init", "-r", REL]), "init");
    let hook = setup.remote.bare().join("hooks/pre-receive");
    std::fs::write(
        &hook,
        format!(
            "#!/bin/sh\ncat >/dev/null\nenv -u GIT_QUARANTINE_PATH -u GIT_OBJECT_DIRECTORY \
             -u GIT_ALTERNATE_OBJECT_DIRECTORIES '{}' --repo . meta set -r {REL} \
             \"rival_$(date +%s%N)=1\" >/dev/null 2>&1\nexit 0\n",
            statebox_bin().display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();

    let out = statebox_env(
        a.path(),
        &["--remote", "origin", "issue", "add", "-r", REL, "ours"],
        &[("STATEBOX_PUSH_BUDGET", "3".as_ref())],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(6), "{err}");
    assert!(
        err.contains("remote 'origin': gave up after")
            && err.contains("other machines kept pushing first")
            && err.contains("kept locally on branch 'record'"),
        "{err}"
    );
    assert!(
        show(a.path(), &format!("record:{PATH}")).contains("ours"),
        "kept locally"
    );
    assert!(!setup.remote_state()["issues"].to_string().contains("ours"));
    let rivals = |state: serde_json::Value| {
        state["metadata"]
            .as_object()
            .unwrap()
            .keys()
            .filter(|k| k.starts_with("rival_"))
            .count()
    };
    assert!(
        rivals(setup.remote_state()) >= 2,
        "the rival won more than once"
    );

    std::fs::remove_file(&hook).unwrap();
    ok_out(&setup.run(a.path(), &["sync", "origin"]), "sync");
    let state = setup.remote_state();
    assert!(state["issues"].to_string().contains("ours"), "delivered");
}

#[test]
fn a_push_budget_that_is_not_seconds_is_named() {
    let setup = Setup::new(&all_task_names(1, 1));
    let a = setup.remote.new_clone();
    let out = Command::new(statebox_bin())
        .arg("--repo")
        .arg(a.path())
        .args(["--remote", "origin", "init", "-r", REL])
        .env("STATEBOX_PUSH_BUDGET", "1m")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(10), "{err}");
    assert!(
        err.contains("STATEBOX_PUSH_BUDGET must be whole seconds, got '1m'"),
        "{err}"
    );
    assert_eq!(tip(a.path(), "record"), None, "nothing was written");
}
