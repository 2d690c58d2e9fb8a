//! The Python original's unit tests (openshift/release-tests
//! `tests/test_statebox.py`) as statebox's specification: each test here is
//! named after the original it ports. Differences kept on purpose are listed
//! in the README ("Migrating from the Python StateBox").

use crate::support::*;
use serde_json::Value as Json;
use statebox::release::Release;
use statebox::text::mask;
use statebox::timestamp::{first_in, last_in};

const REL: &str = "4.20.5";
const PATH: &str = "_releases/4.20/statebox/4.20.5.yaml";

fn state(r: &std::path::Path) -> Json {
    serde_json::from_str(&ok(r, &["show", "-r", REL, "--json"])).unwrap()
}

const TAKE_OWNERSHIP_LOG: &str = "2025-11-27T21:54:22Z: INFO: task [Take Ownership] status is changed to [In Progress]\n\
2025-11-27T21:54:30Z: INFO: Updating owner for advisory 156635\n\
2025-11-27T21:55:10Z: INFO: QA Owner of advisory 156635 is updated to user@redhat.com\n\
2025-11-27T21:56:00Z: INFO: task [Take Ownership] status is changed to [Pass]";

// A. Init, load, save.

#[test]
fn test_init_and_default_state() {
    let repo = new_repo();
    let r = repo.path();
    ok(r, &["init", "-r", REL]);
    show(r, &format!("record:{PATH}"));
    let s = state(r);
    assert_eq!(s["schema_version"], "1.0");
    assert_eq!(s["release"], REL);
    assert!(s["created_at"].is_string() && s["updated_at"].is_string());
    assert_eq!(s["tasks"], Json::Array(vec![]));
    assert_eq!(s["issues"], Json::Array(vec![]));
    // The default metadata keys, without the stale test's qe_owner.
    let keys: Vec<&str> = s["metadata"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "jira_ticket",
            "advisory_ids",
            "release_date",
            "candidate_builds",
            "shipment_mr"
        ]
    );
}

#[test]
fn test_exists_file_not_found() {
    let repo = new_repo();
    // The branch exists (with another release): the file is what is missing.
    ok(repo.path(), &["init", "-r", "4.20.4"]);
    let err = fails(repo.path(), &["show", "-r", REL], 3);
    assert!(err.contains("release 4.20.5 has no state"), "{err}");
}

#[test]
fn test_load_file_not_exists() {
    let repo = new_repo();
    let r = repo.path();
    fails(r, &["show", "-r", REL], 3);
    fails(r, &["task", "get", "-r", REL, "stage-testing"], 3);
    assert_eq!(tip(r, "record"), None, "a read creates nothing");
}

#[test]
fn test_save_create_new_file() {
    let repo = new_repo();
    let r = repo.path();
    ok(r, &["init", "-r", REL]);
    ok(r, &["meta", "set", "-r", REL, "qe_owner=test@redhat.com"]);
    // Deliberate difference: statebox masks e-mails in metadata too.
    assert_eq!(state(r)["metadata"]["qe_owner"], "[EMAIL_REDACTED]");
}

#[test]
fn test_save_update_existing_file() {
    let repo = new_repo();
    let r = repo.path();
    ok(r, &["init", "-r", REL]);
    ok(r, &["meta", "set", "-r", REL, "qe_owner=test@redhat.com"]);
    ok(
        r,
        &[
            "meta",
            "set",
            "-r",
            REL,
            "qe_owner=updated@redhat.com",
            "jira_ticket=ART-999",
        ],
    );
    let s = state(r);
    assert_eq!(s["metadata"]["qe_owner"], "[EMAIL_REDACTED]");
    assert_eq!(s["metadata"]["jira_ticket"], "ART-999");
}

// B. Task updates.

