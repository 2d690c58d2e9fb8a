//! Operations: every change to a state is one of these, applied to a freshly
//! loaded state. Stores retry a lost compare-and-swap by applying the same
//! operation again to the newer state, so an operation carries intent
//! ("set task X to Pass"), never a precomputed file.

use super::{
    ISSUE_TEXT_MAX, Issue, MERGED_METADATA_KEYS, Part, State, Status, Task, empty_metadata,
    normalize_issue_text,
};
use crate::catalog::Catalog;
use crate::release::Release;
use crate::text;
use crate::timestamp;
use crate::yaml::{Mapping, Value};
use chrono::{DateTime, Utc};

/// Serialized (JSON) into each commit's `Statebox-Op` trailer, so commits
/// that a remote rejected can be replayed as operations on its newer tip.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    /// Create the release's state; `metadata` fills the initial keys.
    Init {
        /// Merged over the empty keys every state starts with; ignored when
        /// the state already exists.
        #[serde(with = "mapping_as_yaml")]
        metadata: Mapping,
    },
    /// Set where a task stands and, if given, its result; the timestamps
    /// follow the original's rule (from the result text, else the write's
    /// time). A task without an entry gets one.
    SetTask {
        /// The task, by task name, display name or alias; it must be in the
        /// catalog.
        task: String,
        /// Where the task stands from now on.
        #[serde(with = "status_as_text")]
        status: Status,
        /// The output to store as the task's result; `None` keeps the one
        /// already there.
        result: Option<String>,
    },
    /// Report an issue. A text already open is not added twice, but
    /// reporting it again as a blocker makes the open one a blocker.
    AddIssue {
        /// The issue text: trimmed, it must be 1 to [`ISSUE_TEXT_MAX`]
        /// characters long.
        text: String,
        /// Whether it blocks its related tasks; refused if one of them
        /// already has an unresolved blocker.
        blocker: bool,
        /// The tasks it concerns, by any name the catalog knows (names
        /// outside it are kept as given); empty for the whole release.
        related_tasks: Vec<String>,
    },
    /// Resolve an open issue.
    ResolveIssue {
        /// The issue's text, or a part of it that only one open text holds;
        /// any case.
        query: String,
        /// How it was resolved, stored with the issue.
        resolution: Option<String>,
    },
    /// Remove a task's entry: the task reads as Not Started again, with no
    /// timestamps or result.
    ResetTask {
        /// The task, by any name the catalog knows, or as the file spells it
        /// for a task outside the catalog.
        task: String,
    },
    /// Make a resolved issue open again (its resolution is cleared).
    ReopenIssue {
        /// The text of a resolved issue, or a part of it that only one
        /// resolved text holds; of several entries with that text, the
        /// latest is reopened.
        query: String,
    },
    /// Delete an issue from the file, open or resolved.
    RemoveIssue {
        /// The issue's text, or a part of it that only one text holds; of
        /// several entries with that text, the open one goes first.
        query: String,
    },
    /// Change an issue in place; `None` keeps that field as it is.
    EditIssue {
        /// The issue's text, or a part of it that only one text holds; open
        /// or resolved.
        query: String,
        /// The new text, held to the same limits as a reported one; for an
        /// open issue, refused if another open issue already has it.
        text: Option<String>,
        /// Whether it blocks from now on.
        blocker: Option<bool>,
        /// The tasks it concerns from now on, replacing the old list.
        related_tasks: Option<Vec<String>>,
    },
    /// Remove metadata keys (dotted paths reach into maps:
    /// `advisory_ids.rpm`); the keys every state starts with go back to
    /// their empty value, as the original's readers expect them present.
    UnsetMetadata {
        /// The keys to remove; each must be there.
        keys: Vec<String>,
    },
    /// Set metadata keys; a map value is merged key by key into the map
    /// already there (`advisory_ids`, `candidate_builds`).
    SetMetadata {
        /// The keys and values to set, as YAML so each value keeps its type
        /// (`4.20` stays a string, not the float 4.2).
        #[serde(with = "mapping_as_yaml")]
        entries: Mapping,
    },
    /// Several operations in one commit: ingest coalesces a burst of status
    /// transitions this way.
    Batch {
        /// Applied in order; if one is refused, the whole batch is.
        ops: Vec<Op>,
    },
    /// Put back parts that later commits reverted without saying so
    /// (`statebox audit --repair`); `repairs` names those commits.
    Restore {
        /// The reverting commits, listed as `Statebox-Repairs:` lines in the
        /// commit message so a later audit counts them repaired.
        repairs: Vec<String>,
        /// What to put back, one part each.
        parts: Vec<Restoration>,
    },
}

