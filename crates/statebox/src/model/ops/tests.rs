use super::*;
use crate::model::Health;

fn release() -> Release {
    "4.19.1".parse().unwrap()
}

fn at(text: &str) -> DateTime<Utc> {
    timestamp::parse(text).unwrap()
}

/// As the write path applies operations: in their stored form.
fn apply(state: Option<State>, op: Op, now: &str) -> Result<Applied, OpError> {
    op.stored()
        .apply(state, &release(), &Catalog::default(), at(now))
}

fn set(task: &str, status: Status, result: Option<&str>) -> Op {
    Op::SetTask {
        task: task.into(),
        status,
        result: result.map(str::to_owned),
    }
}

fn issue(text: &str, blocker: bool, tasks: &[&str]) -> Op {
    Op::AddIssue {
        text: text.into(),
        blocker,
        related_tasks: tasks.iter().map(|s| s.to_string()).collect(),
    }
}

const T0: &str = "2026-06-25T13:00:00Z";
const T1: &str = "2026-06-25T14:00:00Z";

#[test]
fn first_write_creates_the_state() {
    let a = apply(None, set("Take Ownership", Status::InProgress, None), T0).unwrap();
    assert!(a.changed);
    assert_eq!(a.message, "Update task: take-ownership");
    assert_eq!(a.state.release, "4.19.1");
    assert_eq!(a.state.created_at, T0);
    let t = a.state.task("take-ownership").unwrap();
    assert_eq!(t.started_at.as_deref(), Some(T0));
    assert_eq!(t.completed_at, None);
}

#[test]
fn timestamps_come_from_the_result_text() {
    let out = "2026-06-25T13:22:08Z: INFO: task [Take Ownership] status is changed to [In Progress]\n\
               2026-06-25T13:22:17Z: INFO: task [Take Ownership] status is changed to [Pass]";
    let s = apply(None, set("take-ownership", Status::Pass, Some(out)), T1)
        .unwrap()
        .state;
    let t = s.task("take-ownership").unwrap();
    assert_eq!(t.started_at.as_deref(), Some("2026-06-25T13:22:08Z"));
    assert_eq!(t.completed_at.as_deref(), Some("2026-06-25T13:22:17Z"));
    assert_eq!(t.result.as_deref(), Some(out));
    assert_eq!(s.updated_at, T1);
}

#[test]
fn timestamps_from_output_are_kept_as_written_and_need_a_zone() {
    let out = "2025-11-27T21:54:22.123456-05:00: INFO: start\n\
               2025-11-27T21:56:00.5+00:00: INFO: done";
    let s = apply(None, set("take-ownership", Status::Pass, Some(out)), T1)
        .unwrap()
        .state;
    let t = s.task("take-ownership").unwrap();
    assert_eq!(
        t.started_at.as_deref(),
        Some("2025-11-27T21:54:22.123456-05:00")
    );
    assert_eq!(
        t.completed_at.as_deref(),
        Some("2025-11-27T21:56:00.5+00:00")
    );
    // A zone-less time could be any zone: the original ignores it, and so
    // the write's own time is used, in the original's form.
    let zoneless = "2025-11-27T21:54:22 start\n2025-11-27T21:56:00 end";
    let s = apply(None, set("drop-bugs", Status::Pass, Some(zoneless)), T1)
        .unwrap()
        .state;
    let t = s.task("drop-bugs").unwrap();
    assert_eq!(
        (t.started_at.as_deref(), t.completed_at.as_deref()),
        (Some(T1), Some(T1))
    );
    let s = apply(
        None,
        set("drop-bugs", Status::InProgress, Some(zoneless)),
        "2026-06-25T14:00:00.987+02:00",
    );
    let t = s.unwrap().state;
    assert_eq!(
        t.task("drop-bugs").unwrap().started_at.as_deref(),
        Some("2026-06-25T12:00:00Z")
    );
}

