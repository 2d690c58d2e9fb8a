//! The merge driver under real git: rebase, merge and cherry-pick of
//! branches that change the same state file, `install` and its `--check`.

use crate::support::{fails, git, new_repo, ok, statebox_bin};
use statebox::merge::state::merge_states;
use statebox::model::{Issue, State, Status};
use statebox::release::Release;
use statebox::write::decode;
use std::path::Path;
use std::process::{Command, Output};

const RELEASE: &str = "4.19.36";
const TASKS: [&str; 13] = [
    "create-test-report",
    "take-ownership",
    "update-bug-list",
    "image-consistency-check",
    "analyze-candidate-build",
    "analyze-promoted-build",
    "check-greenwave-cvp-tests",
    "check-cve-tracker-bug",
    "push-to-cdn-staging",
    "stage-testing",
    "image-signed-check",
    "drop-bugs",
    "change-advisory-status",
];

fn release() -> Release {
    RELEASE.parse().unwrap()
}

fn path() -> String {
    release().path()
}

fn read_state(repo: &Path) -> State {
    let bytes = std::fs::read(repo.join(path())).unwrap();
    let state = decode(&path(), &bytes).unwrap();
    assert_eq!(
        state.to_yaml().as_bytes(),
        &bytes[..],
        "merged file is not canonical"
    );
    state
}

fn state_at(repo: &Path, rev: &str) -> State {
    decode(
        &path(),
        git(repo, &["show", &format!("{rev}:{}", path())]).as_bytes(),
    )
    .unwrap()
}

fn commit_state(repo: &Path, state: &State, message: &str) {
    let file = repo.join(path());
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, state.to_yaml()).unwrap();
    git(repo, &["add", "-A"]);
    git(repo, &["commit", "-q", "-m", message]);
}

/// Applies `edit` to the committed state, stamps `updated_at`, commits.
fn change(repo: &Path, at: &str, message: &str, edit: impl FnOnce(&mut State)) {
    let mut state = read_state(repo);
    edit(&mut state);
    state.updated_at = at.to_owned();
    commit_state(repo, &state, message);
}

fn set(state: &mut State, task: &str, status: Status) {
    let t = state.tasks.iter_mut().find(|t| t.name == task).unwrap();
    t.status = status;
    t.result = Some(format!("{task} is {status}"));
}

/// A repository whose `main` has a fresh state file, with the driver
/// installed (or not) and `.gitattributes` committed.
fn repo_with_state(install: bool) -> tempfile::TempDir {
    let repo = new_repo();
    if install {
        ok(repo.path(), &["install"]);
    }
    let mut state = State::new(&release(), "2026-06-25T13:00:00Z");
    for name in TASKS {
        state.tasks.push(statebox::model::Task::new(name));
    }
    commit_state(repo.path(), &state, "init state");
    repo
}

/// `feature`: twelve commits taking six tasks through In Progress to Pass,
/// one adding an issue, and one setting a task main also sets (later).
/// `main` meanwhile: four other tasks, metadata, an issue added and resolved,
/// and the contested task set earlier.
fn diverge(repo: &Path) {
    git(repo, &["checkout", "-q", "-b", "feature"]);
    let mut minute = 0;
    let mut stamp = || {
        minute += 1;
        format!("2026-06-26T10:{minute:02}:00Z")
    };
    for task in &TASKS[..6] {
        change(repo, &stamp(), &format!("start {task}"), |s| {
            set(s, task, Status::InProgress)
        });
        change(repo, &stamp(), &format!("pass {task}"), |s| {
            set(s, task, Status::Pass)
        });
    }
    change(repo, &stamp(), "feature issue", |s| {
        s.issues.push(Issue::new(
            "Feature flake",
            false,
            vec![TASKS[0].into()],
            "2026-06-26T10:30:00Z".into(),
        ))
    });
    change(repo, &stamp(), "contested task passes", |s| {
        set(s, TASKS[12], Status::Pass)
    });

    git(repo, &["checkout", "-q", "main"]);
    for (i, task) in TASKS[7..11].iter().enumerate() {
        change(
            repo,
            &format!("2026-06-26T09:0{i}:00Z"),
            &format!("pass {task}"),
            |s| set(s, task, Status::Pass),
        );
    }
    change(repo, "2026-06-26T09:10:00Z", "metadata", |s| {
        s.metadata.insert("jira_ticket", "ART-21268".into());
    });
    change(repo, "2026-06-26T09:11:00Z", "main issue", |s| {
        s.issues.push(Issue::new(
            "Main blocker",
            true,
            vec![],
            "2026-06-26T09:11:00Z".into(),
        ))
    });
    change(repo, "2026-06-26T09:12:00Z", "resolve main issue", |s| {
        let issue = s.issues.last_mut().unwrap();
        issue.resolved = true;
        issue.resolution = Some("fixed".into());
        issue.resolved_at = Some("2026-06-26T09:12:00Z".into());
    });
    change(repo, "2026-06-26T09:13:00Z", "contested task fails", |s| {
        set(s, TASKS[12], Status::Fail)
    });
}

