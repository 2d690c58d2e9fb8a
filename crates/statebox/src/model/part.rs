//! A state seen as independent parts: each task, each issue, each metadata
//! key (each entry of the maps merged key by key). Two versions of a file
//! differ part by part, and one part can be put back on its own, which is
//! what `statebox audit` needs to find and repair an update another writer
//! reverted.

use super::{Issue, MERGED_METADATA_KEYS, ShapeError, State, Task};
use crate::yaml::{Mapping, Value};
use std::fmt;

/// One independently changing part of a state.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Part {
    /// One task.
    Task {
        /// The task name.
        name: String,
    },
    /// Issues are told apart by normalized text, and a text that was added
    /// again after being resolved by its occurrence (0 for the first).
    Issue {
        /// The normalized issue text.
        text: String,
        /// Which issue with that text, in file order (0 for the first).
        occurrence: usize,
    },
    /// One metadata value, other than the maps merged entry by entry.
    Metadata {
        /// The metadata key.
        key: String,
    },
    /// One entry of `advisory_ids` / `candidate_builds`.
    MetadataEntry {
        /// `advisory_ids` or `candidate_builds`.
        key: String,
        /// The entry's key within it.
        entry: String,
    },
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Part::Task { name } => write!(f, "task {name}"),
            Part::Issue {
                text,
                occurrence: 0,
            } => write!(f, "issue '{text}'"),
            Part::Issue { text, occurrence } => write!(f, "issue '{text}' (#{})", occurrence + 1),
            Part::Metadata { key } => write!(f, "metadata {key}"),
            Part::MetadataEntry { key, entry } => write!(f, "metadata {key}.{entry}"),
        }
    }
}

/// A mapping key as text: state files' keys are strings, but YAML allows
/// any scalar (`123: x`).
fn key_text(key: &Value) -> String {
    match key {
        Value::Str(s) | Value::Timestamp(s) => s.clone(),
        other => crate::yaml::to_string(other).trim_end().to_owned(),
    }
}

fn find_key<'a>(map: &'a Mapping, wanted: &str) -> Option<&'a Value> {
    map.iter()
        .find(|(k, _)| key_text(k) == wanted)
        .map(|(k, _)| k)
}

impl State {
    /// Every part with its value, in file order. A task name that repeats
    /// counts once (its first entry), as every reader finds that one.
    pub fn parts(&self) -> Vec<(Part, Value)> {
        let mut parts = Vec::new();
        for (i, task) in self.tasks.iter().enumerate() {
            if self.tasks[..i].iter().all(|t| t.name != task.name) {
                parts.push((
                    Part::Task {
                        name: task.name.clone(),
                    },
                    task.encode(),
                ));
            }
        }
        for (i, issue) in self.issues.iter().enumerate() {
            parts.push((self.issue_part(i), issue.encode()));
        }
        for (key, value) in self.metadata.iter() {
            let key = key_text(key);
            match value {
                Value::Map(entries) if MERGED_METADATA_KEYS.contains(&key.as_str()) => {
                    for (entry, value) in entries.iter() {
                        let entry = key_text(entry);
                        parts.push((
                            Part::MetadataEntry {
                                key: key.clone(),
                                entry,
                            },
                            value.clone(),
                        ));
                    }
                }
                _ => parts.push((Part::Metadata { key }, value.clone())),
            }
        }
        parts
    }

    fn issue_part(&self, index: usize) -> Part {
        let text = self.issues[index].normalized_text();
        let occurrence = self.issues[..index]
            .iter()
            .filter(|i| i.normalized_text() == text)
            .count();
        Part::Issue { text, occurrence }
    }

    fn issue_index(&self, text: &str, occurrence: usize) -> Option<usize> {
        (0..self.issues.len())
            .filter(|&i| self.issues[i].normalized_text() == text)
            .nth(occurrence)
    }

    /// The part's value; `None` when the state has no such part.
    pub fn part(&self, part: &Part) -> Option<Value> {
        match part {
            Part::Task { name } => self.task(name).map(Task::encode),
            Part::Issue { text, occurrence } => self
                .issue_index(text, *occurrence)
                .map(|i| self.issues[i].encode()),
            Part::Metadata { key } => {
                let value = self.metadata.get(key)?;
                let merged =
                    MERGED_METADATA_KEYS.contains(&key.as_str()) && value.as_map().is_some();
                (!merged).then(|| value.clone())
            }
            Part::MetadataEntry { key, entry } => {
                let entries = self.metadata.get(key)?.as_map()?;
                let found = find_key(entries, entry)?;
                entries
                    .iter()
                    .find(|(k, _)| *k == found)
                    .map(|(_, v)| v.clone())
            }
        }
    }

    /// Sets the part to `value`, or removes it (`None`). A part the state
    /// lacks is added where a writer would have put it: at the end.
    pub fn set_part(&mut self, part: &Part, value: Option<Value>) -> Result<(), ShapeError> {
        match part {
            Part::Task { name } => {
                let index = self.tasks.iter().position(|t| &t.name == name);
                let task = value
                    .map(|v| Task::decode(v, format!("restored task {name}")))
                    .transpose()?;
                replace(&mut self.tasks, index, task);
            }
            Part::Issue { text, occurrence } => {
                let index = self.issue_index(text, *occurrence);
                let issue = value
                    .map(|v| Issue::decode(v, format!("restored issue '{text}'")))
                    .transpose()?;
                replace(&mut self.issues, index, issue);
            }
            Part::Metadata { key } => match value {
                Some(value) => self.metadata.insert(key.as_str(), value),
                None => drop(self.metadata.remove(key)),
            },
            Part::MetadataEntry { key, entry } => {
                let entries = match self.metadata.get(key) {
                    Some(Value::Map(entries)) => entries.clone(),
                    _ if value.is_none() => return Ok(()),
                    _ => Mapping::new(),
                };
                let existing = find_key(&entries, entry).cloned();
                let mut rebuilt = Mapping::new();
                for (k, v) in entries.iter() {
                    if Some(k) != existing.as_ref() {
                        rebuilt.push(k.clone(), v.clone());
                    } else if let Some(value) = &value {
                        rebuilt.push(k.clone(), value.clone());
                    }
                }
                if let (None, Some(value)) = (existing, value) {
                    rebuilt.push(Value::Str(entry.clone()), value);
                }
                self.metadata.insert(key.as_str(), Value::Map(rebuilt));
            }
        }
        Ok(())
    }
}