/// One part to put back: set to `value` (`None`: removed) only while it
/// still holds what the audit `found`, so a change made since is kept.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Restoration {
    /// The task, issue or metadata value to put back.
    pub part: Part,
    /// `found` and `value`, each key present only when the part is.
    #[serde(with = "mapping_as_yaml")]
    values: Mapping,
}

impl Restoration {
    /// Put `part` back to `value` (`None`: remove it) if it still holds
    /// `found` (`None`: absent).
    pub fn new(part: Part, found: Option<Value>, value: Option<Value>) -> Self {
        let mut values = Mapping::new();
        for (key, v) in [("found", found), ("value", value)] {
            if let Some(v) = v {
                values.insert(key, v);
            }
        }
        Restoration { part, values }
    }

    /// What the audit found the part holding; `None` when it was absent.
    pub fn found(&self) -> Option<&Value> {
        self.values.get("found")
    }

    /// What the part is set back to; `None` removes it.
    pub fn value(&self) -> Option<&Value> {
        self.values.get("value")
    }
}

/// YAML values have no serde impls of their own; their YAML text keeps
/// every scalar's type exactly as the state file would.
mod mapping_as_yaml {
    use crate::yaml::{self, Mapping, Value};
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(map: &Mapping, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&yaml::to_string(&Value::Map(map.clone())))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Mapping, D::Error> {
        let text = String::deserialize(d)?;
        match yaml::parse(&text).map_err(D::Error::custom)? {
            Value::Map(map) => Ok(map),
            other => Err(D::Error::custom(format!(
                "expected a mapping, found {}",
                other.kind()
            ))),
        }
    }
}

