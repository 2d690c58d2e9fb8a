//! The one write path every backend shares: load the release's file,
//! apply the operation, save it compare-and-swap; on a lost race load again
//! and re-apply the *operation*. Also the commit trailers that record each
//! operation, so that it can be replayed elsewhere (`sync`).

use crate::backend::{Backend, BackendError, CasToken};
use crate::catalog::Catalog;
use crate::idempotency::{self, FindError, IdempotencyKey, KeyReused};
use crate::model::{Op, OpError, ShapeError, State};
use crate::release::Release;
use crate::yaml::ParseError;
use std::time::Duration;

/// A state file on the store that cannot be used; nothing is written.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The bytes are not UTF-8.
    #[error("{path}: not UTF-8 text (invalid byte at offset {offset})")]
    NotUtf8 {
        /// The state file.
        path: String,
        /// Where the first invalid byte is.
        offset: usize,
    },
    /// The text is not YAML statebox reads (bounds included).
    #[error("{path}: invalid YAML at {source}")]
    Yaml {
        /// The state file.
        path: String,
        /// Where and why parsing stopped.
        source: ParseError,
    },
    /// YAML, but not the shape of a state file.
    #[error("{path}: not a valid state file: {source}")]
    Shape {
        /// The state file.
        path: String,
        /// Which key or value is wrong.
        source: ShapeError,
    },
    /// A state file at another release's path.
    #[error("{path}: holds release '{found}', expected '{expected}'")]
    WrongRelease {
        /// The state file.
        path: String,
        /// The release its `release` key names.
        found: String,
        /// The release its path names.
        expected: String,
    },
}

/// Why a write did not land; in every case nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The operation does not apply to the state (unknown task, bad value...).
    #[error(transparent)]
    Op(#[from] OpError),
    /// The state file on the store cannot be used.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// The store failed.
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// Every compare-and-swap of the retry budget lost to another writer.
    #[error("gave up after {attempts} attempts: other writers kept changing {path}")]
    Contention {
        /// The state file.
        path: String,
        /// How many writes were tried.
        attempts: u32,
    },
    /// The branch stayed locked through the whole retry budget: a writer
    /// that is alive but stalled, or a git process. The lock is not broken,
    /// since its holder may still move the branch.
    #[error(
        "gave up after {attempts} attempts to write {path}: {lock} is held by {holder}; nothing was written"
    )]
    Locked {
        /// The state file.
        path: String,
        /// The lock file.
        lock: String,
        /// Who holds it, as far as statebox can tell.
        holder: String,
        /// How many writes were tried.
        attempts: u32,
    },
    /// The idempotency key already made another change.
    #[error(transparent)]
    KeyReused(#[from] KeyReused),
}

impl From<FindError> for WriteError {
    fn from(e: FindError) -> Self {
        match e {
            FindError::Reused(e) => e.into(),
            FindError::Backend(e) => e.into(),
        }
    }
}

/// Commit trailers naming the release and the operation a commit made, so
/// a commit the remote rejected can be replayed as an operation elsewhere.
pub const RELEASE_TRAILER: &str = "Statebox-Release";
/// The trailer holding the operation as JSON; its text has been through
/// the stored-text pipeline like the file's, so it carries no secret.
pub const OP_TRAILER: &str = "Statebox-Op";

/// A write's commit message: the summary, then the trailers.
fn commit_message(
    summary: &str,
    release: &Release,
    op: &Op,
    key: Option<&IdempotencyKey>,
) -> String {
    let op = serde_json::to_string(op).expect("operations serialize to JSON");
    let key = key.map(idempotency::trailer).unwrap_or_default();
    format!("{summary}\n\n{RELEASE_TRAILER}: {release}\n{OP_TRAILER}: {op}\n{key}")
}

/// The value of the trailer `name` in a commit message, as git reads
/// trailers: from the last paragraph only, so a summary cannot pose as one.
pub(crate) fn trailer<'a>(message: &'a str, name: &str) -> Option<&'a str> {
    let trailers = message.trim_end().rsplit("\n\n").next()?;
    trailers
        .lines()
        .rev()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(": "))
}

/// The release and operation recorded in a commit message's trailers.
pub fn recorded_op(message: &str) -> Result<(Release, Op), String> {
    let trailer = |key: &str| trailer(message, key).ok_or_else(|| format!("no {key} trailer"));
    let release = trailer(RELEASE_TRAILER)?
        .parse::<Release>()
        .map_err(|e| e.to_string())?;
    let op = serde_json::from_str(trailer(OP_TRAILER)?).map_err(|e| e.to_string())?;
    Ok((release, op))
}