fn replace<T>(items: &mut Vec<T>, index: Option<usize>, value: Option<T>) {
    match (index, value) {
        (Some(i), Some(value)) => items[i] = value,
        (Some(i), None) => drop(items.remove(i)),
        (None, Some(value)) => items.push(value),
        (None, None) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> State {
        let text = "\
schema_version: '1.0'
release: 4.19.1
created_at: '2026-06-25T13:00:13Z'
updated_at: '2026-06-25T13:00:13Z'
metadata:
  jira_ticket: ART-1
  advisory_ids:
    rpm: 169043
  release_date: 2026-Jul-01
tasks:
- name: take-ownership
  status: Pass
  started_at: '2026-06-25T13:00:13Z'
  completed_at: '2026-06-25T13:01:13Z'
  result: ok
issues:
- issue: Flaky
  reported_at: '2026-06-25T13:00:13Z'
  resolved: true
  resolution: fixed
  blocker: false
  related_tasks: []
  resolved_at: '2026-06-25T13:05:13Z'
- issue: flaky
  reported_at: '2026-06-25T13:10:13Z'
  resolved: false
  resolution: null
  blocker: true
  related_tasks: []
";
        State::from_value(crate::yaml::parse(text).unwrap()).unwrap()
    }

    #[test]
    fn a_state_is_its_parts_and_each_can_be_read_back() {
        let state = state();
        let parts = state.parts();
        let names: Vec<String> = parts.iter().map(|(p, _)| p.to_string()).collect();
        assert_eq!(
            names,
            [
                "task take-ownership",
                "issue 'flaky'",
                "issue 'flaky' (#2)",
                "metadata jira_ticket",
                "metadata advisory_ids.rpm",
                "metadata release_date",
            ]
        );
        for (part, value) in &parts {
            assert_eq!(state.part(part).as_ref(), Some(value), "{part}");
        }
        let absent = Part::Metadata {
            key: "advisory_ids".into(),
        };
        assert_eq!(state.part(&absent), None, "a merged map is read by entry");
    }

    #[test]
    fn setting_every_part_of_one_state_onto_another_gives_that_state() {
        let target = state();
        let mut state = State::new(&"4.19.1".parse().unwrap(), "2026-06-25T13:00:13Z");
        for (part, value) in target.parts() {
            state.set_part(&part, Some(value)).unwrap();
        }
        for key in ["candidate_builds", "shipment_mr"] {
            state
                .set_part(&Part::Metadata { key: key.into() }, None)
                .unwrap();
        }
        assert_eq!(state.to_yaml(), target.to_yaml());
    }

    #[test]
    fn removing_a_part_removes_only_it() {
        let mut state = state();
        let second = Part::Issue {
            text: "flaky".into(),
            occurrence: 1,
        };
        state.set_part(&second, None).unwrap();
        assert_eq!(state.issues.len(), 1);
        assert!(state.issues[0].resolved);
        let rpm = Part::MetadataEntry {
            key: "advisory_ids".into(),
            entry: "rpm".into(),
        };
        state.set_part(&rpm, None).unwrap();
        assert_eq!(
            state.metadata.get("advisory_ids"),
            Some(&Value::Map(Mapping::new()))
        );
        let task = Part::Task {
            name: "take-ownership".into(),
        };
        state.set_part(&task, None).unwrap();
        assert!(state.tasks.is_empty());
        state.set_part(&task, None).unwrap();
    }

    #[test]
    fn a_restored_value_that_is_no_task_is_refused_by_name() {
        let mut state = state();
        let task = Part::Task {
            name: "stage-testing".into(),
        };
        let err = state
            .set_part(&task, Some(Value::Str("Pass".into())))
            .unwrap_err();
        assert!(
            err.to_string().contains("restored task stage-testing"),
            "{err}"
        );
        assert_eq!(state.tasks.len(), 1, "nothing changed");
    }

    #[test]
    fn a_restore_puts_a_part_back_only_while_it_holds_what_was_found() {
        use crate::catalog::Catalog;
        use crate::model::{Op, Restoration};
        let part = Part::Metadata {
            key: "jira_ticket".into(),
        };
        let restore = |found: &str| Op::Restore {
            repairs: vec!["c0ffee".into()],
            parts: vec![Restoration::new(
                part.clone(),
                Some(Value::Str(found.into())),
                Some(Value::Str("ART-9".into())),
            )],
        };
        let apply = |op: Op| {
            op.apply(
                Some(state()),
                &"4.19.1".parse().unwrap(),
                &Catalog::default(),
                chrono::Utc::now(),
            )
            .unwrap()
        };
        let changed_since = apply(restore("ART-0"));
        assert!(!changed_since.changed, "a part changed since is kept");
        let repaired = apply(restore("ART-1"));
        assert!(repaired.changed);
        assert_eq!(repaired.state.part(&part), Some(Value::Str("ART-9".into())));
        assert!(
            repaired.message.contains("\n\nStatebox-Repairs: c0ffee"),
            "{}",
            repaired.message
        );
    }
}