#[test]
fn going_in_progress_clears_completion_and_final_fills_start() {
    let s = apply(None, set("stage-testing", Status::Fail, None), T0)
        .unwrap()
        .state;
    let t = s.task("stage-testing").unwrap();
    assert_eq!(
        (t.started_at.as_deref(), t.completed_at.as_deref()),
        (Some(T0), Some(T0))
    );
    let s = apply(Some(s), set("stage-testing", Status::InProgress, None), T1)
        .unwrap()
        .state;
    let t = s.task("stage-testing").unwrap();
    assert_eq!(
        (t.started_at.as_deref(), t.completed_at.as_deref()),
        (Some(T1), None)
    );
    assert_eq!(s.health(), Health::Green);
}

#[test]
fn repeating_a_write_changes_nothing() {
    let s = apply(None, set("drop-bugs", Status::Pass, Some("done")), T0)
        .unwrap()
        .state;
    let again = apply(
        Some(s.clone()),
        set("drop-bugs", Status::Pass, Some("done")),
        T1,
    )
    .unwrap();
    assert!(!again.changed);
    assert_eq!(again.state, s);
}

#[test]
fn unknown_task_lists_the_catalog() {
    let err = apply(None, set("take-ownershp", Status::Pass, None), T0).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("unknown task 'take-ownershp'") && text.contains("take-ownership"),
        "{text}"
    );
}

#[test]
fn huge_results_keep_head_and_tail() {
    let big = format!("START\n{}\nEND", "x".repeat(crate::text::STORED_LIMIT * 3));
    let s = apply(None, set("drop-bugs", Status::Pass, Some(&big)), T0)
        .unwrap()
        .state;
    let r = s.task("drop-bugs").unwrap().result.clone().unwrap();
    let omitted = big.len() - "START\n".len() - "END".len();
    assert_eq!(
        r,
        format!("START\n[... statebox: {omitted} bytes omitted ...]\nEND")
    );
}

#[test]
fn every_stored_string_is_masked() {
    let mail = "jane.doe@example.com";
    let mut entries = Mapping::new();
    entries.insert(
        format!("owner {mail}"),
        Value::Str(format!("\x1b[1m{mail}\x1b[0m")),
    );
    let mut nested = Mapping::new();
    nested.insert(
        "x86_64",
        Value::Seq(vec![Value::Str(mail.into()), Value::Int(1)]),
    );
    entries.insert("candidate_builds", Value::Map(nested));
    let op = Op::Batch {
        ops: vec![
            Op::SetMetadata { entries },
            issue(&format!("ask {mail}"), true, &[mail]),
            Op::ResolveIssue {
                query: format!("ask {mail}"),
                resolution: Some(format!("done by {mail}")),
            },
            set("drop-bugs", Status::Pass, Some(mail)),
        ],
    };
    let a = apply(None, op.clone(), T0).unwrap();
    let yaml = a.state.to_yaml();
    assert!(!yaml.contains(mail), "{yaml}");
    assert!(!a.message.contains(mail), "{}", a.message);
    assert!(!serde_json::to_string(&op.stored()).unwrap().contains(mail));
    assert!(!yaml.contains('\x1b'));
    assert_eq!(yaml.matches("[EMAIL_REDACTED]").count(), 7, "{yaml}");
    assert!(
        a.state.issues[0].resolved,
        "the masked query finds the masked issue"
    );
}

#[test]
fn issues_dedupe_among_unresolved_only() {
    let s = apply(
        None,
        issue("CDN push failing", false, &["push-to-cdn-staging"]),
        T0,
    )
    .unwrap()
    .state;
    let dup = apply(
        Some(s.clone()),
        issue("  cdn PUSH failing ", false, &[]),
        T1,
    )
    .unwrap();
    assert!(!dup.changed);
    let s = apply(
        Some(s),
        Op::ResolveIssue {
            query: "CDN push failing".into(),
            resolution: Some("fixed".into()),
        },
        T1,
    )
    .unwrap()
    .state;
    assert!(s.issues[0].resolved);
    assert_eq!(s.issues[0].resolved_at.as_deref(), Some(T1));
    let s = apply(
        Some(s),
        issue("CDN push failing", true, &["Push to CDN Staging"]),
        T1,
    )
    .unwrap()
    .state;
    assert_eq!(s.issues.len(), 2, "re-added after being resolved");
    assert_eq!(s.issues[1].related_tasks, ["push-to-cdn-staging"]);
    assert_eq!(s.health(), Health::Red);
}