/// Parses a state file's bytes, naming the file in every error.
pub fn decode(path: &str, bytes: &[u8]) -> Result<State, LoadError> {
    let text = std::str::from_utf8(bytes).map_err(|e| LoadError::NotUtf8 {
        path: path.to_owned(),
        offset: e.valid_up_to(),
    })?;
    let value = crate::yaml::parse(text).map_err(|source| LoadError::Yaml {
        path: path.to_owned(),
        source,
    })?;
    State::from_value(value).map_err(|source| LoadError::Shape {
        path: path.to_owned(),
        source,
    })
}

/// Loads a release's state; `None` if it has none yet.
pub fn load(store: &dyn Backend, release: &Release) -> Result<Option<State>, WriteError> {
    let path = release.path();
    let snapshot = store.read(&path)?;
    Ok(snapshot
        .content
        .map(|bytes| decode_release(&path, &bytes, release))
        .transpose()?)
}

fn decode_release(path: &str, bytes: &[u8], release: &Release) -> Result<State, LoadError> {
    let state = decode(path, bytes)?;
    if state.release != release.to_string() {
        return Err(LoadError::WrongRelease {
            path: path.to_owned(),
            found: state.release,
            expected: release.to_string(),
        });
    }
    Ok(state)
}

/// How often and how patiently a lost compare-and-swap is retried.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Writes tried before giving up with [`WriteError::Contention`].
    pub attempts: u32,
    /// The backoff ceiling after the first lost race.
    pub first_backoff: Duration,
    /// The ceiling the doubling stops at.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    /// Local compare-and-swap races resolve in microseconds, so start small;
    /// many attempts because a lost race costs one re-read, not a conflict.
    fn default() -> Self {
        RetryPolicy {
            attempts: 60,
            first_backoff: Duration::from_millis(2),
            max_backoff: Duration::from_millis(250),
        }
    }
}

impl RetryPolicy {
    /// Exponential backoff with full jitter, so racing writers spread out.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let ceiling = self
            .first_backoff
            .saturating_mul(1 << attempt.min(16))
            .min(self.max_backoff);
        ceiling.mul_f64(jitter())
    }
}

/// A number in [0, 1) that differs between processes and calls; jitter only
/// needs to decorrelate writers, not be unpredictable.
fn jitter() -> f64 {
    use std::hash::{BuildHasher, RandomState};
    let bits = RandomState::new().hash_one(std::time::SystemTime::now());
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

/// What a write did.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The release's state after the write.
    pub state: State,
    /// The version written, or `None` when the operation was already in effect.
    pub written: Option<CasToken>,
    /// The commit message written (or that would have been).
    pub message: String,
    /// Compare-and-swap attempts used, 1 when no race was lost.
    pub attempts: u32,
    /// The release had no state file and this write, not an `Init`,
    /// created it.
    pub created_without_init: bool,
    /// A retry: its idempotency key's write is on the branch, so nothing
    /// was written; `state`, `written` and `message` are that write's.
    pub repeated: bool,
}

/// The write path: applies `op` to the release's current state and saves it
/// compare-and-swap, re-reading and re-applying when another writer won.
/// Under an idempotency `key` whose write is already on the branch, that
/// write's outcome is returned and nothing is written.
pub fn apply(
    store: &dyn Backend,
    release: &Release,
    op: &Op,
    key: Option<&IdempotencyKey>,
    catalog: &Catalog,
    retry: &RetryPolicy,
) -> Result<Outcome, WriteError> {
    apply_at(store, release, op, key, catalog, retry, chrono::Utc::now)
}

