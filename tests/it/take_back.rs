//! The commands that take back or change what a release holds: `task
//! reset`, `issue reopen|edit|remove`, `meta unset`, and `issue add
//! --blocker` on an open non-blocking twin. Each bad input names the thing
//! and leaves the branch as it was.

use crate::support::*;
use serde_json::Value as Json;

const REL: &str = "4.19.1";

fn state(r: &std::path::Path) -> Json {
    serde_json::from_str(&ok(r, &["show", "-r", REL, "--json"])).unwrap()
}

/// Runs a command that must fail with `code`, naming `names`, and checks
/// the record branch did not move.
fn refused(r: &std::path::Path, args: &[&str], code: i32, names: &str) {
    let before = tip(r, "record");
    let err = fails(r, args, code);
    assert!(err.contains(names), "{args:?}: {err}");
    assert_eq!(tip(r, "record"), before, "{args:?} changed the branch");
}

#[test]
fn reset_reopen_edit_remove_unset_round_trip_through_the_cli() {
    let repo = new_repo();
    let r = repo.path();
    ok(r, &["init", "-r", REL, "--jira-ticket", "ART-1"]);
    ok(
        r,
        &[
            "meta",
            "set",
            "-r",
            REL,
            "qe_owner=qe",
            "advisory_ids.rpm=1",
        ],
    );
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
        ],
    );
    ok(
        r,
        &[
            "issue",
            "add",
            "-r",
            REL,
            "CDN push failng",
            "--task",
            "stage-testing",
        ],
    );

    let out = ok(
        r,
        &["issue", "add", "-r", REL, "cdn push failng", "--blocker"],
    );
    assert!(out.contains("(now a blocker)"), "{out}");
    assert_eq!(state(r)["issues"][0]["blocker"], true);

    ok(
        r,
        &[
            "issue",
            "edit",
            "-r",
            REL,
            "cdn",
            "--text",
            "CDN push failing",
            "--no-blocker",
        ],
    );
    let s = state(r);
    assert_eq!(s["issues"][0]["issue"], "CDN push failing");
    assert_eq!(s["issues"][0]["blocker"], false);
    assert_eq!(
        s["issues"][0]["related_tasks"],
        serde_json::json!(["stage-testing"])
    );

    ok(r, &["issue", "resolve", "-r", REL, "CDN"]);
    ok(r, &["issue", "reopen", "-r", REL, "CDN"]);
    let s = state(r);
    assert_eq!(s["issues"][0]["resolved"], false);
    assert!(s["issues"][0].get("resolved_at").is_none_or(Json::is_null));

    ok(r, &["task", "reset", "-r", REL, "Stage Testing"]);
    assert_eq!(state(r)["tasks"], serde_json::json!([]));
    let out = ok(r, &["task", "reset", "-r", REL, "stage-testing"]);
    assert!(out.contains("already up to date"), "{out}");

    ok(
        r,
        &[
            "meta",
            "unset",
            "-r",
            REL,
            "qe_owner",
            "jira_ticket",
            "advisory_ids.rpm",
        ],
    );
    let m = &state(r)["metadata"];
    assert!(m.get("qe_owner").is_none());
    assert_eq!(m["jira_ticket"], Json::Null);
    assert_eq!(m["advisory_ids"], serde_json::json!({}));

    ok(r, &["issue", "remove", "-r", REL, "cdn push"]);
    assert_eq!(state(r)["issues"], serde_json::json!([]));
}

#[test]
fn bad_inputs_name_the_thing_and_change_nothing() {
    let repo = new_repo();
    let r = repo.path();
    refused(
        r,
        &["task", "reset", "-r", REL, "stage-testing"],
        3,
        "release 4.19.1 has no state file",
    );
    refused(
        r,
        &["meta", "unset", "-r", REL, "jira_ticket"],
        3,
        "has no state file",
    );
    ok(r, &["init", "-r", REL]);
    ok(
        r,
        &[
            "issue",
            "add",
            "-r",
            REL,
            "flaky",
            "--blocker",
            "--task",
            "stage-testing",
        ],
    );
    ok(
        r,
        &[
            "issue",
            "add",
            "-r",
            REL,
            "other",
            "--task",
            "stage-testing",
        ],
    );
    refused(
        r,
        &["task", "reset", "-r", REL, "stage-testin"],
        4,
        "unknown task 'stage-testin'",
    );
    refused(
        r,
        &["issue", "reopen", "-r", REL, "flaky"],
        3,
        "no resolved issue matches 'flaky' (an open one does)",
    );
    refused(
        r,
        &["issue", "remove", "-r", REL, "nosuch"],
        3,
        "no issue matches 'nosuch'",
    );
    refused(
        r,
        &["issue", "edit", "-r", REL, "flaky"],
        4,
        "nothing to change",
    );
    refused(
        r,
        &["issue", "edit", "-r", REL, "other", "--text", "FLAKY"],
        4,
        "an open issue already has this text: 'flaky'",
    );
    refused(
        r,
        &["issue", "edit", "-r", REL, "other", "--blocker"],
        4,
        "already has an unresolved blocker: 'flaky'",
    );
    refused(
        r,
        &["issue", "edit", "-r", REL, "other", "--task", "nosuch-task"],
        4,
        "unknown task 'nosuch-task'",
    );
    refused(
        r,
        &["meta", "unset", "-r", REL, "qe_ownr"],
        3,
        "no metadata key 'qe_ownr'",
    );
    refused(
        r,
        &["issue", "add", "-r", REL, "other", "--blocker"],
        4,
        "already has an unresolved blocker: 'flaky'",
    );
}

#[test]
fn issue_list_filters_as_the_originals_get_issues() {
    let repo = new_repo();
    let r = repo.path();
    ok(
        r,
        &["issue", "add", "-r", REL, "general blocker", "--blocker"],
    );
    ok(
        r,
        &[
            "issue",
            "add",
            "-r",
            REL,
            "stage blocker",
            "--blocker",
            "--task",
            "stage-testing",
        ],
    );
    ok(
        r,
        &[
            "issue",
            "add",
            "-r",
            REL,
            "stage note",
            "--task",
            "Stage Testing",
        ],
    );
    let list = |extra: &[&str]| -> Vec<String> {
        let mut args = vec!["issue", "list", "-r", REL, "--json"];
        args.extend(extra);
        let v: Json = serde_json::from_str(&ok(r, &args)).unwrap();
        v.as_array()
            .unwrap()
            .iter()
            .map(|i| i["issue"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(list(&["--blockers"]), ["general blocker", "stage blocker"]);
    assert_eq!(
        list(&["--task", "Stage Testing"]),
        ["stage blocker", "stage note"]
    );
    assert_eq!(list(&["--general", "--blockers"]), ["general blocker"]);
    assert_eq!(
        list(&["--task", "stage-testing", "--blockers"]),
        ["stage blocker"]
    );
}
