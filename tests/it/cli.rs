//! End-to-end: the statebox binary against real git repositories.

use crate::support::*;
use serde_json::Value as Json;
use std::io::Write;
use std::process::{Command, Stdio};

const REL: &str = "4.19.1";
const PATH: &str = "_releases/4.19/statebox/4.19.1.yaml";

fn json(out: &str) -> Json {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
}

#[test]
fn a_release_lifecycle_lands_on_the_record_branch() {
    let repo = new_repo();
    let r = repo.path();
    let head_before = git(r, &["rev-parse", "HEAD"]);

    ok(
        r,
        &[
            "init",
            "-r",
            REL,
            "--jira-ticket",
            "ART-1",
            "--advisory",
            "rpm=169043",
            "--release-date",
            "2026-Jul-01",
        ],
    );
    ok(
        r,
        &[
            "task",
            "set",
            "-r",
            REL,
            "Take Ownership",
            "--status",
            "In Progress",
        ],
    );
    let output = "2026-06-25T13:22:08Z: INFO: task [Take Ownership] status is changed to [In Progress]\n\
                  2026-06-25T13:22:12Z: INFO: QA Owner is updated to someone@example.com\n\
                  2026-06-25T13:22:17Z: INFO: task [Take Ownership] status is changed to [Pass]";
    let result_file = r.join("out.log");
    std::fs::write(&result_file, output).unwrap();
    ok(
        r,
        &[
            "task",
            "set",
            "-r",
            REL,
            "take-ownership",
            "--result-file",
            result_file.to_str().unwrap(),
        ],
    );
    ok(
        r,
        &[
            "issue",
            "add",
            "-r",
            REL,
            "CDN push failing",
            "--blocker",
            "--task",
            "push-to-cdn-staging",
        ],
    );
    ok(
        r,
        &[
            "meta",
            "set",
            "-r",
            REL,
            "advisory_ids.rhcos=169044",
            "qe_owner=release-qe",
        ],
    );

    let task = json(&ok(
        r,
        &["task", "get", "-r", REL, "take-ownership", "--json"],
    ));
    assert_eq!(
        task["status"], "Pass",
        "status decided from the last line of the result"
    );
    let started = task["started_at"].as_str().unwrap();
    assert_ne!(
        started, "2026-06-25T13:22:08Z",
        "a final status only fills a missing started_at"
    );
    assert!(
        started.starts_with("20") && started.ends_with('Z'),
        "{started}"
    );
    assert_eq!(task["completed_at"], "2026-06-25T13:22:17Z");
    assert!(
        task["result"]
            .as_str()
            .unwrap()
            .contains("updated to [EMAIL_REDACTED]"),
        "{task}"
    );

    let state = json(&ok(r, &["show", "-r", REL, "--json"]));
    assert_eq!(
        state["metadata"]["advisory_ids"],
        serde_json::json!({"rpm": 169043, "rhcos": 169044})
    );
    assert_eq!(state["metadata"]["jira_ticket"], "ART-1");
    assert_eq!(state["metadata"]["qe_owner"], "release-qe");
    assert_eq!(state["issues"][0]["blocker"], true);

    let status = json(&ok(r, &["status", "--json"]));
    assert_eq!(status[0]["release"], REL);
    assert_eq!(
        status[0]["health"], "Red",
        "an unresolved blocker makes the release red"
    );
    ok(
        r,
        &[
            "issue",
            "resolve",
            "-r",
            REL,
            "cdn push",
            "--resolution",
            "re-pushed",
        ],
    );
    let status = json(&ok(r, &["status", "--json"]));
    assert_eq!(status[0]["health"], "Green");
    let table = ok(r, &["status"]);
    assert!(
        table
            .lines()
            .nth(1)
            .is_some_and(|row| row.starts_with("4.19.1") && row.contains(" Green ")),
        "{table}"
    );

    let log = json(&ok(r, &["log", "-r", REL, "--json"]));
    let messages: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message"].as_str().unwrap())
        .collect();
    assert_eq!(
        messages,
        [
            "Resolve issue: CDN push failing",
            "Update metadata",
            "Add issue: CDN push failing",
            "Update task: take-ownership",
            "Update task: take-ownership",
            "Initialize StateBox for release 4.19.1",
        ]
    );

    // The file on the branch is what `show --yaml` prints and is canonical.
    let on_branch = show(r, &format!("record:{PATH}"));
    assert_eq!(ok(r, &["show", "-r", REL, "--yaml"]).trim_end(), on_branch);
    // Nothing touched the user's checkout.
    assert_eq!(git(r, &["rev-parse", "HEAD"]), head_before);
    assert_eq!(
        git(r, &["status", "--porcelain", "--untracked-files=no"]),
        ""
    );
    assert_eq!(git(r, &["rev-parse", "--abbrev-ref", "HEAD"]), "main");
}