#[test]
fn one_unresolved_blocker_per_task() {
    let s = apply(None, issue("first", true, &["stage-testing"]), T0)
        .unwrap()
        .state;
    let err = apply(
        Some(s.clone()),
        issue("second", true, &["stage-testing"]),
        T1,
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("already has an unresolved blocker: 'first'"),
        "{err}"
    );
    assert!(
        apply(
            Some(s.clone()),
            issue("second", false, &["stage-testing"]),
            T1
        )
        .is_ok()
    );
    assert!(apply(Some(s), issue("second", true, &["drop-bugs"]), T1).is_ok());
}

#[test]
fn issue_text_limits() {
    assert_eq!(
        apply(None, issue("   ", false, &[]), T0).unwrap_err(),
        OpError::EmptyIssue
    );
    let long = "é".repeat(ISSUE_TEXT_MAX + 1);
    assert_eq!(
        apply(None, issue(&long, false, &[]), T0).unwrap_err(),
        OpError::IssueTooLong {
            chars: ISSUE_TEXT_MAX + 1
        }
    );
    assert!(apply(None, issue(&"é".repeat(ISSUE_TEXT_MAX), false, &[]), T0).is_ok());
}

#[test]
fn resolve_prefers_exact_then_unique_substring() {
    let mut s = None;
    for text in ["disk full", "disk full on node 3", "network flaky"] {
        s = Some(apply(s, issue(text, false, &[]), T0).unwrap().state);
    }
    let resolve = |s: &State, q: &str| {
        apply(
            Some(s.clone()),
            Op::ResolveIssue {
                query: q.into(),
                resolution: None,
            },
            T1,
        )
    };
    let s = s.unwrap();
    let exact = resolve(&s, "disk full").unwrap().state;
    assert!(exact.issues[0].resolved && !exact.issues[1].resolved);
    match resolve(&s, "DISK").unwrap_err() {
        OpError::AmbiguousIssue { candidates, .. } => {
            assert_eq!(candidates, ["disk full", "disk full on node 3"])
        }
        other => panic!("{other}"),
    }
    assert!(resolve(&s, "flaky").unwrap().state.issues[2].resolved);
    let err = resolve(&exact, "disk full\u{0}x").unwrap_err();
    assert!(matches!(
        err,
        OpError::NoSuchIssue {
            resolved_match: false,
            ..
        }
    ));
    let err = resolve(&resolve(&s, "flaky").unwrap().state, "flaky").unwrap_err();
    assert_eq!(
        err.to_string(),
        "no unresolved issue matches 'flaky' (a resolved one does)"
    );
}

