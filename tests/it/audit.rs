//! `statebox audit`: updates that Python StateBox writers reverted without
//! saying so are found, classified by the original's three lost-update
//! patterns, and repaired once; statebox's own writes and deliberate resets
//! are never reported.
//!
//! The Python side is written the way the original writes: a whole-file
//! rewrite committed with plain git plumbing under its subject ("Update
//! task: X"), built from a state loaded earlier (stale), merged or not as
//! its `save()` does.

use crate::support::{fails, git, new_repo, ok, show, statebox};
use statebox::backend::GitBackend;
use statebox::catalog::Catalog;
use statebox::model::{MERGED_METADATA_KEYS, Op, State, Status};
use statebox::release::Release;
use statebox::write::{self, RetryPolicy};
use statebox::yaml::{Mapping, Value};
use std::path::Path;
use std::process::Command;

const RELEASE: &str = "4.19.1";
const PATH: &str = "_releases/4.19/statebox/4.19.1.yaml";

fn release() -> Release {
    RELEASE.parse().unwrap()
}

/// A statebox write through the library's one write path.
fn statebox_write(repo: &Path, op: Op) -> String {
    let store = GitBackend::open(repo, "record").unwrap();
    let outcome = write::apply(
        &store,
        &release(),
        &op,
        None,
        &Catalog::default(),
        &RetryPolicy::default(),
    )
    .unwrap();
    outcome.written.unwrap().0.unwrap()
}

fn set_task(task: &str, status: Status) -> Op {
    Op::SetTask {
        task: task.into(),
        status,
        result: Some(format!("2026-06-25T13:00:00Z: INFO: {task} {status}")),
    }
}

fn set_meta(key: &str, value: &str) -> Op {
    let mut entries = Mapping::new();
    entries.insert(key, Value::Str(value.into()));
    Op::SetMetadata { entries }
}

fn init() -> Op {
    Op::Init {
        metadata: Mapping::new(),
    }
}

fn tip(repo: &Path) -> String {
    git(repo, &["rev-parse", "refs/heads/record"])
}

fn state_at(repo: &Path, rev: &str) -> State {
    let text = show(repo, &format!("{rev}:{PATH}"));
    write::decode(PATH, format!("{text}\n").as_bytes()).unwrap()
}