mod status_as_text {
    use super::Status;
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(status: &Status, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(status.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Status, D::Error> {
        String::deserialize(d)?.parse().map_err(D::Error::custom)
    }
}

/// Why an operation was refused; nothing is written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpError {
    /// A task name is none the catalog knows, by name, display name or alias.
    #[error("unknown task '{given}'; known tasks: {}", known.join(", "))]
    UnknownTask {
        /// The name as given.
        given: String,
        /// Every task name in the catalog, for the message.
        known: Vec<String>,
    },
    /// An issue text is empty or only whitespace.
    #[error("issue text is empty")]
    EmptyIssue,
    /// An issue text is longer than [`ISSUE_TEXT_MAX`] characters, trimmed.
    #[error("issue text is {chars} characters long; the limit is {ISSUE_TEXT_MAX}")]
    IssueTooLong {
        /// Its length in characters, trimmed.
        chars: usize,
    },
    /// Adding, reopening or editing a blocker would give a task a second
    /// unresolved one.
    #[error("task '{task}' already has an unresolved blocker: '{existing}'")]
    SecondBlocker {
        /// The task that already has one.
        task: String,
        /// The text of the blocker it has.
        existing: String,
    },
    /// Resolving: no open issue matches the query.
    #[error("no unresolved issue matches '{query}'{}", if *resolved_match { " (a resolved one does)" } else { "" })]
    NoSuchIssue {
        /// The query as given.
        query: String,
        /// Whether a resolved issue matches, which the message then says.
        resolved_match: bool,
    },
    /// The query is not a whole issue text and is part of several.
    #[error("'{query}' matches {} unresolved issues; give more of the text:\n  - {}", candidates.len(), candidates.join("\n  - "))]
    AmbiguousIssue {
        /// The query as given.
        query: String,
        /// The texts it is part of, each once, for the user to choose from.
        candidates: Vec<String>,
    },
    /// Reopening: no resolved issue matches the query.
    #[error("no resolved issue matches '{query}'{}", if *open_match { " (an open one does)" } else { "" })]
    NoResolvedIssue {
        /// The query as given.
        query: String,
        /// Whether an open issue matches, which the message then says.
        open_match: bool,
    },
    /// Removing or editing: no issue, open or resolved, matches the query.
    #[error("no issue matches '{query}'")]
    NoIssue {
        /// The query as given.
        query: String,
    },
    /// Reopening or editing would make a second open issue with the same
    /// text (trimmed, any case).
    #[error("an open issue already has this text: '{existing}'")]
    AlreadyOpen {
        /// The text of the open issue that has it.
        existing: String,
    },
    /// An edit that gives no new text, blocker or related tasks.
    #[error("nothing to change: give a new text, blocker or related tasks")]
    EmptyEdit,
    /// Resetting, reopening, removing, editing or unsetting on a release
    /// that has no state yet (the other operations create it).
    #[error("release {release} has no state file, so there is nothing to {action}")]
    NoState {
        /// The release as given.
        release: String,
        /// What was asked (`reset`, `reopen`, ...), for the message.
        action: &'static str,
    },
    /// Unsetting a metadata key, or dotted path, that is not there.
    #[error("no metadata key '{key}'")]
    NoMetadataKey {
        /// The key as given.
        key: String,
    },
    /// Setting or unsetting metadata with no keys.
    #[error("no metadata given")]
    EmptyMetadata,
    /// A batch with no operations in it.
    #[error("nothing to apply")]
    EmptyBatch,
    /// A task or issue to put back does not have the shape of one; holds the
    /// part and the problem.
    #[error("cannot restore {0}")]
    BadRestoration(String),
}

impl OpError {
    /// `given` is not a task of `catalog`; the message lists the ones that are.
    pub fn unknown_task(catalog: &Catalog, given: &str) -> Self {
        OpError::UnknownTask {
            given: given.to_owned(),
            known: catalog.names().iter().map(|s| s.to_string()).collect(),
        }
    }
}

/// The outcome of applying an operation.
#[derive(Debug, Clone)]
pub struct Applied {
    /// The state after the operation; its `updated_at` moves only when the
    /// operation changed it.
    pub state: State,
    /// Commit message, in the original's wording.
    pub message: String,
    /// False when the operation was already in effect: nothing to write.
    pub changed: bool,
}

fn short(text: &str) -> String {
    let line = text.lines().next().unwrap_or("");
    match line.char_indices().nth(72) {
        Some((cut, _)) => format!("{}...", &line[..cut]),
        None => line.to_owned(),
    }
}

impl Op {
    /// The operation as it may be stored: every string it carries (task
    /// results, issue text, queries, resolutions, metadata keys and string
    /// values) passed through [`text::stored`] once. The write path applies
    /// and records (commit trailer) this form only, so no secret reaches a
    /// commit message and no string makes a commit larger than the bound.
    pub fn stored(&self) -> Op {
        match self {
            Op::Init { metadata } => Op::Init {
                metadata: stored_mapping(metadata),
            },
            Op::SetTask {
                task,
                status,
                result,
            } => Op::SetTask {
                task: stored_text(task, "task name"),
                status: *status,
                result: result
                    .as_deref()
                    .map(|r| stored_text(r, &format!("result of task {task}"))),
            },
            Op::AddIssue {
                text,
                blocker,
                related_tasks,
            } => Op::AddIssue {
                text: stored_text(text, "issue text"),
                blocker: *blocker,
                related_tasks: related_tasks
                    .iter()
                    .map(|t| stored_text(t, "related task"))
                    .collect(),
            },
            Op::ResolveIssue { query, resolution } => Op::ResolveIssue {
                query: stored_text(query, "issue"),
                resolution: resolution.as_deref().map(|r| stored_text(r, "resolution")),
            },
            Op::ResetTask { task } => Op::ResetTask {
                task: stored_text(task, "task name"),
            },
            Op::ReopenIssue { query } => Op::ReopenIssue {
                query: stored_text(query, "issue"),
            },
            Op::RemoveIssue { query } => Op::RemoveIssue {
                query: stored_text(query, "issue"),
            },
            Op::EditIssue {
                query,
                text,
                blocker,
                related_tasks,
            } => Op::EditIssue {
                query: stored_text(query, "issue"),
                text: text.as_deref().map(|t| stored_text(t, "issue text")),
                blocker: *blocker,
                related_tasks: related_tasks.as_ref().map(|tasks| {
                    tasks
                        .iter()
                        .map(|t| stored_text(t, "related task"))
                        .collect()
                }),
            },
            Op::UnsetMetadata { keys } => Op::UnsetMetadata {
                keys: keys
                    .iter()
                    .map(|k| stored_text(k, "metadata key"))
                    .collect(),
            },
            Op::SetMetadata { entries } => Op::SetMetadata {
                entries: stored_mapping(entries),
            },
            Op::Batch { ops } => Op::Batch {
                ops: ops.iter().map(Op::stored).collect(),
            },
            // Values read back from the branch, put back exactly as they
            // were: `found` must match the file, so nothing may rewrite it.
            Op::Restore { .. } => self.clone(),
        }
    }