#[test]
fn metadata_maps_merge_key_by_key() {
    let mut first = Mapping::new();
    let mut ids = Mapping::new();
    ids.insert("rpm", Value::Int(1));
    first.insert("advisory_ids", Value::Map(ids));
    first.insert("jira_ticket", "ART-1".into());
    let s = apply(None, Op::Init { metadata: first }, T0).unwrap().state;
    let keys: Vec<_> = s
        .metadata
        .iter()
        .map(|(k, _)| k.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(keys, crate::model::METADATA_KEYS);

    let mut second = Mapping::new();
    let mut ids = Mapping::new();
    ids.insert("rhcos", Value::Int(2));
    second.insert("advisory_ids", Value::Map(ids));
    second.insert("qe_owner", "someone".into());
    let s = apply(Some(s), Op::SetMetadata { entries: second }, T1)
        .unwrap()
        .state;
    let ids = s.metadata.get("advisory_ids").unwrap().as_map().unwrap();
    assert_eq!(
        (ids.get("rpm"), ids.get("rhcos")),
        (Some(&Value::Int(1)), Some(&Value::Int(2)))
    );
    assert_eq!(s.metadata.get("jira_ticket"), Some(&Value::from("ART-1")));
    assert_eq!(s.metadata.get("qe_owner"), Some(&Value::from("someone")));
    assert_eq!(
        apply(
            Some(s),
            Op::SetMetadata {
                entries: Mapping::new()
            },
            T1
        )
        .unwrap_err(),
        OpError::EmptyMetadata
    );
}

#[test]
fn init_on_an_existing_state_changes_nothing() {
    let s = apply(
        None,
        Op::Init {
            metadata: Mapping::new(),
        },
        T0,
    )
    .unwrap()
    .state;
    let again = apply(
        Some(s),
        Op::Init {
            metadata: Mapping::new(),
        },
        T1,
    )
    .unwrap();
    assert!(!again.changed);
    assert_eq!(again.state.updated_at, T0);
}

#[test]
fn a_batch_is_one_change_with_every_message() {
    let batch = Op::Batch {
        ops: vec![
            set("take-ownership", Status::InProgress, None),
            set("take-ownership", Status::Pass, None),
            set("stage-testing", Status::InProgress, None),
        ],
    };
    let a = apply(None, batch, T0).unwrap();
    assert!(
        a.message
            .starts_with("Update task: take-ownership (+2 more)\n\n"),
        "{}",
        a.message
    );
    assert!(a.message.ends_with("Update task: stage-testing"));
    assert_eq!(a.state.task("take-ownership").unwrap().status, Status::Pass);
    assert_eq!(
        a.state.task("stage-testing").unwrap().status,
        Status::InProgress
    );
    let err = apply(
        None,
        Op::Batch {
            ops: vec![set("nope", Status::Pass, None)],
        },
        T0,
    )
    .unwrap_err();
    assert!(matches!(err, OpError::UnknownTask { .. }));
    assert_eq!(
        apply(None, Op::Batch { ops: vec![] }, T0).unwrap_err(),
        OpError::EmptyBatch
    );
}

fn states(ops: Vec<Op>) -> State {
    ops.into_iter()
        .fold(None, |s, op| Some(apply(s, op, T0).unwrap().state))
        .unwrap()
}

fn resolve(query: &str) -> Op {
    Op::ResolveIssue {
        query: query.into(),
        resolution: Some("fixed".into()),
    }
}

fn edit(query: &str) -> Op {
    edit_to(query, None, None, None)
}

fn edit_to(query: &str, text: Option<&str>, blocker: Option<bool>, tasks: Option<&[&str]>) -> Op {
    Op::EditIssue {
        query: query.into(),
        text: text.map(str::to_owned),
        blocker,
        related_tasks: tasks.map(|t| t.iter().map(|s| s.to_string()).collect()),
    }
}

#[test]
fn reset_removes_the_task_entry_and_nothing_else() {
    let s = states(vec![
        set("take-ownership", Status::Pass, Some("done")),
        set("stage-testing", Status::Fail, None),
        issue("stage flaky", true, &["stage-testing"]),
    ]);
    let reset =
        |s: &State, task: &str| apply(Some(s.clone()), Op::ResetTask { task: task.into() }, T1);
    let a = reset(&s, "Stage Testing").unwrap();
    assert_eq!(a.message, "Reset task: stage-testing");
    assert_eq!(a.state.task("stage-testing"), None);
    assert_eq!(a.state.tasks.len(), 1);
    assert_eq!(a.state.issues, s.issues, "issues about the task stay");
    let again = reset(&a.state, "stage-testing").unwrap();
    assert!(
        !again.changed,
        "a task without an entry is Not Started already"
    );
    assert!(matches!(
        reset(&s, "stage-testin").unwrap_err(),
        OpError::UnknownTask { .. }
    ));
    // A name outside the catalog that the file carries can be reset.
    let mut odd = s.clone();
    odd.tasks.push(Task::new("legacy-check"));
    assert_eq!(reset(&odd, "legacy-check").unwrap().state.tasks.len(), 2);
}

#[test]
fn operations_that_take_back_need_a_state() {
    for op in [
        Op::ResetTask {
            task: "stage-testing".into(),
        },
        Op::ReopenIssue { query: "x".into() },
        Op::RemoveIssue { query: "x".into() },
        edit("x"),
        Op::UnsetMetadata {
            keys: vec!["jira_ticket".into()],
        },
    ] {
        let err = apply(None, op, T0).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("release 4.19.1 has no state file"),
            "{err}"
        );
    }
}