#[test]
fn repeating_a_write_makes_no_commit() {
    let repo = new_repo();
    let r = repo.path();
    ok(
        r,
        &[
            "task",
            "set",
            "-r",
            REL,
            "drop-bugs",
            "--status",
            "Pass",
            "--result",
            "done",
        ],
    );
    let first = tip(r, "record");
    let out = ok(
        r,
        &[
            "task",
            "set",
            "-r",
            REL,
            "drop-bugs",
            "--status",
            "Pass",
            "--result",
            "done",
        ],
    );
    assert!(out.contains("nothing written"), "{out}");
    assert_eq!(tip(r, "record"), first);
}

#[test]
fn branch_and_repo_come_from_flags_or_environment() {
    let repo = new_repo();
    let r = repo.path();
    ok(
        r,
        &[
            "--branch",
            "qe-state",
            "task",
            "set",
            "-r",
            REL,
            "drop-bugs",
            "--status",
            "Fail",
        ],
    );
    assert!(tip(r, "qe-state").is_some());
    assert!(tip(r, "record").is_none());
    let out = std::process::Command::new(statebox_bin())
        .args(["task", "get", "-r", REL, "drop-bugs", "--json"])
        .env("STATEBOX_REPO", r)
        .env("STATEBOX_BRANCH", "qe-state")
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        json(&String::from_utf8(out.stdout).unwrap())["status"],
        "Fail"
    );
}

#[test]
fn a_team_catalog_replaces_the_default() {
    let repo = new_repo();
    let r = repo.path();
    let catalog = r.join("tasks.txt");
    std::fs::write(&catalog, "Run Smoke Tests\n").unwrap();
    let c = catalog.to_str().unwrap();
    ok(
        r,
        &[
            "--catalog",
            c,
            "task",
            "set",
            "-r",
            REL,
            "Run Smoke Tests",
            "--status",
            "Pass",
        ],
    );
    let err = fails(
        r,
        &[
            "--catalog",
            c,
            "task",
            "set",
            "-r",
            REL,
            "drop-bugs",
            "--status",
            "Pass",
        ],
        4,
    );
    assert!(
        err.contains("unknown task 'drop-bugs'") && err.contains("run-smoke-tests"),
        "{err}"
    );
}

#[test]
fn the_bundled_sample_shows_through_the_directory_store() {
    let sample = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = std::process::Command::new(statebox_bin())
        .args(["--dir", sample.to_str().unwrap(), "status", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows = json(&String::from_utf8(out.stdout).unwrap());
    let health: Vec<(&str, &str)> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["release"].as_str().unwrap(),
                r["health"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        health,
        [
            ("4.18.12", "Green"),
            ("4.19.40", "Red"),
            ("4.20.7", "Green"),
            ("4.21.0-rc.1", "Green")
        ]
    );
}

#[test]
fn directory_store_writes_files_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(statebox_bin())
            .args(["--dir", d])
            .args(args)
            .output()
            .unwrap()
    };
    assert!(
        run(&[
            "task",
            "set",
            "-r",
            REL,
            "stage-testing",
            "--status",
            "In Progress"
        ])
        .status
        .success()
    );
    let text = std::fs::read_to_string(dir.path().join(PATH)).unwrap();
    assert!(
        text.contains("- name: stage-testing\n  status: In Progress\n"),
        "{text}"
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("_releases/4.19/statebox"))
        .unwrap()
        .collect();
    assert_eq!(leftovers.len(), 1, "no lock or temp files left behind");
}

