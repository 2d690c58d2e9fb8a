//! What a commit changed in a release, read from the state before and
//! after it rather than from its subject: a hand edit, a merge or a Python
//! writer's "Update task: X" that also rewound task Y says what it did.

use super::part::Part;
use super::{Issue, State, Status, Task};
use crate::yaml::Value;

/// One line per part that differs between `before` (`None`: the file did
/// not exist) and `after`, after a first line if the file was created (a
/// removed file is that one line), in file order: `stage-testing: In Progress →
/// Pass`, `issue resolved: flaky install`, `metadata jira_ticket: ART-1`.
pub fn describe_changes(before: Option<&State>, after: Option<&State>) -> Vec<String> {
    let parts = |state: Option<&State>| state.map(State::parts).unwrap_or_default();
    let (old, new) = (parts(before), parts(after));
    let mut lines = Vec::new();
    match (before, after) {
        (None, Some(_)) => lines.push("file created".to_owned()),
        (Some(_), None) => return vec!["file removed".to_owned()],
        _ => {}
    }
    for (part, value) in &new {
        let was = old.iter().find(|(p, _)| p == part).map(|(_, v)| v);
        // A new file's empty metadata keys say nothing.
        let unset = was.is_none() && value.is_null();
        if was != Some(value) && !unset {
            lines.extend(describe(part, was, Some(value)));
        }
    }
    for (part, value) in &old {
        if !new.iter().any(|(p, _)| p == part) {
            lines.extend(describe(part, Some(value), None));
        }
    }
    lines
}

/// The part's values are what `State::parts` encodes, so they decode back
/// into the task or issue they were; the states need not be searched.
fn describe(part: &Part, was: Option<&Value>, now: Option<&Value>) -> Option<String> {
    let task =
        |value: Option<&Value>| value.and_then(|v| Task::decode(v.clone(), String::new()).ok());
    let issue =
        |value: Option<&Value>| value.and_then(|v| Issue::decode(v.clone(), String::new()).ok());
    Some(match part {
        Part::Task { name } => {
            let status = |t: Option<Task>| t.map_or(Status::NotStarted, |t| t.status);
            let (from, to) = (status(task(was)), status(task(now)));
            match (now, from == to) {
                (None, _) => format!("{name}: reset ({from} → {to})"),
                (Some(_), false) => format!("{name}: {from} → {to}"),
                (Some(_), true) => format!("{name}: result updated ({to})"),
            }
        }
        Part::Issue { .. } => {
            let (old, new) = (issue(was), issue(now));
            match (old, new) {
                (None, Some(new)) => format!("issue added{}: {}", blocker(&new), new.issue),
                (Some(old), None) => format!("issue removed: {}", old.issue),
                (Some(old), Some(new)) if !old.resolved && new.resolved => {
                    let resolution = new.resolution.as_deref().map(|r| format!(" ({r})"));
                    format!(
                        "issue resolved: {}{}",
                        new.issue,
                        resolution.unwrap_or_default()
                    )
                }
                (Some(old), Some(new)) if old.resolved && !new.resolved => {
                    format!("issue reopened: {}", new.issue)
                }
                (Some(_), Some(new)) => format!("issue edited{}: {}", blocker(&new), new.issue),
                (None, None) => return None,
            }
        }
        Part::Metadata { key } => metadata(key, was, now),
        Part::MetadataEntry { key, entry } => metadata(&format!("{key}.{entry}"), was, now),
    })
}

fn blocker(issue: &Issue) -> &'static str {
    if issue.blocker { " (blocker)" } else { "" }
}

fn metadata(key: &str, was: Option<&Value>, now: Option<&Value>) -> String {
    match (was, now) {
        (_, None) => format!("metadata {key} unset"),
        (None, Some(value)) => format!("metadata {key}: {}", shown(value)),
        (Some(old), Some(value)) => format!("metadata {key}: {} → {}", shown(old), shown(value)),
    }
}

fn shown(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Int(n) => n.to_string(),
        Value::Float(x) => x.to_string(),
        Value::Str(s) | Value::Timestamp(s) => s.clone(),
        other => format!("({})", other.kind()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use crate::model::Op;
    use crate::release::Release;

    fn after(state: Option<State>, op: Op) -> State {
        let release: Release = "4.19.1".parse().unwrap();
        op.apply(state, &release, &Catalog::default(), chrono::Utc::now())
            .unwrap()
            .state
    }

    #[test]
    fn each_kind_of_change_is_named() {
        let created = after(
            None,
            Op::Init {
                metadata: Default::default(),
            },
        );
        assert_eq!(describe_changes(None, Some(&created)), ["file created"]);
        let set = |status| Op::SetTask {
            task: "stage-testing".into(),
            status,
            result: None,
        };
        let started = after(Some(created.clone()), set(Status::InProgress));
        let passed = after(Some(started.clone()), set(Status::Pass));
        assert_eq!(
            describe_changes(Some(&started), Some(&passed)),
            ["stage-testing: In Progress → Pass"]
        );
        let flaky = after(
            Some(passed.clone()),
            Op::AddIssue {
                text: "flaky install".into(),
                blocker: true,
                related_tasks: vec!["stage-testing".into()],
            },
        );
        assert_eq!(
            describe_changes(Some(&passed), Some(&flaky)),
            ["issue added (blocker): flaky install"]
        );
        let resolved = after(
            Some(flaky.clone()),
            Op::ResolveIssue {
                query: "flaky".into(),
                resolution: Some("fixed".into()),
            },
        );
        assert_eq!(
            describe_changes(Some(&flaky), Some(&resolved)),
            ["issue resolved: flaky install (fixed)"]
        );
        let reset = after(
            Some(resolved.clone()),
            Op::ResetTask {
                task: "stage-testing".into(),
            },
        );
        assert_eq!(
            describe_changes(Some(&resolved), Some(&reset)),
            ["stage-testing: reset (Pass → Not Started)"]
        );
        assert!(describe_changes(Some(&reset), Some(&reset)).is_empty());
        assert_eq!(describe_changes(Some(&reset), None), ["file removed"]);
    }
}
