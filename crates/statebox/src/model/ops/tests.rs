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