#[test]
fn validate_and_fmt_check_files() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.yaml");
    let sample = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("_releases/4.19/statebox/4.19.40.yaml");
    std::fs::copy(&sample, &good).unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        std::fs::read_to_string(&sample)
            .unwrap()
            .replace("status: Fail", "status: Done"),
    )
    .unwrap();
    let messy = dir.path().join("messy.yaml");
    std::fs::write(
        &messy,
        std::fs::read_to_string(&sample)
            .unwrap()
            .replace("release: 4.19.40", "release:    '4.19.40'"),
    )
    .unwrap();
    let r = dir.path();
    let (g, b, m) = (
        good.to_str().unwrap(),
        bad.to_str().unwrap(),
        messy.to_str().unwrap(),
    );

    ok(r, &["validate", g, m]);
    let out = statebox(r, &["validate", "--json", g, b]);
    assert_eq!(out.status.code(), Some(1));
    let report = json(&String::from_utf8(out.stdout).unwrap());
    assert_eq!(report[0]["valid"], true);
    assert_eq!(report[1]["valid"], false);
    assert!(
        report[1]["problems"][0]
            .as_str()
            .unwrap()
            .contains("/tasks/1/status"),
        "{report}"
    );

    assert_eq!(ok(r, &["fmt", "--check", g]), "");
    let out = statebox(r, &["fmt", "--check", g, m]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8(out.stdout).unwrap().trim(), m);
    ok(r, &["fmt", m]);
    assert_eq!(
        std::fs::read(&messy).unwrap(),
        std::fs::read(&good).unwrap()
    );
    ok(r, &["fmt", "--check", m]);
}

#[test]
fn completions_are_generated() {
    let dir = tempfile::tempdir().unwrap();
    let out = ok(dir.path(), &["completions", "bash"]);
    assert!(
        out.contains("statebox") && out.contains("task"),
        "{}",
        &out[..out.len().min(200)]
    );
}

#[test]
fn children_see_the_users_ssl_environment() {
    // statebox starts libgit2 with an empty CA bundle (it only loads one for
    // https remotes); commands it runs must not inherit that.
    let repo = new_repo();
    let r = repo.path();
    let script = "echo cert=${SSL_CERT_FILE-unset}";
    let out = std::process::Command::new(statebox_bin())
        .arg("--repo")
        .arg(r)
        .args([
            "run",
            "-r",
            REL,
            "--task",
            "drop-bugs",
            "--",
            "sh",
            "-c",
            script,
        ])
        .env_remove("SSL_CERT_FILE")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "cert=unset\n");
    let out = std::process::Command::new(statebox_bin())
        .arg("--repo")
        .arg(r)
        .args([
            "run",
            "-r",
            REL,
            "--task",
            "drop-bugs",
            "--",
            "sh",
            "-c",
            script,
        ])
        .env("SSL_CERT_FILE", "/etc/ssl/mine.pem")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "cert=/etc/ssl/mine.pem\n"
    );
}

#[test]
fn an_https_remote_that_is_down_keeps_the_local_commit() {
    let repo = new_repo();
    let r = repo.path();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    git(
        r,
        &[
            "remote",
            "add",
            "origin",
            &format!("https://127.0.0.1:{port}/releases.git"),
        ],
    );
    let err = fails(
        r,
        &[
            "--remote",
            "origin",
            "issue",
            "add",
            "-r",
            REL,
            "offline write",
        ],
        7,
    );
    assert!(
        err.contains("origin") && err.contains("statebox sync"),
        "{err}"
    );
    assert!(show(r, &format!("record:{PATH}")).contains("offline write"));
}