#[test]
fn test_update_task_create_new() {
    let repo = new_repo();
    let r = repo.path();
    ok(r, &["init", "-r", REL]);
    let args = [
        "task",
        "set",
        "-r",
        REL,
        "image-consistency-check",
        "--status",
        "In Progress",
        "--result",
        "Task started",
    ];
    ok(r, &args);
    let s = state(r);
    let tasks = s["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0]["name"], "image-consistency-check");
    assert_eq!(tasks[0]["status"], "In Progress");
    assert_eq!(tasks[0]["result"], "Task started");
    assert!(tasks[0]["started_at"].is_string());
    assert!(tasks[0]["completed_at"].is_null());
}

#[test]
fn test_update_task_update_existing() {
    let repo = new_repo();
    let r = repo.path();
    ok(r, &["init", "-r", REL]);
    for (status, result) in [
        ("In Progress", "Started"),
        ("Pass", "Completed successfully"),
    ] {
        ok(
            r,
            &[
                "task",
                "set",
                "-r",
                REL,
                "image-consistency-check",
                "--status",
                status,
                "--result",
                result,
            ],
        );
    }
    let task = &state(r)["tasks"][0];
    assert_eq!(task["status"], "Pass");
    assert_eq!(task["result"], "Completed successfully");
    assert!(task["started_at"].is_string() && task["completed_at"].is_string());
}

#[test]
fn test_update_task_extracts_start_timestamp_from_result() {
    let repo = new_repo();
    let r = repo.path();
    ok(r, &["init", "-r", REL]);
    let args = [
        "task",
        "set",
        "-r",
        REL,
        "take-ownership",
        "--status",
        "Pass",
        "--result",
        TAKE_OWNERSHIP_LOG,
    ];
    ok(r, &args);
    let task = &state(r)["tasks"][0];
    assert_eq!(task["started_at"], "2025-11-27T21:54:22Z");
    assert_eq!(task["completed_at"], "2025-11-27T21:56:00Z");
    // The e-mail in the result is masked.
    assert!(!task["result"].as_str().unwrap().contains("user@redhat.com"));
}

#[test]
fn test_update_task_invalid_status() {
    let repo = new_repo();
    let r = repo.path();
    ok(r, &["init", "-r", REL]);
    let args = [
        "task",
        "set",
        "-r",
        REL,
        "stage-testing",
        "--status",
        "InvalidStatus",
    ];
    let err = fails(r, &args, 4);
    assert!(err.contains("invalid status 'InvalidStatus'"), "{err}");
}

#[test]
fn test_update_task_unsupported_task_name() {
    let repo = new_repo();
    let r = repo.path();
    ok(r, &["init", "-r", REL]);
    let args = [
        "task",
        "set",
        "-r",
        REL,
        "unsupported-task",
        "--status",
        "Pass",
    ];
    let err = fails(r, &args, 4);
    assert!(err.contains("unknown task 'unsupported-task'"), "{err}");
    assert_eq!(state(r)["tasks"], Json::Array(vec![]));
}

#[test]
fn test_get_task_status() {
    let repo = new_repo();
    let r = repo.path();
    ok(r, &["init", "-r", REL]);
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
    let task: Json = serde_json::from_str(&ok(
        r,
        &["task", "get", "-r", REL, "stage-testing", "--json"],
    ))
    .unwrap();
    assert_eq!(task["status"], "In Progress");
    // The original returned None; the CLI says the task is not there.
    fails(r, &["task", "get", "-r", REL, "non-existent"], 3);
}

#[test]
fn test_get_task() {
    let repo = new_repo();
    let r = repo.path();
    ok(r, &["init", "-r", REL]);
    let args = [
        "task",
        "set",
        "-r",
        REL,
        "image-signed-check",
        "--status",
        "Pass",
        "--result",
        "Success",
    ];
    ok(r, &args);
    let task: Json = serde_json::from_str(&ok(
        r,
        &["task", "get", "-r", REL, "image-signed-check", "--json"],
    ))
    .unwrap();
    assert_eq!(
        (&task["name"], &task["status"], &task["result"]),
        (
            &Json::from("image-signed-check"),
            &Json::from("Pass"),
            &Json::from("Success")
        )
    );
}

// D. Issues.

#[test]
fn test_add_issue_success() {
    let repo = new_repo();
    let r = repo.path();
    ok(r, &["init", "-r", REL]);
    let args = [
        "issue",
        "add",
        "-r",
        REL,
        "Critical bug found in deployment",
        "--blocker",
        "--task",
        "deploy-task",
        "--allow-unknown-task",
    ];
    ok(r, &args);
    let issues = state(r)["issues"].clone();
    assert_eq!(issues.as_array().unwrap().len(), 1);
    let i = &issues[0];
    assert_eq!(i["issue"], "Critical bug found in deployment");
    assert_eq!(i["blocker"], true);
    assert_eq!(i["related_tasks"], serde_json::json!(["deploy-task"]));
    assert_eq!(i["resolved"], false);
    assert!(i["reported_at"].is_string());
}

#[test]
fn test_add_issue_deduplication() {
    let repo = new_repo();
    let r = repo.path();
    ok(r, &["init", "-r", REL]);
    ok(
        r,
        &["issue", "add", "-r", REL, "Duplicate bug", "--blocker"],
    );
    let out = ok(
        r,
        &["issue", "add", "-r", REL, "duplicate bug", "--blocker"],
    );
    assert!(out.contains("already up to date"), "{out}");
    assert_eq!(state(r)["issues"].as_array().unwrap().len(), 1);
}

#[test]
fn test_add_issue_multiple_blockers_per_task_rejected() {
    let repo = new_repo();
    let r = repo.path();
    ok(r, &["init", "-r", REL]);
    let add = |text: &str| {
        statebox(
            r,
            &[
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
    };
    assert!(add("First blocker").status.success());
    let second = add("Second blocker");
    assert_eq!(second.status.code(), Some(4));
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(err.contains("already has an unresolved blocker"), "{err}");
}

#[test]
fn test_add_issue_general_blocker() {
    let repo = new_repo();
    let r = repo.path();
    ok(r, &["init", "-r", REL]);
    ok(
        r,
        &[
            "issue",
            "add",
            "-r",
            REL,
            "ART pipeline is down",
            "--blocker",
        ],
    );
    ok(
        r,
        &["issue", "add", "-r", REL, "Network outage", "--blocker"],
    );
    assert_eq!(state(r)["issues"].as_array().unwrap().len(), 2);
}

#[test]
fn test_resolve_issue_exact_match() {
    let repo = new_repo();
    let r = repo.path();
    ok(r, &["init", "-r", REL]);
    ok(r, &["issue", "add", "-r", REL, "Test bug", "--blocker"]);
    let args = [
        "issue",
        "resolve",
        "-r",
        REL,
        "Test bug",
        "--resolution",
        "Fixed in PR #123",
    ];
    ok(r, &args);
    let i = &state(r)["issues"][0];
    assert_eq!(i["resolved"], true);
    assert_eq!(i["resolution"], "Fixed in PR #123");
    assert!(i["resolved_at"].is_string());
}

#[test]
fn test_resolve_issue_partial_match() {
    let repo = new_repo();
    let r = repo.path();
    ok(r, &["init", "-r", REL]);
    let text = "Long description of a critical bug in deployment";
    ok(r, &["issue", "add", "-r", REL, text]);
    let out = ok(
        r,
        &[
            "issue",
            "resolve",
            "-r",
            REL,
            "critical bug",
            "--resolution",
            "Fixed",
        ],
    );
    assert!(out.contains(text), "the full text is reported: {out}");
    assert_eq!(state(r)["issues"][0]["resolved"], true);
}

#[test]
fn test_resolve_issue_not_found() {
    let repo = new_repo();
    let r = repo.path();
    ok(r, &["init", "-r", REL]);
    let err = fails(r, &["issue", "resolve", "-r", REL, "Nonexistent issue"], 3);
    assert!(
        err.contains("no unresolved issue matches 'Nonexistent issue'"),
        "{err}"
    );
}

#[test]
fn test_resolve_issue_multiple_partial_matches() {
    let repo = new_repo();
    let r = repo.path();
    ok(r, &["init", "-r", REL]);
    let first = "CVE-2024-12345 not covered in advisory";
    let second = "CVE-2024-67890 not covered in advisory";
    ok(
        r,
        &[
            "issue",
            "add",
            "-r",
            REL,
            first,
            "--task",
            "check-cve-tracker-bug",
        ],
    );
    ok(
        r,
        &["issue", "add", "-r", REL, second, "--task", "drop-bugs"],
    );
    let err = fails(r, &["issue", "resolve", "-r", REL, "CVE-2024"], 4);
    assert!(
        err.contains("matches 2 unresolved issues")
            && err.contains(first)
            && err.contains(second)
            && err.contains("give more of the text"),
        "{err}"
    );
    ok(r, &["issue", "resolve", "-r", REL, "CVE-2024-12345"]);
    let s = state(r);
    assert_eq!(
        (&s["issues"][0]["resolved"], &s["issues"][1]["resolved"]),
        (&Json::Bool(true), &Json::Bool(false))
    );
}

// E. Concurrency: the two instances are two processes writing at once.

#[test]
fn test_concurrent_writes_with_merge() {
    let repo = new_repo();
    let r = repo.path();
    ok(r, &["init", "-r", REL]);
    ok(
        r,
        &["meta", "set", "-r", REL, "qe_owner=initial@redhat.com"],
    );
    let spawn = |pair: &str| {
        std::process::Command::new(statebox_bin())
            .arg("--repo")
            .arg(r)
            .args(["meta", "set", "-r", REL, pair])
            .output()
            .unwrap()
    };
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| spawn("advisory_ids.rpm=111111"));
        let b = s.spawn(|| spawn("qe_owner=updated-owner"));
        (a.join().unwrap(), b.join().unwrap())
    });
    assert!(a.status.success() && b.status.success());
    let m = &state(r)["metadata"];
    assert_eq!(m["qe_owner"], "updated-owner");
    assert_eq!(m["advisory_ids"]["rpm"], 111111);
}