#[test]
fn reopen_clears_the_resolution_of_the_latest_resolved_entry() {
    let s = states(vec![
        issue("CDN push failing", true, &["push-to-cdn-staging"]),
        resolve("CDN push"),
    ]);
    let a = apply(
        Some(s.clone()),
        Op::ReopenIssue {
            query: "cdn".into(),
        },
        T1,
    )
    .unwrap();
    assert_eq!(a.message, "Reopen issue: CDN push failing");
    let i = &a.state.issues[0];
    assert!(!i.resolved && i.blocker);
    assert_eq!((&i.resolution, &i.resolved_at), (&None, &None));
    assert_eq!(a.state.health(), Health::Red);
    // Open already: nothing to reopen, and the message says an open one matches.
    let err = apply(
        Some(a.state.clone()),
        Op::ReopenIssue {
            query: "cdn".into(),
        },
        T1,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "no resolved issue matches 'cdn' (an open one does)"
    );
    // Reported again after it was resolved: the old entry cannot reopen
    // beside its open twin.
    let twice = states(vec![
        issue("flaky", false, &[]),
        resolve("flaky"),
        issue("flaky", false, &[]),
    ]);
    let err = apply(
        Some(twice),
        Op::ReopenIssue {
            query: "flaky".into(),
        },
        T1,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "an open issue already has this text: 'flaky'"
    );
    // A blocker whose task has found another blocker meanwhile stays resolved.
    let taken = states(vec![
        issue("first", true, &["stage-testing"]),
        resolve("first"),
        issue("second", true, &["stage-testing"]),
    ]);
    let err = apply(
        Some(taken),
        Op::ReopenIssue {
            query: "first".into(),
        },
        T1,
    )
    .unwrap_err();
    assert!(matches!(err, OpError::SecondBlocker { .. }), "{err}");
}

#[test]
fn remove_deletes_one_issue_preferring_the_open_entry() {
    let s = states(vec![
        issue("flaky", false, &[]),
        resolve("flaky"),
        issue("flaky", true, &[]),
        issue("disk full", false, &[]),
    ]);
    let a = apply(
        Some(s.clone()),
        Op::RemoveIssue {
            query: "FLAKY".into(),
        },
        T1,
    )
    .unwrap();
    assert_eq!(a.message, "Remove issue: flaky");
    assert_eq!(a.state.issues.len(), 2);
    assert!(a.state.issues[0].resolved, "the resolved entry stays");
    let a = apply(
        Some(a.state),
        Op::RemoveIssue {
            query: "flaky".into(),
        },
        T1,
    )
    .unwrap();
    assert_eq!(a.state.issues.len(), 1, "then the resolved one");
    let err = apply(
        Some(a.state),
        Op::RemoveIssue {
            query: "flaky".into(),
        },
        T1,
    )
    .unwrap_err();
    assert_eq!(err.to_string(), "no issue matches 'flaky'");
    let err = apply(Some(s), Op::RemoveIssue { query: "l".into() }, T1).unwrap_err();
    assert!(matches!(err, OpError::AmbiguousIssue { .. }), "{err}");
}