/// What both histories together mean, checked field by field.
fn assert_combined(state: &State) {
    let status = |name: &str| state.task(name).unwrap().status;
    for task in TASKS[..6].iter().chain(&TASKS[7..11]) {
        assert_eq!(status(task), Status::Pass, "{task}");
    }
    assert_eq!(status(TASKS[6]), Status::NotStarted);
    assert_eq!(status(TASKS[11]), Status::NotStarted);
    assert_eq!(status(TASKS[12]), Status::Pass, "feature wrote it later");
    assert_eq!(state.metadata.get("jira_ticket"), Some(&"ART-21268".into()));
    let issues: Vec<_> = state
        .issues
        .iter()
        .map(|i| (i.issue.as_str(), i.resolved))
        .collect();
    assert!(issues.contains(&("Feature flake", false)), "{issues:?}");
    assert!(issues.contains(&("Main blocker", true)), "{issues:?}");
    assert_eq!(issues.len(), 2);
    assert_eq!(state.updated_at, "2026-06-26T10:14:00Z");
    assert_eq!(state.tasks.len(), TASKS.len());
}

fn in_progress(repo: &Path, what: &str) -> bool {
    let git_dir = repo.join(".git");
    match what {
        "rebase" => git_dir.join("rebase-merge").exists() || git_dir.join("rebase-apply").exists(),
        "merge" => git_dir.join("MERGE_HEAD").exists(),
        _ => git_dir.join("CHERRY_PICK_HEAD").exists(),
    }
}

fn git_output(repo: &Path, args: &[&str]) -> Output {
    Command::new("git")
        .args(args)
        .current_dir(repo)
        .env("GIT_EDITOR", "true")
        .output()
        .unwrap()
}

#[test]
fn rebase_over_a_moved_main_completes_with_the_driver() {
    let repo = repo_with_state(true);
    let repo = repo.path();
    diverge(repo);
    git(repo, &["checkout", "-q", "feature"]);
    git(repo, &["rebase", "-q", "main"]);
    assert!(!in_progress(repo, "rebase"));
    assert_combined(&read_state(repo));
    let replayed = git(repo, &["rev-list", "--count", "main..feature"]);
    assert_eq!(replayed, "14", "every feature commit replayed");
}

#[test]
fn the_same_rebase_stops_without_the_driver() {
    let repo = repo_with_state(false);
    let repo = repo.path();
    diverge(repo);
    git(repo, &["checkout", "-q", "feature"]);
    let out = git_output(repo, &["rebase", "-q", "main"]);
    assert!(!out.status.success(), "text merge unexpectedly clean");
    assert!(in_progress(repo, "rebase"));
}

#[test]
fn merge_of_diverged_branches_is_the_semantic_merge() {
    let repo = repo_with_state(true);
    let repo = repo.path();
    diverge(repo);
    git(repo, &["checkout", "-q", "feature"]);
    let base_rev = git(repo, &["merge-base", "main", "feature"]);
    let expected = merge_states(
        Some(&state_at(repo, &base_rev)),
        &state_at(repo, "feature"),
        &state_at(repo, "main"),
    );
    git(repo, &["merge", "-q", "--no-edit", "main"]);
    assert!(!in_progress(repo, "merge"));
    let merged = read_state(repo);
    assert_combined(&merged);
    assert_eq!(merged, expected);

    // Merging the other way round gives the same bytes.
    git(repo, &["checkout", "-q", "-b", "other", "main"]);
    git(repo, &["merge", "-q", "--no-edit", "feature^1"]);
    assert_eq!(read_state(repo).to_yaml(), expected.to_yaml());
}

#[test]
fn cherry_pick_onto_a_moved_main_applies_the_change() {
    let repo = repo_with_state(true);
    let repo = repo.path();
    diverge(repo);
    // The feature commit that adds an issue, onto main.
    let pick = git(repo, &["rev-parse", "feature~1"]);
    git(repo, &["cherry-pick", &pick]);
    assert!(!in_progress(repo, "cherry-pick"));
    let state = read_state(repo);
    assert!(state.issues.iter().any(|i| i.issue == "Feature flake"));
    assert!(
        state
            .issues
            .iter()
            .any(|i| i.issue == "Main blocker" && i.resolved)
    );
    // Only the picked change came over, not the rest of feature.
    assert_eq!(state.task(TASKS[0]).unwrap().status, Status::NotStarted);
    assert_eq!(state.task(TASKS[12]).unwrap().status, Status::Fail);
}