#[test]
fn test_concurrent_task_updates_with_merge() {
    let repo = new_repo();
    let r = repo.path();
    ok(r, &["init", "-r", REL]);
    let run = |task: &str, status: &str, result: &str| {
        std::process::Command::new(statebox_bin())
            .arg("--repo")
            .arg(r)
            .args([
                "task", "set", "-r", REL, task, "--status", status, "--result", result,
            ])
            .output()
            .unwrap()
    };
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| run("image-consistency-check", "In Progress", "Task 1 started"));
        let b = s.spawn(|| run("stage-testing", "Pass", "Task 2 completed"));
        (a.join().unwrap(), b.join().unwrap())
    });
    assert!(a.status.success() && b.status.success());
    let s = state(r);
    let mut tasks: Vec<(String, String, String)> = s["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let text = |k: &str| t[k].as_str().unwrap().to_owned();
            (text("name"), text("status"), text("result"))
        })
        .collect();
    tasks.sort();
    assert_eq!(
        tasks,
        [
            (
                "image-consistency-check".into(),
                "In Progress".into(),
                "Task 1 started".into()
            ),
            (
                "stage-testing".into(),
                "Pass".into(),
                "Task 2 completed".into()
            ),
        ]
    );
}

#[test]
fn test_concurrent_issue_updates_with_merge() {
    let repo = new_repo();
    let r = repo.path();
    ok(r, &["init", "-r", REL]);
    let add = |text: &str| {
        std::process::Command::new(statebox_bin())
            .arg("--repo")
            .arg(r)
            .args(["issue", "add", "-r", REL, text])
            .output()
            .unwrap()
    };
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| add("Issue from instance 1"));
        let b = s.spawn(|| add("Issue from instance 2"));
        (a.join().unwrap(), b.join().unwrap())
    });
    assert!(a.status.success() && b.status.success());
    assert_eq!(state(r)["issues"].as_array().unwrap().len(), 2);
}