fn git_in(repo: &Path, index: &Path, args: &[&str], input: Option<&str>) -> String {
    use std::io::Write;
    let mut child = Command::new("git")
        .args(args)
        .current_dir(repo)
        .env("GIT_INDEX_FILE", index)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.unwrap_or_default().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "git {args:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// A commit on the record branch's tip that sets (or, with `None`,
/// deletes) the file, as the GitHub Contents API makes it.
fn plumbing_commit(repo: &Path, content: Option<&str>, subject: &str) -> String {
    let scratch = tempfile::tempdir().unwrap();
    let index = scratch.path().join("index");
    let parent = tip(repo);
    git_in(repo, &index, &["read-tree", &parent], None);
    match content {
        Some(text) => {
            let blob = git_in(repo, &index, &["hash-object", "-w", "--stdin"], Some(text));
            let info = format!("100644,{blob},{PATH}");
            git_in(
                repo,
                &index,
                &["update-index", "--add", "--cacheinfo", &info],
                None,
            );
        }
        None => drop(git_in(
            repo,
            &index,
            &["update-index", "--force-remove", PATH],
            None,
        )),
    }
    let tree = git_in(repo, &index, &["write-tree"], None);
    let commit = git_in(
        repo,
        &index,
        &["commit-tree", &tree, "-p", &parent, "-m", subject],
        None,
    );
    git(repo, &["update-ref", "refs/heads/record", &commit, &parent]);
    commit
}

/// A Python StateBox instance: the state it loaded, kept (cached) while
/// others write.
struct PythonWriter {
    repo: std::path::PathBuf,
    state: State,
}

impl PythonWriter {
    fn load(repo: &Path) -> Self {
        PythonWriter {
            repo: repo.to_owned(),
            state: state_at(repo, "refs/heads/record"),
        }
    }

    /// `update_task` etc. on its cached state, then `save()`: written over
    /// the branch tip after merging with `merged_with` (`_merge_states`
    /// against the first read), or with no merge at all.
    fn save(&mut self, op: Op, merged_with: Option<State>) -> String {
        let applied = op
            .apply(
                Some(self.state.clone()),
                &release(),
                &Catalog::default(),
                chrono::Utc::now(),
            )
            .unwrap();
        let mut state = applied.state;
        if let Some(remote) = merged_with {
            state = python_merge(state, remote);
        }
        let commit = plumbing_commit(&self.repo, Some(&state.to_yaml()), &applied.message);
        self.state = state;
        commit
    }
}

/// The original's `_merge_states(local, remote)`: the remote's task order,
/// but every task both have taken whole from local; local-only tasks
/// appended; every non-null local metadata value over the remote's (maps
/// merged key by key, local winning); issues kept from the remote, local
/// resolutions copied over.
fn python_merge(local: State, remote: State) -> State {
    let mut merged = remote;
    for (key, value) in local.metadata.iter() {
        let name = key.as_str().unwrap();
        if value.is_null() {
            continue;
        }
        match (merged.metadata.get_mut(name), value) {
            (Some(Value::Map(theirs)), Value::Map(mine))
                if MERGED_METADATA_KEYS.contains(&name) =>
            {
                for (k, v) in mine.iter() {
                    theirs.insert(k.clone(), v.clone());
                }
            }
            _ => merged.metadata.insert(name, value.clone()),
        }
    }
    for task in &mut merged.tasks {
        if let Some(mine) = local.tasks.iter().find(|t| t.name == task.name) {
            *task = mine.clone();
        }
    }
    for mine in &local.tasks {
        if merged.task(&mine.name).is_none() {
            merged.tasks.push(mine.clone());
        }
    }
    for mine in &local.issues {
        match merged
            .issues
            .iter_mut()
            .find(|i| i.normalized_text() == mine.normalized_text())
        {
            Some(theirs) if mine.resolved && !theirs.resolved => {
                theirs.resolved = true;
                theirs.resolution = mine.resolution.clone();
                theirs.resolved_at = mine.resolved_at.clone();
            }
            Some(_) => {}
            None => merged.issues.push(mine.clone()),
        }
    }
    merged.updated_at = local.updated_at;
    merged
}

fn record_repo() -> tempfile::TempDir {
    new_repo()
}

fn audit_json(repo: &Path, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["audit", "--json"];
    all.extend_from_slice(args);
    let out = statebox(repo, &all);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// (part, lost commit, reverting commit, pattern, status) of every loss.
fn losses(report: &serde_json::Value) -> Vec<(String, String, String, u64, String)> {
    report["losses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["part_text"].as_str().unwrap().to_owned(),
                l["lost"]["commit"]["commit"].as_str().unwrap().to_owned(),
                l["reverted_by"]["commit"]["commit"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
                l["pattern"].as_u64().unwrap(),
                l["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn loss(
    part: &str,
    lost: &str,
    by: &str,
    pattern: u64,
    status: &str,
) -> (String, String, String, u64, String) {
    (part.into(), lost.into(), by.into(), pattern, status.into())
}

/// Repairs, then checks that a second repair finds everything repaired
/// and writes nothing.
fn repair_once(repo: &Path) -> String {
    let before = tip(repo);
    let out = ok(repo, &["audit", "--repair"]);
    let repair = tip(repo);
    assert_ne!(repair, before, "a repair commit was written:\n{out}");
    let message = git(repo, &["log", "-1", "--format=%B", &repair]);
    assert!(message.contains("Statebox-Repairs: "), "{message}");
    let again = ok(repo, &["audit", "--repair"]);
    assert_eq!(
        tip(repo),
        repair,
        "the second run repaired nothing:\n{again}"
    );
    let report = audit_json(repo, &[]);
    assert_eq!(report["by_status"]["open"], 0, "{report}");
    assert!(
        report["losses"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["status"] == "repaired" && l["status_by"] == repair.as_str()),
        "{report}"
    );
    ok(repo, &["audit"]);
    repair
}

#[test]
fn pattern_1_a_stale_file_written_without_merging_is_found_and_repaired() {
    let dir = record_repo();
    let repo = dir.path();
    statebox_write(repo, init());
    let mut python = PythonWriter::load(repo);
    let task = statebox_write(repo, set_task("stage-testing", Status::Pass));
    let meta = statebox_write(repo, set_meta("jira_ticket", "ART-1"));
    // The 409 retry: caches dropped, so no merge; the stale state is written.
    let stale = python.save(set_task("take-ownership", Status::InProgress), None);

    let report = audit_json(repo, &[]);
    assert_eq!(
        losses(&report),
        [
            loss("task stage-testing", &task, &stale, 1, "open"),
            loss("metadata jira_ticket", &meta, &stale, 1, "open"),
        ]
    );
    assert_eq!(report["by_pattern"]["1"], 2);
    fails(repo, &["audit"], 1);

    repair_once(repo);
    let state = state_at(repo, "refs/heads/record");
    assert_eq!(state.task("stage-testing").unwrap().status, Status::Pass);
    assert_eq!(
        state.task("take-ownership").unwrap().status,
        Status::InProgress
    );
    assert_eq!(
        state.metadata.get("jira_ticket"),
        Some(&Value::Str("ART-1".into()))
    );
    let lost = state_at(repo, &task);
    assert_eq!(
        state.task("stage-testing"),
        lost.task("stage-testing"),
        "put back exactly"
    );
}

#[test]
fn pattern_2_a_merge_against_an_older_read_that_drops_an_addition_is_found_and_repaired() {
    let dir = record_repo();
    let repo = dir.path();
    statebox_write(repo, init());
    statebox_write(repo, set_task("stage-testing", Status::InProgress));
    let mut python = PythonWriter::load(repo);
    let passed = statebox_write(repo, set_task("stage-testing", Status::Pass));
    statebox_write(repo, set_meta("release_date", "2026-Jul-01"));
    // First read: the merge sees this version...
    let first_read = state_at(repo, "refs/heads/record");
    // ...then a commit lands before the second read, whose sha is used.
    let added = statebox_write(
        repo,
        Op::AddIssue {
            text: "CDN push is slow".into(),
            blocker: false,
            related_tasks: vec![],
        },
    );
    let racing = python.save(set_task("take-ownership", Status::Pass), Some(first_read));

    // The dropped addition is pattern 2; the stale task copy the merge kept
    // is pattern 3, and it is what shows a merge happened at all (a merge
    // of an up-to-date writer leaves the trace of pattern 1).
    let report = audit_json(repo, &[]);
    assert_eq!(
        losses(&report),
        [
            loss("task stage-testing", &passed, &racing, 3, "open"),
            loss("issue 'cdn push is slow'", &added, &racing, 2, "open"),
        ]
    );
    assert_eq!(
        report["by_pattern"],
        serde_json::json!({"1": 0, "2": 1, "3": 1})
    );
    let state = state_at(repo, &racing);
    assert_eq!(
        state.metadata.get("release_date"),
        Some(&Value::Str("2026-Jul-01".into())),
        "the merge kept the first read's update"
    );

    repair_once(repo);
    let state = state_at(repo, "refs/heads/record");
    assert_eq!(state.issues.len(), 1);
    assert_eq!(state.issues[0].issue, "CDN push is slow");
    assert_eq!(state.task("stage-testing").unwrap().status, Status::Pass);
    assert_eq!(state.task("take-ownership").unwrap().status, Status::Pass);
}

#[test]
fn pattern_3_a_merge_that_keeps_its_stale_copies_is_found_and_repaired() {
    let dir = record_repo();
    let repo = dir.path();
    statebox_write(repo, init());
    statebox_write(repo, set_task("stage-testing", Status::InProgress));
    statebox_write(repo, set_meta("shipment_mr", "https://example.com/mr/1"));
    let mut python = PythonWriter::load(repo);
    let passed = statebox_write(repo, set_task("stage-testing", Status::Pass));
    let moved = statebox_write(repo, set_meta("shipment_mr", "https://example.com/mr/2"));
    let other = statebox_write(repo, set_task("image-signed-check", Status::Pass));
    // The merge against the true tip: the other writer's new task is kept,
    // but every task and metadata value both have comes from the stale copy.
    let remote = state_at(repo, "refs/heads/record");
    let merging = python.save(set_task("push-to-cdn-staging", Status::Pass), Some(remote));

    let report = audit_json(repo, &[]);
    assert_eq!(
        losses(&report),
        [
            loss("task stage-testing", &passed, &merging, 3, "open"),
            loss("metadata shipment_mr", &moved, &merging, 3, "open"),
        ]
    );
    let merged = state_at(repo, &merging);
    assert_eq!(
        merged.task("image-signed-check"),
        state_at(repo, &other).task("image-signed-check")
    );

    repair_once(repo);
    let state = state_at(repo, "refs/heads/record");
    assert_eq!(state.task("stage-testing").unwrap().status, Status::Pass);
    assert_eq!(
        state.metadata.get("shipment_mr"),
        Some(&Value::Str("https://example.com/mr/2".into()))
    );
    assert_eq!(
        state.task("push-to-cdn-staging").unwrap().status,
        Status::Pass
    );
}

#[test]
fn a_loss_changed_on_purpose_since_is_reported_superseded_and_not_repaired() {
    let dir = record_repo();
    let repo = dir.path();
    statebox_write(repo, init());
    let mut python = PythonWriter::load(repo);
    statebox_write(repo, set_task("stage-testing", Status::Fail));
    python.save(set_task("take-ownership", Status::Pass), None);
    let again = statebox_write(repo, set_task("stage-testing", Status::InProgress));

    let report = audit_json(repo, &[]);
    let found = &report["losses"][0];
    assert_eq!(found["status"], "superseded", "{report}");
    assert_eq!(found["status_by"], again.as_str());
    let before = tip(repo);
    let out = ok(repo, &["audit", "--repair"]);
    assert_eq!(tip(repo), before, "nothing to repair:\n{out}");
    assert!(out.contains("superseded by"), "{out}");
}

#[test]
fn since_reports_only_losses_caused_after_the_revision() {
    let dir = record_repo();
    let repo = dir.path();
    statebox_write(repo, init());
    let mut python = PythonWriter::load(repo);
    statebox_write(repo, set_task("stage-testing", Status::Pass));
    let first = python.save(set_task("take-ownership", Status::Pass), None);
    let mut python = PythonWriter::load(repo);
    let lost = statebox_write(repo, set_meta("jira_ticket", "ART-9"));
    let second = python.save(set_task("drop-bugs", Status::Pass), None);

    let all = audit_json(repo, &[]);
    assert_eq!(all["losses"].as_array().unwrap().len(), 2, "{all}");
    let later = audit_json(repo, &["--since", &first]);
    assert_eq!(
        losses(&later),
        [loss("metadata jira_ticket", &lost, &second, 1, "open")]
    );
    let none = audit_json(repo, &["--since", &second]);
    assert_eq!(none["losses"], serde_json::json!([]));
    assert_eq!(none["commits"], all["commits"], "the whole history is read");
}

#[test]
fn a_thousand_statebox_writes_report_nothing() {
    let dir = record_repo();
    let repo = dir.path();
    let store = GitBackend::open(repo, "record").unwrap();
    let catalog = Catalog::default();
    let names = catalog
        .names()
        .iter()
        .map(|s| s.to_string())
        .collect::<Vec<_>>();
    let statuses = [
        Status::InProgress,
        Status::Fail,
        Status::Pass,
        Status::NotStarted,
    ];
    let mut written = 0;
    let mut step = 0usize;
    while written < 1000 {
        step += 1;
        let op = match step % 7 {
            0 => set_meta("jira_ticket", &format!("ART-{}", step % 13)),
            1 => Op::AddIssue {
                text: format!("issue {}", step % 5),
                blocker: false,
                related_tasks: vec![],
            },
            2 => Op::ResolveIssue {
                query: format!("issue {}", (step / 7) % 5),
                resolution: Some("done".into()),
            },
            _ => set_task(&names[step % names.len()], statuses[step % statuses.len()]),
        };
        let release: Release = ["4.19.1", "4.20.3"][step % 2].parse().unwrap();
        if let Ok(outcome) = write::apply(
            &store,
            &release,
            &op,
            None,
            &catalog,
            &RetryPolicy::default(),
        ) && outcome.written.is_some()
        {
            written += 1;
        }
    }
    let report = audit_json(repo, &[]);
    assert_eq!(report["commits"], 1000);
    assert_eq!(report["files"], 2);
    assert_eq!(report["losses"], serde_json::json!([]), "{report}");
    ok(repo, &["audit"]);
}

#[test]
fn python_writers_that_do_not_race_and_deliberate_resets_report_nothing() {
    let dir = record_repo();
    let repo = dir.path();
    statebox_write(repo, init());
    for round in 0..3 {
        for (i, task) in ["take-ownership", "stage-testing", "image-signed-check"]
            .into_iter()
            .enumerate()
        {
            let status = [Status::InProgress, Status::Pass][(round + i) % 2];
            PythonWriter::load(repo).save(set_task(task, status), None);
            statebox_write(repo, set_task("drop-bugs", status));
        }
        PythonWriter::load(repo).save(set_meta("release_date", "2026-Jul-01"), None);
        PythonWriter::load(repo).save(
            Op::AddIssue {
                text: format!("round {round}"),
                blocker: true,
                related_tasks: vec![],
            },
            None,
        );
        PythonWriter::load(repo).save(
            Op::ResolveIssue {
                query: format!("round {round}"),
                resolution: None,
            },
            None,
        );
        // A deliberate reset: the original re-initialises the file.
        let fresh = State::new(&release(), "2026-06-25T13:00:13Z");
        plumbing_commit(
            repo,
            Some(&fresh.to_yaml()),
            &format!("Initialize StateBox for release {RELEASE}"),
        );
    }
    // The original's test cleanup deletes the file; the next Python write
    // creates it again from its defaults.
    statebox_write(repo, set_task("stage-testing", Status::Pass));
    plumbing_commit(repo, None, "[TEST CLEANUP] Delete test file for 4.19.1");
    let defaults = State::new(&release(), "2026-06-25T13:00:13Z");
    PythonWriter {
        repo: repo.to_owned(),
        state: defaults,
    }
    .save(set_task("take-ownership", Status::Pass), None);

    let report = audit_json(repo, &[]);
    assert_eq!(report["losses"], serde_json::json!([]), "{report}");
    assert!(report["commits"].as_u64().unwrap() > 30);
}

#[test]
fn the_json_report_has_its_documented_shape() {
    let dir = record_repo();
    let repo = dir.path();
    statebox_write(repo, init());
    let mut python = PythonWriter::load(repo);
    let task = statebox_write(repo, set_task("stage-testing", Status::Pass));
    let stale = python.save(set_task("take-ownership", Status::Pass), None);

    let report = audit_json(repo, &["-r", RELEASE]);
    let keys: Vec<&str> = report
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "branch",
            "files",
            "commits",
            "unreadable",
            "losses",
            "by_pattern",
            "by_status",
            "repairs"
        ]
    );
    assert_eq!(report["branch"], "record");
    assert_eq!(report["files"], 1);
    assert_eq!(report["commits"], 3);
    assert_eq!(
        report["by_pattern"],
        serde_json::json!({"1": 1, "2": 0, "3": 0})
    );
    assert_eq!(
        report["by_status"],
        serde_json::json!({"open": 1, "repaired": 0, "restored": 0, "superseded": 0})
    );
    let found = &report["losses"][0];
    assert_eq!(found["release"], RELEASE);
    assert_eq!(
        found["part"],
        serde_json::json!({"kind": "task", "name": "stage-testing"})
    );
    assert_eq!(found["lost"]["commit"]["commit"], task.as_str());
    assert_eq!(
        found["lost"]["commit"]["subject"],
        "Update task: stage-testing"
    );
    assert_eq!(found["lost"]["value"]["status"], "Pass");
    assert_eq!(found["reverted_by"]["commit"]["commit"], stale.as_str());
    assert_eq!(
        found["reverted_by"]["commit"]["subject"],
        "Update task: take-ownership"
    );
    assert_eq!(found["reverted_by"]["value"], serde_json::Value::Null);
    assert_eq!(found["current"], serde_json::Value::Null);
    assert_eq!(found["pattern"], 1);
    assert_eq!(found["mechanism"], "stale_write");
    assert_eq!(found["status"], "open");
    assert_eq!(found["status_by"], serde_json::Value::Null);
    assert_eq!(report["repairs"], serde_json::json!([]));

    let out = statebox(repo, &["audit", "--json", "--repair"]);
    assert_eq!(out.status.code(), Some(0));
    let repaired: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(repaired["repairs"][0]["release"], RELEASE);
    assert_eq!(
        repaired["repairs"][0]["parts"],
        serde_json::json!(["task stage-testing"])
    );
    assert_eq!(repaired["repairs"][0]["commit"], tip(repo).as_str());
}

#[test]
fn human_output_names_each_loss_and_how_to_repair_it() {
    let dir = record_repo();
    let repo = dir.path();
    statebox_write(repo, init());
    let mut python = PythonWriter::load(repo);
    statebox_write(repo, set_task("stage-testing", Status::Pass));
    python.save(set_task("take-ownership", Status::Pass), None);
    let out = statebox(repo, &["audit"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("4.19.1  task stage-testing: Pass from "),
        "{text}"
    );
    assert!(text.contains("reverted to absent by "), "{text}");
    assert!(text.contains("\"Update task: take-ownership\""), "{text}");
    assert!(
        text.contains("pattern 1, stale file written without merging; open"),
        "{text}"
    );
    assert!(text.contains("1 lost update(s): 1 open"), "{text}");
    assert!(text.contains("statebox audit --repair"), "{text}");
}

#[test]
fn bad_audit_arguments_are_refused_by_name() {
    let dir = record_repo();
    let repo = dir.path();
    statebox_write(repo, init());
    let before = tip(repo);
    let err = fails(repo, &["audit", "--since", "no-such-rev"], 3);
    assert!(
        err.contains("revision 'no-such-rev' does not exist"),
        "{err}"
    );
    let err = fails(repo, &["audit", "-r", "4.20.9"], 3);
    assert!(
        err.contains("release 4.20.9 has no history on branch 'record'"),
        "{err}"
    );
    let err = fails(repo, &["audit", "-r", "../etc"], 4);
    assert!(err.contains("../etc"), "{err}");
    let folder = tempfile::tempdir().unwrap();
    let err = fails(
        repo,
        &["audit", "--dir", folder.path().to_str().unwrap()],
        4,
    );
    assert!(err.contains("cannot run on --dir or --github"), "{err}");
    assert_eq!(tip(repo), before, "nothing written");
}