/// The commit trailer carries the operation for replay; it must carry the
/// masked, bounded result the state file holds, never the raw one.
#[test]
fn commit_messages_never_carry_an_unmasked_or_unbounded_result() {
    let repo = new_repo();
    let r = repo.path();
    let token = format!("ghp_{}", "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8");
    ok(
        r,
        &[
            "task",
            "set",
            "-r",
            REL,
            "drop-bugs",
            "--status",
            "Pass",
            "--result",
            &format!("pushed with {token} by qe@example.com"),
        ],
    );
    let big = r.join("big.log");
    let line = format!("2026-06-25T13:22:08Z: INFO: step uses {token}\n");
    std::fs::write(&big, line.repeat(40 * 1024 * 1024 / line.len())).unwrap();
    ok(
        r,
        &[
            "task",
            "set",
            "-r",
            REL,
            "stage-testing",
            "--status",
            "Fail",
            "--result-file",
            big.to_str().unwrap(),
        ],
    );
    let log = git(r, &["log", "record", "--format=%B"]);
    assert!(
        log.contains("Statebox-Op:"),
        "trailers are still written: {log:.400}"
    );
    assert!(!log.contains(&token), "a token reached a commit message");
    assert!(
        !log.contains("qe@example.com"),
        "an e-mail reached a commit message"
    );
    let commit = git(r, &["rev-parse", "record"]);
    let size: usize = git(r, &["cat-file", "-s", commit.trim()])
        .trim()
        .parse()
        .unwrap();
    assert!(
        size < 200 * 1024,
        "a 40 MB result made a {size}-byte commit"
    );
    let file = show(r, &format!("record:{PATH}"));
    assert!(!file.contains(&token));
}

/// Pre-releases (7 of the 150 files on the original's branch) are releases
/// like any other: filed under major.minor, listed in semver order, merged
/// by the driver.
#[test]
fn pre_releases_are_written_listed_in_semver_order_and_merged() {
    let repo = new_repo();
    let r = repo.path();
    for release in [
        "4.21.0",
        "4.21.0-rc.1",
        "4.21.0-ec.3",
        "5.0.0-ec.3",
        "4.21.0-rc.10",
    ] {
        ok(r, &["init", "-r", release]);
    }
    ok(
        r,
        &[
            "task",
            "set",
            "-r",
            "4.21.0-rc.1",
            "stage-testing",
            "--status",
            "Fail",
        ],
    );
    show(r, "record:_releases/4.21/statebox/4.21.0-rc.1.yaml");
    show(r, "record:_releases/5.0/statebox/5.0.0-ec.3.yaml");
    let rows = json(&ok(r, &["status", "--json"]));
    let listed: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["release"].as_str().unwrap())
        .collect();
    assert_eq!(
        listed,
        [
            "4.21.0-ec.3",
            "4.21.0-rc.1",
            "4.21.0-rc.10",
            "4.21.0",
            "5.0.0-ec.3"
        ]
    );
    let shown = json(&ok(r, &["show", "-r", "4.21.0-rc.1", "--json"]));
    assert_eq!(shown["tasks"][0]["status"], "Fail");

    // The merge driver treats the pre-release file as a state file: each
    // side's task survives, where a text merge would conflict.
    let base = show(r, "record:_releases/4.21/statebox/4.21.0-ec.3.yaml");
    ok(
        r,
        &[
            "task",
            "set",
            "-r",
            "4.21.0-ec.3",
            "drop-bugs",
            "--status",
            "Pass",
        ],
    );
    let ours = show(r, "record:_releases/4.21/statebox/4.21.0-ec.3.yaml");
    git(r, &["update-ref", "refs/heads/record", "record~1"]);
    ok(
        r,
        &[
            "task",
            "set",
            "-r",
            "4.21.0-ec.3",
            "stage-testing",
            "--status",
            "Pass",
        ],
    );
    let theirs = show(r, "record:_releases/4.21/statebox/4.21.0-ec.3.yaml");
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in [("O", &base), ("A", &ours), ("B", &theirs)] {
        std::fs::write(dir.path().join(name), format!("{text}\n")).unwrap();
    }
    let out = std::process::Command::new(statebox_bin())
        .args([
            "merge-driver",
            "O",
            "A",
            "B",
            "_releases/4.21/statebox/4.21.0-ec.3.yaml",
        ])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let merged = std::fs::read_to_string(dir.path().join("A")).unwrap();
    assert!(
        merged.contains("name: drop-bugs") && merged.contains("name: stage-testing"),
        "{merged}"
    );
}