#[test]
fn a_side_that_does_not_parse_leaves_the_conflict() {
    let repo = repo_with_state(true);
    let repo = repo.path();
    git(repo, &["checkout", "-q", "-b", "feature"]);
    change(repo, "2026-06-26T10:00:00Z", "pass", |s| {
        set(s, TASKS[0], Status::Pass)
    });
    git(repo, &["checkout", "-q", "main"]);
    std::fs::write(repo.join(path()), "tasks: [unclosed\n").unwrap();
    git(repo, &["commit", "-q", "-am", "break the file"]);
    let out = git_output(repo, &["merge", "--no-edit", "feature"]);
    assert!(!out.status.success());
    assert!(in_progress(repo, "merge"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("ours version does not parse") && stderr.contains(&path()),
        "{stderr}"
    );
    let left = std::fs::read_to_string(repo.join(path())).unwrap();
    assert!(left.contains("<<<<<<< ours"), "{left}");
}

/// Runs the driver by hand the way git does, on files in `dir`.
fn drive(dir: &Path, base: &str, ours: &str, theirs: &str, path_name: &str) -> (Output, String) {
    for (name, text) in [("O", base), ("A", ours), ("B", theirs)] {
        std::fs::write(dir.join(name), text).unwrap();
    }
    let out = Command::new(statebox_bin())
        .arg("merge-driver")
        .args(["O", "A", "B", path_name])
        .current_dir(dir)
        .output()
        .unwrap();
    (out, std::fs::read_to_string(dir.join("A")).unwrap())
}

#[test]
fn other_files_get_git_text_merge() {
    let dir = tempfile::tempdir().unwrap();
    let (out, merged) = drive(
        dir.path(),
        "a\nb\nc\n",
        "A\nb\nc\n",
        "a\nb\nC\n",
        "docs/notes.txt",
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(merged, "A\nb\nC\n");
    let (out, merged) = drive(dir.path(), "a\n", "x\n", "y\n", "docs/notes.txt");
    assert_eq!(out.status.code(), Some(1));
    assert!(merged.contains("<<<<<<< ours"), "{merged}");
}

#[test]
fn driver_names_the_unreadable_side() {
    let dir = tempfile::tempdir().unwrap();
    let good = State::new(&release(), "2026-06-25T13:00:00Z").to_yaml();
    let (out, _) = drive(dir.path(), &good, &good, "release: [", &path());
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("theirs version does not parse"), "{stderr}");
    let (out, _) = drive(dir.path(), &good, "schema_version: '9'\n", &good, &path());
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("unsupported schema version"), "{stderr}");
    let (out, _) = drive(dir.path(), &good, &good, "", &path());
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("theirs version is empty"), "{stderr}");
}

#[test]
fn driver_merges_when_both_sides_added_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = State::new(&release(), "2026-06-25T13:00:00Z");
    a.metadata.insert("jira_ticket", "ART-1".into());
    let mut b = State::new(&release(), "2026-06-25T12:00:00Z");
    b.metadata.insert("shipment_mr", "https://mr/1".into());
    let (out, merged) = drive(dir.path(), "", &a.to_yaml(), &b.to_yaml(), &path());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let merged = decode(&path(), merged.as_bytes()).unwrap();
    assert_eq!(merged.created_at, "2026-06-25T12:00:00Z");
    assert_eq!(merged.metadata.get("jira_ticket"), Some(&"ART-1".into()));
    assert_eq!(
        merged.metadata.get("shipment_mr"),
        Some(&"https://mr/1".into())
    );
}

#[test]
fn install_is_idempotent_keeps_lines_and_check_reports() {
    let repo = new_repo();
    let repo = repo.path();
    std::fs::write(repo.join(".gitattributes"), "*.png binary").unwrap();
    let out = fails(repo, &["install", "--check"], 9);
    assert!(out.contains("missing"), "{out}");
    let first = ok(repo, &["install"]);
    assert!(first.contains("added:"), "{first}");
    let second = ok(repo, &["install"]);
    assert!(!second.contains("added:"), "{second}");
    let check = ok(repo, &["install", "--check"]);
    assert!(!check.contains("missing"), "{check}");
    assert_eq!(
        std::fs::read_to_string(repo.join(".gitattributes")).unwrap(),
        "*.png binary\n_releases/**/statebox/*.yaml merge=statebox\n.secrets.baseline merge=statebox\n"
    );
    let driver = git(repo, &["config", "merge.statebox.driver"]);
    assert!(
        driver.ends_with("/statebox-merge-driver' %O %A %B %P"),
        "{driver}"
    );
    assert_eq!(
        git(repo, &["check-attr", "merge", "--", &path()]),
        format!("{}: merge: statebox", path())
    );
}

