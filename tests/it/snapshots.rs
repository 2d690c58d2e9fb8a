//! The human-readable output, as snapshots (insta): a change to what people
//! read is reviewed as a diff (`cargo insta review`), never slipped in.
//! The data is the bundled sample in `_releases/`, plus a git history for
//! `log` whose commit ids and times are redacted.

use crate::support::*;
use std::process::Command;

fn sample_dir() -> &'static str {
    env!("CARGO_MANIFEST_DIR")
}

fn human(args: &[&str]) -> String {
    let out = Command::new(statebox_bin())
        .args(args)
        .args(["--dir", sample_dir()])
        .env_remove("STATEBOX_CATALOG")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn status_table() {
    insta::assert_snapshot!(human(&["status"]));
}

#[test]
fn status_table_of_two_y_streams() {
    insta::assert_snapshot!(human(&[
        "status",
        "--y-stream",
        "4.19",
        "--y-stream",
        "4.21"
    ]));
}

#[test]
fn show_a_release() {
    insta::assert_snapshot!(human(&["show", "-r", "4.19.40"]));
}

#[test]
fn issue_list_all() {
    insta::assert_snapshot!(human(&["issue", "list", "-r", "4.19.40", "--all"]));
}

#[test]
fn task_get() {
    insta::assert_snapshot!(human(&[
        "task",
        "get",
        "-r",
        "4.19.40",
        "image-consistency-check"
    ]));
}

#[test]
fn log_of_a_release() {
    let repo = new_repo();
    let r = repo.path();
    for args in [
        &["init", "-r", "4.19.1", "--jira-ticket", "ART-1"][..],
        &[
            "task",
            "set",
            "-r",
            "4.19.1",
            "stage-testing",
            "--status",
            "In Progress",
        ],
        &[
            "task",
            "set",
            "-r",
            "4.19.1",
            "stage-testing",
            "--status",
            "Pass",
        ],
        &[
            "issue",
            "add",
            "-r",
            "4.19.1",
            "CDN push failing",
            "--blocker",
        ],
        &[
            "issue",
            "resolve",
            "-r",
            "4.19.1",
            "CDN push",
            "--resolution",
            "re-pushed",
        ],
    ] {
        ok(r, args);
    }
    let log = ok(r, &["log", "-r", "4.19.1"]);
    insta::with_settings!({filters => vec![
        (r"\b[0-9a-f]{7,40}\b", "[commit]"),
        (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", "[time]"),
    ]}, {
        insta::assert_snapshot!(log);
    });
}
