//! Where state files live: one small trait that knows bytes and
//! compare-and-swap tokens only, and its git, folder and GitHub API
//! implementations. What the bytes mean, and the operations that change
//! them, live above it (`write`, `sync`).

mod dir;
pub(crate) mod git;
pub mod github;
mod listing;
pub(crate) mod ref_lock;

pub use dir::DirBackend;
pub use git::{DEFAULT_BRANCH, FileChange, GitBackend, init_without_ca_bundle};
pub use github::GitHubBackend;
pub use listing::{Listing, Misplaced};

/// What a backend knows of a file's version, for compare-and-swap: a commit
/// id, a content hash or a blob sha. `None`: the file (or branch) is absent.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CasToken(pub Option<String>);

/// A file as a backend read it, with the token a write of it must present.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The bytes, or `None` when the file does not exist.
    pub content: Option<Vec<u8>>,
    /// What [`Backend::write`] compares against: the read's version.
    pub version: CasToken,
}

/// One commit that changed a release's file.
#[derive(Debug, Clone, serde::Serialize)]
pub struct HistoryEntry {
    /// The commit id, in hex.
    pub commit: String,
    /// The commit time, `YYYY-MM-DDTHH:MM:SSZ`.
    pub time: String,
    /// The author's name.
    pub author: String,
    /// The whole message, trailers included.
    pub message: String,
}

/// A commit [`Backend::find_commit`] found, with one file as it left it.
#[derive(Debug, Clone)]
pub struct FoundCommit {
    /// The commit id, in hex.
    pub commit: String,
    /// The whole message, trailers included.
    pub message: String,
    /// The file as the commit left it (`None`: absent there).
    pub content: Option<Vec<u8>>,
}