#[test]
fn a_release_that_could_leave_releases_is_refused_and_nothing_is_written() {
    let repo = new_repo();
    let r = repo.path();
    for bad in [
        "4.21.0-rc/../../x",
        "4.21.0-../../x",
        "4.21.0+a/b",
        "4.21",
        "4.21.0-rc_1",
    ] {
        let err = fails(r, &["init", "-r", bad], 4);
        assert!(err.contains(&format!("invalid release '{bad}'")), "{err}");
    }
    assert_eq!(tip(r, "record"), None);
}

/// Every exit code the README documents, each from a real cause. (7:
/// `an_https_remote_that_is_down_keeps_the_local_commit`; 128+N: `ingest_cli`
/// stops a running ingest by SIGTERM and sees 143.)
#[test]
fn every_documented_exit_code() {
    let repo = new_repo();
    let r = repo.path();
    let code = |args: &[&str]| statebox(r, args).status.code();

    ok(r, &["init", "-r", REL]);
    assert_eq!(code(&["status"]), Some(0));
    // 1: a check found a file to fix.
    let messy = r.join("messy.yaml");
    let canonical = show(r, &format!("record:{PATH}"));
    std::fs::write(&messy, canonical.replace("tasks: []", "tasks:   []")).unwrap();
    assert_eq!(code(&["fmt", "--check", messy.to_str().unwrap()]), Some(1));
    // 2: usage.
    assert_eq!(code(&["show", "-r", REL, "--no-such-flag"]), Some(2));
    // 3: not there: a release, a task, an issue to resolve, a metadata key.
    assert_eq!(code(&["show", "-r", "4.19.2"]), Some(3));
    assert_eq!(code(&["task", "get", "-r", REL, "stage-testing"]), Some(3));
    let err = fails(r, &["issue", "resolve", "-r", REL, "no such issue"], 3);
    assert!(
        err.contains("no unresolved issue matches 'no such issue'"),
        "{err}"
    );
    assert_eq!(code(&["meta", "get", "-r", REL, "qe_owner"]), Some(3));
    // 4: rejected input.
    assert_eq!(
        code(&["task", "set", "-r", REL, "drop-bugs", "--status", "Done"]),
        Some(4)
    );
    // 5: an unreadable state file.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(PATH);
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, "schema_version: '1.0'\nrelease: [\n").unwrap();
    let d = dir.path().to_str().unwrap();
    let unreadable = std::process::Command::new(statebox_bin())
        .args(["--dir", d, "show", "-r", REL])
        .output()
        .unwrap();
    assert_eq!(unreadable.status.code(), Some(5));
    // 6: the branch stays locked by another writer for the whole retry budget.
    let lock = r.join(".git/refs/heads/record.lock");
    std::fs::write(&lock, "").unwrap();
    let err = fails(
        r,
        &["task", "set", "-r", REL, "drop-bugs", "--status", "Pass"],
        6,
    );
    std::fs::remove_file(&lock).unwrap();
    assert!(err.contains("record.lock is held by"), "{err}");
    // 8: the config store cannot be read; 3: it has no such key.
    assert_eq!(
        code(&["config", "get", "--config-store", "/nonexistent/config.age"]),
        Some(8)
    );
    let store = dir.path().join("config.age");
    let s = store.to_str().unwrap();
    let mut encrypt = std::process::Command::new(statebox_bin())
        .args(["config", "encrypt", "--passphrase", "--config-store", s])
        .env("STATEBOX_AGE_PASSPHRASE", "correct horse")
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(
        &mut encrypt.stdin.take().unwrap(),
        b"releases: {4.19.1: {jira_ticket: ART-1}}\n",
    )
    .unwrap();
    assert!(encrypt.wait().unwrap().success());
    let get = |key: &str| {
        std::process::Command::new(statebox_bin())
            .args(["config", "get", "--config-store", s, key])
            .env("STATEBOX_AGE_PASSPHRASE", "correct horse")
            .output()
            .unwrap()
    };
    assert_eq!(get("releases.4.19.1.jira_ticket").status.code(), Some(0));
    let missing = get("releases.4.19.1.qe_owner");
    assert_eq!(missing.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("not found"));
    // 10: the environment: not a git repository.
    let plain = tempfile::tempdir().unwrap();
    assert_eq!(
        statebox(plain.path(), &["show", "-r", REL]).status.code(),
        Some(10)
    );
}