    /// Applies the operation to `current` (None: the release has no state
    /// yet, which any operation creates, as the original did).
    pub fn apply(
        &self,
        current: Option<State>,
        release: &Release,
        catalog: &Catalog,
        now: DateTime<Utc>,
    ) -> Result<Applied, OpError> {
        let now_text = timestamp::format(now);
        let existed = current.is_some();
        if let (false, Some(action)) = (existed, self.undoes()) {
            return Err(OpError::NoState {
                release: release.to_string(),
                action,
            });
        }
        let mut state = current.unwrap_or_else(|| State::new(release, &now_text));
        let before = state.clone();
        let message = self.change(&mut state, existed, release, catalog, now)?;
        let changed = !existed || state != before;
        if changed {
            state.updated_at = now_text;
        }
        Ok(Applied {
            state,
            message,
            changed,
        })
    }

    /// What an operation that only takes back or changes what a state holds
    /// does, for the error when there is no state; `None` for operations
    /// that create a missing state, as the original's did.
    fn undoes(&self) -> Option<&'static str> {
        match self {
            Op::ResetTask { .. } => Some("reset"),
            Op::ReopenIssue { .. } => Some("reopen"),
            Op::RemoveIssue { .. } => Some("remove"),
            Op::EditIssue { .. } => Some("edit"),
            Op::UnsetMetadata { .. } => Some("unset"),
            _ => None,
        }
    }

