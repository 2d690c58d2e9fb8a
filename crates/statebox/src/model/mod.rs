//! The release state and the rules for changing it.
//!
//! Typed fields for what statebox reasons about; every key it does not know
//! is kept, in its place, so a rewrite never drops data another tool wrote.

mod changes;
mod key_order;
mod ops;
mod part;

pub use changes::describe_changes;
pub use ops::{Applied, Op, OpError, Restoration, merge_metadata};
pub use part::Part;

use crate::yaml::{Mapping, Value};
use key_order::{Fields, Layout};
use std::fmt;
use std::str::FromStr;

/// The `schema_version` statebox reads and writes; [`State::from_value`]
/// refuses a file with any other.
pub const SCHEMA_VERSION: &str = "1.0";
/// Issue text length limits, in characters.
pub const ISSUE_TEXT_MAX: usize = 1000;

/// A state file whose content does not have the shape of a state.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct ShapeError {
    /// Where in the document, e.g. `tasks[2].status`.
    pub field: String,
    /// What is wrong there, e.g. `missing` or `expected a string, found
    /// list`.
    pub problem: String,
}

/// Where a task stands; the file spells each as [`Status::as_str`] does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// Not run yet. A task with no entry in the file reads as this too.
    NotStarted,
    /// Running: going here sets `started_at` and clears `completed_at`.
    InProgress,
    /// Finished and passed; going here sets `completed_at`.
    Pass,
    /// Finished and failed; going here sets `completed_at`, and the release
    /// reads as [`Health::Red`] while any task is here.
    Fail,
}

impl Status {
    /// Every status: what a typed status is matched against.
    pub const ALL: [Status; 4] = [
        Status::NotStarted,
        Status::InProgress,
        Status::Pass,
        Status::Fail,
    ];

    /// The spelling stored in the file and shown to people (`In Progress`).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::NotStarted => "Not Started",
            Status::InProgress => "In Progress",
            Status::Pass => "Pass",
            Status::Fail => "Fail",
        }
    }

    /// Whether the task has finished, with Pass or Fail: the statuses that
    /// set `completed_at`.
    pub fn is_final(self) -> bool {
        matches!(self, Status::Pass | Status::Fail)
    }
}

/// A status text that names none of the four statuses; holds the text as
/// given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid status '{0}': expected one of Not Started, In Progress, Pass, Fail")]
pub struct InvalidStatus(pub String);

impl FromStr for Status {
    type Err = InvalidStatus;

    /// Accepts the stored spelling and the forms people type on a command
    /// line (`pass`, `in-progress`, `IN_PROGRESS`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // Status lines carry the stored spelling: no folding for those.
        if let Some(exact) = Status::ALL.into_iter().find(|st| st.as_str() == s) {
            return Ok(exact);
        }
        let folded = crate::catalog::kebab_case(s);
        Status::ALL
            .into_iter()
            .find(|st| crate::catalog::kebab_case(st.as_str()) == folded)
            .ok_or_else(|| InvalidStatus(s.to_owned()))
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One task's entry in a state: where its latest run stands, when it ran
/// and what it printed.
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    /// The task name (`take-ownership`), as the catalog spells it when
    /// statebox wrote the entry; entries are found by it.
    pub name: String,
    /// Where the task stands: Not Started, In Progress, Pass or Fail.
    pub status: Status,
    /// When the task started: the first zoned timestamp in its result, kept
    /// as written there, else the time of the write; `None` while Not Started.
    pub started_at: Option<String>,
    /// When the task reached Pass or Fail: the last zoned timestamp in its
    /// result, else the time of the write; `None` until then, and again once
    /// it goes back to In Progress.
    pub completed_at: Option<String>,
    /// The output the task reported, masked before storing since the branch
    /// may be public; an update that brings none keeps the one there.
    pub result: Option<String>,
    layout: Layout,
}

/// A problem reported against a release. It stays open until resolved; an
/// open blocker holds up its related tasks and turns the release Red.
#[derive(Debug, Clone, PartialEq)]
pub struct Issue {
    /// The issue's text, which also identifies it
    /// ([`Issue::normalized_text`]); statebox writes it trimmed, 1 to
    /// [`ISSUE_TEXT_MAX`] characters long.
    pub issue: String,
    /// When the issue was reported; `None` only in a file where it is null
    /// or missing.
    pub reported_at: Option<String>,
    /// Whether it is resolved. Only open issues block, and only they keep
    /// the same text from being reported twice.
    pub resolved: bool,
    /// How it was resolved, as the resolver put it; `None` while open or
    /// when no resolution was given.
    pub resolution: Option<String>,
    /// Whether it blocks: an open blocker turns the release Red, and a task
    /// has at most one.
    pub blocker: bool,
    /// The tasks it concerns, as the catalog spells them (names outside the
    /// catalog kept as given); empty for an issue about the whole release.
    pub related_tasks: Vec<String>,
    /// Present only once resolved, as on real branches.
    pub resolved_at: Option<String>,
    layout: Layout,
}