#[test]
fn install_outside_a_repository_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let err = fails(dir.path(), &["install"], 10);
    assert!(err.contains("not inside a git work tree"), "{err}");
}

#[test]
fn global_install_uses_user_config_and_attributes() {
    let home = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        Command::new(statebox_bin())
            .args(args)
            .current_dir(home.path())
            .env("HOME", home.path())
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("GIT_CONFIG_GLOBAL")
            .output()
            .unwrap()
    };
    assert_eq!(
        run(&["install", "--global", "--check"]).status.code(),
        Some(9)
    );
    let out = run(&["install", "--global"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        run(&["install", "--global", "--check"]).status.code(),
        Some(0)
    );
    let attributes = home.path().join(".config/git/attributes");
    assert!(
        std::fs::read_to_string(&attributes)
            .unwrap()
            .contains("_releases/**/statebox/*.yaml merge=statebox")
    );
    let config = std::fs::read_to_string(home.path().join(".gitconfig")).unwrap();
    assert!(config.contains("[merge \"statebox\"]"), "{config}");
    assert!(config.contains("attributesFile"), "{config}");
}

#[test]
fn the_dedicated_driver_program_merges_and_checks_its_arguments() {
    let dedicated = env!("CARGO_BIN_EXE_statebox-merge-driver");
    let out = Command::new(dedicated).arg("only-one").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("usage: statebox-merge-driver"));

    let dir = tempfile::tempdir().unwrap();
    let mut base = State::new(&release(), "2026-06-25T12:00:00Z");
    base.tasks = TASKS
        .iter()
        .map(|t| statebox::model::Task::new(t))
        .collect();
    let mut ours = base.clone();
    set(&mut ours, "take-ownership", Status::Pass);
    let mut theirs = base.clone();
    set(&mut theirs, "stage-testing", Status::Fail);
    for (name, state) in [("O", &base), ("A", &ours), ("B", &theirs)] {
        std::fs::write(dir.path().join(name), state.to_yaml()).unwrap();
    }
    let out = Command::new(dedicated)
        .args(["O", "A", "B", &path()])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let written = std::fs::read_to_string(dir.path().join("A")).unwrap();
    assert_eq!(written, merge_states(Some(&base), &ours, &theirs).to_yaml());
    let merged = decode(&path(), written.as_bytes()).unwrap();
    assert_eq!(merged.task("take-ownership").unwrap().status, Status::Pass);
    assert_eq!(merged.task("stage-testing").unwrap().status, Status::Fail);
}

#[test]
fn unknown_top_level_keys_either_side_added_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let mut base = State::new(&release(), "2026-06-25T12:00:00Z");
    base.tasks = vec![statebox::model::Task::new("take-ownership")];
    let base_text = base.to_yaml();
    let ours = format!("{base_text}team_notes: ours wrote this\n");
    let mut theirs = base.clone();
    set(&mut theirs, "take-ownership", Status::Pass);
    theirs.updated_at = "2026-06-26T00:00:00Z".into();
    let theirs_text = format!("{}qe_signoff: {{by: someone}}\n", theirs.to_yaml());
    for (a, b) in [(&ours, &theirs_text), (&theirs_text, &ours)] {
        let (out, merged) = drive(dir.path(), &base_text, a, b, &path());
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            merged.contains("\nteam_notes: ours wrote this\n"),
            "{merged}"
        );
        assert!(
            merged.contains("\nqe_signoff:\n  by: someone\n"),
            "{merged}"
        );
        let state = decode(&path(), merged.as_bytes()).unwrap();
        assert_eq!(state.task("take-ownership").unwrap().status, Status::Pass);
        assert_eq!(state.to_yaml(), merged, "canonical");
    }
    // One side removed a key the other left alone: it goes.
    let with_key = format!("{base_text}team_notes: old\n");
    let (out, merged) = drive(dir.path(), &with_key, &with_key, &theirs.to_yaml(), &path());
    assert_eq!(out.status.code(), Some(0));
    assert!(!merged.contains("team_notes"), "{merged}");
}

#[test]
fn a_side_holding_another_release_is_a_conflict() {
    let dir = tempfile::tempdir().unwrap();
    let good = State::new(&release(), "2026-06-25T13:00:00Z").to_yaml();
    let other = good.replace("release: 4.19.36", "release: 4.19.35");
    assert_ne!(other, good);
    for (ours, theirs, side) in [(&good, &other, "theirs"), (&other, &good, "ours")] {
        let (out, merged) = drive(dir.path(), &good, ours, theirs, &path());
        assert_eq!(out.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!("the {side} version holds release '4.19.35'")),
            "{stderr}"
        );
        // git's text merge: only one side differs from the base, so it wins.
        assert_eq!(merged, other);
    }
}