    /// Changes `state` in place and returns the commit message.
    fn change(
        &self,
        state: &mut State,
        existed: bool,
        release: &Release,
        catalog: &Catalog,
        now: DateTime<Utc>,
    ) -> Result<String, OpError> {
        let now_text = timestamp::format(now);
        Ok(match self {
            Op::Init { metadata } => {
                if !existed {
                    merge_metadata(&mut state.metadata, metadata);
                }
                format!("Initialize StateBox for release {release}")
            }
            Op::SetTask {
                task,
                status,
                result,
            } => {
                let entry = catalog
                    .resolve(task)
                    .ok_or_else(|| OpError::unknown_task(catalog, task))?;
                let index = match state.tasks.iter().position(|t| t.name == entry.name) {
                    Some(i) => i,
                    None => {
                        state.tasks.push(Task::new(&entry.name));
                        state.tasks.len() - 1
                    }
                };
                set_task(&mut state.tasks[index], *status, result.as_deref(), now);
                format!("Update task: {}", entry.name)
            }
            Op::AddIssue {
                text,
                blocker,
                related_tasks,
            } => {
                let text = validate_issue_text(text)?;
                let related = catalog_names(catalog, related_tasks);
                let made_blocker = add_issue(state, text, *blocker, related, &now_text)?;
                let note = if made_blocker { " (now a blocker)" } else { "" };
                format!("Add issue: {}{note}", short(text))
            }
            Op::ResolveIssue { query, resolution } => {
                let index = find_issue(&state.issues, query, Scope::Open)?;
                let issue = &mut state.issues[index];
                issue.resolved = true;
                issue.resolution = resolution.clone();
                issue.resolved_at = Some(now_text.clone());
                format!("Resolve issue: {}", short(&issue.issue))
            }
            Op::ResetTask { task } => {
                let name = match catalog.resolve(task) {
                    Some(entry) => entry.name.clone(),
                    None if state.task(task.trim()).is_some() => task.trim().to_owned(),
                    None => return Err(OpError::unknown_task(catalog, task)),
                };
                state.tasks.retain(|t| t.name != name);
                format!("Reset task: {name}")
            }
            Op::ReopenIssue { query } => {
                let index = find_issue(&state.issues, query, Scope::Resolved)?;
                let issue = &state.issues[index];
                refuse_open_twin(state, &issue.normalized_text(), index)?;
                if issue.blocker {
                    check_one_blocker(state, Some(index), &issue.related_tasks)?;
                }
                let issue = &mut state.issues[index];
                issue.resolved = false;
                issue.resolution = None;
                issue.resolved_at = None;
                format!("Reopen issue: {}", short(&issue.issue))
            }
            Op::RemoveIssue { query } => {
                let issue = state
                    .issues
                    .remove(find_issue(&state.issues, query, Scope::Any)?);
                format!("Remove issue: {}", short(&issue.issue))
            }
            Op::EditIssue {
                query,
                text,
                blocker,
                related_tasks,
            } => {
                if text.is_none() && blocker.is_none() && related_tasks.is_none() {
                    return Err(OpError::EmptyEdit);
                }
                let index = find_issue(&state.issues, query, Scope::Any)?;
                let mut edited = state.issues[index].clone();
                if let Some(text) = text {
                    edited.issue = validate_issue_text(text)?.to_owned();
                }
                if let Some(blocker) = blocker {
                    edited.blocker = *blocker;
                }
                if let Some(tasks) = related_tasks {
                    edited.related_tasks = catalog_names(catalog, tasks);
                }
                if !edited.resolved {
                    refuse_open_twin(state, &edited.normalized_text(), index)?;
                    if edited.blocker {
                        check_one_blocker(state, Some(index), &edited.related_tasks)?;
                    }
                }
                let message = format!("Edit issue: {}", short(&edited.issue));
                state.issues[index] = edited;
                message
            }
            Op::UnsetMetadata { keys } => {
                if keys.is_empty() {
                    return Err(OpError::EmptyMetadata);
                }
                for key in keys {
                    unset_metadata(&mut state.metadata, key)?;
                }
                format!("Unset metadata: {}", short(&keys.join(", ")))
            }
            Op::SetMetadata { entries } => {
                if entries.is_empty() {
                    return Err(OpError::EmptyMetadata);
                }
                merge_metadata(&mut state.metadata, entries);
                "Update metadata".to_owned()
            }
            Op::Batch { ops } => {
                let messages = ops
                    .iter()
                    .map(|op| op.change(state, existed, release, catalog, now))
                    .collect::<Result<Vec<_>, _>>()?;
                match messages.as_slice() {
                    [] => return Err(OpError::EmptyBatch),
                    [one] => one.clone(),
                    [first, ..] => format!(
                        "{first} (+{} more)\n\n{}",
                        messages.len() - 1,
                        messages.join("\n")
                    ),
                }
            }
            Op::Restore { repairs, parts } => {
                let mut restored = 0;
                for r in parts {
                    if state.part(&r.part).as_ref() == r.found() {
                        state
                            .set_part(&r.part, r.value().cloned())
                            .map_err(|e| OpError::BadRestoration(format!("{}: {e}", r.part)))?;
                        restored += 1;
                    }
                }
                let lines: Vec<String> = repairs
                    .iter()
                    .map(|c| format!("Statebox-Repairs: {c}"))
                    .collect();
                format!("Repair {restored} lost update(s)\n\n{}", lines.join("\n"))
            }
        })
    }
}

/// `value` through the pipeline; `what` names it in the warning when the
/// bound cut it.
fn stored_text(value: &str, what: &str) -> String {
    let stored = text::stored(value);
    if stored.omitted > 0 {
        tracing::warn!(
            "{what}: {} bytes, {} bytes omitted to keep it within {} bytes",
            value.len(),
            stored.omitted,
            text::STORED_LIMIT
        );
    }
    stored.text
}

/// Keys and string leaves of a metadata map through the pipeline.
fn stored_mapping(map: &Mapping) -> Mapping {
    let mut out = Mapping::new();
    for (key, value) in map.iter() {
        out.push(stored_value(key), stored_value(value));
    }
    out
}