/// Why a backend could not read, list or write.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// Someone else wrote first; the caller re-reads and re-applies.
    #[error("the file changed since it was read")]
    Stale,
    /// The branch is being moved by another writer right now; the caller
    /// waits and tries again, and names the lock if it gives up.
    #[error("{lock} is held by {holder}")]
    Locked {
        /// The lock file.
        lock: String,
        /// Who holds it, as far as statebox can tell.
        holder: String,
    },
    /// libgit2 failed. Its message is kept as text so that this trait,
    /// which the service and the CLI see, exposes no git2 type.
    #[error("{0}")]
    Git(String),
    /// A file or folder of the store could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: String,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// This kind of store cannot do that (for example, a folder keeps
    /// no history); the argument names what was asked.
    #[error("{0} is not supported by this store")]
    Unsupported(&'static str),
    /// The write is committed locally but could not reach the remote.
    #[error(
        "remote '{remote}' is unreachable ({reason}); {pending} commit(s) kept locally on branch '{branch}'"
    )]
    RemoteUnreachable {
        /// The remote's name.
        remote: String,
        /// The local branch holding the commits.
        branch: String,
        /// Why the remote could not be reached.
        reason: String,
        /// How many local commits the remote lacks.
        pending: usize,
    },
    /// The branch is checked out in a work tree where the file has changes
    /// of the user's (in the index or the work tree) that a write would
    /// overwrite; nothing was written.
    #[error(
        "branch '{branch}' is checked out in {worktree}, where {path} has uncommitted changes; writing would overwrite them, so nothing was written"
    )]
    CheckedOut {
        /// The record branch.
        branch: String,
        /// The work tree.
        worktree: String,
        /// The state file.
        path: String,
    },
    /// The GitHub API refused or failed a request.
    #[error("GitHub {repo}: {reason}")]
    GitHub {
        /// `OWNER/REPO`.
        repo: String,
        /// What the API answered.
        reason: String,
    },
    /// The remote was reached but a fetch or push failed.
    #[error("remote '{remote}': {reason}")]
    Remote {
        /// The remote's name.
        remote: String,
        /// What failed.
        reason: String,
    },
    /// Other machines kept pushing first for the whole time budget: the
    /// commits are on the local branch, and a later sync delivers them.
    #[error(
        "remote '{remote}': gave up after {pushes} push(es) in {seconds} s: other machines kept pushing first; {pending} commit(s) kept locally on branch '{branch}'"
    )]
    RemoteBusy {
        /// The remote's name.
        remote: String,
        /// The local branch holding the commits.
        branch: String,
        /// Pushes tried.
        pushes: u32,
        /// How long they took.
        seconds: u64,
        /// How many local commits the remote lacks.
        pending: usize,
    },
    /// The remote has commits the local branch lacks; integrating them
    /// (fetch, replay) and pushing again delivers the local ones.
    #[error("remote '{remote}': {reason}")]
    RemoteAhead {
        /// The remote's name.
        remote: String,
        /// What the remote has that the branch lacks.
        reason: String,
    },
    /// Local commits whose operations the remote's newer state refuses:
    /// not delivered, kept under `refs/statebox/rejected/<branch>/`.
    #[error(
        "local write(s) no longer apply on the remote's state and were not delivered; kept under refs/statebox/rejected/{branch}/:{operations}"
    )]
    Rejected {
        /// The record branch.
        branch: String,
        /// One line per refused operation, each saying why.
        operations: String,
    },
    /// A local commit the remote lacks cannot be replayed on the remote's
    /// tip: it does not record the operation it made.
    #[error(
        "commit {commit} on branch '{branch}' cannot be replayed onto the remote ({reason}); merge it by hand"
    )]
    NotReplayable {
        /// The commit, in hex.
        commit: String,
        /// The record branch.
        branch: String,
        /// Why its message does not say what it did.
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

/// A place state files live: bytes in, bytes out, every write a
/// compare-and-swap against the version a read returned. What the bytes
/// mean is the business of the layers above (`write`, `sync`).
pub trait Backend {
    /// For messages: which repository/branch or folder this is.
    fn describe(&self) -> String;
    /// The file at `path` (relative to the store's root) and its version.
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
    /// The state files, and the entries misplaced among them (see
    /// [`Listing`]).
    fn listing(&self) -> Result<Listing, BackendError>;
    /// Paths of all state files.
    fn list(&self) -> Result<Vec<String>, BackendError> {
        Ok(self.listing()?.files)
    }
    /// Whether the branch or folder exists at all: reading one that does
    /// not is a mistake (a mistyped `--branch`), not an empty store. A
    /// store that cannot tell says yes.
    fn exists(&self) -> Result<bool, BackendError> {
        Ok(true)
    }
    /// Brings in what a remote has that the store lacks, before a read, so
    /// that reads through a syncing store show the remote's state. Stores
    /// that read the authority directly have nothing to do.
    fn refresh(&self) -> Result<(), BackendError> {
        Ok(())
    }
    /// Hands `each` the commits that changed `path`, newest first, as the
    /// walk finds them: a reader can show the first before a long history
    /// has been walked, and nothing holds the whole of it.
    fn history_each(
        &self,
        _path: &str,
        _each: &mut dyn FnMut(HistoryEntry) -> Result<(), BackendError>,
    ) -> Result<(), BackendError> {
        Err(BackendError::Unsupported("history"))
    }

    /// Commits that changed `path`, newest first.
    fn history(&self, path: &str) -> Result<Vec<HistoryEntry>, BackendError> {
        let mut entries = Vec::new();
        self.history_each(path, &mut |entry| {
            entries.push(entry);
            Ok(())
        })?;
        Ok(entries)
    }

    /// The file as commit `commit` (one of [`Backend::history`]'s) left it,
    /// so a log can say what each commit changed.
    fn read_at(&self, _path: &str, _commit: &str) -> Result<Option<Vec<u8>>, BackendError> {
        Err(BackendError::Unsupported(
            "reading a file as a commit left it",
        ))
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
