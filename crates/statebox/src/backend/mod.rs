//! Where state files live: one small trait that knows bytes and
//! compare-and-swap tokens only, and its git, folder and GitHub API
//! implementations. What the bytes mean, and the operations that change
//! them, live above it (`write`, `sync`).

mod dir;
pub(crate) mod git;
pub mod github;

pub use dir::DirBackend;
pub use git::{DEFAULT_BRANCH, FileChange, GitBackend, init_without_ca_bundle};
pub use github::GitHubBackend;

/// What a backend knows of a file's version, for compare-and-swap: a commit
/// id, a content hash or a blob sha. `None`: the file (or branch) is absent.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CasToken(pub Option<String>);

#[derive(Debug, Clone)]
pub struct Snapshot {
    pub content: Option<Vec<u8>>,
    pub version: CasToken,
}

/// One commit that changed a release's file.
#[derive(Debug, Clone, serde::Serialize)]
pub struct HistoryEntry {
    pub commit: String,
    pub time: String,
    pub author: String,
    pub message: String,
}

/// A commit [`Backend::find_commit`] found, with one file as it left it.
#[derive(Debug, Clone)]
pub struct FoundCommit {
    pub commit: String,
    /// The whole message, trailers included.
    pub message: String,
    pub content: Option<Vec<u8>>,
}

#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// Someone else wrote first; the caller re-reads and re-applies.
    #[error("the file changed since it was read")]
    Stale,
    /// libgit2 failed. Its message is kept as text so that this trait,
    /// which the service and the CLI see, exposes no git2 type.
    #[error("{0}")]
    Git(String),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{0} is not supported by this store")]
    Unsupported(&'static str),
    /// The write is committed locally but could not reach the remote.
    #[error(
        "remote '{remote}' is unreachable ({reason}); {pending} commit(s) kept locally on branch '{branch}'"
    )]
    RemoteUnreachable {
        remote: String,
        branch: String,
        reason: String,
        pending: usize,
    },
    #[error("GitHub {repo}: {reason}")]
    GitHub { repo: String, reason: String },
    #[error("remote '{remote}': {reason}")]
    Remote { remote: String, reason: String },
    /// The remote has commits the local branch lacks; integrating them
    /// (fetch, replay) and pushing again delivers the local ones.
    #[error("remote '{remote}': {reason}")]
    RemoteAhead { remote: String, reason: String },
    /// Local commits whose operations the remote's newer state refuses:
    /// not delivered, kept under `refs/statebox/rejected/<branch>/`.
    #[error(
        "local write(s) no longer apply on the remote's state and were not delivered; kept under refs/statebox/rejected/{branch}/:{operations}"
    )]
    Rejected { branch: String, operations: String },
    /// A local commit the remote lacks cannot be replayed on the remote's tip.
    #[error(
        "commit {commit} on branch '{branch}' has no valid Statebox-Op trailer ({reason}), so it cannot be replayed onto the remote; merge it by hand"
    )]
    NotReplayable {
        commit: String,
        branch: String,
        reason: String,
    },
}

/// Turns libgit2's errors into [`BackendError::Git`] inside the crate. A
/// `From` impl would do the same with `?`, but would be public and make
/// git2 part of the library's interface.
pub(crate) trait GitResult<T> {
    fn or_git(self) -> Result<T, BackendError>;
}

impl<T> GitResult<T> for Result<T, git2::Error> {
    fn or_git(self) -> Result<T, BackendError> {
        self.map_err(git_error)
    }
}

pub(crate) fn git_error(error: git2::Error) -> BackendError {
    BackendError::Git(error.message().to_string())
}

pub trait Backend {
    /// For messages: which repository/branch or folder this is.
    fn describe(&self) -> String;
    fn read(&self, path: &str) -> Result<Snapshot, BackendError>;
    /// Writes `content` if the file is still at `base`; `BackendError::Stale`
    /// otherwise. Returns the new version.
    fn write(
        &self,
        path: &str,
        content: &[u8],
        base: &CasToken,
        message: &str,
    ) -> Result<CasToken, BackendError>;
    /// Paths of all state files.
    fn list(&self) -> Result<Vec<String>, BackendError>;
    /// Commits that changed `path`, newest first.
    fn history(&self, _path: &str) -> Result<Vec<HistoryEntry>, BackendError> {
        Err(BackendError::Unsupported("history"))
    }

    /// Among the branch's newest `limit` commits, the newest whose message
    /// `matches`, with `path` as that commit left it. Commits reachable from
    /// `searched` (a version an earlier call already looked through) are
    /// skipped, so a write retried after losing a race reads only the
    /// commits that won it.
    fn find_commit(
        &self,
        _path: &str,
        _limit: usize,
        _matches: &dyn Fn(&str) -> bool,
        _searched: &CasToken,
    ) -> Result<Option<FoundCommit>, BackendError> {
        Err(BackendError::Unsupported(
            "looking up a write by its idempotency key",
        ))
    }
}