fn stored_value(value: &Value) -> Value {
    match value {
        Value::Str(s) => Value::Str(stored_text(s, "metadata value")),
        Value::Seq(items) => Value::Seq(items.iter().map(stored_value).collect()),
        Value::Map(map) => Value::Map(stored_mapping(map)),
        other => other.clone(),
    }
}

/// The original's timestamp rule: a time found in the output is kept as
/// written there; otherwise the write's own time.
fn set_task(task: &mut Task, status: Status, text: Option<&str>, now: DateTime<Utc>) {
    let now = || timestamp::format(now);
    let moved = task.status != status;
    match status {
        Status::InProgress => {
            if let Some(at) = text.and_then(timestamp::first_in) {
                task.started_at = Some(at.to_owned());
            } else if moved || task.started_at.is_none() {
                task.started_at = Some(now());
            }
            task.completed_at = None;
        }
        Status::Pass | Status::Fail => {
            if let Some(at) = text.and_then(timestamp::last_in) {
                task.completed_at = Some(at.to_owned());
            } else if moved || task.completed_at.is_none() {
                task.completed_at = Some(now());
            }
            if task.started_at.is_none() {
                let found = text.and_then(timestamp::first_in);
                task.started_at = Some(found.map_or_else(now, str::to_owned));
            }
        }
        Status::NotStarted => {
            task.started_at = None;
            task.completed_at = None;
        }
    }
    task.status = status;
    if let Some(text) = text {
        task.result = Some(text.to_owned());
    }
}

fn validate_issue_text(text: &str) -> Result<&str, OpError> {
    let text = text.trim();
    let chars = text.chars().count();
    if chars == 0 {
        return Err(OpError::EmptyIssue);
    }
    if chars > ISSUE_TEXT_MAX {
        return Err(OpError::IssueTooLong { chars });
    }
    Ok(text)
}

/// Related task names as the catalog spells them; names outside it as given.
fn catalog_names(catalog: &Catalog, tasks: &[String]) -> Vec<String> {
    tasks
        .iter()
        .map(|t| {
            catalog
                .resolve(t)
                .map_or_else(|| t.trim().to_owned(), |e| e.name.clone())
        })
        .collect()
}

/// Adds the issue unless an open one has its text. Asked for as a blocker,
/// an open non-blocking twin becomes one (its related tasks gain the new
/// ones): reporting it again as blocking says that it now blocks. Returns
/// whether that happened.
fn add_issue(
    state: &mut State,
    text: &str,
    blocker: bool,
    related: Vec<String>,
    now: &str,
) -> Result<bool, OpError> {
    let Some(index) = open_twin(state, &normalize_issue_text(text), None) else {
        if blocker {
            check_one_blocker(state, None, &related)?;
        }
        let issue = Issue::new(text, blocker, related, now.to_owned());
        state.issues.push(issue);
        return Ok(false);
    };
    if !blocker || state.issues[index].blocker {
        return Ok(false);
    }
    let mut tasks = state.issues[index].related_tasks.clone();
    for task in related {
        if !tasks.contains(&task) {
            tasks.push(task);
        }
    }
    check_one_blocker(state, Some(index), &tasks)?;
    let issue = &mut state.issues[index];
    issue.blocker = true;
    issue.related_tasks = tasks;
    Ok(true)
}

/// The open issue, other than the one at `except`, whose normalized text
/// is `key`: an issue is open once per text.
fn open_twin(state: &State, key: &str, except: Option<usize>) -> Option<usize> {
    state.issues.iter().enumerate().position(|(i, issue)| {
        Some(i) != except && !issue.resolved && issue.normalized_text() == key
    })
}

/// Refuses a change that would make the issue at `index` a second open
/// issue with the text `key`.
fn refuse_open_twin(state: &State, key: &str, index: usize) -> Result<(), OpError> {
    match open_twin(state, key, Some(index)) {
        Some(twin) => Err(OpError::AlreadyOpen {
            existing: state.issues[twin].issue.clone(),
        }),
        None => Ok(()),
    }
}