// F. Start timestamp extraction: the text as written.

#[test]
fn test_extract_iso8601_with_z() {
    assert_eq!(
        first_in("2025-11-27T21:54:22Z: Starting task"),
        Some("2025-11-27T21:54:22Z")
    );
}

#[test]
fn test_extract_iso8601_with_microseconds_z() {
    assert_eq!(
        first_in("INFO: 2025-11-27T21:54:22.123456Z - Task started"),
        Some("2025-11-27T21:54:22.123456Z")
    );
}

#[test]
fn test_extract_iso8601_with_timezone_offset() {
    assert_eq!(
        first_in("Started at 2025-11-27T21:54:22+00:00"),
        Some("2025-11-27T21:54:22+00:00")
    );
}

#[test]
fn test_extract_iso8601_with_microseconds_offset() {
    assert_eq!(
        first_in("Time: 2025-11-27T21:54:22.654321+00:00"),
        Some("2025-11-27T21:54:22.654321+00:00")
    );
}

#[test]
fn test_extract_first_timestamp_from_multiple() {
    let text =
        "2025-11-27T21:54:22Z: First\n2025-11-27T21:55:00Z: Second\n2025-11-27T21:56:00Z: Third";
    assert_eq!(first_in(text), Some("2025-11-27T21:54:22Z"));
}