#[test]
fn a_mistyped_issue_task_is_refused_unless_allowed() {
    let repo = new_repo();
    let r = repo.path();
    ok(r, &["init", "-r", REL]);
    let add = |extra: &[&str]| {
        let mut args = vec![
            "issue",
            "add",
            "-r",
            REL,
            "CDN down",
            "--task",
            "push-to-cdn-stagng",
        ];
        args.extend_from_slice(extra);
        args.into_iter().map(str::to_owned).collect::<Vec<_>>()
    };
    let refused = add(&[]);
    let refused: Vec<&str> = refused.iter().map(String::as_str).collect();
    let before = tip(r, "record");
    let err = fails(r, &refused, 4);
    assert!(
        err.contains("unknown task 'push-to-cdn-stagng'")
            && err.contains("push-to-cdn-staging")
            && err.contains("--allow-unknown-task"),
        "{err}"
    );
    assert_eq!(tip(r, "record"), before);
    let allowed = add(&["--allow-unknown-task"]);
    let allowed: Vec<&str> = allowed.iter().map(String::as_str).collect();
    ok(r, &allowed);
    let issues = json(&ok(r, &["issue", "list", "-r", REL, "--json"]));
    assert_eq!(issues[0]["related_tasks"][0], "push-to-cdn-stagng");
}

/// A write to a release without a state file creates it, as the original
/// did (scripts rely on it), and says so on stderr; `init` does not warn.
#[test]
fn a_write_that_creates_the_state_file_says_so() {
    let repo = new_repo();
    let r = repo.path();
    let out = statebox(
        r,
        &["task", "set", "-r", REL, "drop-bugs", "--status", "Pass"],
    );
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("release 4.19.1 had no state file; this write created it"),
        "{stderr}"
    );
    assert!(show(r, &format!("record:{PATH}")).contains("name: drop-bugs"));
    let again = statebox(
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
    assert!(!String::from_utf8_lossy(&again.stderr).contains("had no state file"));
    let init = statebox(r, &["init", "-r", "4.19.2"]);
    assert!(init.status.success() && init.stderr.is_empty());
}

/// `ingest` and `run` write as the output arrives; the first of their
/// writes to a release without a state file says so, as `task set` does.
#[test]
fn ingest_and_run_say_when_they_created_the_state_file() {
    let repo = new_repo();
    let r = repo.path();
    let line = "2026-06-25T13:00:00Z: INFO: task [Stage Testing] status is changed to [Pass]\n";
    let ingest = Command::new(statebox_bin())
        .current_dir(r)
        .args(["ingest", "-r", "4.19.7"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    ingest
        .stdin
        .as_ref()
        .unwrap()
        .write_all(line.as_bytes())
        .unwrap();
    let out = ingest.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("release 4.19.7 had no state file; this write created it"),
        "{stderr}"
    );
    let again = statebox(
        r,
        &[
            "run",
            "-r",
            "4.19.7",
            "--",
            "sh",
            "-c",
            &format!("printf '{}'", line.trim_end()),
        ],
    );
    assert!(!String::from_utf8_lossy(&again.stderr).contains("had no state file"));
    let run = statebox(
        r,
        &[
            "run",
            "-r",
            "4.19.8",
            "--",
            "sh",
            "-c",
            &format!("echo '{}'", line.trim_end()),
        ],
    );
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(
        stderr.contains("release 4.19.8 had no state file; this write created it"),
        "{stderr}"
    );
}