#[test]
fn edit_changes_text_blocker_and_tasks_in_place() {
    let s = states(vec![
        issue("CDN push failng", false, &[]),
        issue("stage flaky", true, &["stage-testing"]),
    ]);
    let op = Op::EditIssue {
        query: "cdn".into(),
        text: Some("CDN push failing".into()),
        blocker: Some(true),
        related_tasks: Some(vec!["Push to CDN Staging".into()]),
    };
    let a = apply(Some(s.clone()), op, T1).unwrap();
    assert_eq!(a.message, "Edit issue: CDN push failing");
    let i = &a.state.issues[0];
    assert_eq!(i.issue, "CDN push failing");
    assert!(i.blocker);
    assert_eq!(i.related_tasks, ["push-to-cdn-staging"]);
    assert_eq!(
        i.reported_at, s.issues[0].reported_at,
        "still the same issue"
    );
    assert_eq!(
        apply(Some(s.clone()), edit("cdn"), T1).unwrap_err(),
        OpError::EmptyEdit
    );
    let onto = |field: Op| apply(Some(s.clone()), field, T1).unwrap_err();
    let err = onto(edit_to("cdn", Some("Stage flaky"), None, None));
    assert_eq!(
        err.to_string(),
        "an open issue already has this text: 'stage flaky'"
    );
    let err = onto(edit_to("cdn", None, Some(true), Some(&["stage-testing"])));
    assert!(matches!(err, OpError::SecondBlocker { .. }), "{err}");
    assert_eq!(
        onto(edit_to("cdn", Some(" "), None, None)),
        OpError::EmptyIssue
    );
    let same = edit_to("stage", None, Some(true), None);
    assert!(!apply(Some(s), same, T1).unwrap().changed);
}

#[test]
fn adding_a_blocking_twin_makes_the_open_issue_a_blocker() {
    let s = states(vec![issue(
        "CDN push failing",
        false,
        &["push-to-cdn-staging"],
    )]);
    let a = apply(
        Some(s.clone()),
        issue("cdn push failing", true, &["stage-testing"]),
        T1,
    )
    .unwrap();
    assert!(a.changed);
    assert_eq!(a.message, "Add issue: cdn push failing (now a blocker)");
    assert_eq!(a.state.issues.len(), 1);
    assert!(a.state.issues[0].blocker);
    assert_eq!(
        a.state.issues[0].related_tasks,
        ["push-to-cdn-staging", "stage-testing"]
    );
    assert_eq!(a.state.health(), Health::Red);
    // The other way round nothing changes: a blocker is not demoted.
    let again = apply(Some(a.state), issue("CDN push failing", false, &[]), T1).unwrap();
    assert!(!again.changed);
    // The one-blocker rule holds for the promotion too.
    let taken = states(vec![
        issue("first", true, &["stage-testing"]),
        issue("second", false, &["stage-testing"]),
    ]);
    let err = apply(Some(taken), issue("second", true, &[]), T1).unwrap_err();
    assert!(matches!(err, OpError::SecondBlocker { .. }), "{err}");
}

#[test]
fn unset_removes_keys_and_empties_the_default_ones() {
    let mut entries = Mapping::new();
    let mut ids = Mapping::new();
    ids.insert("rpm", Value::Int(1));
    ids.insert("rhcos", Value::Int(2));
    entries.insert("advisory_ids", Value::Map(ids));
    entries.insert("jira_ticket", "ART-1".into());
    entries.insert("qe_owner", "someone".into());
    let s = states(vec![Op::SetMetadata { entries }]);
    let unset = |keys: &[&str]| {
        apply(
            Some(s.clone()),
            Op::UnsetMetadata {
                keys: keys.iter().map(|k| k.to_string()).collect(),
            },
            T1,
        )
    };
    let a = unset(&["qe_owner", "jira_ticket", "advisory_ids.rpm"]).unwrap();
    assert_eq!(
        a.message,
        "Unset metadata: qe_owner, jira_ticket, advisory_ids.rpm"
    );
    assert_eq!(a.state.metadata.get("qe_owner"), None);
    assert_eq!(a.state.metadata.get("jira_ticket"), Some(&Value::Null));
    let ids = a
        .state
        .metadata
        .get("advisory_ids")
        .unwrap()
        .as_map()
        .unwrap();
    assert_eq!((ids.get("rpm"), ids.len()), (None, 1));
    let all = unset(&["advisory_ids"]).unwrap().state;
    assert_eq!(
        all.metadata.get("advisory_ids"),
        Some(&Value::Map(Mapping::new()))
    );
    for missing in ["qe_ownr", "advisory_ids.rpmx", "jira_ticket.x"] {
        assert_eq!(
            unset(&["qe_owner", missing]).unwrap_err(),
            OpError::NoMetadataKey {
                key: missing.into()
            }
        );
    }
    assert_eq!(unset(&[]).unwrap_err(), OpError::EmptyMetadata);
}