/// One release's state file: its metadata, tasks and issues, with every key
/// statebox does not know kept where it was found.
#[derive(Debug, Clone, PartialEq)]
pub struct State {
    /// Always [`SCHEMA_VERSION`]: a file with another is refused when read.
    pub schema_version: String,
    /// The release version (`4.19.36`), which also names the file.
    pub release: String,
    /// When the state was first written.
    pub created_at: String,
    /// When an operation last changed the state; one that changes nothing
    /// leaves it as it was.
    pub updated_at: String,
    /// Release settings (`jira_ticket`, `advisory_ids`, ...), kept as YAML
    /// because other tools add keys of their own (`qe_owner`).
    pub metadata: Mapping,
    /// The tasks that have an entry, in file order; a catalog task without
    /// one is Not Started.
    pub tasks: Vec<Task>,
    /// Every issue reported, open and resolved, in file order; a text can
    /// appear again after it was resolved.
    pub issues: Vec<Issue>,
    layout: Layout,
}

/// Metadata keys every new state starts with, in file order.
pub const METADATA_KEYS: [&str; 5] = [
    "jira_ticket",
    "advisory_ids",
    "release_date",
    "candidate_builds",
    "shipment_mr",
];
/// Metadata keys whose values are maps updated key by key.
pub const MERGED_METADATA_KEYS: [&str; 2] = ["advisory_ids", "candidate_builds"];

/// The value a key every state starts with holds when nothing is set: an
/// empty map for the merged keys, null for the others; `None` for any
/// other key.
pub(crate) fn empty_metadata(key: &str) -> Option<Value> {
    if !METADATA_KEYS.contains(&key) {
        return None;
    }
    Some(if MERGED_METADATA_KEYS.contains(&key) {
        Value::Map(Mapping::new())
    } else {
        Value::Null
    })
}

impl Task {
    /// A Not Started entry with no timestamps or result: how a task first
    /// appears in the file.
    pub fn new(name: &str) -> Self {
        Task {
            name: name.to_owned(),
            status: Status::NotStarted,
            started_at: None,
            completed_at: None,
            result: None,
            layout: Layout::default(),
        }
    }

    fn decode(value: Value, field: String) -> Result<Self, ShapeError> {
        let mut f = Fields::new(value, field)?;
        let status_text = f.string("status")?;
        let status = status_text
            .parse()
            .map_err(|e: InvalidStatus| f.error("status", e.to_string()))?;
        Ok(Task {
            name: f.string("name")?,
            status,
            started_at: f.optional_string("started_at")?,
            completed_at: f.optional_string("completed_at")?,
            result: f.optional_string("result")?,
            layout: f.finish(),
        })
    }

    fn encode(&self) -> Value {
        self.layout.encode(vec![
            ("name", Some(self.name.as_str().into())),
            ("status", Some(self.status.as_str().into())),
            ("started_at", Some(self.started_at.clone().into())),
            ("completed_at", Some(self.completed_at.clone().into())),
            ("result", Some(self.result.clone().into())),
        ])
    }
}

impl Issue {
    /// A newly reported open issue; `reported_at` is the time of the report.
    pub fn new(text: &str, blocker: bool, related_tasks: Vec<String>, reported_at: String) -> Self {
        Issue {
            issue: text.to_owned(),
            reported_at: Some(reported_at),
            resolved: false,
            resolution: None,
            blocker,
            related_tasks,
            resolved_at: None,
            layout: Layout::default(),
        }
    }

    /// The identity issues are matched by: trimmed, case-insensitive text.
    pub fn normalized_text(&self) -> String {
        normalize_issue_text(&self.issue)
    }

    fn decode(value: Value, field: String) -> Result<Self, ShapeError> {
        let mut f = Fields::new(value, field)?;
        Ok(Issue {
            issue: f.string("issue")?,
            reported_at: f.optional_string("reported_at")?,
            resolved: f.bool("resolved")?,
            resolution: f.optional_string("resolution")?,
            blocker: f.bool("blocker")?,
            related_tasks: f.string_list("related_tasks")?,
            resolved_at: f.optional_string("resolved_at")?,
            layout: f.finish(),
        })
    }