#[test]
fn test_extract_from_real_take_ownership_output() {
    assert_eq!(first_in(TAKE_OWNERSHIP_LOG), Some("2025-11-27T21:54:22Z"));
}

#[test]
fn test_extract_with_negative_timezone() {
    assert_eq!(
        first_in("2025-11-27T21:54:22-05:00: Task started"),
        Some("2025-11-27T21:54:22-05:00")
    );
}

#[test]
fn test_extract_empty_string() {
    assert_eq!(first_in(""), None);
}

#[test]
fn test_extract_no_timestamp() {
    assert_eq!(first_in("This is just plain text without timestamps"), None);
}

#[test]
fn test_extract_partial_timestamp_not_matched() {
    assert_eq!(first_in("2025-11-27T21:54:22"), None);
    assert_eq!(first_in("2025-11-27 21:54:22Z"), None);
}

#[test]
fn test_extract_timestamp_mid_line() {
    assert_eq!(
        first_in("Some prefix text 2025-11-27T21:54:22Z and suffix"),
        Some("2025-11-27T21:54:22Z")
    );
}

#[test]
fn test_extract_various_microsecond_precision() {
    for ts in [
        "2025-11-27T21:54:22.1Z",
        "2025-11-27T21:54:22.123Z",
        "2025-11-27T21:54:22.123456Z",
    ] {
        assert_eq!(first_in(&format!("{ts}: Test")), Some(ts));
    }
}

// G. End timestamp extraction.

#[test]
fn test_extract_last_timestamp_from_multiple() {
    let text =
        "2025-11-27T21:54:22Z: First\n2025-11-27T21:55:00Z: Second\n2025-11-27T21:56:00Z: Third";
    assert_eq!(last_in(text), Some("2025-11-27T21:56:00Z"));
}

#[test]
fn test_extract_end_from_real_take_ownership_output() {
    assert_eq!(last_in(TAKE_OWNERSHIP_LOG), Some("2025-11-27T21:56:00Z"));
}

#[test]
fn test_extract_single_timestamp() {
    assert_eq!(
        last_in("2025-11-27T21:54:22Z: Only one"),
        Some("2025-11-27T21:54:22Z")
    );
}

#[test]
fn test_extract_end_empty_string() {
    assert_eq!(last_in(""), None);
}

#[test]
fn test_extract_end_no_timestamp() {
    assert_eq!(last_in("No timestamps here"), None);
}

// H. Masking.

#[test]
fn test_mask_single_email() {
    assert_eq!(
        mask("Owner updated to user@redhat.com"),
        "Owner updated to [EMAIL_REDACTED]"
    );
}

#[test]
fn test_mask_multiple_emails() {
    assert_eq!(
        mask("Contact admin@example.com or support@redhat.com for help"),
        "Contact [EMAIL_REDACTED] or [EMAIL_REDACTED] for help"
    );
}

#[test]
fn test_mask_email_with_plus_sign() {
    assert_eq!(
        mask("Send to user+tag@gmail.com"),
        "Send to [EMAIL_REDACTED]"
    );
}

#[test]
fn test_mask_email_with_subdomain() {
    assert_eq!(
        mask("Contact admin@mail.example.com"),
        "Contact [EMAIL_REDACTED]"
    );
}

#[test]
fn test_mask_email_in_multiline_text() {
    let text = "2025-11-27T21:54:22Z: INFO: Owner set to alice@redhat.com\n\
                2025-11-27T21:55:00Z: INFO: Notified john.doe@example.org";
    assert_eq!(
        mask(text),
        "2025-11-27T21:54:22Z: INFO: Owner set to [EMAIL_REDACTED]\n\
         2025-11-27T21:55:00Z: INFO: Notified [EMAIL_REDACTED]"
    );
}

#[test]
fn test_no_email_to_mask() {
    let text = "Task completed successfully with no issues";
    assert_eq!(mask(text), text);
}

#[test]
fn test_mask_empty_string() {
    assert_eq!(mask(""), "");
}