/// The original's rule: a task has at most one unresolved blocker. `except`
/// is the issue about to become that blocker.
fn check_one_blocker(
    state: &State,
    except: Option<usize>,
    related: &[String],
) -> Result<(), OpError> {
    for task in related {
        let existing = state.issues.iter().enumerate().find(|(i, issue)| {
            Some(*i) != except
                && issue.blocker
                && !issue.resolved
                && issue.related_tasks.contains(task)
        });
        if let Some((_, existing)) = existing {
            return Err(OpError::SecondBlocker {
                task: task.clone(),
                existing: existing.issue.clone(),
            });
        }
    }
    Ok(())
}

/// Which issues an operation picks from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    Open,
    Resolved,
    Any,
}

impl Scope {
    fn holds(self, issue: &Issue) -> bool {
        match self {
            Scope::Open => !issue.resolved,
            Scope::Resolved => issue.resolved,
            Scope::Any => true,
        }
    }
}

/// The index of the issue `query` names among those in `scope`: the text
/// itself (trimmed, any case) first, else the one text it is part of. A
/// text held by several entries (added again after it was resolved) means
/// its open entry, else its latest.
fn find_issue(issues: &[Issue], query: &str, scope: Scope) -> Result<usize, OpError> {
    let needle = normalize_issue_text(query);
    let in_scope = || (0..issues.len()).filter(|&i| scope.holds(&issues[i]));
    let pick = |text: &str| {
        let entries: Vec<usize> = in_scope()
            .filter(|&i| issues[i].normalized_text() == text)
            .collect();
        let open = entries.iter().copied().find(|&i| !issues[i].resolved);
        open.or(entries.last().copied())
    };
    if let Some(index) = pick(&needle) {
        return Ok(index);
    }
    let mut texts: Vec<String> = Vec::new();
    let mut shown: Vec<String> = Vec::new();
    for i in in_scope() {
        let text = issues[i].normalized_text();
        if text.contains(&needle) && !texts.contains(&text) {
            texts.push(text);
            shown.push(issues[i].issue.clone());
        }
    }
    match texts.as_slice() {
        [one] => Ok(pick(one).expect("the text was found in scope")),
        [] => {
            let elsewhere = issues
                .iter()
                .any(|i| !scope.holds(i) && i.normalized_text().contains(&needle));
            let query = query.to_owned();
            Err(match scope {
                Scope::Open => OpError::NoSuchIssue {
                    query,
                    resolved_match: elsewhere,
                },
                Scope::Resolved => OpError::NoResolvedIssue {
                    query,
                    open_match: elsewhere,
                },
                Scope::Any => OpError::NoIssue { query },
            })
        }
        _ => Err(OpError::AmbiguousIssue {
            query: query.to_owned(),
            candidates: shown,
        }),
    }
}

/// Removes the dotted `key`; the keys every state starts with are set back
/// to their empty value instead.
fn unset_metadata(metadata: &mut Mapping, key: &str) -> Result<(), OpError> {
    let missing = || OpError::NoMetadataKey {
        key: key.to_owned(),
    };
    let path: Vec<&str> = key.split('.').map(str::trim).collect();
    let (last, parents) = path.split_last().expect("split yields one part at least");
    let mut map = metadata;
    for part in parents {
        match map.get_mut(part) {
            Some(Value::Map(inner)) => map = inner,
            _ => return Err(missing()),
        }
    }
    if map.get(last).is_none() {
        return Err(missing());
    }
    match empty_metadata(last).filter(|_| parents.is_empty()) {
        Some(empty) => {
            map.insert(*last, empty);
        }
        None => {
            map.remove(last);
        }
    }
    Ok(())
}

/// Sets metadata keys; a map value is merged key by key into the map already
/// at `advisory_ids` / `candidate_builds`.
pub fn merge_metadata(metadata: &mut Mapping, entries: &Mapping) {
    for (key, value) in entries.iter() {
        let name = key.as_str().unwrap_or_default();
        match (metadata.get_mut(name), value) {
            (Some(Value::Map(existing)), Value::Map(update))
                if MERGED_METADATA_KEYS.contains(&name) =>
            {
                for (k, v) in update.iter() {
                    existing.insert(k.clone(), v.clone());
                }
            }
            _ => metadata.insert(key.clone(), value.clone()),
        }
    }
}

#[cfg(test)]
mod tests;