    fn encode(&self) -> Value {
        let related = self
            .related_tasks
            .iter()
            .map(|t| t.as_str().into())
            .collect();
        self.layout.encode(vec![
            ("issue", Some(self.issue.as_str().into())),
            ("reported_at", Some(self.reported_at.clone().into())),
            ("resolved", Some(Value::Bool(self.resolved))),
            ("resolution", Some(self.resolution.clone().into())),
            ("blocker", Some(Value::Bool(self.blocker))),
            ("related_tasks", Some(Value::Seq(related))),
            ("resolved_at", self.resolved_at.clone().map(Value::Str)),
        ])
    }
}

/// An issue text reduced to what identifies it, trimmed and lowercased:
/// `Flaky CI ` and `flaky ci` are one issue.
pub fn normalize_issue_text(text: &str) -> String {
    text.trim().to_lowercase()
}

impl State {
    /// A fresh state as the original's initialization wrote it.
    pub fn new(release: &crate::release::Release, now: &str) -> Self {
        let mut metadata = Mapping::new();
        for key in METADATA_KEYS {
            metadata.insert(
                key,
                empty_metadata(key).expect("a key every state starts with"),
            );
        }
        State {
            schema_version: SCHEMA_VERSION.to_owned(),
            release: release.to_string(),
            created_at: now.to_owned(),
            updated_at: now.to_owned(),
            metadata,
            tasks: Vec::new(),
            issues: Vec::new(),
            layout: Layout::default(),
        }
    }

    /// Reads a parsed state file. Fails, naming the field at fault, when the
    /// document does not have the shape of a state or has another schema
    /// version.
    pub fn from_value(value: Value) -> Result<Self, ShapeError> {
        let mut f = Fields::new(value, String::new())?;
        let schema_version = f.string("schema_version")?;
        if schema_version != SCHEMA_VERSION {
            return Err(f.error(
                "schema_version",
                format!("unsupported schema version '{schema_version}' (statebox reads {SCHEMA_VERSION})"),
            ));
        }
        let release = f.string("release")?;
        let created_at = f.string("created_at")?;
        let updated_at = f.string("updated_at")?;
        let metadata = f.mapping("metadata")?;
        let tasks = f
            .list("tasks")?
            .into_iter()
            .enumerate()
            .map(|(i, v)| Task::decode(v, format!("tasks[{i}]")))
            .collect::<Result<_, _>>()?;
        let issues = f
            .list("issues")?
            .into_iter()
            .enumerate()
            .map(|(i, v)| Issue::decode(v, format!("issues[{i}]")))
            .collect::<Result<_, _>>()?;
        Ok(State {
            schema_version,
            release,
            created_at,
            updated_at,
            metadata,
            tasks,
            issues,
            layout: f.finish(),
        })
    }

    /// The state as a YAML document: keys in file order, unknown keys where
    /// they were found.
    pub fn to_value(&self) -> Value {
        self.layout.encode(vec![
            ("schema_version", Some(self.schema_version.as_str().into())),
            ("release", Some(self.release.as_str().into())),
            ("created_at", Some(self.created_at.as_str().into())),
            ("updated_at", Some(self.updated_at.as_str().into())),
            ("metadata", Some(Value::Map(self.metadata.clone()))),
            (
                "tasks",
                Some(Value::Seq(self.tasks.iter().map(Task::encode).collect())),
            ),
            (
                "issues",
                Some(Value::Seq(self.issues.iter().map(Issue::encode).collect())),
            ),
        ])
    }

    /// The canonical file bytes: what PyYAML would write for this state.
    pub fn to_yaml(&self) -> String {
        crate::yaml::to_string(&self.to_value())
    }

    /// The entry of the task named exactly `name` (its first, should the
    /// file repeat it).
    pub fn task(&self, name: &str) -> Option<&Task> {
        self.tasks.iter().find(|t| t.name == name)
    }

    /// Red when a task failed or an unresolved blocker is open.
    pub fn health(&self) -> Health {
        let failed = self.tasks.iter().any(|t| t.status == Status::Fail);
        let blocked = self.issues.iter().any(|i| i.blocker && !i.resolved);
        if failed || blocked {
            Health::Red
        } else {
            Health::Green
        }
    }
}

/// A release at a glance, as `statebox show` and `statebox status` report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Health {
    /// No task failed and no blocker is open.
    Green,
    /// A task failed or an unresolved blocker is open.
    Red,
}

impl fmt::Display for Health {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Health::Green => "Green",
            Health::Red => "Red",
        })
    }
}