#[test]
fn test_mask_real_command_output() {
    let masked = mask(TAKE_OWNERSHIP_LOG);
    assert!(!masked.contains("@redhat.com") && !masked.contains("user@"));
    assert!(masked.contains("[EMAIL_REDACTED]"));
    assert!(masked.contains("INFO: QA Owner of advisory 156635 is updated to"));
}

#[test]
fn test_mask_email_not_partial_match() {
    assert_eq!(mask("Price is $10 @ store"), "Price is $10 @ store");
}

#[test]
fn test_mask_preserves_formatting() {
    assert_eq!(
        mask("User: alice@example.com\nDate: 2025-01-15\nStatus: Success"),
        "User: [EMAIL_REDACTED]\nDate: 2025-01-15\nStatus: Success"
    );
}

/// The original's `[SECURITY] Mask email addresses` commits, done by
/// re-setting each task's result: the e-mails go, the rest stays.
#[test]
fn test_retroactive_masking_integration() {
    let results = [
        ("take-ownership", "Owner is updated to old@redhat.com"),
        ("update-bug-list", "Notified qa-team@redhat.com"),
        ("image-consistency-check", "All images consistent"),
    ];
    let masked: Vec<String> = results.iter().map(|(_, r)| mask(r).into_owned()).collect();
    assert_eq!(
        masked,
        [
            "Owner is updated to [EMAIL_REDACTED]",
            "Notified [EMAIL_REDACTED]",
            "All images consistent"
        ]
    );
}

// What the original validates releases with: Python's semver (the oracle,
// when installed) and statebox agree on every version below.
#[test]
fn release_versions_are_what_semver_version_parse_accepts() {
    let versions = [
        "4.19.36",
        "4.21.0-rc.1",
        "4.22.0-rc.5",
        "5.0.0-ec.3",
        "4.19.1+build.5",
        "4.19.1-0a",
        "4.19",
        "4.19.01",
        "4.19.1-01",
        "4.19.1-",
        "4.19.1-rc..1",
        "4.19.1-rc_1",
        " 4.19.1",
        "4.19.1\n",
        "v4.19.1",
        "4.19.1+",
        "4.19.1-rc/x",
        "１.2.3",
        "0.0.0",
        "4.19.1-x-y.7+z",
    ];
    let script = "import sys, json\nfrom semver.version import Version\nout = []\nfor v in json.load(sys.stdin):\n    try:\n        Version.parse(v); out.append(True)\n    except ValueError:\n        out.append(False)\nprint(json.dumps(out))";
    let child = std::process::Command::new("python3")
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let input = serde_json::to_vec(&versions).unwrap();
    let mut child = child;
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), &input).unwrap();
    let out = child.wait_with_output().unwrap();
    if !out.status.success() {
        eprintln!(
            "skipping: Python's semver is missing (pip install semver): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        return;
    }
    let python: Vec<bool> = serde_json::from_slice(&out.stdout).unwrap();
    for (v, accepted) in versions.iter().zip(python) {
        assert_eq!(v.parse::<Release>().is_ok(), accepted, "{v:?}");
    }
}

// Ported once `meta set`'s typing rule and `issue list`'s filters landed.

