//! What the service needs from the statebox library, as one trait.
//!
//! The CLI implements it (`src/cli/serve.rs`) on the library's store, so
//! every call into the library sits in one file and the service crate only
//! speaks JSON values and plain strings. Every method blocks (git, files,
//! the GitHub API); the service calls them on tokio's blocking pool.

use serde_json::Value;

/// The CLI's exit-code classes, as tool errors name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The release, task or issue asked for does not exist (exit 3).
    NotFound,
    /// Rejected input: release, task, status, issue text (exit 4).
    Rejected,
    /// A state file on the store is unreadable; nothing was written (exit 5).
    BadState,
    /// Other writers kept winning; the write was not made (exit 6).
    RaceLost,
    /// Written locally, the remote was unreachable; `statebox sync` delivers it (exit 7).
    KeptLocally,
    /// The config store cannot be read or decrypted (exit 8).
    ConfigStore,
    /// git, file system or other environment failure (exit 10).
    Environment,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::NotFound => "not_found",
            ErrorKind::Rejected => "rejected",
            ErrorKind::BadState => "bad_state",
            ErrorKind::RaceLost => "race_lost",
            ErrorKind::KeptLocally => "kept_locally",
            ErrorKind::ConfigStore => "config_store",
            ErrorKind::Environment => "environment",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Failure {
    pub kind: ErrorKind,
    pub message: String,
}

impl Failure {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Failure {
            kind,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// A change to one release, applied through the library's one write path.
#[derive(Debug, Clone)]
pub enum Change {
    Init,
    SetTask {
        task: String,
        /// As people type it: `Pass`, `in-progress`, `Not Started`.
        status: String,
        result: Option<String>,
    },
    AddIssue {
        text: String,
        blocker: bool,
        related_tasks: Vec<String>,
    },
    ResolveIssue {
        query: String,
        resolution: Option<String>,
    },
    /// Command output whose status lines drive task state, as `statebox ingest` reads it.
    Ingest {
        task: Option<String>,
        output: String,
    },
}

/// What a write did.
#[derive(Debug, Clone)]
pub struct Written {
    /// The state after the write, as the JSON the original's `to_json` gives.
    pub state: Value,
    /// False when the change was already in effect and nothing was written.
    pub changed: bool,
    /// The commit (or content version) written, when the store has one.
    pub commit: Option<String>,
    pub message: String,
    /// A retry: the idempotency key's write was already on the branch;
    /// the fields above are that write's, and nothing was written now.
    pub repeated: bool,
}

/// A release's state file as stored.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The state as the JSON the original's `to_json` gives.
    pub json: Value,
    /// The file, byte for byte.
    pub yaml: String,
}

#[derive(Debug, Clone)]
pub struct TaskName {
    pub name: String,
    pub display_name: String,
}

pub trait StateAccess: Send + Sync + 'static {
    /// For messages and the dashboard: which repository/branch or folder this is.
    fn describe(&self) -> String;
    /// The task catalog, in order.
    fn catalog(&self) -> Vec<TaskName>;
    /// Releases with a state file, oldest version first.
    fn releases(&self) -> Result<Vec<String>, Failure>;
    /// A release's state; `None` when it has none. Always read at the branch tip.
    fn load(&self, release: &str) -> Result<Option<Loaded>, Failure>;
    /// The original's `discover_active_releases`: per y-stream the latest
    /// release, kept while today is at most one day past its `release_date`.
    /// The rule is the library's (`statebox::active`), which `statebox
    /// status --active` applies too.
    fn active_releases(&self) -> Result<Vec<String>, Failure>;
    /// Applies a change compare-and-swap, as the CLI does. With an
    /// idempotency key whose write is on the branch already, answers with
    /// that write instead (a bad key is `Rejected`).
    fn apply(
        &self,
        release: &str,
        change: &Change,
        idempotency_key: Option<&str>,
    ) -> Result<Written, Failure>;
    /// Commits that changed the release's file, newest first, as JSON objects.
    fn history(&self, release: &str) -> Result<Vec<Value>, Failure>;
    /// The config store's entry for the release (JSON object); `None` when no
    /// store is configured or it has no entry.
    fn config_metadata(&self, release: &str) -> Result<Option<Value>, Failure>;
    /// Something that changes whenever any state file changes (the branch
    /// tip); `None` when this store cannot be watched cheaply.
    fn tip(&self) -> Result<Option<String>, Failure>;
    /// Whether the store opens, the GitHub token is accepted and the config
    /// store decrypts (if configured); the reason when not.
    fn readiness(&self) -> Result<(), String>;
}