/// [`apply`] with the time the operation happened given by `now`: a
/// replayed operation keeps the time it was first made.
pub fn apply_at(
    store: &dyn Backend,
    release: &Release,
    op: &Op,
    key: Option<&IdempotencyKey>,
    catalog: &Catalog,
    retry: &RetryPolicy,
    now: impl Fn() -> chrono::DateTime<chrono::Utc>,
) -> Result<Outcome, WriteError> {
    let path = release.path();
    let op = &op.stored();
    // The version up to which the key was looked for in vain.
    let mut searched = CasToken(None);
    // The lock that stopped the last attempt, to name if the budget runs out.
    let mut locked = None;
    for attempt in 1..=retry.attempts {
        let snapshot = store.read(&path)?;
        // Looked up on every attempt, after the read: a writer that won the
        // race may have been this key's first try, still in flight. Only the
        // commits since the last look are read again.
        if let Some(key) = key
            && let Some(earlier) = idempotency::find(store, release, op, key, &searched)?
        {
            return Ok(Outcome {
                state: decode_release(&path, &earlier.content, release)?,
                written: Some(CasToken(Some(earlier.commit))),
                message: earlier.summary,
                attempts: attempt,
                created_without_init: false,
                repeated: true,
            });
        }
        searched = snapshot.version.clone();
        let created_without_init = snapshot.content.is_none() && !matches!(op, Op::Init { .. });
        let current = snapshot
            .content
            .map(|bytes| decode_release(&path, &bytes, release))
            .transpose()?;
        let applied = op.apply(current, release, catalog, now())?;
        if !applied.changed {
            return Ok(Outcome {
                state: applied.state,
                written: None,
                message: applied.message,
                attempts: attempt,
                created_without_init: false,
                repeated: false,
            });
        }
        let bytes = applied.state.to_yaml();
        let message = commit_message(&applied.message, release, op, key);
        match store.write(&path, bytes.as_bytes(), &snapshot.version, &message) {
            Ok(version) => {
                tracing::debug!(%path, attempt, "wrote {}", applied.message);
                return Ok(Outcome {
                    state: applied.state,
                    written: Some(version),
                    message: applied.message,
                    attempts: attempt,
                    created_without_init,
                    repeated: false,
                });
            }
            Err(BackendError::Stale) => {
                let pause = retry.backoff(attempt);
                tracing::debug!(%path, attempt, ?pause, "lost a write race; re-reading");
                locked = None;
                std::thread::sleep(pause);
            }
            Err(BackendError::Locked { lock, holder }) => {
                let pause = retry.backoff(attempt);
                tracing::debug!(%path, attempt, ?pause, "{lock} is held by {holder}; waiting");
                locked = Some((lock, holder));
                std::thread::sleep(pause);
            }
            Err(other) => return Err(other.into()),
        }
    }
    Err(match locked {
        Some((lock, holder)) => WriteError::Locked {
            path,
            lock,
            holder,
            attempts: retry.attempts,
        },
        None => WriteError::Contention {
            path,
            attempts: retry.attempts,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Status;
    use crate::yaml::{Mapping, Value};

    fn release() -> Release {
        "4.19.1".parse().unwrap()
    }

    #[test]
    fn every_operation_survives_its_commit_trailer() {
        let mut advisories = Mapping::new();
        advisories.insert("rpm", Value::Int(169043));
        let mut metadata = Mapping::new();
        metadata.insert("advisory_ids", Value::Map(advisories));
        metadata.insert("release_date", Value::Timestamp("2026-07-01".into()));
        metadata.insert("note", Value::Str("line one\nline: two".into()));
        let ops = [
            Op::Init {
                metadata: metadata.clone(),
            },
            Op::Init {
                metadata: Mapping::new(),
            },
            Op::SetTask {
                task: "Take Ownership".into(),
                status: Status::InProgress,
                result: Some("2026-06-25T13:00:00Z: INFO: go\nStatebox-Op: not a trailer".into()),
            },
            Op::AddIssue {
                text: "flaky".into(),
                blocker: true,
                related_tasks: vec!["stage-testing".into()],
            },
            Op::ResolveIssue {
                query: "flaky".into(),
                resolution: None,
            },
            Op::SetMetadata { entries: metadata },
            Op::ResetTask {
                task: "stage-testing".into(),
            },
            Op::ReopenIssue {
                query: "flaky".into(),
            },
            Op::RemoveIssue {
                query: "flaky".into(),
            },
            Op::EditIssue {
                query: "flaky".into(),
                text: Some("flaky: node 3".into()),
                blocker: Some(false),
                related_tasks: Some(vec![]),
            },
            Op::EditIssue {
                query: "flaky".into(),
                text: None,
                blocker: None,
                related_tasks: None,
            },
            Op::UnsetMetadata {
                keys: vec!["advisory_ids.rpm".into(), "qe_owner".into()],
            },
            Op::Batch {
                ops: vec![Op::ResolveIssue {
                    query: "flaky".into(),
                    resolution: Some("fixed".into()),
                }],
            },
        ];
        for op in ops {
            let message = commit_message("Update something", &release(), &op, None);
            assert!(message.starts_with("Update something\n\n"), "{message}");
            assert_eq!(recorded_op(&message), Ok((release(), op)));
        }
    }

    #[test]
    fn a_message_without_valid_trailers_says_what_is_wrong() {
        assert_eq!(
            recorded_op("hand edit").unwrap_err(),
            "no Statebox-Release trailer"
        );
        assert_eq!(
            recorded_op("x\n\nStatebox-Release: 4.19.1\n").unwrap_err(),
            "no Statebox-Op trailer"
        );
        let bad_json = recorded_op("x\n\nStatebox-Release: 4.19.1\nStatebox-Op: {\"op\":\"fly\"}");
        assert!(bad_json.unwrap_err().contains("unknown variant `fly`"));
        let bad_release = recorded_op("x\n\nStatebox-Release: ../etc\nStatebox-Op: {}");
        assert!(bad_release.unwrap_err().contains("../etc"));
        let bad_status = recorded_op(
            "x\n\nStatebox-Release: 4.19.1\nStatebox-Op: {\"op\":\"set_task\",\"task\":\"t\",\"status\":\"Done\",\"result\":null}",
        );
        assert!(bad_status.unwrap_err().contains("Done"));
    }
}