fn issues(r: &std::path::Path, filters: &[&str]) -> Vec<Json> {
    let args = [&["issue", "list", "-r", REL, "--json"][..], filters].concat();
    serde_json::from_str::<Json>(&ok(r, &args))
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn add_issue(r: &std::path::Path, text: &str, blocker: bool, tasks: &[&str]) {
    let mut args = vec!["issue", "add", "-r", REL, text, "--allow-unknown-task"];
    if blocker {
        args.push("--blocker");
    }
    for task in tasks {
        args.extend(["--task", task]);
    }
    ok(r, &args);
}

#[test]
fn test_update_metadata() {
    let repo = new_repo();
    let r = repo.path();
    ok(r, &["init", "-r", REL]);
    ok(
        r,
        &[
            "meta",
            "set",
            "-r",
            REL,
            "qe_owner=owner@redhat.com",
            "jira_ticket=ART-123",
            "release_date=2025-02-01",
        ],
    );
    let metadata = &state(r)["metadata"];
    // Deliberate difference: e-mails are masked in metadata too.
    assert_eq!(metadata["qe_owner"], "[EMAIL_REDACTED]");
    assert_eq!(metadata["jira_ticket"], "ART-123");
    assert_eq!(metadata["release_date"], "2025-02-01");
    // A string as the original wrote it: PyYAML reads it back as text,
    // not as a date its to_json() cannot serialize.
    assert!(show(r, &format!("record:{PATH}")).contains("release_date: '2025-02-01'"));
}

#[test]
fn test_update_metadata_nested_dict_merge() {
    let repo = new_repo();
    let r = repo.path();
    ok(r, &["init", "-r", REL]);
    ok(
        r,
        &[
            "meta",
            "set",
            "-r",
            REL,
            "advisory_ids.rpm=111",
            "candidate_builds.x86_64=build-1",
        ],
    );
    ok(
        r,
        &[
            "meta",
            "set",
            "-r",
            REL,
            "advisory_ids.rhcos=222",
            "advisory_ids.microshift=333",
            "candidate_builds.aarch64=build-2",
        ],
    );
    let metadata = &state(r)["metadata"];
    assert_eq!(metadata["advisory_ids"]["rpm"], 111);
    assert_eq!(metadata["advisory_ids"]["rhcos"], 222);
    assert_eq!(metadata["advisory_ids"]["microshift"], 333);
    assert_eq!(metadata["candidate_builds"]["x86_64"], "build-1");
    assert_eq!(metadata["candidate_builds"]["aarch64"], "build-2");
}

#[test]
fn test_get_metadata() {
    let repo = new_repo();
    let r = repo.path();
    ok(r, &["init", "-r", REL]);
    ok(
        r,
        &[
            "meta",
            "set",
            "-r",
            REL,
            "qe_owner=owner@redhat.com",
            "jira_ticket=ART-123",
        ],
    );
    let all: Json = serde_json::from_str(&ok(r, &["meta", "get", "-r", REL, "--json"])).unwrap();
    assert_eq!(all["qe_owner"], "[EMAIL_REDACTED]");
    assert_eq!(all["jira_ticket"], "ART-123");
    let one: Json =
        serde_json::from_str(&ok(r, &["meta", "get", "-r", REL, "jira_ticket", "--json"])).unwrap();
    assert_eq!(one, "ART-123");
}

#[test]
fn test_get_task_blocker() {
    let repo = new_repo();
    let r = repo.path();
    ok(r, &["init", "-r", REL]);
    add_issue(r, "Blocker for task1", true, &["task1"]);
    let blocker = issues(r, &["--blockers", "--task", "task1"]);
    assert_eq!(blocker.len(), 1);
    assert_eq!(blocker[0]["issue"], "Blocker for task1");
    assert!(issues(r, &["--blockers", "--task", "task2"]).is_empty());
}

#[test]
fn test_get_issues_filters() {
    let repo = new_repo();
    let r = repo.path();
    ok(r, &["init", "-r", REL]);
    add_issue(r, "Unresolved blocker 1", true, &["task1"]);
    add_issue(r, "Unresolved non-blocker", false, &["task2"]);
    add_issue(r, "Resolved blocker", true, &["task3"]);
    ok(
        r,
        &[
            "issue",
            "resolve",
            "-r",
            REL,
            "Resolved blocker",
            "--resolution",
            "Fixed",
        ],
    );
    // The original's default lists resolved issues too; statebox's lists
    // open ones unless --all.
    assert_eq!(issues(r, &[]).len(), 2, "unresolved_only");
    assert_eq!(
        issues(r, &["--all", "--blockers"]).len(),
        2,
        "blockers_only"
    );
    assert_eq!(
        issues(r, &["--all", "--task", "task1"]).len(),
        1,
        "task_name"
    );
    assert_eq!(issues(r, &["--blockers"]).len(), 1, "unresolved blockers");
}

#[test]
fn test_get_general_blockers() {
    let repo = new_repo();
    let r = repo.path();
    ok(r, &["init", "-r", REL]);
    add_issue(r, "General blocker 1", true, &[]);
    add_issue(r, "Task blocker", true, &["task1"]);
    add_issue(r, "General blocker 2", true, &[]);
    let general = issues(r, &["--general", "--blockers"]);
    assert_eq!(general.len(), 2);
    assert!(
        general
            .iter()
            .all(|b| b["related_tasks"].as_array().unwrap().is_empty())
    );
}
